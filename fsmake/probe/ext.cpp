// ext2/ext3/ext4: one superblock at 1024 (magic 0xEF53 at +0x38); the three are told apart by
// feature flags exactly as libblkid does: journal => ext3 unless ext3 lacks a needed feature
// => ext4; neither => ext2.
#include <cstddef>
#include <cstdio>

#include "fsmake/probe/ext.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr uint32_t kCompatHasJournal = 0x0004;
constexpr uint32_t kIncompatJournalDev = 0x0008;
constexpr uint32_t kFlagsTestFilesys = 0x0004;
// Features the old ext2/ext3 drivers understood; anything else makes it ext4.
constexpr uint32_t kExt2RoSupported = 0x1 | 0x2 | 0x4;
constexpr uint32_t kExt2IncompatSupported = 0x0002 | 0x0010;
constexpr uint32_t kExt3RoSupported = kExt2RoSupported;
constexpr uint32_t kExt3IncompatSupported = 0x0002 | 0x0004 | 0x0010;

const ExtSuperblock* load(ProbeSource& src) {
  auto b = src.get(kExtSuperblockOffset, sizeof(ExtSuperblock));
  return b.empty() ? nullptr : reinterpret_cast<const ExtSuperblock*>(b.data());
}

bool probe_as(ProbeSource& src, std::string_view type, Found& out) {
  const ExtSuperblock* sb = load(src);
  if (!sb || ext_type(*sb) != type) return false;
  ext_fill(*sb, type, out);
  return true;
}

bool probe_ext4(ProbeSource& src, uint64_t, Found& out) { return probe_as(src, "ext4", out); }
bool probe_ext3(ProbeSource& src, uint64_t, Found& out) { return probe_as(src, "ext3", out); }
bool probe_ext2(ProbeSource& src, uint64_t, Found& out) { return probe_as(src, "ext2", out); }

constexpr Magic kMagics[] = {{{"\x53\xef", 2}, kExtSuperblockOffset + 0x38}};

}  // namespace

std::string_view ext_type(const ExtSuperblock& sb) {
  uint32_t fc = sb.feature_compat, fi = sb.feature_incompat, frc = sb.feature_ro_compat;
  if (fi & kIncompatJournalDev) return {};
  const bool ext3_enough = !(frc & ~kExt3RoSupported) && !(fi & ~kExt3IncompatSupported);
  if (!ext3_enough) return (sb.flags & kFlagsTestFilesys) ? std::string_view{} : "ext4";  // else ext4dev
  if (fc & kCompatHasJournal) return "ext3";
  if ((frc & ~kExt2RoSupported) || (fi & ~kExt2IncompatSupported)) return {};
  return "ext2";
}

void ext_fill(const ExtSuperblock& sb, std::string_view type, Found& out) {
  out.label = label_text(sb.volume_name);
  out.uuid = uuid_text(sb.uuid);
  // libblkid marks ext3/ext4 that an ext2 driver could still mount.
  if (type != "ext2" && (sb.feature_incompat & ~kExt2IncompatSupported) == 0) out.sec_type = "ext2";
  char v[32];
  std::snprintf(v, sizeof v, "%u.%u", sb.rev_level.get(), unsigned{sb.minor_rev_level.get()});
  out.version = v;
}

bool ext_checksum_ok(const ExtSuperblock& sb) {
  if (!(sb.feature_ro_compat & kExtRoCompatMetadataCsum)) return true;
  // The kernel's ext4_superblock_csum: crc32c seeded with ~0, the raw register stored.
  return crc32c_update(~0u, &sb, offsetof(ExtSuperblock, checksum)) == sb.checksum.get();
}

std::string ext_primary_fault(ProbeSource& src) {
  const ExtSuperblock* sb = load(src);
  if (!sb) return {};
  if (!ext_checksum_ok(*sb)) return "primary superblock checksum mismatch";
  if (sb->log_block_size > kExtMaxLogBlockSize || sb->blocks_per_group.get() == 0)
    return "primary superblock geometry out of range";
  return {};
}

extern constinit const Prober kExt4{"ext4", "filesystem", 0, kMagics, probe_ext4};
extern constinit const Prober kExt3{"ext3", "filesystem", 0, kMagics, probe_ext3};
extern constinit const Prober kExt2{"ext2", "filesystem", 0, kMagics, probe_ext2};

}  // namespace mos::fsmake::probe
