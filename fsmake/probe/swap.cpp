// Linux swap: "SWAPSPACE2" (v1) or "SWAP-SPACE" (v0) ends the first page; the v1 header at 1024
// carries UUID and LABEL. Page sizes 4 KiB..64 KiB are covered by the magic table.
#include <array>
#include <cstring>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

struct SwapHeaderV1 {  // at byte 1024, after the boot bits
  le32 version;
  le32 last_page;
  le32 nr_badpages;
  uint8_t uuid[16];
  uint8_t volume_name[16];
  le32 padding[117];
  le32 badpages[1];
};
static_assert(sizeof(SwapHeaderV1) == 516);

constexpr uint8_t kTuxOnIceMagic[8] = {0xed, 0xc3, 0x02, 0xe9, 0x98, 0x56, 0xe5, 0x0c};

uint32_t swab32(uint32_t v) { return __builtin_bswap32(v); }

bool probe_swap(ProbeSource& src, uint64_t hit, Found& out) {
  auto head = src.get(0, sizeof kTuxOnIceMagic);
  if (head.empty()) return false;
  if (std::memcmp(head.data(), kTuxOnIceMagic, sizeof kTuxOnIceMagic) == 0) return false;
  auto magic = src.get(hit, 10);
  if (std::memcmp(magic.data(), "SWAP-SPACE", 10) == 0) {
    // v0 has neither LABEL nor UUID. Assigned from a std::string: GCC 12 at -O3 reports a false
    // -Wrestrict on basic_string::operator=(const char*) here (GCC bug 105651).
    out.version = std::string("0");
    return true;
  }
  auto b = src.get(1024, sizeof(SwapHeaderV1));
  if (b.empty()) return false;
  const auto& h = *reinterpret_cast<const SwapHeaderV1*>(b.data());
  if (h.version.get() != 1 && swab32(h.version.get()) != 1) return false;
  if (h.last_page.get() == 0) return false;
  // libblkid trusts LABEL/UUID only where the header's padding is clean.
  if (h.padding[32].get() == 0 && h.padding[33].get() == 0) {
    out.label = label_text(h.volume_name);
    out.uuid = uuid_text(h.uuid);
  }
  out.version = std::string("1");  // see above: GCC 12's false -Wrestrict
  return true;
}

// Either magic ends the first page: a pair for each page size from 4 to 64 KiB.
constexpr std::array<Magic, 10> swap_magics() {
  std::array<Magic, 10> m{};
  size_t i = 0;
  for (uint64_t page : {4096, 8192, 16384, 32768, 65536}) {
    m[i++] = {"SWAP-SPACE", page - 10};
    m[i++] = {"SWAPSPACE2", page - 10};
  }
  return m;
}
constexpr auto kMagics = swap_magics();

}  // namespace

extern constinit const Prober kSwap{"swap", "other", 10 * 4096, kMagics, probe_swap};

}  // namespace mos::fsmake::probe
