#include "engine/btrfs/members.hpp"

#include <fcntl.h>

#include <cstring>
#include <span>

#include "base/bytes.hpp"
#include "base/text.hpp"
#include "ioctl/block_open.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine::btrfs {
namespace {

constexpr uint64_t kSuperOffset = 64 * 1024;
constexpr size_t kSuperSize = 4096;
constexpr char kSuperMagic[8] = {'_', 'B', 'H', 'R', 'f', 'S', '_', 'M'};
// Superblock field offsets (btrfs on-disk format, struct btrfs_super_block).
constexpr size_t kSbFsid = 0x20, kSbMagic = 0x40, kSbNumDevices = 0x88, kSbCsumType = 0xc4, kSbLabel = 0x12b;

}  // namespace

std::optional<SuperFacts> read_super(const std::string& dev) {
  int fd = io::open_block_fd(dev, O_RDONLY);
  if (fd < 0) return std::nullopt;
  io::Fd f(fd, dev);
  uint8_t sb[kSuperSize];
  try {
    if (f.pread_some(sb, sizeof sb, kSuperOffset) != sizeof sb) return std::nullopt;
  } catch (const std::exception&) {  // an unreadable device carries no superblock we can judge by
    return std::nullopt;
  }
  if (std::memcmp(sb + kSbMagic, kSuperMagic, 8) != 0) return std::nullopt;
  if (load_le16(sb + kSbCsumType) == 0 && crc32c(sb + 0x20, kSuperSize - 0x20) != load_le32(sb)) return std::nullopt;
  SuperFacts s;
  s.fsid = mos::uuid_text(std::span<const uint8_t, 16>(sb + kSbFsid, 16));
  const char* label = reinterpret_cast<const char*>(sb + kSbLabel);
  s.label.assign(label, strnlen(label, 256));
  s.num_devices = load_le64(sb + kSbNumDevices);
  return s;
}

std::vector<std::string> devices_with_fsid(const std::string& fsid) {
  std::vector<std::string> out;
  for (const auto& name : io::list_dir("/sys/class/block")) {
    if (io::sysfs_u64("/sys/class/block/" + name + "/size").value_or(0) == 0) continue;  // detached loop, empty drive
    auto sb = read_super("/dev/" + name);
    if (sb && sb->fsid == fsid) out.push_back(name);
  }
  return out;
}

}  // namespace mos::engine::btrfs
