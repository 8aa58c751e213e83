// LUKS1/LUKS2 (crypto_LUKS): "LUKS\xba\xbe" at 0; LUKS2 keeps a second header ("SKUL\xba\xbe")
// at one of a few fixed offsets, found when the primary is gone and erased by a wipe too.
#include <cstdio>
#include <cstring>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

struct Luks2Header {
  uint8_t magic[6];
  be16 version;
  be64 hdr_size;
  be64 seqid;
  uint8_t label[48];         // 0x18
  uint8_t checksum_alg[32];  // 0x48
  uint8_t salt[64];          // 0x68
  uint8_t uuid[40];          // 0xa8 (LUKS1 keeps its uuid at the same offset)
  uint8_t subsystem[48];     // 0xd0
  be64 hdr_offset;           // 0x100
  uint8_t padding[184];
  uint8_t csum[64];
};
static_assert(sizeof(Luks2Header) == 512);

constexpr uint8_t kMagic1[6] = {'L', 'U', 'K', 'S', 0xba, 0xbe};
constexpr uint8_t kMagic2[6] = {'S', 'K', 'U', 'L', 0xba, 0xbe};
constexpr uint64_t kSecondaryOffsets[] = {0x04000, 0x008000, 0x010000, 0x020000, 0x40000,
                                          0x080000, 0x100000, 0x200000, 0x400000};

void attributes(const Luks2Header& h, Found& out) {
  unsigned version = h.version.get();
  char v[16];
  std::snprintf(v, sizeof v, "%u", version);
  out.version = v;
  if (version == 1 || version == 2) out.uuid = label_text(h.uuid);
  if (version == 2) out.label = label_text(h.label);
}

bool probe_luks(ProbeSource& src, uint64_t, Found& out) {
  auto b = src.get(0, sizeof(Luks2Header));
  if (b.empty()) return false;
  bool found = false;
  if (std::memcmp(b.data(), kMagic1, 6) == 0) {
    attributes(*reinterpret_cast<const Luks2Header*>(b.data()), out);
    out.sigs.push_back(make_signature("crypto_LUKS", 0, b.first(6)));
    found = true;
  }
  uint64_t hdr_size = found ? reinterpret_cast<const Luks2Header*>(b.data())->hdr_size.get() : 0;
  for (uint64_t off : kSecondaryOffsets) {
    // With a primary, its hdr_size says where the copy is; without one, look only inside the
    // head window (2 and 4 MiB headers would cost every device two extra reads).
    if (found ? off != hdr_size : off + sizeof(Luks2Header) > ProbeSource::kHeadWindow) continue;
    auto s = src.get(off, sizeof(Luks2Header));
    if (s.empty()) break;
    if (std::memcmp(s.data(), kMagic2, 6) != 0) continue;
    if (!found) attributes(*reinterpret_cast<const Luks2Header*>(s.data()), out);
    out.sigs.push_back(make_signature("crypto_LUKS", off, s.first(6)));
    found = true;
    break;
  }
  return found;
}

}  // namespace

extern constinit const Prober kLuks{"crypto_LUKS", "crypto", 0, {}, probe_luks};

}  // namespace mos::fsmake::probe
