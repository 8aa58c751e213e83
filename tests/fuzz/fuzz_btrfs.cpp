// The btrfs readers over arbitrary device images: superblock, sys chunk array and the whole
// inspection (chunk tree, tree roots, leaves, extents, block groups, free space tree).
#include "fsmake/readers/btrfs_read.hpp"
#include "tests/fuzz/fuzz_image.hpp"

using namespace mos;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::run_on_image(data, size, [](const fuzz::SparseImage& img, const io::Fd& fd) {
    auto read = [&](uint64_t off, size_t len) {
      if (len > (64u << 20)) throw_validation("fuzz: read of " + std::to_string(len) + " bytes");
      std::vector<uint8_t> b(len);
      fuzz::read_zero_filled(fd, img.size, off, b.data(), len);
      return b;
    };
    auto sb = fsmake::btrfs::parse_super(read(0x10000, 4096), 0x10000);
    (void)fsmake::btrfs::parse_sys_chunk_array(sb);
    (void)fsmake::btrfs::inspect({read});
  });
}
