// Members of a running array: add a blank replacement (spare superblock written natively, then
// ADD_NEW_DISK; the kernel rebuilds, followed by a job) and fail + remove a member.
#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "engine/apply_plan.hpp"
#include "engine/jobs/jobs.hpp"
#include "engine/member_open.hpp"
#include "engine/raid/raid.hpp"
#include "engine/raid/internal.hpp"
#include "ioctl/blockdev.hpp"
#include "base/error.hpp"
#include "base/uuid.hpp"
#include "ioctl/md.hpp"
#include "ioctl/sysfs.hpp"
#include "mdraid/superblock.hpp"
#include "ioctl/block_open.hpp"

namespace mos::engine {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(500);
constexpr int kRebuildStartPolls = 240;  // 2 min for the kernel to start (md delays a rebuild behind another on the same disks)

// The array's current superblock, read from an in-sync member.
mdraid::Superblock live_superblock(const std::string& block) {
  for (const auto& m : io::md::sysfs_members(block)) {
    if (m.state.find("in_sync") == std::string::npos) continue;
    io::Fd fd = io::open_block("/dev/" + m.block_name, O_RDONLY);
    io::blk_flush_buffers(fd);  // md writes superblocks around the page cache
    if (auto sb = mdraid::read_superblock(fd, io::block_facts(fd).size_bytes); sb && sb->checksum_ok) return *sb;
  }
  throw Error(ErrorCode::storage_failed, "/dev/" + block + " has no in-sync member with a readable superblock", "/dev/" + block);
}

// The first descriptor number the running array does not use (the kernel refuses a taken one).
uint32_t free_dev_number(const io::Fd& md, mdraid::Metadata metadata) {
  const int limit = metadata == mdraid::Metadata::v0_90 ? 27 : 384;
  for (int n = 0; n < limit; ++n)
    if (!io::md::get_disk_info(md, n)) return static_cast<uint32_t>(n);
  throw Error(ErrorCode::storage_failed, md.path() + " has no free member number left", md.path());
}

void require_room(const mdraid::Superblock& live, uint64_t size, const std::string& path) {
  const uint64_t data_bytes = live.component_sectors * 512;
  uint64_t room = 0;
  try {
    room = live.metadata == mdraid::Metadata::v0_90 ? mdraid::superblock_offset(live.metadata, size)
                                                    : (size > live.data_offset_sectors * 512 ? size - live.data_offset_sectors * 512 : 0);
  } catch (const Error&) {
  }
  if (room < data_bytes)
    throw_validation(path + " is too small for this array: it needs " + std::to_string(data_bytes) + " data bytes, has room for " +
                         std::to_string(room), path);
}

// One look at the kernel's recovery of `member`: the array once the member is in sync (or the
// array needs no rebuild), else nullopt (look again later). Counts idle looks in `idle_polls`.
std::optional<RaidArray> rebuild_step(const std::string& block, const std::string& member, int& idle_polls,
                                     const std::function<void(uint64_t, uint64_t)>& progress) {
  auto members = io::md::sysfs_members(block);
  auto it = std::find_if(members.begin(), members.end(), [&](const auto& m) { return m.block_name == member; });
  if (it == members.end()) throw Error(ErrorCode::storage_failed, "/dev/" + member + " left /dev/" + block + " during the rebuild");
  if (it->state.find("faulty") != std::string::npos)
    throw Error(ErrorCode::storage_failed, "/dev/" + member + " failed during the rebuild of /dev/" + block);
  if (auto p = io::md::sync_completed(block)) progress(p->done_sectors * 512, p->total_sectors * 512);
  const bool idle = io::md::attribute(block, "sync_action").value_or("idle") == "idle";
  const bool in_sync = it->state.find("in_sync") != std::string::npos;
  const uint64_t degraded = io::sysfs_u64("/sys/block/" + block + "/md/degraded").value_or(0);
  if (idle && (in_sync || degraded == 0)) {
    RaidArray a = raid::read_array(block);
    progress(a.size_bytes, a.size_bytes);
    return a;
  }
  if (idle && ++idle_polls > kRebuildStartPolls)
    throw Error(ErrorCode::storage_failed, "the kernel did not start rebuilding /dev/" + block + " onto /dev/" + member);
  return std::nullopt;
}

// Follows the rebuild as a polling job: a look every kPollInterval, holding no worker between.
Jobs::Fn follow_rebuild(const std::string& block, const std::string& member) {
  auto idle_polls = std::make_shared<int>(0);
  auto first = std::make_shared<bool>(true);
  return [block, member, idle_polls, first](JobHandle& job) -> json {
    if (!*first) {
      job.check_cancelled();
      auto progress = [&job](uint64_t done, uint64_t total) { job.progress(done, total); };
      if (auto done = rebuild_step(block, member, *idle_polls, progress)) return json(*done);
    }
    *first = false;
    job.poll_again(kPollInterval);
    return nullptr;
  };
}

}  // namespace

void to_json(json& j, const RaidAddResult& r) {
  j = json{{"array", r.array}, {"job", r.job}, {"dry_run", r.dry_run}, {"member", r.member ? json(*r.member) : json(nullptr)}};
}

RaidAddResult raid_add_member(const RaidAddRequest& req, const Context& ctx) {
  const std::string block = raid::resolve_md_block(req.array);
  raid::require_md_allowed(block, ctx);
  if (!raid::array_running(block)) throw_validation("/dev/" + block + " is not running; assemble it first", "/dev/" + block);
  const std::string path = raid::member_path(req.device, ctx);
  Device dev = raid::require_unused_member(path, req.force);
  const mdraid::Superblock live = live_superblock(block);

  OpenedMembers opened = open_members_locked({dev}, req.dry_run);
  const io::Fd& fd = opened.fds[0];
  const io::BlockFacts facts = opened.facts[0];
  require_room(live, facts.size_bytes, path);

  io::Fd md = raid::open_md_node(block);
  mdraid::MemberSpec spec;
  spec.size_bytes = facts.size_bytes;
  spec.logical_sector_size = facts.logical_sector_size;
  spec.device_uuid = mos::random_uuid();
  spec.major = dev.major;
  spec.minor = dev.minor;
  mdraid::Superblock sb = mdraid::superblock_for_new_member(live, spec, free_dev_number(md, live.metadata), raid::now_seconds());
  mos::WritePlan plan = mdraid::plan_superblock(sb, facts.size_bytes);  // with the bitmap when the array has one
  plan.steps.insert(plan.steps.begin(), old_signature_wipe(facts.size_bytes));

  RaidAddResult result;
  result.dry_run = req.dry_run;
  result.member = FormatMember{dev, summarize_plan(plan)};
  if (req.dry_run) {
    result.array = raid::read_array(block);
    return result;
  }
  apply_plan(fd, plan);
  io::blk_flush_buffers(fd);
  opened.release();  // the kernel claims the member exclusively
  announce_content_change(dev.name);
  io::md::add_new_disk(md, dev.major, dev.minor);
  if (ctx.jobs) {
    result.job = ctx.jobs->start("raid_rebuild", "/dev/" + block, follow_rebuild(block, dev.name));
  }
  result.member->device = find_device(path, DiscoverOptions{false});
  result.array = raid::read_array(block);
  return result;
}

RaidArray wait_member_in_sync(const std::string& array_device, const std::string& member,
                               const std::function<void(uint64_t, uint64_t)>& progress, const std::atomic<bool>* cancel) {
  const std::string block = array_device.substr(array_device.rfind('/') + 1);
  const std::string name = member.substr(member.rfind('/') + 1);
  int idle_polls = 0;
  for (;;) {
    if (cancel && cancel->load()) throw Error(ErrorCode::storage_failed, "cancelled");
    if (auto done = rebuild_step(block, name, idle_polls, progress)) return *done;
    std::this_thread::sleep_for(kPollInterval);
  }
}

RaidArray raid_remove_member(const std::string& array, const std::string& device, const Context& ctx) {
  const std::string block = raid::resolve_md_block(array);
  raid::require_md_allowed(block, ctx);
  const std::string path = raid::member_path(device, ctx);
  const Device dev = find_device(path, DiscoverOptions{false});
  auto members = io::md::sysfs_members(block);
  auto it = std::find_if(members.begin(), members.end(), [&](const auto& m) { return m.block_name == dev.name; });
  if (it == members.end()) throw_validation(path + " is not a member of /dev/" + block, path);
  const bool in_sync = it->state.find("in_sync") != std::string::npos;
  const auto working = std::count_if(members.begin(), members.end(),
                                     [](const auto& m) { return m.state.find("in_sync") != std::string::npos; });
  if (in_sync && working <= 1)
    throw_validation(path + " is the last in-sync member of /dev/" + block + "; removing it would lose the array's data", path);
  io::Fd md = raid::open_md_node(block);
  if (it->state.find("faulty") == std::string::npos) io::md::set_disk_faulty(md, dev.major, dev.minor);
  // md drops a faulty member from its personality asynchronously: EBUSY until it has.
  for (int attempt = 0;; ++attempt) {
    try {
      io::md::hot_remove_disk(md, dev.major, dev.minor);
      break;
    } catch (const Error& e) {
      if (e.sys_errno() != EBUSY || attempt >= 50) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return raid::read_array(block);
}

}  // namespace mos::engine
