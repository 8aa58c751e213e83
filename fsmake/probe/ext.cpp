// ext2/ext3/ext4: one superblock at 1024 (magic 0xEF53 at +0x38); the three are told apart by
// feature flags exactly as libblkid does: journal => ext3 unless ext3 lacks a needed feature
// => ext4; neither => ext2.
#include <cstdio>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

struct ExtSuperblock {
  uint8_t pad0[0x38];
  le16 magic;               // 0x38
  uint8_t pad1[0x3E - 0x3A];
  le16 minor_rev_level;     // 0x3E
  uint8_t pad2[0x4C - 0x40];
  le32 rev_level;           // 0x4C
  uint8_t pad3[0x5C - 0x50];
  le32 feature_compat;      // 0x5C
  le32 feature_incompat;    // 0x60
  le32 feature_ro_compat;   // 0x64
  uint8_t uuid[16];         // 0x68
  uint8_t volume_name[16];  // 0x78
  uint8_t pad4[0x160 - 0x88];
  le32 flags;               // 0x160
  uint8_t pad5[0x200 - 0x164];
};
static_assert(sizeof(ExtSuperblock) == 0x200);

constexpr uint64_t kSuperblockOffset = 1024;
constexpr uint32_t kCompatHasJournal = 0x0004;
constexpr uint32_t kIncompatJournalDev = 0x0008;
constexpr uint32_t kFlagsTestFilesys = 0x0004;
// Features the old ext2/ext3 drivers understood; anything else makes it ext4.
constexpr uint32_t kExt2RoSupported = 0x1 | 0x2 | 0x4;
constexpr uint32_t kExt2IncompatSupported = 0x0002 | 0x0010;
constexpr uint32_t kExt3RoSupported = kExt2RoSupported;
constexpr uint32_t kExt3IncompatSupported = 0x0002 | 0x0004 | 0x0010;

const ExtSuperblock* load(ProbeSource& src) {
  auto b = src.get(kSuperblockOffset, sizeof(ExtSuperblock));
  return b.empty() ? nullptr : reinterpret_cast<const ExtSuperblock*>(b.data());
}

bool fill(const ExtSuperblock& sb, int ver, Found& out) {
  out.label = label_text(sb.volume_name);
  out.uuid = uuid_text(sb.uuid);
  // libblkid marks ext3/ext4 that an ext2 driver could still mount.
  if (ver != 2 && (sb.feature_incompat & ~kExt2IncompatSupported) == 0) out.sec_type = "ext2";
  char v[32];
  std::snprintf(v, sizeof v, "%u.%u", sb.rev_level.get(), unsigned{sb.minor_rev_level.get()});
  out.version = v;
  return true;
}

bool probe_ext4(ProbeSource& src, uint64_t, Found& out) {
  const ExtSuperblock* sb = load(src);
  if (!sb) return false;
  uint32_t fi = sb->feature_incompat, frc = sb->feature_ro_compat;
  if (fi & kIncompatJournalDev) return false;
  if (!(frc & ~kExt3RoSupported) && !(fi & ~kExt3IncompatSupported)) return false;
  if (sb->flags & kFlagsTestFilesys) return false;  // ext4dev
  return fill(*sb, 4, out);
}

bool probe_ext3(ProbeSource& src, uint64_t, Found& out) {
  const ExtSuperblock* sb = load(src);
  if (!sb) return false;
  if (!(sb->feature_compat & kCompatHasJournal)) return false;
  if ((sb->feature_ro_compat & ~kExt3RoSupported) || (sb->feature_incompat & ~kExt3IncompatSupported))
    return false;
  return fill(*sb, 3, out);
}

bool probe_ext2(ProbeSource& src, uint64_t, Found& out) {
  const ExtSuperblock* sb = load(src);
  if (!sb) return false;
  if (sb->feature_compat & kCompatHasJournal) return false;
  if ((sb->feature_ro_compat & ~kExt2RoSupported) || (sb->feature_incompat & ~kExt2IncompatSupported))
    return false;
  return fill(*sb, 2, out);
}

constexpr Magic kMagics[] = {{{"\x53\xef", 2}, kSuperblockOffset + 0x38}};

}  // namespace

extern constinit const Prober kExt4{"ext4", "filesystem", 0, kMagics, probe_ext4};
extern constinit const Prober kExt3{"ext3", "filesystem", 0, kMagics, probe_ext3};
extern constinit const Prober kExt2{"ext2", "filesystem", 0, kMagics, probe_ext2};

}  // namespace mos::fsmake::probe
