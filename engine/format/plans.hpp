// The writers' plans: one plan function per creatable filesystem type (the `plan` of its entry
// in engine/fstypes.cpp), turning a checked request into the native writer's WritePlans.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/text.hpp"
#include "base/write_plan.hpp"
#include "engine/context.hpp"
#include "engine/format/format.hpp"
#include "engine/fstypes.hpp"
#include "engine/inventory/devices.hpp"
#include "ioctl/blockdev.hpp"

namespace mos::engine {

// Everything a writer may need, per member in the same order (`device` first).
struct PlanInput {
  const FormatRequest& req;
  const std::vector<Device>& devices;
  const std::vector<io::BlockFacts>& facts;
  const std::vector<std::string>& paths;
  const Context& ctx;
};

struct WriterPlans {
  std::vector<mos::WritePlan> plans;  // one per member
  std::optional<std::string> uuid;    // as blkid will print it; none for a FAT volume id of 0
};

WriterPlans plan_vfat(const PlanInput& in);
WriterPlans plan_ext4(const PlanInput& in);
WriterPlans plan_swap(const PlanInput& in);
WriterPlans plan_btrfs(const PlanInput& in);

// Throws Error(validation) unless `text` is an id of the type's kind (a volume id like
// 1A2B-3C4D, or a 36-character UUID).
void check_requested_id(const FilesystemType& type, const std::string& text);

}  // namespace mos::engine
