// format: our native writers (plan + apply_plan with the bulk zeroer) against the mkfs tools,
// same device, default options on both sides (except where noted).
#include <fcntl.h>

#include "bench/bench.hpp"
#include "engine/apply_plan.hpp"
#include "engine/bulk.hpp"
#include "fsmake/btrfs.hpp"
#include "fsmake/ext4.hpp"
#include "fsmake/fat32.hpp"
#include "fsmake/swap.hpp"
#include "ioctl/blockdev.hpp"
#include "ioctl/fd.hpp"

namespace mos::bench {

namespace {

using PlanFn = std::function<mos::WritePlan(uint64_t size, uint32_t sector_size)>;

Contender ours_format(std::string name, PlanFn plan_for, bool allow_offload) {
  Contender c;
  c.name = std::move(name);
  c.run = [plan_for, allow_offload](Target& t) -> std::optional<double> {
    io::Fd fd = io::Fd::open(t.dev(), O_RDWR);
    io::BlockFacts facts = io::block_facts(fd);
    engine::BulkOptions o;
    o.allow_offload = allow_offload;
    o.cancel = &interrupted();
    engine::apply_plan(fd, plan_for(facts.size_bytes, facts.logical_sector_size), engine::bulk_zero_fn(o));
    return std::nullopt;
  };
  return c;
}

Scenario format_scenario(std::string name, std::string what, const Config& cfg) {
  Scenario s;
  s.name = std::move(name);
  s.description = std::move(what);
  s.target = TargetSpec{cfg.size, 512, true, true, false};
  return s;
}

// ext4 runs at a realistic size whatever --size says: at 1 GiB both sides are start-up cost.
// Sparse backing file: a preallocated 16 GiB per run would measure the host disk, not us.
constexpr uint64_t kExt4Size = 16ull << 30;

Scenario ext4_scenario(std::string name, std::string what, bool full_init, const char* peer_name,
                       std::string peer_extended) {
  Scenario s;
  s.name = std::move(name);
  s.description = std::move(what);
  s.target = TargetSpec{kExt4Size, 512, true, false, false};
  PlanFn plan = [full_init](uint64_t size, uint32_t ss) {
    fsmake::ext4::Ext4Options o;
    o.full_init = full_init;
    return fsmake::ext4::plan_mkfs(o, size, ss);
  };
  s.ours.push_back(ours_format(full_init ? "ours (full_init)" : "ours (lazy)", plan, true));
  s.peers.push_back(peer(peer_name, "mkfs.ext4", [peer_extended](const Target& t) {
    return std::vector<std::string>{"-F", "-q", "-E", peer_extended, t.dev()};
  }));
  // For information: what people type. It discards the whole device (which our writer never
  // does) and, lazily, leaves the inode tables to the kernel like our default.
  s.peers.push_back(peer("mkfs.ext4 (default)", "mkfs.ext4", [](const Target& t) {
    return std::vector<std::string>{"-F", "-q", t.dev()};
  }));
  return s;
}

}  // namespace

void add_format_scenarios(std::vector<Scenario>& out, const Config& cfg) {
  PlanFn fat32 = [](uint64_t size, uint32_t ss) { return fsmake::fat32::plan_mkfs({}, size, ss); };
  Scenario f = format_scenario("fat32", "FAT32 on the whole device (loop, direct_io, preallocated)", cfg);
  f.ours.push_back(ours_format("ours (offload)", fat32, true));
  f.ours.push_back(ours_format("ours (data path)", fat32, false));
  f.peers.push_back(peer("mkfs.vfat -I -F 32", "mkfs.vfat", [](const Target& t) {
    return std::vector<std::string>{"-I", "-F", "32", t.dev()};  // -I: whole device, no partition table
  }));
  out.push_back(std::move(f));

  PlanFn swap = [](uint64_t size, uint32_t) { return fsmake::swap::plan_mkswap({}, size); };
  Scenario w = format_scenario("swap", "swap area on the whole device (loop, direct_io, preallocated)", cfg);
  w.ours.push_back(ours_format("ours", swap, true));
  w.peers.push_back(peer("mkswap", "mkswap", [](const Target& t) { return std::vector<std::string>{t.dev()}; }));
  out.push_back(std::move(w));

  PlanFn btrfs = [](uint64_t size, uint32_t ss) {
    return fsmake::btrfs::plan_mkfs({}, {{size, ss}}).at(0);
  };
  Scenario b = format_scenario("btrfs", "btrfs, one device, metadata DUP (loop, direct_io, preallocated)", cfg);
  b.ours.push_back(ours_format("ours", btrfs, true));
  // -K: no whole-device TRIM, which our writer does not do either.
  b.peers.push_back(peer("mkfs.btrfs -f -K", "mkfs.btrfs", [](const Target& t) {
    return std::vector<std::string>{"-f", "-K", t.dev()};
  }));
  out.push_back(std::move(b));

  // Same work on both sides: nodiscard, because our writer never discards.
  out.push_back(ext4_scenario("ext4", "ext4 16 GiB, lazy inode tables and journal (loop, direct_io, sparse)", false,
                              "mkfs.ext4 lazy", "lazy_itable_init=1,lazy_journal_init=1,nodiscard"));
  out.push_back(ext4_scenario("ext4_full", "ext4 16 GiB, inode tables and journal zeroed (loop, direct_io, sparse)",
                              true, "mkfs.ext4 full", "lazy_itable_init=0,lazy_journal_init=0,nodiscard"));
}

}  // namespace mos::bench
