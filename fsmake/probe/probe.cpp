// The two drivers over the prober table: probe (first match wins, as `blkid -p` reports it) and
// find_signatures (every match, as `wipefs --all` would erase them).
#include "fsmake/probe/probe.hpp"

#include <algorithm>
#include <cstring>

#include "fsmake/probe/copies.hpp"
#include "fsmake/probe/prober.hpp"
#include "fsmake/probe/ptable.hpp"

namespace mos::fsmake {
namespace {

using probe::Magic;
using probe::Prober;

bool magic_offset(const ProbeSource& src, const Magic& m, uint64_t& abs) {
  if (!m.from_end) {
    abs = m.offset;
    return true;
  }
  if (src.size() < m.offset) return false;
  abs = src.size() - m.offset;
  return true;
}

// Runs one prober: with magics, the first magic present selects the superblock (libblkid).
bool run_prober(ProbeSource& src, const Prober& p, probe::Found& out) {
  if (src.size() < p.min_size) return false;
  if (p.magics.empty()) return p.fn(src, 0, out);
  for (const auto& m : p.magics) {
    uint64_t abs = 0;
    if (!probe::magic_present(src, m, abs)) continue;
    if (!p.fn(src, abs, out)) return false;
    if (out.sigs.empty())
      out.sigs.push_back(probe::make_signature(p.type, abs, src.get(abs, m.bytes.size())));
    return true;
  }
  return false;
}

}  // namespace

bool probe::magic_present(ProbeSource& src, const Magic& m, uint64_t& abs) {
  if (!magic_offset(src, m, abs)) return false;
  auto b = src.get(abs, m.bytes.size());
  return !b.empty() && std::memcmp(b.data(), m.bytes.data(), m.bytes.size()) == 0;
}

bool probe::magic_only(ProbeSource&, uint64_t, probe::Found&) { return true; }

namespace {

void take(ProbeResult& r, std::string_view type, std::string_view usage, probe::Found& f) {
  r.type = type;
  r.usage = usage;
  r.label = std::move(f.label);
  r.uuid = std::move(f.uuid);
  r.uuid_sub = std::move(f.uuid_sub);
  r.version = std::move(f.version);
  r.sec_type = std::move(f.sec_type);
}

void add_damage(ProbeResult& r, const std::string& what) {
  if (!what.empty()) r.damaged += (r.damaged.empty() ? "" : "; ") + what;
}

}  // namespace

ProbeResult probe::probe_from(ProbeSource& src) {
  ProbeResult r;
  for (const Prober* p : probe::probers()) {
    probe::Found f;
    if (!run_prober(src, *p, f)) continue;
    take(r, p->type, p->usage, f);
    // A matched primary whose checksum does not hold: blkid's answer stays, the copy is named.
    if (std::string fault = probe::primary_fault(src, r.type); !fault.empty()) {
      probe::CopyFound c;
      r.copy_valid = probe::find_copy_of(src, r.type, c);
      add_damage(r, fault + "; " + (r.copy_valid ? c.verdict() : "no valid copy found"));
    }
    break;
  }
  probe::PartitionTable pt;
  if (probe::probe_gpt(src, pt) || probe::probe_dos(src, pt) || (r.type.empty() && probe::probe_gpt_backup_only(src, pt))) {
    r.pttype = pt.pttype;
    r.ptuuid = pt.ptuuid;
    add_damage(r, pt.damaged);
    r.copy_valid |= !pt.damaged.empty();  // the backup header is what the table was read from
  }
  // Nothing named at all: a filesystem whose primary is gone may still have a valid copy. Only
  // here are copies read, so a device whose primary is healthy costs no extra read. A FAT boot
  // sector whose BPB no longer parses reads as an empty dos table (it ends in 55 AA): its backup
  // (inside the head window) is still looked at.
  if (r.type.empty() && (r.pttype.empty() || r.pttype == "dos")) {
    probe::CopyFound c;
    if (r.pttype.empty() ? probe::find_any_copy(src, c) : probe::find_copy_of(src, "vfat", c)) {
      take(r, c.type, c.usage, c.found);
      add_damage(r, "primary superblock unreadable; " + c.verdict());
      r.copy_valid = true;
    }
  }
  return r;
}

std::vector<Signature> probe::signatures_from(ProbeSource& src) {
  std::vector<Signature> all;
  for (const Prober* p : probe::probers()) {
    probe::Found f;
    if (!run_prober(src, *p, f)) continue;
    for (auto& s : f.sigs) all.push_back(std::move(s));
    // wipefs erases one magic, probes again and finds the next: list every copy up front.
    for (const auto& m : p->magics) {
      uint64_t abs = 0;
      if (probe::magic_present(src, m, abs))
        all.push_back(probe::make_signature(p->type, abs, src.get(abs, m.bytes.size())));
    }
  }
  probe::PartitionTable pt;
  if (probe::probe_gpt(src, pt) || probe::probe_dos(src, pt))
    for (auto& s : pt.sigs) all.push_back(std::move(s));
  std::sort(all.begin(), all.end(),
            [](const Signature& a, const Signature& b) { return a.offset < b.offset; });
  all.erase(std::unique(all.begin(), all.end(),
                        [](const Signature& a, const Signature& b) {
                          return a.offset == b.offset && a.length == b.length;
                        }),
            all.end());
  return all;
}

ProbeResult probe_device(ProbeSource& src) { return probe::probe_from(src); }

std::vector<Signature> find_signatures(ProbeSource& src) { return probe::signatures_from(src); }

ProbeResult probe_device(const io::Fd& fd, uint64_t size_bytes, uint32_t logical_sector_size) {
  ProbeSource src(fd, size_bytes, logical_sector_size);
  return probe::probe_from(src);
}

std::vector<Signature> find_signatures(const io::Fd& fd, uint64_t size_bytes,
                                       uint32_t logical_sector_size) {
  ProbeSource src(fd, size_bytes, logical_sector_size);
  return probe::signatures_from(src);
}

ProbeResult probe_image(std::span<const uint8_t> image, uint32_t logical_sector_size) {
  ProbeSource src(image, logical_sector_size);
  return probe::probe_from(src);
}

std::vector<Signature> find_signatures_in_image(std::span<const uint8_t> image,
                                                uint32_t logical_sector_size) {
  ProbeSource src(image, logical_sector_size);
  return probe::signatures_from(src);
}

}  // namespace mos::fsmake
