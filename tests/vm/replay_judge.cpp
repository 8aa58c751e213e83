#include "tests/vm/replay_judge.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string_view>
#include <regex>
#include <stdexcept>

#include "tests/support/harness.hpp"
#include "tests/vm/mos_oracles.hpp"
#include "tests/vm/seeded.hpp"

namespace mos::vmtest {
namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t kPendingBit = 48;  // engine/sysvol/record.hpp kStepPendingBit
constexpr uint64_t kFatDirtyAt = 65;  // FAT32 boot sector: BS_Reserved1, bit 0 = volume dirty

// Where each format keeps its primary superblock magic and its identity (bytes in the partition):
// mkfs.fat's boot sector (BS_FilSysType, BS_VolID), ext4's super block at 1024 (s_magic, s_uuid),
// the swap header page (magic at its end, uuid after bootbits, version, last_page, nr_badpages),
// btrfs's super block at 64 KiB (magic, fsid).
struct Format {
  const char* what;
  uint64_t magic_at;
  std::string magic;
  uint64_t uuid_at;
  size_t uuid_len;
};
const Format kFormats[] = {{"vfat", 0x52, "FAT32   ", 0x43, 4},
                           {"ext4", KiB + 0x38, "\x53\xef", KiB + 0x68, 16},
                           {"swap", 4096 - 10, "SWAPSPACE2", KiB + 12, 16},
                           {"btrfs", 64 * KiB + 0x40, "_BHRfS_M", 64 * KiB + 0x20, 16}};

json sfdisk_partitions(const std::string& image) {
  auto t = test::run_tool({"sfdisk", "--json", image});
  json j = t.ok() ? json::parse(t.out, nullptr, false) : json();
  return j.is_object() ? j["partitiontable"].value("partitions", json::array()) : json::array();
}

std::string bytes_at(const std::string& image, uint64_t offset, size_t len) {
  std::string out(len, '\0');
  int fd = ::open(image.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + image);
  (void)!::pread(fd, out.data(), len, static_cast<off_t>(offset));
  ::close(fd);
  return out;
}

// The partition name shows in /proc texts as e.g. "/dev/vdc5".
bool mentions(const std::string& text, const std::string& partition) {
  return std::regex_search(text, std::regex("/dev/" + partition + "([^0-9]|$)"));
}

// Calls fn(offset in the region, block) for each non-zero 4 KiB block of [offset, offset + bytes)
// of a sparse image, in order; holes are skipped without reading them.
template <class Fn>
void for_each_data_block(const std::string& image, uint64_t offset, uint64_t bytes, Fn fn) {
  int fd = ::open(image.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + image);
  std::vector<char> buf(1 << 20);
  const std::string zero(4 * KiB, '\0');
  for (uint64_t at = offset; at < offset + bytes;) {
    off_t data = ::lseek(fd, static_cast<off_t>(at), SEEK_DATA);
    if (data < 0 || static_cast<uint64_t>(data) >= offset + bytes) break;
    at = std::max<uint64_t>(at, static_cast<uint64_t>(data) & ~(4 * KiB - 1));
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), offset + bytes - at));
    const ssize_t got = ::pread(fd, buf.data(), n, static_cast<off_t>(at));
    if (got <= 0) break;
    for (size_t b = 0; b < static_cast<size_t>(got); b += 4 * KiB) {
      const size_t len = std::min<size_t>(4 * KiB, static_cast<size_t>(got) - b);
      if (std::equal(buf.begin() + static_cast<long>(b), buf.begin() + static_cast<long>(b + len), zero.begin())) continue;
      fn(at + b - offset, std::string_view(buf.data() + b, len));
    }
    at += static_cast<uint64_t>(got);
  }
  ::close(fd);
}

}  // namespace

uint64_t md12_data_offset(const std::string& image, uint64_t member_start) {
  const std::string v = bytes_at(image, member_start + 4 * KiB + 128, 8);
  uint64_t sectors = 0;
  for (int i = 7; i >= 0; --i) sectors = (sectors << 8) | static_cast<unsigned char>(v[static_cast<size_t>(i)]);
  return sectors * 512;
}

std::vector<Formatted> formatted_things(const std::string& final_image, bool md_members) {
  json parts = sfdisk_partitions(final_image);
  if (parts.size() != 5) throw std::runtime_error(final_image + ": the complete log leaves no MOS layout");
  std::vector<Formatted> out;
  for (int n = 2; n <= 5; ++n) {
    const Format& f = kFormats[n - 2];
    Formatted t;
    t.name = "partition " + std::to_string(n) + " " + f.what;
    t.partnum = n;
    t.region_start = parts[n - 1]["start"].get<uint64_t>() * 512;
    t.region_bytes = parts[n - 1]["size"].get<uint64_t>() * 512;
    // ext4 inside a v1.2 member starts at the member's data offset (v0.90 keeps data at 0).
    const uint64_t fs_start = t.region_start + (md_members && n == 3 ? md12_data_offset(final_image, t.region_start) : 0);
    t.magic_at = fs_start + f.magic_at;
    t.magic = f.magic;
    t.uuid_at = fs_start + f.uuid_at;
    t.uuid_len = f.uuid_len;
    out.push_back(std::move(t));
  }
  return out;
}

void find_commits(const WriteLog& log, uint64_t disk_at, std::vector<Formatted>& things) {
  const auto& es = log.entries;
  const uint32_t s = log.sector_size;
  for (auto& t : things) {
    const uint64_t at = disk_at + t.magic_at;
    for (size_t i = 0; i < es.size() && t.magic_write == SIZE_MAX; ++i) {
      const uint64_t first = es[i].first_byte(s), end = first + es[i].bytes(s);
      if (es[i].writes() && !(es[i].flags & kLogDiscard) && first <= at && at + t.magic.size() <= end &&
          entry_data(log, es[i], at - first, t.magic.size()) == t.magic)
        t.magic_write = i;
    }
    if (t.magic_write == SIZE_MAX) throw std::runtime_error(t.name + ": the log never writes its magic");
    for (size_t i = t.magic_write; i < es.size() && t.commit == SIZE_MAX; ++i)
      if (es[i].durable_point()) t.commit = i;
  }
}

std::string sparse_region_digest(const std::string& image, uint64_t offset, uint64_t bytes) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  for_each_data_block(image, offset, bytes, [&](uint64_t where, std::string_view block) {
    XXH3_128bits_update(st, &where, sizeof where);
    XXH3_128bits_update(st, block.data(), block.size());
  });
  std::string digest = xxh128_hex(XXH3_128bits_digest(st));
  XXH3_freeState(st);
  return digest;
}

bool image_is_blank(const std::string& image) {
  bool blank = true;
  for_each_data_block(image, 0, std::filesystem::file_size(image), [&](uint64_t, std::string_view) { blank = false; });
  return blank;
}

Before state_before(const std::vector<Formatted>& things, const std::string& image, size_t prefix) {
  Before b;
  const json parts = sfdisk_partitions(image);
  for (const auto& t : things) {
    bool pending = false;
    for (const auto& p : parts)
      if (p.value("node", "").ends_with(std::to_string(t.partnum)) &&
          std::regex_search(p.value("attrs", ""), std::regex("GUID:([0-9,]*,)?" + std::to_string(kPendingBit) + "(,|$)")))
        pending = true;
    b.complete.push_back(t.commit < prefix);
    b.pending.push_back(pending);
    b.digest.push_back(t.commit < prefix ? sparse_region_digest(image, t.region_start, t.region_bytes) : "");
    b.uuid.push_back(bytes_at(image, t.uuid_at, t.uuid_len));
    if (t.magic == kFormats[0].magic) b.fat_dirty = bytes_at(image, t.region_start + kFatDirtyAt, 1)[0] & 1;
  }
  return b;
}

namespace {

// The report's mode, and "broken" when mos_sysvol did not exit (killed, timed out, no result).
Verdict outcome_of(const json& e) {
  Verdict v;
  const json report = e.is_object() ? e.value("stdout_json", json::object()) : json::object();
  v.mode = report.is_object() ? report.value("mode", "") : "";
  if (!e.is_object() || e.value("timed_out", false) || !e.contains("exit_code") || e["exit_code"].is_null()) {
    v.outcome = "broken";
    v.violations.push_back("mos_sysvol did not exit: " + (e.is_object() ? e.dump().substr(0, 400) : std::string("no result")));
  }
  return v;
}

bool report_says(const json& e, const char* key) {
  const json report = e.value("stdout_json", json::object());
  return report.is_object() && report.value(key, false);
}

// Every thing complete in the prefix is still there: byte-equal when the boot did not use it
// (in_use(thing) false), its magic and identity unchanged when it did; a resume that came up may
// have formatted again what its record said was pending.
void check_preserved(const std::vector<Formatted>& things, const Before& before, const std::string& image,
                     const std::function<bool(const Formatted&)>& in_use, Verdict& v) {
  for (size_t i = 0; i < things.size(); ++i) {
    const Formatted& t = things[i];
    if (!before.complete[i]) continue;  // not durable in this prefix: a first boot may redo it
    if (before.pending[i] && v.outcome != "refused" && v.mode == "resume") continue;  // recorded unfinished
    const std::string complete = " (complete since log entry " + std::to_string(t.commit) + ", record " +
                                 (before.pending[i] ? "pending)" : "done)");
    if (in_use(t)) {
      // Mounted or swapped on: it writes, but it must be the same filesystem.
      if (bytes_at(image, t.magic_at, t.magic.size()) != t.magic || bytes_at(image, t.uuid_at, t.uuid_len) != before.uuid[i])
        v.violations.push_back(t.name + complete + " was formatted again or destroyed (its magic or identity changed)");
    } else if (sparse_region_digest(image, t.region_start, t.region_bytes) != before.digest[i]) {
      v.violations.push_back(t.name + complete + " was written although the boot did not use it");
    }
  }
}

}  // namespace

Verdict judge_boot(const std::vector<Formatted>& things, const Before& before, const std::string& image,
                   const BootReport& boot) {
  Verdict v = outcome_of(boot.exec);
  if (!v.outcome.empty()) {
  } else if (boot.exec["exit_code"] == 0) {
    v.outcome = "ready";
    if (!report_says(boot.exec, "ready")) v.violations.push_back("exit 0 without a ready report");
    for (const auto& p : single_disk_problems(image, {.allow_fat_dirty = before.fat_dirty}))
      v.violations.push_back("ready, but the oracles disagree: " + p);
  } else {
    v.outcome = "refused";
  }
  check_preserved(things, before, image, [&](const Formatted& t) {
    const std::string part = boot.guest_disk + std::to_string(t.partnum);
    return mentions(boot.mounts, part) || mentions(boot.swaps, part);
  }, v);
  return v;
}

Verdict judge_dual_boot(const DualDisk (&disks)[2], const json& exec, const std::string& mounts, const std::string& swaps) {
  Verdict v = outcome_of(exec);
  if (!v.outcome.empty()) {
  } else if (exec["exit_code"] == 0) {
    v.outcome = "ready";
    if (!report_says(exec, "ready")) v.violations.push_back("exit 0 without a ready report");
    const bool fat_dirty = disks[0].before.fat_dirty || disks[1].before.fat_dirty;
    for (const auto& p : dual_disk_problems(disks[0].image, disks[1].image, {.allow_fat_dirty = fat_dirty}))
      v.violations.push_back("ready, but the oracles disagree: " + p);
  } else if (exec["exit_code"] == 2) {
    v.outcome = "degraded";
    if (!report_says(exec, "ready") || !report_says(exec, "degraded"))
      v.violations.push_back("exit 2 without a ready and degraded report");
    // A first boot of ours adds a stale member back (README, Resume): never degraded for that.
    for (const auto& w : exec.value("stdout_json", json::object()).value("warnings", json::array()))
      if (w.is_string() && w.get<std::string>().find("left out: stale") != std::string::npos &&
          v.mode == "resume")
        v.violations.push_back("a resumed first boot left a stale md member out: " + w.get<std::string>());
  } else {
    v.outcome = "refused";
  }
  for (const auto& d : disks)
    if (v.outcome == "refused" && !d.digest.empty() && sparse_region_digest(d.image, 0, std::filesystem::file_size(d.image)) != d.digest)
      v.violations.push_back("refused, yet " + d.guest_disk + " was written (a refused boot writes nothing)");
  for (const auto& d : disks)
    if (d.blank && v.outcome != "ready" && !image_is_blank(d.image))
      v.violations.push_back(d.guest_disk + " was blank and the boot did not bring both disks up, yet it was written");
  for (int k = 0; k < 2; ++k) {
    const DualDisk& d = disks[k];
    check_preserved(*d.things, d.before, d.image, [&](const Formatted& t) {
      // md members (2, 3): assembling an array rewrites its superblocks; judged by identity.
      if (t.partnum == 2 || t.partnum == 3) return true;
      for (const auto& disk : {disks[0].guest_disk, disks[1].guest_disk})
        if (mentions(mounts, disk + std::to_string(t.partnum)) || mentions(swaps, disk + std::to_string(t.partnum)))
          return true;
      return false;
    }, v);
  }
  return v;
}

}  // namespace mos::vmtest
