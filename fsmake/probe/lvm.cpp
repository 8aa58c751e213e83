// LVM2 physical volume: a "LABELONE" label in one of the first four sectors, type "LVM2 001",
// then the 32-character PV id, printed by blkid with dashes as 6-4-4-4-4-4-6.
#include <cstring>

#include "fsmake/probe/prober.hpp"
#include "fsmake/probe/ptable.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

struct Lvm2LabelHeader {
  uint8_t id[8];  // "LABELONE"
  le64 sector_xl;
  le32 crc_xl;     // over offset_xl .. end of the 512-byte sector
  le32 offset_xl;
  uint8_t type[8];  // "LVM2 001"
  uint8_t pv_uuid[32];
};
static_assert(sizeof(Lvm2LabelHeader) == 64);

// LVM's own CRC: reflected 0xEDB88320 in nibble steps with a fixed non-standard seed.
uint32_t lvm2_crc(const uint8_t* p, size_t n) {
  static const uint32_t tab[16] = {
      0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
      0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
      0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c};
  uint32_t crc = 0xf597a6cf;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    crc = (crc >> 4) ^ tab[crc & 0xf];
    crc = (crc >> 4) ^ tab[crc & 0xf];
  }
  return crc;
}

// A valid label at byte 'off' (sector off/512), or nullptr.
const Lvm2LabelHeader* find_label(ProbeSource& src, uint64_t magic_hit) {
  uint64_t kb = magic_hit / 1024;
  auto b = src.get(kb * 1024, 1024);
  if (b.empty()) return nullptr;
  uint64_t sector = kb * 2;
  const uint8_t* l = nullptr;
  if (std::memcmp(b.data(), "LABELONE", 8) == 0) {
    l = b.data();
  } else if (std::memcmp(b.data() + 512, "LABELONE", 8) == 0) {
    l = b.data() + 512;
    ++sector;
  } else {
    return nullptr;
  }
  const auto* h = reinterpret_cast<const Lvm2LabelHeader*>(l);
  if (h->sector_xl.get() != sector) return nullptr;
  if (lvm2_crc(l + 20, 512 - 20) != h->crc_xl.get()) return nullptr;
  return h;
}

bool probe_lvm2(ProbeSource& src, uint64_t hit, Found& out) {
  const Lvm2LabelHeader* h = find_label(src, hit);
  if (!h) return false;
  if (!all_zero(h->pv_uuid)) {
    std::string u;
    for (unsigned i = 0, bit = 1; i < 32; ++i, bit <<= 1) {
      if (bit & 0x4444440) u.push_back('-');
      u.push_back(static_cast<char>(h->pv_uuid[i]));
    }
    out.uuid = valid_utf8(u);  // ASCII on a real PV
  }
  out.version = "LVM2 001";
  return true;
}

// The label's type field (24 bytes into the label), the label in any of the first four sectors.
constexpr Magic kMagics[] = {{"LVM2 001", 0x218}, {"LVM2 001", 0x018},
                             {"LVM2 001", 1024 + 0x018}, {"LVM2 001", 1024 + 0x218}};

}  // namespace

extern constinit const Prober kLvm2{"LVM2_member", "raid", 0, kMagics, probe_lvm2};

bool is_lvm2(ProbeSource& src) {
  for (const Magic& m : kMagics) {
    uint64_t hit = 0;
    if (magic_present(src, m, hit)) return find_label(src, hit);
  }
  return false;
}

}  // namespace mos::fsmake::probe
