// ZFS pool member (zfs_member): four 256 KiB vdev labels, two at the start and two at the end;
// each has 128 uberblock slots from +128 KiB. Like libblkid, at least four uberblocks with the
// magic must be seen before it counts. LABEL is the pool name, UUID the pool guid and UUID_SUB
// the vdev guid (both decimal), read from the XDR nvlist at +16 KiB of the last label checked.
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr uint64_t kLabelSize = 256 * 1024, kUberblockArea = 128 * 1024, kNvlistOffset = 16 * 1024;
constexpr uint64_t kUberblockSize = 1024, kUberblockCount = 128;
constexpr uint64_t kUberblockMagic = 0x00bab10c;
constexpr int kWanted = 4;
constexpr uint32_t kTypeUint64 = 8, kTypeString = 9, kTypeDirectory = 19;

// strncmp(want, name, namelen) == 0, as libblkid compares nvpair names.
bool name_is(const char* want, const uint8_t* name, uint32_t namelen) {
  return std::strncmp(want, reinterpret_cast<const char*>(name), namelen) == 0;
}

void decode_nvlist(std::span<const uint8_t> buf, Found& out) {
  size_t pos = 12;  // nvlist header
  size_t left = buf.size() - pos;
  unsigned level = 0;
  while (left > 12) {
    const uint8_t* nvp = buf.data() + pos;
    uint32_t nvp_size = load_be32(nvp), namelen = load_be32(nvp + 8);
    uint64_t namesize = (uint64_t{namelen} + 3) & ~uint64_t{3};
    if (nvp_size == 0) {
      if (!level) break;
      --level;
      nvp_size = 8;
    } else {
      if (nvp_size > left || namesize + 12 > nvp_size) break;
      size_t max_value = nvp_size - (namesize + 12);
      const uint8_t* name = nvp + 12;
      const uint8_t* value = name + namesize;
      if (max_value >= 16 && load_be32(value) == kTypeDirectory) {
        nvp_size = static_cast<uint32_t>(12 + namesize + 16);
        ++level;
      } else if (!level && max_value >= 12 && name_is("name", name, namelen)) {
        uint32_t strlen = load_be32(value + 8);
        if (load_be32(value) == kTypeString && uint64_t{strlen} + 12 <= max_value)
          out.label = label_text({value + 12, strlen});
      } else if (!level && max_value >= 16 && load_be32(value) == kTypeUint64 &&
                 (name_is("guid", name, namelen) || name_is("pool_guid", name, namelen))) {
        uint64_t v = reinterpret_cast<const be64*>(value + 8)->get();
        char text[32];
        std::snprintf(text, sizeof text, "%" PRIu64, v);
        if (name_is("guid", name, namelen))
          out.uuid_sub = text;
        else if (v)
          out.uuid = text;
      }
    }
    if (nvp_size > left) break;
    left -= nvp_size;
    pos += nvp_size;
  }
}

bool probe_zfs(ProbeSource& src, uint64_t, Found& out) {
  uint64_t size = src.size();
  uint64_t align = size % kLabelSize;
  if (size < 2 * kLabelSize + align) return false;
  const uint64_t labels[4] = {0, kLabelSize, size - 2 * kLabelSize - align, size - kLabelSize - align};
  int found = 0;
  uint64_t label_off = 0, version = 0;
  bool swapped = false;
  for (uint64_t off : labels) {
    label_off = off;
    auto ub = src.get(off + kUberblockArea, kUberblockCount * kUberblockSize);
    if (ub.empty()) return false;
    for (uint64_t i = 0; i < kUberblockCount; ++i) {
      const uint8_t* u = ub.data() + i * kUberblockSize;
      uint64_t magic = load_le64(u);
      if (magic != kUberblockMagic && magic != __builtin_bswap64(kUberblockMagic)) continue;
      swapped = magic != kUberblockMagic;
      version = swapped ? __builtin_bswap64(load_le64(u + 8)) : load_le64(u + 8);
      ++found;
      out.sigs.push_back(make_signature("zfs_member", off + kUberblockArea + i * kUberblockSize, {u, 8}));
    }
    if (found >= kWanted) break;
  }
  if (found < kWanted) return false;
  char v[32];
  std::snprintf(v, sizeof v, "%" PRIu64, version);
  out.version = v;
  auto nv = src.get((label_off & ~(kLabelSize - 1)) + kNvlistOffset, 4096);
  if (!nv.empty()) decode_nvlist(nv, out);
  return true;
}

}  // namespace

extern constinit const Prober kZfs{"zfs_member", "filesystem", 64 * kMiB, {}, probe_zfs};

}  // namespace mos::fsmake::probe
