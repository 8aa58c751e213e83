// A disk replacement left unfinished (engine/replace/record.hpp: its record on the new disk): one
// warning line at boot naming the command that finishes it. The boot itself goes on as usual.
#include "engine/replace/record.hpp"
#include "engine/sysvol/steps.hpp"

namespace mos::engine::sysvol {

void report_unfinished_replacement(const std::vector<MosDisk>& disks, Reporter& rep) {
  for (const auto& m : disks) {
    std::string pending;
    for (const auto& e : m.table.entries)
      if (e.attributes & replace::kReplacePendingBit) pending += (pending.empty() ? "" : ", ") + e.name;
    if (!pending.empty())
      rep.warn("unfinished disk replacement on " + m.disk.path + " (" + pending + " not done): finish it with `mos-volmgr replace-disk " +
               m.disk.path + "`");
  }
}

}  // namespace mos::engine::sysvol
