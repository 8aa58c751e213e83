#include "ioctl/nvme.hpp"

#include <linux/nvme_ioctl.h>
#include <sys/ioctl.h>

#include <cstring>

namespace mos::io {

std::optional<NvmeLogPage> nvme_smart_log(const Fd& fd) {
  constexpr uint8_t kGetLogPage = 0x02;
  constexpr uint32_t kSmartHealthLog = 0x02;
  NvmeLogPage page{};
  nvme_admin_cmd cmd{};
  cmd.opcode = kGetLogPage;
  cmd.nsid = 0xFFFFFFFF;
  cmd.addr = reinterpret_cast<uintptr_t>(page.data());
  cmd.data_len = page.size();
  // CDW10: number of dwords minus one (lower 16 bits) in 31:16, the log id in 7:0.
  cmd.cdw10 = ((page.size() / 4 - 1) << 16) | kSmartHealthLog;
  cmd.timeout_ms = 10000;
  int rc = ioctl(fd.get(), NVME_IOCTL_ADMIN_CMD, &cmd);
  if (rc != 0) return std::nullopt;  // rc > 0: an NVMe status from the controller
  return page;
}

}  // namespace mos::io
