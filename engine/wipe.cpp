// wipe_signatures: erase the magic bytes of every signature found, like `wipefs --all`.
// TODO(probe merge): the finder below knows GPT (both headers) and the MBR magic only;
// fsmake::find_signatures from branch `probe` lists every signature the prober knows.
#include <cstring>

#include "engine/disk_access.hpp"
#include "engine/partition.hpp"
#include "engine/partition_plan.hpp"
#include "gpt/structs.hpp"
#include "ioctl/error.hpp"
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
  const uint64_t ss = d.facts.logical_sector_size, size = d.facts.size_bytes;
  if (size < 2 * ss) return out;
  auto has = [&](uint64_t off, const void* magic, size_t len) {
    std::vector<uint8_t> buf(len);
    return d.fd.pread_some(buf.data(), len, off) == len && std::memcmp(buf.data(), magic, len) == 0;
  };
  const uint8_t mbr_magic[2] = {0x55, 0xAA};
  if (has(510, mbr_magic, 2)) out.push_back({510, 2, "MBR boot signature 55 AA (offset 510)"});
  uint64_t last = size / ss - 1;
  for (uint64_t lba : {uint64_t{1}, last})
    if (has(lba * ss, gpt::kSignature, 8))
      out.push_back({lba * ss, 8, std::string("GPT ") + (lba == 1 ? "primary" : "backup") + " header signature (LBA " + std::to_string(lba) + ")"});
  return out;
}

}  // namespace

PartitionOpResult wipe_signatures(const std::string& path, bool force, bool dry_run) {
  bool is_partition = false;
  Disk d = open_block_device(path, !dry_run, &is_partition);
  std::optional<io::FlockGuard> lock;
  if (!dry_run) lock.emplace(d.fd);
  auto busy = is_partition ? busy_reason(d.name) : disk_busy_reason(d.name);
  if (busy) throw_validation("refusing to wipe " + d.path + ": " + *busy + " (force does not override this)", d.path);
  auto magics = find_magics(d);
  PartitionOpResult res;
  res.device = d.path;
  res.dry_run = dry_run;
  if (magics.empty()) {
    res.notes.push_back("no signatures found on " + d.path);
    return res;
  }
  if (!force && !dry_run)
    throw_validation(d.path + " carries " + std::to_string(magics.size()) + " signature(s) (" + magics.front().what +
                     ", ...); pass force to erase them", d.path);
  io::WritePlan plan;
  plan.name = "wipe";
  auto& step = plan.step("signatures");
  for (const auto& m : magics) step.writes.push_back({m.offset, std::vector<uint8_t>(m.length, 0), m.what});
  res.writes = describe_plan(plan);
  // A wiped disk has no partitions left, so the kernel's go too; a wiped partition only needs udev.
  res.kernel_calls = is_partition ? std::vector<KernelCall>{{"uevent_change", 0, 0, 0}} : kernel_sync_calls(d, nullptr);
  if (!dry_run) execute_plan(d, plan, res.kernel_calls, res, false);
  return res;
}

}  // namespace mos::engine
