// The signature prober over arbitrary device images (sparse image input, fuzz_image.hpp):
// probe_device and find_signatures through the windowed fd source, and for images that fit in
// the windows the in-memory source too, which must agree. Every signature must lie inside the
// device and hold the bytes that are there (wipe erases exactly these), and every text field
// must be valid UTF-8 (the inventory sends them as JSON, whose dump throws otherwise).
#include <cstring>

#include <nlohmann/json.hpp>

#include "fsmake/probe/probe.hpp"
#include "tests/fuzz/fuzz_image.hpp"

using namespace mos;

namespace {

void probe_both_ways(const fuzz::SparseImage& img, const io::Fd& fd) {
  auto r = fsmake::probe_device(fd, img.size, img.sector_size);
  auto sigs = fsmake::find_signatures(fd, img.size, img.sector_size);
  (void)nlohmann::json{{"type", r.type},       {"usage", r.usage},     {"label", r.label},
                       {"uuid", r.uuid},       {"uuid_sub", r.uuid_sub}, {"version", r.version},
                       {"sec_type", r.sec_type}, {"pttype", r.pttype}, {"ptuuid", r.ptuuid},
                       {"damaged", r.damaged}}
      .dump();
  for (const auto& s : sigs) {
    if (s.offset > img.size || s.length > img.size - s.offset || s.bytes.size() != s.length)
      __builtin_trap();
    std::vector<uint8_t> on_disk(s.length);
    fd.pread_exact(on_disk.data(), s.length, s.offset);
    if (on_disk != s.bytes) __builtin_trap();
  }
  // A wipe would leave it recognisable: a primary's magic, or (damaged) the copies' magics.
  if (!r.type.empty() && sigs.empty()) {
    fsmake::ProbeSource src(fd, img.size, img.sector_size);
    if (r.damaged.empty() || fsmake::find_copy_signatures(src).empty()) __builtin_trap();
  }
  if (img.size <= 2u << 20) {  // inside the head and tail windows both sources see every byte
    auto flat = fuzz::flat_image(img, img.size);
    auto m = fsmake::probe_image(flat, img.sector_size);
    if (m.type != r.type || m.label != r.label || m.uuid != r.uuid || m.pttype != r.pttype || m.damaged != r.damaged)
      __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::run_on_image(data, size, probe_both_ways);
}
