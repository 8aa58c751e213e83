// The `health_pages` op of the VM test init: the raw SMART pages a disk returns, as hex, so the
// host can keep what qemu answered as unit-test fixtures and fuzz seeds.
#pragma once
#include "tests/vm/guest.hpp"

namespace mos::vmtest {

// {"disk"} -> {"nvme_log"} (NVMe Get Log Page 0x02) or {"ata_data", "ata_thresholds"} (SMART READ
// DATA / READ THRESHOLDS), each 512 bytes as lowercase hex; a failed read fails the step.
json op_health_pages(const json& step);

}  // namespace mos::vmtest
