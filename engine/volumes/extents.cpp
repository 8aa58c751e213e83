#include "engine/volumes/extents.hpp"

#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/error.hpp"

namespace mos::engine::volumes {

ExtentBytes extent_bytes(const io::Fd& file) {
  constexpr uint32_t kBatch = 256;
  std::vector<uint8_t> buf(sizeof(fiemap) + kBatch * sizeof(fiemap_extent));
  auto* fm = reinterpret_cast<fiemap*>(buf.data());
  ExtentBytes out;
  uint64_t start = 0;
  uint32_t flags = FIEMAP_FLAG_SYNC;
  for (;;) {
    std::memset(buf.data(), 0, buf.size());
    fm->fm_start = start;
    fm->fm_length = FIEMAP_MAX_OFFSET - start;
    fm->fm_flags = flags;
    fm->fm_extent_count = kBatch;
    if (::ioctl(file.get(), FS_IOC_FIEMAP, fm) != 0)
      throw Error(ErrorCode::storage_failed, "FIEMAP " + file.path() + ": " + std::strerror(errno), file.path(), errno);
    flags = 0;  // synced once
    if (fm->fm_mapped_extents == 0) break;
    bool last = false;
    for (uint32_t i = 0; i < fm->fm_mapped_extents; ++i) {
      const fiemap_extent& e = fm->fm_extents[i];
      ++out.extents;
      if (!(e.fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC)))
        (e.fe_flags & FIEMAP_EXTENT_SHARED ? out.shared : out.exclusive) += e.fe_length;
      if (e.fe_flags & FIEMAP_EXTENT_LAST) last = true;
      start = e.fe_logical + e.fe_length;
    }
    if (last) break;
  }
  return out;
}

}  // namespace mos::engine::volumes
