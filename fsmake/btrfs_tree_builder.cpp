#include "fsmake/btrfs_tree_builder.hpp"

#include <algorithm>
#include <cstring>

#include "base/error.hpp"

namespace mos::fsmake::btrfs {

DiskKey to_disk(const Key& k) {
  DiskKey d{};
  d.objectid = k.objectid;
  d.type = k.type;
  d.offset = k.offset;
  return d;
}

Key from_disk(const DiskKey& k) { return Key{k.objectid.get(), k.type, k.offset.get()}; }

void LeafBuilder::add(const Key& key, const void* data, size_t len) {
  Entry e{key, {}};
  if (len) e.data.assign(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + len);
  items_.push_back(std::move(e));
}

size_t LeafBuilder::used_bytes() const {
  size_t n = 0;
  for (auto& e : items_) n += sizeof(Item) + e.data.size();
  return n;
}

void LeafBuilder::write(uint8_t* out, uint64_t bytenr, const NodeIdentity& id) const {
  constexpr size_t payload = kNodeSize - sizeof(Header);
  if (used_bytes() > payload)
    throw Error(ErrorCode::internal, "btrfs leaf of tree " + std::to_string(owner_) + " overflows one node");
  std::vector<const Entry*> sorted;
  for (auto& e : items_) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->key < b->key; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i - 1]->key == sorted[i]->key)
      throw Error(ErrorCode::internal, "btrfs leaf of tree " + std::to_string(owner_) + " has a duplicate key");

  std::memset(out, 0, kNodeSize);
  Header h{};
  std::memcpy(h.fsid, id.fsid.data(), 16);
  h.bytenr = bytenr;
  h.flags = kHeaderFlags;
  std::memcpy(h.chunk_tree_uuid, id.chunk_tree_uuid.data(), 16);
  h.generation = id.generation;
  h.owner = owner_;
  h.nritems = static_cast<uint32_t>(sorted.size());
  h.level = 0;
  std::memcpy(out, &h, sizeof h);

  uint8_t* items = out + sizeof(Header);
  uint32_t data_end = payload;  // item data offsets count from the end of the header
  for (size_t i = 0; i < sorted.size(); ++i) {
    const Entry& e = *sorted[i];
    data_end -= static_cast<uint32_t>(e.data.size());
    Item it{};
    it.key = to_disk(e.key);
    it.offset = data_end;
    it.size = static_cast<uint32_t>(e.data.size());
    std::memcpy(items + i * sizeof(Item), &it, sizeof it);
    if (!e.data.empty()) std::memcpy(items + data_end, e.data.data(), e.data.size());
  }
  store_le32(out, block_csum(out, kNodeSize));
}

}  // namespace mos::fsmake::btrfs
