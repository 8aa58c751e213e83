// Swap v1 header reader: finds the magic at the end of the first page, checks the header.
#include <cstring>

#include "fsmake/readers/swap_read.hpp"
#include "fsmake/swap_disk.hpp"
#include "base/error.hpp"

namespace mos::fsmake::swap {

HeaderInfo read_header(const uint8_t* data, size_t len) {
  HeaderInfo info;
  for (uint32_t page = 4096; page <= 65536; page *= 2) {
    if (page > len) break;
    if (std::memcmp(data + page - kMagicLen, kMagicV1, kMagicLen) == 0) { info.page_size = page; break; }
  }
  if (!info.page_size) throw_validation("no swap v1 signature (SWAPSPACE2) at the end of a 4..64 KiB first page");
  HeaderV1 h;
  std::memcpy(&h, data, sizeof h);
  info.version = h.version;
  info.last_page = h.last_page;
  info.nr_badpages = h.nr_badpages;
  if (info.version != 1) throw_validation("swap header version " + std::to_string(info.version) + " is not 1");
  if (info.last_page + uint64_t{1} < kMinPages) throw_validation("swap area is smaller than 10 pages");
  // The bad-page list must fit in the header page before the magic.
  if (info.nr_badpages > (info.page_size - kMagicLen - offsetof(HeaderV1, badpages)) / 4)
    throw_validation("swap header claims " + std::to_string(info.nr_badpages) + " bad pages, more than fit");
  std::memcpy(info.uuid.data(), h.uuid, 16);
  info.label.assign(h.volume_name, strnlen(h.volume_name, sizeof h.volume_name));
  return info;
}

}  // namespace mos::fsmake::swap
