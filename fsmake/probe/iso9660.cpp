// ISO 9660 (+ Joliet): volume descriptors from 32 KiB, one per 2 KiB. LABEL is the PVD volume id,
// or the Joliet UTF-16BE id merged with it; UUID is the modification (else creation) date as
// YYYY-MM-DD-HH-MM-SS-hh, as libblkid derives it.
#include <cctype>
#include <cstring>

#include "fsmake/probe/prober.hpp"
#include "base/text.hpp"

namespace mos::fsmake::probe {
namespace {

struct IsoDate {
  uint8_t digits[16];  // YYYYMMDDHHMMSShh
  uint8_t offset;
};
static_assert(sizeof(IsoDate) == 17);

struct IsoVolumeDescriptor {
  uint8_t type;
  uint8_t id[5];
  uint8_t version;
  uint8_t flags;
  uint8_t system_id[32];
  uint8_t volume_id[32];  // 40
  uint8_t unused[8];
  uint8_t space_size[8];
  uint8_t escape_sequences[8];  // 88
  uint8_t unused2[94];
  uint8_t volume_set_id[128];  // 190
  uint8_t publisher_id[128];
  uint8_t data_preparer_id[128];
  uint8_t application_id[128];
  uint8_t unused3[111];
  IsoDate created;   // 813
  IsoDate modified;  // 830
};
static_assert(sizeof(IsoVolumeDescriptor) == 847);

constexpr uint64_t kFirstDescriptor = 0x8000, kSectorSize = 0x800;
constexpr int kMaxDescriptors = 16;
constexpr uint8_t kPrimary = 1, kSupplementary = 2, kTerminator = 0xff;

std::string date_uuid(const IsoDate& d) {
  int zeros = 0;
  for (uint8_t c : d.digits) zeros += c == '0';
  if (zeros == 16 && d.offset == 0) return {};  // unset date
  static const int groups[] = {4, 2, 2, 2, 2, 2, 2};
  std::string s;
  int i = 0;
  for (int g : groups) {
    if (!s.empty()) s.push_back('-');
    for (int k = 0; k < g; ++k) s.push_back(static_cast<char>(d.digits[i++]));
  }
  return valid_utf8(s);  // digits on a sane disk; anything on a hostile one
}

// Joliet keeps at most 16 UTF-16 characters, the PVD up to 32 ASCII ones with '_' for what
// it cannot represent: if the Joliet id is a prefix of the PVD id, rebuild the full label.
// Returns the merged UTF-16BE string, or empty if they disagree (libblkid's rule).
std::vector<uint8_t> merge_utf16be_ascii(const uint8_t* utf16, const uint8_t* ascii, size_t len) {
  std::vector<uint8_t> out;
  size_t a = 0, u = 0;
  for (; u + 1 < len && a < len; a++, u += 2) {
    if (utf16[u] >= 0xD8 && utf16[u] <= 0xDB && u + 3 < len && utf16[u + 2] >= 0xDC &&
        utf16[u + 2] <= 0xDF) {
      out.push_back(utf16[u++]);
      out.push_back(utf16[u++]);
    }
    if (ascii[a] == '_') {
      out.push_back(utf16[u]);
      out.push_back(utf16[u + 1]);
    } else if (utf16[u] == 0 && utf16[u + 1] == '_') {
      out.push_back(0);
      out.push_back(ascii[a]);
    } else if (utf16[u] == 0 && std::toupper(ascii[a]) == std::toupper(utf16[u + 1])) {
      out.push_back(0);
      out.push_back(std::isupper(ascii[a]) ? utf16[u + 1] : ascii[a]);
    } else {
      return {};
    }
  }
  for (; a < len; a++) {
    out.push_back(0);
    out.push_back(ascii[a]);
  }
  return out;
}

std::string rtrim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

bool probe_iso9660(ProbeSource& src, uint64_t, Found& out) {
  const IsoVolumeDescriptor* pvd = nullptr;
  const IsoVolumeDescriptor* joliet = nullptr;
  uint64_t off = kFirstDescriptor;
  for (int i = 0; i < kMaxDescriptors && (!pvd || !joliet); ++i, off += kSectorSize) {
    auto b = src.get(off, sizeof(IsoVolumeDescriptor));
    if (b.empty() || b[0] == kTerminator) break;
    const auto* d = reinterpret_cast<const IsoVolumeDescriptor*>(b.data());
    if (!pvd && d->type == kPrimary) {
      pvd = d;
    } else if (!joliet && d->type == kSupplementary) {
      const uint8_t* e = d->escape_sequences;
      if (e[0] == '%' && e[1] == '/' && (e[2] == '@' || e[2] == 'C' || e[2] == 'E')) joliet = d;
    }
  }
  if (!pvd) return false;
  out.uuid = date_uuid(pvd->modified);
  if (out.uuid.empty()) out.uuid = date_uuid(pvd->created);
  if (joliet) {
    out.version = "Joliet Extension";
    auto merged = merge_utf16be_ascii(joliet->volume_id, pvd->volume_id, 32);
    // A lone surrogate becomes U+FFFD: results go out as JSON text.
    out.label = merged.empty() ? rtrim(utf16_bytes_to_utf8(joliet->volume_id, true))
                               : rtrim(utf16_bytes_to_utf8(merged, true));
  } else {
    out.label = label_text(pvd->volume_id);
  }
  return true;
}

constexpr Magic kMagics[] = {{"CD001", kFirstDescriptor + 1}};

}  // namespace

extern constinit const Prober kIso9660{"iso9660", "filesystem", 0, kMagics, probe_iso9660};

}  // namespace mos::fsmake::probe
