// The swap v1 header reader over the first 64 KiB of arbitrary device images (every page size).
#include "fsmake/readers/swap_read.hpp"
#include "base/text.hpp"
#include "tests/fuzz/fuzz_image.hpp"

using namespace mos;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::run_on_image(data, size, [](const fuzz::SparseImage& img, const io::Fd&) {
    auto head = fuzz::flat_image(img, 64 * 1024);
    auto h = fsmake::swap::read_header(head.data(), head.size());
    (void)mos::uuid_text(h.uuid);
  });
}
