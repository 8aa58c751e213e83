// The resume judge: each step's state from the facts, never from a guess.
#include "engine/replace/judge.hpp"

namespace mos::engine::replace {
namespace {

StepVerdict judge_mirror(const char* step, const char* part, const MirrorFacts& m, bool replace_old) {
  const std::string p = part;
  if (!m.pending) return {step, "done", "record of " + p + " cleared: member in sync"};
  const std::string drop_old = replace_old ? ", then fail and remove the old disk's " + p : "";
  switch (m.new_member) {
    case MdMember::absent: return {step, "run", "add the new " + p + " as a member; the kernel rebuilds it" + drop_old};
    case MdMember::rebuilding: return {step, "resume", "wait for the kernel's rebuild of the new " + p + drop_old};
    case MdMember::in_sync:
      if (replace_old && m.old_member) return {step, "resume", "new " + p + " in sync; fail and remove the old disk's " + p};
      return {step, "resume", "new " + p + " in sync; clear its record"};
  }
  return {step, "run", ""};
}

StepVerdict judge_btrfs(const ReplaceFacts& f) {
  const char* step = "btrfs-replace";
  if (!f.data_pending) return {step, "done", "record of mosdata cleared"};
  if (f.btrfs_replace_running)
    return {step, "resume", "join the running device replace (" + std::to_string(f.btrfs_replace_permille / 10) + "%)"};
  if (f.btrfs_new_member && !f.btrfs_source_present) return {step, "done", "new mosdata is a device of MOSDATA, none missing"};
  if (f.btrfs_new_member) return {step, "resume", "new mosdata added; remove the " + std::string(f.replace_old ? "old" : "missing") + " device"};
  return {step, "run",
          std::string("replace the ") + (f.replace_old ? "old disk's" : "missing") +
              " MOSDATA device by the new mosdata (device add + remove missing when replace cannot start)"};
}

}  // namespace

std::vector<StepVerdict> judge_steps(const ReplaceFacts& f) {
  std::vector<StepVerdict> out;
  if (!f.gpt_written) {
    // Nothing of ours on the new disk yet: every step is to be done.
    const std::string old = f.replace_old ? ", then fail and remove the old disk's " : "";
    return {{"gpt", "run", "write the survivor's layout with new GUIDs and the replacement record"},
            {"md-esp", "run", "add the new mosefi as a member; the kernel rebuilds it" + (old.empty() ? "" : old + "mosefi")},
            {"md-boot", "run", "add the new mosboot as a member; the kernel rebuilds it" + (old.empty() ? "" : old + "mosboot")},
            judge_btrfs(f),
            {"balance", "run", "convert the chunks not yet RAID1 (balance convert=raid1,soft)"},
            {"swap", "run", "make the swap area MOSSWAP, swapon, clear its record"}};
  }
  out.push_back({"gpt", "done", "the new disk carries the layout and the replacement record"});
  out.push_back(judge_mirror("md-esp", "mosefi", f.esp, f.replace_old));
  out.push_back(judge_mirror("md-boot", "mosboot", f.boot, f.replace_old));
  out.push_back(judge_btrfs(f));
  if (!f.data_pending) out.push_back({"balance", "done", "record of mosdata cleared after the balance"});
  else if (f.single_copy_chunks) out.push_back({"balance", "run", "convert the chunks not yet RAID1 (balance convert=raid1,soft)"});
  else out.push_back({"balance", "run", "every chunk RAID1 already; the soft balance finds nothing to move"});
  if (!f.swap_pending) out.push_back({"swap", "done", "record of mosswap cleared"});
  else if (f.swap_signature && f.swap_active) out.push_back({"swap", "resume", "swap made and on; clear its record"});
  else if (f.swap_signature) out.push_back({"swap", "resume", "swap made; swapon, clear its record"});
  else out.push_back({"swap", "run", "make the swap area MOSSWAP, swapon, clear its record"});
  return out;
}

std::vector<StepVerdict> remaining_steps(const ReplaceFacts& f) {
  std::vector<StepVerdict> out;
  for (auto& v : judge_steps(f))
    if (v.action != "done") out.push_back(std::move(v));
  return out;
}

}  // namespace mos::engine::replace
