#include "engine/btrfs/search.hpp"

#include <linux/btrfs.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/error.hpp"

namespace mos::engine::btrfs {

bool tree_search(const io::Fd& fs, const SearchRange& range, const std::function<void(const SearchItem&)>& fn) {
  constexpr size_t kBuf = 256 * 1024;
  std::vector<uint64_t> storage((sizeof(btrfs_ioctl_search_args_v2) + kBuf) / 8 + 1);
  auto* args = reinterpret_cast<btrfs_ioctl_search_args_v2*>(storage.data());
  btrfs_ioctl_search_key& sk = args->key;
  std::memset(&sk, 0, sizeof sk);
  sk.tree_id = range.tree_id;
  sk.min_objectid = range.min_objectid;
  sk.max_objectid = range.max_objectid;
  sk.min_type = range.min_type;
  sk.max_type = range.max_type;
  sk.min_offset = range.min_offset;
  sk.max_offset = range.max_offset;
  sk.max_transid = UINT64_MAX;
  for (;;) {
    sk.nr_items = UINT32_MAX;
    args->buf_size = kBuf;
    if (ioctl(fs.get(), BTRFS_IOC_TREE_SEARCH_V2, args) < 0) {
      if (errno == ENOENT) return false;
      throw_sys("BTRFS_IOC_TREE_SEARCH_V2", fs.path(), errno);
    }
    if (sk.nr_items == 0) return true;
    size_t off = 0;
    btrfs_ioctl_search_header last{};
    for (uint32_t i = 0; i < sk.nr_items; ++i) {
      btrfs_ioctl_search_header h;
      std::memcpy(&h, args->buf + off, sizeof h);
      off += sizeof h;
      if (h.type >= range.min_type && h.type <= range.max_type)
        fn(SearchItem{h.objectid, h.type, h.offset, args->buf + off, h.len});
      off += h.len;
      last = h;
    }
    // Continue just after the last key returned.
    sk.min_objectid = last.objectid;
    sk.min_type = static_cast<uint8_t>(last.type);
    sk.min_offset = last.offset + 1;
    if (sk.min_offset == 0) {
      if (sk.min_type == 255) {
        if (sk.min_objectid == UINT64_MAX) return true;
        ++sk.min_objectid;
        sk.min_type = 0;
      } else {
        ++sk.min_type;
      }
    }
    if (sk.min_objectid > sk.max_objectid) return true;
  }
}

}  // namespace mos::engine::btrfs
