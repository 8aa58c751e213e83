// The prober table and the two drivers: probe (first match wins, as `blkid -p` reports it) and
// find_signatures (every match, as `wipefs --all` would erase them).
#include "fsmake/probe/probe.hpp"

#include <algorithm>
#include <cstring>

#include "fsmake/probe/prober.hpp"

namespace mos::fsmake {
namespace {

using probe::Magic;
using probe::Prober;

constexpr std::string_view kExtMagic{"\x53\xef", 2};
constexpr std::string_view kBcachefsMagic{
    "\xc6\x85\x73\xf6\x66\xce\x90\xa9\xd9\x6a\x60\xcf\x80\x3d\xf7\xef", 16};
constexpr std::string_view kBcacheMagic{
    "\xc6\x85\x73\xf6\x4e\x1a\x45\xca\x82\x65\xf5\x7f\x48\xba\x6d\x81", 16};
constexpr uint64_t MiB = 1024 * 1024;

std::vector<Magic> swap_magics() {
  std::vector<Magic> m;
  for (uint64_t page : {4096, 8192, 16384, 32768, 65536}) {
    m.push_back({"SWAP-SPACE", page - 10});
    m.push_back({"SWAPSPACE2", page - 10});
  }
  return m;
}

// libblkid's order; RAID members come first so a member's inner filesystem is not reported.
const std::vector<Prober>& prober_table() {
  static const std::vector<Prober> table = {
      {"linux_raid_member", "raid", 0, {}, probe::probe_md},
      {"ddf_raid_member", "raid", 0, {}, probe::probe_ddf_raid},
      {"isw_raid_member", "raid", 0, {}, probe::probe_isw_raid},
      {"lsi_mega_raid_member", "raid", 0, {}, probe::probe_lsi_raid},
      {"via_raid_member", "raid", 0, {}, probe::probe_via_raid},
      {"silicon_medley_raid_member", "raid", 0, {}, probe::probe_silicon_raid},
      {"nvidia_raid_member", "raid", 0, {}, probe::probe_nvidia_raid},
      {"promise_fasttrack_raid_member", "raid", 0, {}, probe::probe_promise_raid},
      {"hpt45x_raid_member", "raid", 0, {}, probe::probe_hpt45x_raid},
      {"hpt37x_raid_member", "raid", 0,
       {{{"\xf0\x16\x78\x5a", 4}, 4096 + 544}, {{"\xfd\x16\x78\x5a", 4}, 4096 + 544}},
       probe::magic_only},
      {"adaptec_raid_member", "raid", 0, {}, probe::probe_adaptec_raid},
      {"jmicron_raid_member", "raid", 0, {}, probe::probe_jmicron_raid},
      {"bcache", "other", 8192, {{kBcacheMagic, 4096 + 24}}, probe::probe_bcache},
      {"bcachefs", "filesystem", 256 * 512,
       {{kBcacheMagic, 4096 + 24}, {kBcachefsMagic, 4096 + 24}, {kBcachefsMagic, MiB + 24},
        {kBcachefsMagic, MiB - 24, true}},
       probe::probe_bcachefs},
      {"ceph_bluestore", "other", 0, {{"bluestore block device", 0}}, probe::magic_only},
      {"drbd", "raid", 0, {}, probe::probe_drbd},
      {"LVM2_member", "raid", 0,
       {{"LVM2 001", 0x218}, {"LVM2 001", 0x018}, {"LVM2 001", 1024 + 0x018},
        {"LVM2 001", 1024 + 0x218}},
       probe::probe_lvm2},
      {"crypto_LUKS", "crypto", 0, {}, probe::probe_luks},
      {"VMFS_volume_member", "raid", 0, {{{"\x0d\xd0\x01\xc0", 4}, MiB}}, probe::magic_only},
      {"BitLocker", "crypto", 0,
       {{"\xeb\x52\x90-FVE-FS-", 0}, {"\xeb\x58\x90-FVE-FS-", 0}, {"\xeb\x58\x90MSWIN4.1", 0}},
       probe::probe_bitlocker},
      {"vfat", "filesystem", 0,
       {{"MSWIN", 0x52}, {"FAT32   ", 0x52}, {"MSDOS", 0x36}, {"FAT16   ", 0x36},
        {"FAT12   ", 0x36}, {"FAT     ", 0x36}, {"\353", 0}, {"\351", 0}, {"\125\252", 0x1fe}},
       probe::probe_vfat},
      {"swap", "other", 10 * 4096, swap_magics(), probe::probe_swap},
      {"xfs", "filesystem", 0, {{"XFSB", 0}}, probe::probe_xfs},
      {"ext4", "filesystem", 0, {{kExtMagic, 0x438}}, probe::probe_ext4},
      {"ext3", "filesystem", 0, {{kExtMagic, 0x438}}, probe::probe_ext3},
      {"ext2", "filesystem", 0, {{kExtMagic, 0x438}}, probe::probe_ext2},
      {"reiserfs", "filesystem", 128 * 1024,
       {{"ReIsErFs", 0x2000 + 0x34}, {"ReIsEr2Fs", 0x10000 + 0x34}, {"ReIsEr3Fs", 0x10000 + 0x34},
        {"ReIsErFs", 0x10000 + 0x34}, {"ReIsErFs", 0x2000 + 20}},
       probe::probe_reiserfs},
      {"jfs", "filesystem", 16 * MiB, {{"JFS1", 0x8000}}, probe::probe_jfs},
      {"udf", "filesystem", 0, {}, probe::probe_udf},
      {"iso9660", "filesystem", 0, {{"CD001", 0x8001}}, probe::probe_iso9660},
      {"zfs_member", "filesystem", 64 * MiB, {}, probe::probe_zfs},
      {"hfsplus", "filesystem", 0, {{"BD", 1024}, {"H+", 1024}, {"HX", 1024}}, probe::probe_hfsplus},
      {"hfs", "filesystem", 0, {{"BD", 1024}}, probe::probe_hfs},
      {"ntfs", "filesystem", 0, {{"NTFS    ", 3}}, probe::probe_ntfs},
      {"ReFS", "filesystem", 0, {{{"\0\0\0ReFS\0", 8}, 0}}, probe::magic_only},
      {"squashfs", "filesystem", 0, {{"hsqs", 0}}, probe::probe_squashfs},
      {"btrfs", "filesystem", MiB, {{"_BHRfS_M", 0x10040}}, probe::probe_btrfs},
      {"nilfs2", "filesystem", MiB, {}, probe::probe_nilfs2},
      {"exfat", "filesystem", 0, {{"EXFAT   ", 3}}, probe::probe_exfat},
      {"f2fs", "filesystem", 0, {{{"\x10\x20\xF5\xF2", 4}, 1024}}, probe::probe_f2fs},
      {"apfs", "filesystem", 0, {{"NXSB", 32}}, probe::probe_apfs},
  };
  return table;
}

bool magic_offset(const ProbeSource& src, const Magic& m, uint64_t& abs) {
  if (!m.from_end) {
    abs = m.offset;
    return true;
  }
  if (src.size() < m.offset) return false;
  abs = src.size() - m.offset;
  return true;
}

bool magic_present(ProbeSource& src, const Magic& m, uint64_t& abs) {
  if (!magic_offset(src, m, abs)) return false;
  auto b = src.get(abs, m.bytes.size());
  return !b.empty() && std::memcmp(b.data(), m.bytes.data(), m.bytes.size()) == 0;
}

// Runs one prober: with magics, the first magic present selects the superblock (libblkid).
bool run_prober(ProbeSource& src, const Prober& p, probe::Found& out) {
  if (src.size() < p.min_size) return false;
  if (p.magics.empty()) return p.fn(src, 0, out);
  for (const auto& m : p.magics) {
    uint64_t abs = 0;
    if (!magic_present(src, m, abs)) continue;
    if (!p.fn(src, abs, out)) return false;
    if (out.sigs.empty())
      out.sigs.push_back(probe::make_signature(p.type, abs, src.get(abs, m.bytes.size())));
    return true;
  }
  return false;
}

}  // namespace

bool probe::magic_only(ProbeSource&, uint64_t, probe::Found&) { return true; }

ProbeResult probe::probe_from(ProbeSource& src) {
  ProbeResult r;
  for (const auto& p : prober_table()) {
    probe::Found f;
    if (!run_prober(src, p, f)) continue;
    r.type = p.type;
    r.usage = p.usage;
    r.label = std::move(f.label);
    r.uuid = std::move(f.uuid);
    r.uuid_sub = std::move(f.uuid_sub);
    r.version = std::move(f.version);
    r.sec_type = std::move(f.sec_type);
    break;
  }
  probe::PartitionTable pt;
  if (probe::probe_gpt(src, pt) || probe::probe_dos(src, pt)) {
    r.pttype = pt.pttype;
    r.ptuuid = pt.ptuuid;
  }
  return r;
}

std::vector<Signature> probe::signatures_from(ProbeSource& src) {
  std::vector<Signature> all;
  for (const auto& p : prober_table()) {
    probe::Found f;
    if (!run_prober(src, p, f)) continue;
    for (auto& s : f.sigs) all.push_back(std::move(s));
    // wipefs erases one magic, probes again and finds the next: list every copy up front.
    for (const auto& m : p.magics) {
      uint64_t abs = 0;
      if (magic_present(src, m, abs))
        all.push_back(probe::make_signature(p.type, abs, src.get(abs, m.bytes.size())));
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
