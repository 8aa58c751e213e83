#include "tests/vm/guest_health.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "ioctl/block_open.hpp"
#include "ioctl/nvme.hpp"
#include "ioctl/sg_ata.hpp"

namespace mos::vmtest {
namespace {

template <class Page>
std::string hex(const Page& page) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : page) out += {digits[b >> 4], digits[b & 15]};
  return out;
}

json failed(const std::string& what) {
  return {{"ok", false}, {"error", {{"message", what + ": " + std::strerror(errno)}}}};
}

}  // namespace

json op_health_pages(const json& s) {
  const std::string disk = s.at("disk");
  io::Fd fd = io::open_block(disk, O_RDONLY | O_NONBLOCK);
  if (disk.rfind("/dev/nvme", 0) == 0) {
    auto log = io::nvme_smart_log(fd);
    if (!log) return failed("Get Log Page 0x02 on " + disk);
    return {{"ok", true}, {"disk", disk}, {"nvme_log", hex(*log)}};
  }
  auto data = io::ata_smart_read_data(fd);
  if (!data) return failed("SMART READ DATA on " + disk);
  auto thresholds = io::ata_smart_read_thresholds(fd);
  if (!thresholds) return failed("SMART READ THRESHOLDS on " + disk);
  return {{"ok", true}, {"disk", disk}, {"ata_data", hex(*data)}, {"ata_thresholds", hex(*thresholds)}};
}

}  // namespace mos::vmtest
