// The steps of a disk replacement: GPT, the two md mirrors, the btrfs device, the balance back to
// RAID1, the swap. Each re-reads what it acts on; the record bit of its partition is cleared last.
#include "engine/replace/steps.hpp"

#include <cerrno>
#include <chrono>
#include <thread>

#include "base/error.hpp"
#include "engine/apply_plan.hpp"
#include "engine/btrfs/balance.hpp"
#include "engine/btrfs/devices.hpp"
#include "engine/btrfs/replace.hpp"
#include "engine/format/format.hpp"
#include "engine/raid/raid.hpp"
#include "engine/replace/record.hpp"
#include "ioctl/md.hpp"
#include "ioctl/swap_control.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine::replace {
namespace {

constexpr uint64_t kStepUnits = 1000;
constexpr int kReplaceStartLooks = 240;  // 2 min of half-second looks for md to start replacing OLD

struct Runner {
  const Node& n;
  const Context& ctx;
  const btrfs::ProgressFn& progress;
  btrfs::CancelFlag cancel;
  std::vector<std::string> done;

  void report(size_t step, uint64_t part, uint64_t whole) {
    if (!progress) return;
    const uint64_t permille = whole ? std::min<uint64_t>(kStepUnits, part * kStepUnits / whole) : 0;
    progress(step * kStepUnits + permille, std::size(kSteps) * kStepUnits);
  }
  btrfs::ProgressFn step_progress(size_t step) {
    return [this, step](uint64_t part, uint64_t whole) { report(step, part, whole); };
  }
  void check_cancelled() const {
    if (cancel && cancel->load()) throw Error(ErrorCode::storage_failed, "cancelled");
  }

  // Clears the replacement record of one partition of the new disk (one GPT rewrite).
  void clear_record(uint32_t number, const std::string& step) {
    for (const auto& p : read_partition_table(n.new_device.path, ctx).partitions)
      if (p.number == number) {
        set_partition_attributes(n.new_device.path, {{number, p.attributes & ~kReplacePendingBit}}, false, ctx, "replace-record");
        done.push_back(step + ": record of " + n.new_partition(number) + " cleared");
        return;
      }
    throw Error(ErrorCode::storage_failed, n.new_device.path + " lost partition " + std::to_string(number) + " during the replacement");
  }

  void gpt() {
    create_partition_layout(n.new_device.path, n.layout, false, false, ctx);
    done.push_back("gpt: wrote the survivor's layout on " + n.new_device.path + " (new GUIDs, replacement record set)");
    report(0, 1, 1);
    crash_point("replace:after-gpt");
  }

  // With OLD still in, the array is whole and NEW only a spare: md rebuilds it as OLD's
  // replacement (want_replacement, md's hot replace, OLD stays readable until NEW is in sync).
  void replace_old_member(size_t step, const Mirror& m, const std::string& member) {
    const std::string array = raid_device_path(m.array);
    const std::string block = array.substr(array.rfind('/') + 1);
    const std::string new_name = member.substr(member.rfind('/') + 1);
    const std::string old_path = n.old_partition(m.number);
    const std::string old_name = old_path.substr(old_path.rfind('/') + 1);
    auto state_of = [&](const std::string& name) {
      for (const auto& d : io::md::sysfs_members(block))
        if (d.block_name == name) return d.state;
      return std::string();
    };
    if (state_of(new_name).find("in_sync") != std::string::npos) return;
    if (state_of(old_name).find("faulty") == std::string::npos)
      io::sysfs_write("/sys/block/" + block + "/md/dev-" + old_name + "/state", "want_replacement");
    // The kernel starts the replacement a moment later; until then the array looks idle and whole.
    for (int look = 0; state_of(new_name).find("in_sync") == std::string::npos; ++look) {
      if (look > kReplaceStartLooks)
        throw Error(ErrorCode::storage_failed, "the kernel did not replace " + old_path + " by " + member + " in " + array);
      check_cancelled();
      wait_member_in_sync(array, member, step_progress(step), cancel);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }

  void mirror(size_t step, const Mirror& m, const MirrorFacts& f) {
    const std::string member = n.new_partition(m.number);
    Context no_jobs = ctx;
    no_jobs.jobs = nullptr;  // this job follows the rebuild itself
    if (f.new_member == MdMember::absent) {
      RaidAddRequest req;
      req.array = m.array;
      req.device = member;
      // A blank partition (the record proves the disk blank before our GPT), or our own member
      // superblock left by a crash between writing it and adding it.
      req.force = find_device(member).fstype == "linux_raid_member";
      raid_add_member(req, no_jobs);
      done.push_back(std::string(m.step) + ": added " + member + " to " + raid_device_path(m.array));
    }
    if (n.old && f.old_member) replace_old_member(step, m, member);
    else wait_member_in_sync(raid_device_path(m.array), member, step_progress(step), cancel);
    if (n.old && f.old_member) {
      raid_remove_member(m.array, n.old_partition(m.number), ctx);
      done.push_back(std::string(m.step) + ": failed and removed " + n.old_partition(m.number));
    }
    clear_record(m.number, m.step);
  }

  // A missing device's devid, or OLD's mosdata path.
  std::string btrfs_source() const {
    if (n.old) return n.old_partition(kDataNumber);
    for (const auto& m : btrfs::members_of(n.data_mount, ctx))
      if (m.missing) return std::to_string(m.devid);
    throw Error(ErrorCode::storage_failed, "MOSDATA has no missing device left to replace");
  }

  void btrfs_replace(const ReplaceFacts& f) {
    const std::string target = n.new_partition(kDataNumber);
    bool announced = false;
    // The crash point fires once the kernel's replace runs (its first polls may precede that).
    auto progress_then_crash = [&, p = step_progress(3)](uint64_t d, uint64_t t) {
      p(d, t);
      if (!announced && btrfs::replace_status(n.data_mount, ctx).state == "started") {
        announced = true;
        crash_point("replace:during-btrfs");
      }
    };
    if (!f.btrfs_new_member || f.btrfs_replace_running) {
      btrfs::ReplaceRequest req{n.data_mount, btrfs_source(), target, n.old.has_value()};
      bool can_replace = true;
      std::string why;
      try {
        btrfs::replace_check_can_start(req, ctx);
      } catch (const Error& e) {
        if (n.old || f.btrfs_replace_running) throw;
        can_replace = false;
        why = e.what();
      }
      if (can_replace) {
        auto s = btrfs::replace_run(req, ctx, progress_then_crash, cancel);
        if (s.state != "finished") throw Error(ErrorCode::storage_failed, "btrfs device replace ended " + s.state);
        done.push_back("btrfs-replace: replaced MOSDATA device " + req.source + " by " + target);
      } else {
        btrfs::add_device(n.data_mount, target, false, ctx);
        done.push_back("btrfs-replace: replace could not start (" + why + "); added " + target + " to MOSDATA");
        crash_point("replace:during-btrfs");
      }
    }
    if (!f.btrfs_source_present && f.btrfs_new_member) return;
    // After an add (or a replace that left the source): remove what is still there.
    for (const auto& m : btrfs::members_of(n.data_mount, ctx))
      if (m.missing || (n.old && m.path == n.old_partition(kDataNumber))) {
        btrfs::remove_device(n.data_mount, std::to_string(m.devid), ctx);
        done.push_back("btrfs-replace: removed MOSDATA device " + std::to_string(m.devid));
      }
    report(3, 1, 1);
  }

  void balance() {
    btrfs::BalanceRequest req{n.data_mount, std::string("raid1"), false, true};
    auto s = btrfs::balance_run(req, ctx, step_progress(4), cancel);
    if (s.state != "finished" && s.state != "idle") throw Error(ErrorCode::storage_failed, "balance ended " + s.state);
    done.push_back("balance: " + std::to_string(s.completed_chunks) + " chunk(s) converted to RAID1");
    crash_point("replace:after-balance");
    clear_record(kDataNumber, "balance");
  }

  // OLD is left unused: its swap, on since boot, goes off once NEW's is on.
  void swap_off_old() {
    const std::string old_swap = n.old_partition(kSwapNumber);
    try {
      io::swap_off(old_swap);
      done.push_back("swap: swapoff " + old_swap);
    } catch (const Error& e) {
      if (e.sys_errno() != EINVAL) throw;  // EINVAL: it was not in use as swap
    }
  }

  void swap(const ReplaceFacts& f) {
    const std::string dev = n.new_partition(kSwapNumber);
    if (!f.swap_signature) {
      FormatRequest req;
      req.device = dev;
      req.fstype = "swap";
      req.label = "MOSSWAP";
      create_filesystem(req, ctx);
      done.push_back("swap: made MOSSWAP on " + dev);
    }
    if (!f.swap_active && io::swap_on(dev)) done.push_back("swap: swapon " + dev);
    if (n.old) swap_off_old();
    clear_record(kSwapNumber, "swap");
    report(5, 1, 1);
  }
};

}  // namespace

std::vector<std::string> run_steps(const Node& n, const Context& ctx, const btrfs::ProgressFn& progress,
                                   btrfs::CancelFlag cancel) {
  Runner r{n, ctx, progress, cancel, {}};
  const ReplaceFacts& f = n.facts;
  const auto verdicts = judge_steps(f);
  auto todo = [&](size_t i) { return verdicts[i].action != "done"; };
  if (todo(0)) r.gpt();
  for (size_t i = 0; i < 2; ++i) {
    r.check_cancelled();
    if (todo(1 + i)) r.mirror(1 + i, kMirrors[i], i == 0 ? f.esp : f.boot);
  }
  if (todo(1) || todo(2)) crash_point("replace:after-md");
  r.check_cancelled();
  if (todo(3)) {
    r.btrfs_replace(f);
    crash_point("replace:after-btrfs");
  }
  r.check_cancelled();
  if (todo(4)) r.balance();
  r.check_cancelled();
  if (todo(5)) r.swap(f);
  return r.done;
}

}  // namespace mos::engine::replace
