// Packs btrfs leaves: items sorted by key, data packed from the block end, header + checksum.
#pragma once
#include <array>
#include <compare>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <cstdint>
#include <vector>

#include "fsmake/btrfs_structs.hpp"

namespace mos::fsmake::btrfs {

struct Key {
  uint64_t objectid = 0;
  uint8_t type = 0;
  uint64_t offset = 0;
  auto operator<=>(const Key&) const = default;
};

DiskKey to_disk(const Key& k);
Key from_disk(const DiskKey& k);

// What every tree block of one filesystem shares.
struct NodeIdentity {
  std::array<uint8_t, 16> fsid{};
  std::array<uint8_t, 16> chunk_tree_uuid{};
  uint64_t generation = 0;
};

class LeafBuilder {
 public:
  explicit LeafBuilder(uint64_t owner) : owner_(owner) {}

  void add(const Key& key, const void* data, size_t len);
  void add(const Key& key, const std::vector<uint8_t>& bytes) { add(key, bytes.data(), bytes.size()); }
  template <typename T>
  void add(const Key& key, const T& item) {
    static_assert(std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>);
    add(key, &item, sizeof(T));
  }
  void add_empty(const Key& key) { add(key, nullptr, 0); }

  uint64_t owner() const { return owner_; }
  // Bytes the items need (headers + data); must stay within nodesize - header.
  size_t used_bytes() const;

  // Writes a level-0 leaf of kNodeSize bytes at `out` (logical address bytenr), checksummed.
  // Throws mos::Error(internal) if the items do not fit: a programming error, not bad input.
  void write(uint8_t* out, uint64_t bytenr, const NodeIdentity& id) const;

 private:
  struct Entry {
    Key key;
    std::vector<uint8_t> data;
  };
  uint64_t owner_;
  std::vector<Entry> items_;
};

// Appends a name-carrying item (inode ref, dir item) to a byte vector.
template <typename T>
std::vector<uint8_t> with_name(const T& fixed, const std::string_view& name) {
  std::vector<uint8_t> out(sizeof(T) + name.size());
  std::memcpy(out.data(), &fixed, sizeof(T));
  std::memcpy(out.data() + sizeof(T), name.data(), name.size());
  return out;
}

}  // namespace mos::fsmake::btrfs
