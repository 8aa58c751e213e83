// NVMe admin commands through NVME_IOCTL_ADMIN_CMD (linux/nvme_ioctl.h) on a namespace's block
// device or the controller: Get Log Page 0x02, SMART / Health Information. Plain ioctl (usable
// from the static mos_sysvol); the page goes to the pure parser in engine/health/.
#pragma once
#include <array>
#include <cstdint>
#include <optional>

#include "ioctl/fd.hpp"

namespace mos::io {

using NvmeLogPage = std::array<uint8_t, 512>;

// The controller-wide health log (NSID 0xFFFFFFFF); nullopt with errno set when the ioctl failed
// (not an NVMe device), or when the controller reported a status.
std::optional<NvmeLogPage> nvme_smart_log(const Fd& fd);

}  // namespace mos::io
