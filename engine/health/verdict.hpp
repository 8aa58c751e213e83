// The health verdict of a disk: ok | warning | failing | unknown, with the reasons that made it
// (README.md in this folder has the table). Pure rules over parsed pages; no kernel call.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "engine/health/ata_smart.hpp"
#include "engine/health/nvme_health.hpp"

namespace mos::engine::health {

enum class Status { ok, warning, failing, unknown };
const char* to_string(Status s);

struct Verdict {
  Status status = Status::unknown;
  std::vector<std::string> reasons;  // why it is not ok (empty when ok)

  // Raises the status to s (failing > warning > ok; unknown is only ever the starting point or
  // the whole answer) and records the reason.
  void raise(Status s, std::string reason);
};

// ATA RETURN STATUS: the disk's own overall judgement (LBA mid/high 0x4F/0xC2 = good, 0xF4/0x2C =
// threshold exceeded); nullopt when the disk gave neither.
enum class AtaOverall { passed, threshold_exceeded };

// An attribute at or below its non-zero threshold now, and its worst value at or below it.
bool failing_now(const AtaAttribute& a);
bool failed_in_past(const AtaAttribute& a);

Verdict judge_ata(const AtaSmartData& data, std::optional<AtaOverall> overall);
Verdict judge_nvme(const NvmeHealth& log);
Verdict unknown_verdict(std::string reason);

}  // namespace mos::engine::health
