// Firmware ("fake") RAID members: vendor metadata in the last sectors of a whole disk. Facts
// from libblkid's *_raid.c probers (offsets, magics, checksums); TYPE and VERSION as blkid.
// blkid probes these on whole disks only; we probe any device, so a partition that carries such
// metadata is named too (the safety gate wants to know).
#include <cstdio>
#include <cstring>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr uint64_t kSector = 512;

// Offset of the n-th 512-byte sector counted back from the end (n = 1: the last one).
bool from_end(ProbeSource& src, uint64_t n, uint64_t& off) {
  uint64_t sectors = src.size() / kSector;
  if (src.size() < 0x10000 || sectors < n) return false;
  off = (sectors - n) * kSector;
  return true;
}

uint16_t sum16(const uint8_t* p, size_t words) {
  uint16_t s = 0;
  for (size_t i = 0; i < words; ++i) s = static_cast<uint16_t>(s + load_le16(p + 2 * i));
  return s;
}

// SNIA DDF: big-endian 0xDE11DE11 anchor header in the last sector (or 257 sectors back).
bool probe_ddf_raid(ProbeSource& src, uint64_t, Found& out) {
  if (src.size() < 0x30000) return false;
  for (uint64_t n : {1, 257}) {
    uint64_t off = 0;
    if (!from_end(src, n, off)) continue;
    auto b = src.get(off, 512);
    if (b.empty() || load_be32(b.data()) != 0xDE11DE11u) continue;
    out.version = label_text(b.subspan(32, 8));
    return found_at(src, "ddf_raid_member", off, 4, out);
  }
  return false;
}

// Intel Matrix Storage (isw): "Intel Raid ISM Cfg Sig. " two logical sectors before the end.
bool probe_isw_raid(ProbeSource& src, uint64_t, Found& out) {
  uint64_t ss = src.sector_size(), sectors = src.size() / ss;
  if (src.size() < 0x10000 || sectors < 2) return false;
  uint64_t off = (sectors - 2) * ss;
  auto b = src.get(off, 32);
  static constexpr char kSig[] = "Intel Raid ISM Cfg Sig. ";
  if (b.empty() || std::memcmp(b.data(), kSig, sizeof kSig - 1) != 0) return false;
  out.version = label_text(b.subspan(sizeof kSig - 1, 6));
  return found_at(src, "isw_raid_member", off, 32, out);
}

// LSI MegaRAID: "$XIDE$" at the start of the last sector.
bool probe_lsi_raid(ProbeSource& src, uint64_t, Found& out) {
  uint64_t off = 0;
  if (!from_end(src, 1, off)) return false;
  auto b = src.get(off, 6);
  if (b.empty() || std::memcmp(b.data(), "$XIDE$", 6) != 0) return false;
  return found_at(src, "lsi_mega_raid_member", off, 6, out);
}

// VIA: LE 0xAA55, version <= 2, byte checksum of the first 50 bytes at byte 50; last sector.
bool probe_via_raid(ProbeSource& src, uint64_t, Found& out) {
  uint64_t off = 0;
  if (!from_end(src, 1, off)) return false;
  auto b = src.get(off, 51);
  if (b.empty() || load_le16(b.data()) != 0xAA55 || b[2] > 2) return false;
  uint8_t sum = 0;
  for (int i = 0; i < 50; ++i) sum = static_cast<uint8_t>(sum + b[i]);
  if (sum != b[50]) return false;
  out.version = std::to_string(b[2]);
  return found_at(src, "via_raid_member", off, 2, out);
}

// Silicon Image Medley: LE 0x2F000000 at 0x60 of the last sector, disk number < 8, and the
// 16-bit checksum of the words before 0x13E stored at 0x13E.
bool probe_silicon_raid(ProbeSource& src, uint64_t, Found& out) {
  uint64_t off = 0;
  if (!from_end(src, 1, off)) return false;
  auto b = src.get(off, 512);
  if (b.empty() || load_le32(b.data() + 0x60) != 0x2F000000u || b[0x116] >= 8) return false;
  if (static_cast<uint16_t>(-sum16(b.data(), 0x13E / 2)) != load_le16(b.data() + 0x13E)) return false;
  out.version = std::to_string(load_le16(b.data() + 0x10A)) + "." + std::to_string(load_le16(b.data() + 0x108));
  return found_at(src, "silicon_medley_raid_member", off + 0x60, 4, out);
}

// NVIDIA MediaShield: "NVIDIA  " two sectors before the end, size 30 words summing to zero.
bool probe_nvidia_raid(ProbeSource& src, uint64_t, Found& out) {
  uint64_t off = 0;
  if (!from_end(src, 2, off)) return false;
  auto b = src.get(off, 120);
  if (b.empty() || std::memcmp(b.data(), "NVIDIA  ", 8) != 0 || load_le32(b.data() + 8) != 30)
    return false;
  uint32_t sum = 0;
  for (int i = 0; i < 30; ++i) sum += load_le32(b.data() + 4 * i);
  if (sum != 0) return false;
  out.version = std::to_string(load_le16(b.data() + 16));
  return found_at(src, "nvidia_raid_member", off, 8, out);
}

// Promise FastTrack: the vendor string at one of several sector counts from the end.
bool probe_promise_raid(ProbeSource& src, uint64_t, Found& out) {
  if (src.size() < 0x40000) return false;
  static constexpr char kSig[] = "Promise Technology, Inc.";
  for (uint64_t n : {63, 255, 256, 16, 399, 591, 675, 735, 911, 974, 991, 951, 3087}) {
    uint64_t off = 0;
    if (!from_end(src, n, off)) return false;
    auto b = src.get(off, sizeof kSig - 1);
    if (!b.empty() && std::memcmp(b.data(), kSig, sizeof kSig - 1) == 0)
      return found_at(src, "promise_fasttrack_raid_member", off, sizeof kSig - 1, out);
  }
  return false;
}

// HighPoint 45x: LE magic 0x5a7816f3 (ok) or 0x5a7816fd (bad) 11 sectors before the end.
bool probe_hpt45x_raid(ProbeSource& src, uint64_t, Found& out) {
  uint64_t off = 0;
  if (!from_end(src, 11, off)) return false;
  auto b = src.get(off, 4);
  if (b.empty()) return false;
  uint32_t magic = load_le32(b.data());
  if (magic != 0x5a7816f3u && magic != 0x5a7816fdu) return false;
  return found_at(src, "hpt45x_raid_member", off, 4, out);
}

// Adaptec: BE 0x37FC4D1E at 0 and "DPTM" at 256 of the last sector.
bool probe_adaptec_raid(ProbeSource& src, uint64_t, Found& out) {
  uint64_t off = 0;
  if (!from_end(src, 1, off)) return false;
  auto b = src.get(off, 512);
  if (b.empty() || load_be32(b.data()) != 0x37FC4D1Eu || std::memcmp(b.data() + 256, "DPTM", 4) != 0)
    return false;
  out.version = std::to_string(b[63]);
  return found_at(src, "adaptec_raid_member", off, 4, out);
}

// JMicron: "JM" at 0 of the last sector, 16-bit sum of the 126-byte record 0 or 1, mode <= 5.
bool probe_jmicron_raid(ProbeSource& src, uint64_t, Found& out) {
  uint64_t off = 0;
  if (!from_end(src, 1, off)) return false;
  auto b = src.get(off, 126);
  if (b.empty() || b[0] != 'J' || b[1] != 'M') return false;
  if (sum16(b.data(), 63) > 1 || b[0x2E] > 5) return false;
  uint16_t v = load_le16(b.data() + 2);
  out.version = std::to_string(v >> 8) + "." + std::to_string(v & 0xFF);
  return found_at(src, "jmicron_raid_member", off, 2, out);
}

// HighPoint 37x: LE magic 0x5a7816f0 (ok) or 0x5a7816fd (bad) 544 bytes into the sector at
// 4 KiB, near the start of the disk unlike the others; the magic alone names it.
constexpr Magic kHpt37xMagics[] = {{{"\xf0\x16\x78\x5a", 4}, 4096 + 544},
                                   {{"\xfd\x16\x78\x5a", 4}, 4096 + 544}};

}  // namespace

extern constinit const Prober kDdfRaid{"ddf_raid_member", "raid", 0, {}, probe_ddf_raid};
extern constinit const Prober kIswRaid{"isw_raid_member", "raid", 0, {}, probe_isw_raid};
extern constinit const Prober kLsiRaid{"lsi_mega_raid_member", "raid", 0, {}, probe_lsi_raid};
extern constinit const Prober kViaRaid{"via_raid_member", "raid", 0, {}, probe_via_raid};
extern constinit const Prober kSiliconRaid{"silicon_medley_raid_member", "raid", 0, {},
                                           probe_silicon_raid};
extern constinit const Prober kNvidiaRaid{"nvidia_raid_member", "raid", 0, {}, probe_nvidia_raid};
extern constinit const Prober kPromiseRaid{"promise_fasttrack_raid_member", "raid", 0, {},
                                           probe_promise_raid};
extern constinit const Prober kHpt45xRaid{"hpt45x_raid_member", "raid", 0, {}, probe_hpt45x_raid};
extern constinit const Prober kHpt37xRaid{"hpt37x_raid_member", "raid", 0, kHpt37xMagics,
                                          magic_only};
extern constinit const Prober kAdaptecRaid{"adaptec_raid_member", "raid", 0, {}, probe_adaptec_raid};
extern constinit const Prober kJmicronRaid{"jmicron_raid_member", "raid", 0, {}, probe_jmicron_raid};

}  // namespace mos::fsmake::probe
