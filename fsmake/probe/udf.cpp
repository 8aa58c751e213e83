// UDF (ECMA-167 / OSTA): a volume recognition sequence from 32 KiB ("BEA01" ... "NSR02"/"NSR03"
// ... "TEA01", one descriptor per 2 KiB or per block if larger) and an anchor volume descriptor
// pointer (tag 2) at block 256 for some block size (libblkid udf.c, which reads far more).
#include <cstring>
#include <string_view>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr uint64_t kVrsStart = 32768;
constexpr unsigned kMaxVrsDescriptors = 64;
constexpr uint16_t kTagAnchor = 2;

bool vrs_id(std::span<const uint8_t> d, std::string_view id) {
  return d.size() >= 6 && std::memcmp(d.data() + 1, id.data(), 5) == 0;
}

// An NSR descriptor inside a well-formed recognition sequence with this descriptor stride.
bool has_nsr(ProbeSource& src, uint64_t stride) {
  for (unsigned i = 0; i < kMaxVrsDescriptors; ++i) {
    auto d = src.get(kVrsStart + i * stride, 6);
    if (d.empty()) return false;
    if (vrs_id(d, "NSR02") || vrs_id(d, "NSR03")) return true;
    if (!(vrs_id(d, "BEA01") || vrs_id(d, "BOOT2") || vrs_id(d, "CD001") || vrs_id(d, "CDW02") ||
          vrs_id(d, "TEA01")))
      return false;
  }
  return false;
}

bool anchor_at(ProbeSource& src, uint64_t off) {
  auto t = src.get(off, 16);
  if (t.empty() || load_le16(t.data()) != kTagAnchor) return false;
  uint8_t sum = 0;  // tag checksum: bytes 0-3 and 5-15
  for (int i = 0; i < 16; ++i)
    if (i != 4) sum = static_cast<uint8_t>(sum + t[i]);
  return sum == t[4];
}

bool probe_udf(ProbeSource& src, uint64_t, Found& out) {
  bool nsr = false;
  for (uint64_t stride : {2048u, 4096u, 512u, 1024u})
    if (has_nsr(src, stride)) {
      nsr = true;
      break;
    }
  if (!nsr) return false;
  for (uint64_t bs : {512u, 1024u, 2048u, 4096u}) {
    if (anchor_at(src, 256 * bs)) return found_at(src, "udf", kVrsStart, 6, out);
    if (src.size() >= 257 * bs && anchor_at(src, (src.size() / bs - 257) * bs))
      return found_at(src, "udf", kVrsStart, 6, out);
  }
  return false;
}

}  // namespace

extern constinit const Prober kUdf{"udf", "filesystem", 0, {}, probe_udf};

}  // namespace mos::fsmake::probe
