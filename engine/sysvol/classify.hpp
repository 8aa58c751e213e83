// What a partition (or md device) of the MOS layout holds, judged against what our layout puts
// there: engine/content_state.hpp's classification, opened and read the way mos_sysvol reads.
#pragma once
#include <string>
#include <string_view>

#include "engine/content_state.hpp"

namespace mos::engine::sysvol {

// Reads only what the prober needs for a healthy device (lazy windows); a device that cannot be
// opened or read is damaged, never blank.
ContentVerdict classify_device(const std::string& device, std::string_view fstype, std::string_view label);

// The verdict's reason without a leading "<device> " (callers name the device themselves).
std::string verdict_reason(const std::string& device, const ContentVerdict& v);

// "MOSDATA (btrfs)": what the layout puts on a partition, as messages name it.
std::string expected_text(std::string_view fstype, std::string_view label);

}  // namespace mos::engine::sysvol
