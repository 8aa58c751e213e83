// md superblocks over arbitrary device images: read_superblock (v0.90 at the end, v1.2 at
// 4 KiB, then its bitmap), and the raw parsers on the bytes at both places for both versions.
// What parses must also serialize.
#include "mdraid/superblock.hpp"
#include "tests/fuzz/fuzz_image.hpp"

using namespace mos;

namespace {

void parse_raw(mdraid::Metadata m, const io::Fd& fd, uint64_t off, uint64_t device_size) {
  std::vector<uint8_t> b(mdraid::kSuperblockReadBytes);
  fuzz::read_zero_filled(fd, device_size, off, b.data(), b.size());
  try {
    auto sb = mdraid::parse_superblock(m, b, device_size);
    (void)mdraid::serialize(sb);
  } catch (const Error&) {
  }
  try {
    (void)mdraid::parse_bitmap(b);
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::run_on_image(data, size, [](const fuzz::SparseImage& img, const io::Fd& fd) {
    parse_raw(mdraid::Metadata::v1_2, fd, 4096, img.size);
    if (img.size >= 128 * 1024)
      parse_raw(mdraid::Metadata::v0_90, fd,
                mdraid::superblock_offset(mdraid::Metadata::v0_90, img.size), img.size);
    if (auto sb = mdraid::read_superblock(fd, img.size)) (void)mdraid::serialize(*sb);
  });
}
