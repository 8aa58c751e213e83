// Helpers shared by the GPT engine integration tests: run engine calls sandboxed, and ask the
// oracles (sgdisk -v, sfdisk --json, blkid -p, sysfs) what is on the disk.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <sstream>
#include <vector>
#include <string>

#include "engine/partition/partition.hpp"
#include "engine/partition/json.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {

// Runs an engine call in the seccomp sandbox; returns its JSON, or {"error": message}.
inline nlohmann::json engine_call(const std::function<nlohmann::json()>& fn) {
  auto r = run_sandboxed([&] { return fn().dump(); });
  if (!r.ok) return nlohmann::json{{"error", r.text.empty() ? "child died with signal " + std::to_string(r.signal) : r.text}};
  return nlohmann::json::parse(r.text);
}

// The ranges of a reported write plan in the order they are applied (per step: zeroes, then
// writes), each as {"step", "offset", "length", "zero", "what"}.
inline nlohmann::json planned_ranges(const nlohmann::json& plan) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& step : plan["steps"]) {
    for (const auto& z : step["zeroes"])
      out.push_back({{"step", step["name"]}, {"offset", z["offset"]}, {"length", z["length"]}, {"zero", true}, {"what", z["what"]}});
    for (const auto& w : step["writes"])
      out.push_back({{"step", step["name"]}, {"offset", w["offset"]}, {"length", w["length"]}, {"zero", false}, {"what", w["what"]}});
  }
  return out;
}

struct SgdiskVerdict {
  bool clean = false;
  std::string output;
};
// sgdisk -v: exit 0, "No problems found", and no complaint about either copy (sgdisk exits 0
// and says "No problems found" even when it silently fell back to the backup header).
inline SgdiskVerdict sgdisk_verify(const std::string& dev) {
  auto r = run_tool({"sgdisk", "-v", dev});
  std::string all = r.out + r.err;
  bool clean = r.ok() && all.find("No problems found") != std::string::npos;
  for (const char* bad : {"Warning!", ": ERROR", "corrupt", "invalid", "Invalid", "differ", "problems!"})
    if (all.find(bad) != std::string::npos) clean = false;
  return {clean, all};
}

// After a crash between the two copies sgdisk flags the copies as differing (gdisk counts a
// backup that does not match the main table as a CRC problem) but must still load one whole
// copy: a header and its partition table both OK.
inline bool sgdisk_finds_valid_copy(const SgdiskVerdict& v) {
  auto has = [&](const char* s) { return v.output.find(s) != std::string::npos; };
  return v.clean || (has("Main header: OK") && has("Main partition table: OK")) ||
         (has("Backup header: OK") && has("Backup partition table: OK"));
}

// Partition numbers sgdisk -p lists (the table sgdisk chose to load).
inline std::vector<int> sgdisk_partition_numbers(const std::string& dev) {
  auto r = run_tool({"sgdisk", "-p", dev});
  std::vector<int> out;
  std::istringstream in(r.out);
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.rfind("Number", 0) == 0) { in_table = true; continue; }
    if (!in_table) continue;
    std::istringstream f(line);
    int n;
    if (f >> n) out.push_back(n);
  }
  return out;
}

inline nlohmann::json sfdisk_json(const std::string& dev) {
  auto r = run_tool({"sfdisk", "--json", dev});
  if (!r.ok()) return nullptr;
  return nlohmann::json::parse(r.out)["partitiontable"];
}

inline std::string dev_name(const std::string& dev) { return dev.substr(dev.rfind('/') + 1); }

// Kernel view of partition N of a loop disk from sysfs, in bytes (sysfs counts 512-byte units).
struct KernelPart {
  bool exists = false;
  uint64_t start_bytes = 0, size_bytes = 0;
};
inline KernelPart kernel_part(const std::string& dev, int n) {
  std::string base = "/sys/class/block/" + dev_name(dev) + "/" + dev_name(dev) + "p" + std::to_string(n);
  auto st = run_tool({"cat", base + "/start", base + "/size"});
  if (!st.ok()) return {};
  std::istringstream in(st.out);
  uint64_t s = 0, z = 0;
  in >> s >> z;
  return {true, s * 512, z * 512};
}

}  // namespace mos::test
