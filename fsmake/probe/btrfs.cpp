// btrfs: primary superblock at 64 KiB ("_BHRfS_M" at +0x40). UUID is the filesystem id,
// UUID_SUB this device's dev_item uuid.
#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

struct BtrfsSuperblockHead {
  uint8_t csum[32];
  uint8_t fsid[16];          // 0x20
  uint8_t pad0[0x40 - 0x30];
  uint8_t magic[8];          // 0x40
  uint8_t pad1[0xc9 - 0x48];
  uint8_t dev_item_head[66];  // 0xc9: devid .. dev_group, seek_speed, bandwidth
  uint8_t dev_uuid[16];      // 0x10b
  uint8_t dev_fsid[16];      // 0x11b
  uint8_t label[256];        // 0x12b
};
static_assert(sizeof(BtrfsSuperblockHead) == 0x22b);

constexpr uint64_t kSuperblockOffset = 64 * 1024;

bool probe_btrfs(ProbeSource& src, uint64_t, Found& out) {
  auto b = src.get(kSuperblockOffset, sizeof(BtrfsSuperblockHead));
  if (b.empty()) return false;
  const auto& sb = *reinterpret_cast<const BtrfsSuperblockHead*>(b.data());
  out.label = label_text(sb.label);
  out.uuid = uuid_text(sb.fsid);
  out.uuid_sub = uuid_text(sb.dev_uuid);
  return true;
}

constexpr Magic kMagics[] = {{"_BHRfS_M", kSuperblockOffset + 0x40}};

}  // namespace

extern constinit const Prober kBtrfs{"btrfs", "filesystem", kMiB, kMagics, probe_btrfs};

}  // namespace mos::fsmake::probe
