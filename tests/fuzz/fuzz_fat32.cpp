// The FAT32 volume reader over arbitrary device images: boot sector, FSInfo, backups, FAT heads
// and the root directory cluster chain.
#include "fsmake/fat32.hpp"
#include "fsmake/readers/fat32_read.hpp"
#include "tests/fuzz/fuzz_image.hpp"

using namespace mos;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::run_on_image(data, size, [](const fuzz::SparseImage& img, const io::Fd& fd) {
    auto v = fsmake::fat32::read_volume([&](uint64_t off, void* buf, size_t len) {
      if (len > (64u << 20)) throw_validation("fuzz: read of " + std::to_string(len) + " bytes");
      fuzz::read_zero_filled(fd, img.size, off, buf, len);
    });
    (void)fsmake::fat32::volume_id_string(v.volume_id);
  });
}
