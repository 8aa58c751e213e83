// The per-format halves of repair_superblock (repair.cpp): each looks at a device the caller
// holds O_EXCL, decides whether its damaged primary can be rewritten from a copy that proves
// itself, and builds the plan that writes nothing else. A refusal throws -32001 naming what was
// found and why.
#pragma once
#include <string>
#include <vector>

#include "base/write_plan.hpp"
#include "fsmake/probe/source.hpp"
#include "ioctl/fd.hpp"

namespace mos::engine::repair {

struct FormatRepair {
  std::string source;     // the copy the primary is rewritten from
  mos::WritePlan plan;    // named "repair": crash points repair:after-<step>
  std::vector<std::string> notes;
};

// The newest valid mirror (btrfs.cpp).
FormatRepair btrfs_repair(fsmake::ProbeSource& src, const std::string& device);
// The first valid backup group's superblock (ext4.cpp).
FormatRepair ext_repair(fsmake::ProbeSource& src, const io::Fd& fd, const std::string& device);
// The backup boot sector, and FSInfo when the primary's is damaged too (fat.cpp).
FormatRepair fat_repair(fsmake::ProbeSource& src, const io::Fd& fd, const std::string& device);

[[noreturn]] void refuse(const std::string& device, const std::string& why);

}  // namespace mos::engine::repair
