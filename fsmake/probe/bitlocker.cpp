// BitLocker: a boot sector with "-FVE-FS-" (Vista, Windows 7+) or "MSWIN4.1" (To Go) after the
// jump, and for 7+/To Go an FVE metadata block ("-FVE-FS-") at the 64-byte aligned offset the
// header gives (libblkid bitlocker.c). USAGE crypto; VERSION is the metadata block version.
#include <cstring>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr uint64_t kWin7FveOffsetAt = 176;  // le64 in the Windows 7+ header
constexpr uint64_t kToGoFveOffsetAt = 440;  // le64 in the To Go header

bool probe_bitlocker(ProbeSource& src, uint64_t, Found& out) {
  auto b = src.get(0, 512);
  if (b.empty()) return false;
  uint64_t fve_at = 0;
  if (std::memcmp(b.data(), "\xeb\x52\x90-FVE-FS-", 11) == 0)
    return true;  // Vista: the header alone (as libblkid)
  if (std::memcmp(b.data(), "\xeb\x58\x90-FVE-FS-", 11) == 0)
    fve_at = kWin7FveOffsetAt;
  else if (std::memcmp(b.data(), "\xeb\x58\x90MSWIN4.1", 11) == 0)
    fve_at = kToGoFveOffsetAt;
  else
    return false;
  uint64_t off = load_le64(b.data() + fve_at);
  if (off == 0 || off % 64) return false;
  auto fve = src.get(off, 12);
  if (fve.empty() || std::memcmp(fve.data(), "-FVE-FS-", 8) != 0) return false;
  out.version = std::to_string(load_le16(fve.data() + 10));
  return true;
}

constexpr Magic kMagics[] = {
    {"\xeb\x52\x90-FVE-FS-", 0}, {"\xeb\x58\x90-FVE-FS-", 0}, {"\xeb\x58\x90MSWIN4.1", 0}};

}  // namespace

extern constinit const Prober kBitLocker{"BitLocker", "crypto", 0, kMagics, probe_bitlocker};

}  // namespace mos::fsmake::probe
