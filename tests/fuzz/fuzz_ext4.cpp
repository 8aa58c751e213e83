// The ext4 readers over arbitrary device images: superblock parse (raw 1024 bytes at 1 KiB) and
// the structural validator that follows group descriptors, inodes, extents and directories.
#include "fsmake/readers/ext4_read.hpp"
#include "tests/fuzz/fuzz_image.hpp"

using namespace mos;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::run_on_image(data, size, [](const fuzz::SparseImage&, const io::Fd& fd) {
    auto sb = fsmake::ext4::read_superblock(fd);
    (void)sb.group_count();
    (void)fsmake::ext4::validate(fd);
  });
}
