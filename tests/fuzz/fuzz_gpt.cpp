// The GPT reader/validator over arbitrary device images: whatever it accepts must satisfy the
// bounds it promises (usable range inside the disk, entries inside the usable range, slots
// inside the entry array).
#include "gpt/read.hpp"
#include "tests/fuzz/fuzz_image.hpp"

using namespace mos;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::run_on_image(data, size, [](const fuzz::SparseImage& img, const io::Fd& fd) {
    auto r = gpt::read_table(fd, img.size, img.sector_size);
    if (!r.table) return;
    const auto& t = *r.table;
    if (t.last_usable_lba >= t.disk_sectors || t.first_usable_lba > t.last_usable_lba + 1)
      __builtin_trap();
    if (t.entry_count > gpt::kMaxEntryCount || t.entry_size > gpt::kMaxEntrySize) __builtin_trap();
    for (const auto& e : t.entries) {
      if (e.number == 0 || e.number > t.entry_count) __builtin_trap();
      if (e.first_lba > e.last_lba) __builtin_trap();
    }
  });
}
