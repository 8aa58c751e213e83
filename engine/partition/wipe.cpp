// wipe_signatures: erase the magic bytes of every signature found, like `wipefs --all`: the
// native prober's list (filesystems, RAID/LVM/LUKS headers, GPT primary + backup headers,
// MBR magic, md superblocks at the end), and the magics of the superblock copies wipefs leaves.
#include <cstdio>

#include "engine/disk_access.hpp"
#include "engine/partition/partition.hpp"
#include "engine/partition/plan.hpp"
#include "fsmake/probe/probe.hpp"
#include "base/error.hpp"
#include "ioctl/flock.hpp"

namespace mos::engine {

namespace {

struct Magic {
  uint64_t offset;
  uint32_t length;
  std::string what;
};

std::vector<Magic> find_magics(const Disk& d) {
  std::vector<Magic> out;
  fsmake::ProbeSource src(d.fd, d.facts.size_bytes, d.facts.logical_sector_size);
  // wipefs's list, and the copies wipefs leaves (btrfs mirrors, ext4 backup superblocks, the FAT32
  // backup boot sector): a wiped device must not read as a damaged filesystem afterwards.
  std::vector<fsmake::Signature> sigs = fsmake::find_signatures(src);
  for (auto& s : fsmake::find_copy_signatures(src)) sigs.push_back(std::move(s));
  for (const auto& sig : sigs) {
    char where[32];
    std::snprintf(where, sizeof where, "0x%llx", static_cast<unsigned long long>(sig.offset));
    out.push_back({sig.offset, sig.length,
                   sig.type + " signature at offset " + where + " (" + std::to_string(sig.length) + " bytes)"});
  }
  return out;
}

}  // namespace

PartitionOpResult wipe_signatures(const std::string& request, bool force, bool dry_run, const Context& ctx) {
  const std::string path = ctx.policy.judge(request, Access::write);
  bool is_partition = false;
  Disk d = open_block_device(path, false, &is_partition);
  if (!dry_run && is_partition) {
    d = open_block_device(path, true);
    claim_partition(d, d.name, "wipe " + d.path);  // held O_EXCL through the last write
    d.lock = std::make_unique<io::FlockGuard>(d.fd);
  } else if (!dry_run) {
    d = open_disk_for_change(path, ctx.policy, false);
  }
  const bool probe = dry_run;  // otherwise we hold the device exclusively ourselves
  auto busy = is_partition ? busy_reason(d.name, probe) : disk_busy_reason(d.name, probe);
  if (busy) throw_validation("refusing to wipe " + d.path + ": " + *busy + " (force does not override this)", d.path);
  auto magics = find_magics(d);
  PartitionOpResult res;
  res.device = d.path;
  res.dry_run = dry_run;
  mos::WritePlan plan{"wipe", {}};
  if (magics.empty()) {
    res.plan = summarize_plan(plan);
    res.notes.push_back("no signatures found on " + d.path);
    return res;
  }
  if (!force && !dry_run)
    throw_validation(d.path + " carries " + std::to_string(magics.size()) + " signature(s) (" + magics.front().what +
                     ", ...); pass force to erase them", d.path);
  if (!force) res.notes.push_back("dry run: erasing these signatures needs force");
  auto& step = plan.step("signatures");
  for (const auto& m : magics) step.writes.push_back({m.offset, std::vector<uint8_t>(m.length, 0), m.what});
  res.plan = summarize_plan(plan);
  // A wiped disk has no partitions left, so the kernel's go too; a wiped partition only needs udev.
  res.kernel_calls = is_partition ? std::vector<KernelCall>{{"uevent_change", 0, 0, 0}} : kernel_sync_calls(d, nullptr);
  if (!dry_run) execute_plan(d, plan, res.kernel_calls, res, false);
  return res;
}

}  // namespace mos::engine
