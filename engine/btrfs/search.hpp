// BTRFS_IOC_TREE_SEARCH_V2 over a key range of one tree, item by item (root only).
#pragma once
#include <cstdint>
#include <functional>

#include "ioctl/fd.hpp"

namespace mos::engine::btrfs {

struct SearchItem {
  uint64_t objectid = 0;
  uint32_t type = 0;
  uint64_t offset = 0;
  const uint8_t* data = nullptr;
  uint32_t len = 0;
};

struct SearchRange {
  uint64_t tree_id = 0;
  uint64_t min_objectid = 0, max_objectid = UINT64_MAX;
  uint8_t min_type = 0, max_type = 255;
  uint64_t min_offset = 0, max_offset = UINT64_MAX;
};

// Calls fn for each item whose key lies in [min, max] and whose type is within
// [min_type, max_type] (the ioctl range is a key interval, so types are filtered here).
// Returns false (calling nothing) if the tree does not exist.
bool tree_search(const io::Fd& fs, const SearchRange& range, const std::function<void(const SearchItem&)>& fn);

}  // namespace mos::engine::btrfs
