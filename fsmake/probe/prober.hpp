// Shared pieces of the probers: the prober entry each format file defines beside its probe
// function, what one prober found, and the text conventions blkid uses when it prints labels and
// UUIDs. The order the entries run in is table.cpp's alone.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fsmake/probe/probe.hpp"
#include "fsmake/probe/source.hpp"
#include "base/bytes.hpp"  // all_zero

namespace mos::fsmake::probe {

// A magic string at a fixed byte offset from the start (or, if from_end, back from the end).
struct Magic {
  std::string_view bytes;
  uint64_t offset = 0;
  bool from_end = false;
};

// What one prober recognised. sigs[0] is the magic that identified it; the rest are further
// copies (backup headers, secondary superblocks) a wipe must also erase.
struct Found {
  std::string label, uuid, uuid_sub, version, sec_type;
  std::vector<Signature> sigs;
};

// hit_offset is the absolute offset of the matched magic (0 for probers without magics).
using ProbeFn = bool (*)(ProbeSource& src, uint64_t hit_offset, Found& out);

// One format as libblkid's idinfo has it. Each format file defines its entry as a constant
// (`extern constinit const Prober kBtrfs{...}` over a constexpr magic array), so the table can
// never see one half-built.
struct Prober {
  std::string_view type;
  std::string_view usage;
  uint64_t min_size;  // devices smaller than this are not probed (libblkid minsz)
  std::span<const Magic> magics;  // none: fn decides alone, called with hit_offset 0
  ProbeFn fn;
};

inline constexpr uint64_t kMiB = 1024 * 1024;

// Every prober, in libblkid's order (table.cpp).
std::span<const Prober* const> probers();
// Whether m is on the device; abs is then its absolute offset.
bool magic_present(ProbeSource& src, const Magic& m, uint64_t& abs);
// For formats whose magic alone identifies them (libblkid has no further check either).
bool magic_only(ProbeSource&, uint64_t, Found&);

// Label bytes as blkid stores them: up to the first NUL, trailing whitespace removed; a byte
// that is not part of well-formed UTF-8 becomes U+FFFD (the result travels as JSON text).
std::string label_text(std::span<const uint8_t> raw);
// Well-formed UTF-8 kept, every other byte replaced by U+FFFD.
std::string valid_utf8(const std::string& bytes);
// A FAT short-name label (bytes in the volume's OEM code page) as UTF-8: like label_text, with
// bytes 0x80-0xFF mapped through code page 437 (blkid prints them raw, which is not valid text).
std::string oem_label_text(std::span<const uint8_t> raw);
// 16 bytes as 8-4-4-4-12 lowercase hex (blkid_unparse_uuid); "" when all zero.
std::string uuid_text(std::span<const uint8_t> raw);
Signature make_signature(std::string_view type, uint64_t offset, std::span<const uint8_t> bytes);

// The drivers over an already-open source (tests inspect the source's read count).
ProbeResult probe_from(ProbeSource& src);
std::vector<Signature> signatures_from(ProbeSource& src);

// Records the bytes [off, off+len) as the signature that identified `type` (probers whose
// magic position depends on the device size). False when the bytes are out of range.
bool found_at(ProbeSource& src, std::string_view type, uint64_t off, uint32_t len, Found& out);

}  // namespace mos::fsmake::probe
