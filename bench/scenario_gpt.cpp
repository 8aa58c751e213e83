// gpt: the MOS 5-partition layout (bios_boot 1 MiB, esp 100 MiB, boot 1 GiB, swap 2 GiB, data =
// rest) written by our engine (new table + 5 partitions, each with its BLKPG call and uevent)
// against one sgdisk invocation doing the same table, in the same run. No sleeps on our side;
// sgdisk's own time includes the sync + 1 s pause it makes before asking the kernel to re-read.
// "layout" is create_partition_layout (what mos_sysvol uses on an empty disk); "table + 5
// calls" is the RPC path: create_partition_table then one create_partition per partition.
#include <fcntl.h>

#include "bench/bench.hpp"
#include "engine/disk_access.hpp"
#include "engine/partition/partition.hpp"
#include "ioctl/blkpg.hpp"
#include "ioctl/fd.hpp"

namespace mos::bench {

namespace {

constexpr uint64_t kMiB = 1ull << 20;

struct Part {
  const char* name;
  const char* type;      // our type name
  const char* sgdisk_code;
  uint64_t size;         // 0 = rest
};
constexpr Part kLayout[] = {{"mosbios", "bios_boot", "EF02", 1 * kMiB},
                            {"mosefi", "esp", "EF00", 100 * kMiB},
                            {"mosboot", "linux", "8300", 1024 * kMiB},
                            {"mosswap", "swap", "8200", 2048 * kMiB},
                            {"mosdata", "linux", "8300", 0}};

// Untimed: an empty disk again (no table at either end, no kernel partitions), for both sides.
void blank_disk(Target& t) {
  io::Fd fd = io::Fd::open(t.dev(), O_RDWR);
  std::vector<uint8_t> zeros(kMiB, 0);
  fd.pwrite_exact(zeros.data(), zeros.size(), 0);
  fd.pwrite_exact(zeros.data(), zeros.size(), t.size() - kMiB);
  fd.fsync();
  std::string name = t.dev().substr(t.dev().rfind('/') + 1);
  for (const auto& p : engine::kernel_partitions(name)) io::blkpg_delete_partition(fd, static_cast<int>(p.number));
}

}  // namespace

void add_gpt_scenarios(std::vector<Scenario>& out, const Config&) {
  Scenario s;
  s.name = "gpt";
  s.description = "MOS 5-partition GPT layout on an empty 4 GiB disk (sparse loop)";
  s.target = TargetSpec{4096 * kMiB, 512, false, false, false};

  Contender layout;
  layout.name = "ours (layout, 1 write)";
  layout.prepare = blank_disk;
  layout.run = [](Target& t) -> std::optional<double> {
    std::vector<engine::LayoutPartition> parts;
    for (const auto& p : kLayout) parts.push_back({p.name, p.type, p.size ? std::optional<uint64_t>(p.size) : std::nullopt});
    engine::create_partition_layout(t.dev(), parts, false, false);
    return std::nullopt;
  };
  s.ours.push_back(std::move(layout));

  Contender ours;
  ours.name = "ours (table + 5 calls)";
  ours.prepare = blank_disk;
  ours.run = [](Target& t) -> std::optional<double> {
    engine::create_partition_table(t.dev(), false, false);
    for (const auto& p : kLayout) {
      engine::CreatePartitionRequest req{t.dev(), p.name, p.type, {}, {}, false};
      if (p.size) req.size_bytes = p.size;
      engine::create_partition(req);
    }
    return std::nullopt;
  };
  s.ours.push_back(std::move(ours));

  s.peers.push_back(peer(
      "sgdisk (one call)", "sgdisk",
      [](const Target& t) {
        std::vector<std::string> args = {"-o"};
        int n = 1;
        for (const auto& p : kLayout) {
          std::string num = std::to_string(n++);
          args.push_back("-n");
          args.push_back(num + ":0:" + (p.size ? "+" + std::to_string(p.size / kMiB) + "M" : "0"));
          args.push_back("-c");
          args.push_back(num + ":" + p.name);
          args.push_back("-t");
          args.push_back(num + ":" + p.sgdisk_code);
        }
        args.push_back(t.dev());
        return args;
      },
      blank_disk));
  out.push_back(std::move(s));
}

}  // namespace mos::bench
