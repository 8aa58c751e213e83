// Shared by the mos_sysvol VM tests: the exec step that runs mos_sysvol in the guest, a spec that
// ships it with the modules it loads itself, its JSON report, and read-only loop devices over
// one partition of a powered-off image for the oracle tools.
#pragma once
#include <string>
#include <vector>

#include "tests/support/harness.hpp"
#include "tests/vm/scenario.hpp"

namespace mos::vmtest {

// Shipped in the initramfs, loaded by mos_sysvol itself (not by the test init).
inline const std::vector<std::string> kSysvolModules = {"btrfs", "ext4", "vfat", "nls_cp437", "nls_ascii", "raid1"};

inline json sysvol_step(const std::vector<std::string>& extra = {}, const json& env = json::object(), int expect_exit = 0) {
  json argv = {"/bin/mos_sysvol", "--json", "--allow-devices", "/dev/vd*"};
  for (const auto& a : extra) argv.push_back(a);
  json s = {{"op", "exec"}, {"argv", argv}, {"expect_exit", expect_exit}, {"timeout_ms", 240000}};
  if (!env.empty()) s["env"] = env;
  return s;
}
inline json mounts_step() { return {{"op", "read_file"}, {"path", "/proc/self/mountinfo"}, {"text", true}}; }
inline json swaps_step() { return {{"op", "read_file"}, {"path", "/proc/swaps"}, {"text", true}}; }

inline VmSpec sysvol_spec(const std::string& name, std::vector<VmDisk> disks, json steps) {
  VmSpec spec;
  spec.name = name;
  spec.disks = std::move(disks);
  spec.binaries["/bin/mos_sysvol"] = std::string(MOS_BIN_DIR) + "/mos_sysvol";
  spec.extra_modules = kSysvolModules;
  spec.scenario = {{"modules", json::array()}, {"steps", std::move(steps)}};
  spec.timeout_s = 600;
  return spec;
}

// "sysvol:after-gpt" -> "sysvol_after_gpt" (gtest names allow only [A-Za-z0-9_]).
inline std::string point_test_name(const ::testing::TestParamInfo<const char*>& info) {
  std::string s = info.param;
  for (auto& c : s)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

inline const json& report_of(const VmResult& r, size_t step) {
  static const json null_json;
  const json* s = r.step(step);
  if (!s || !s->contains("stdout_json")) return null_json;
  return (*s)["stdout_json"];
}

// A read-only loop device over one partition of an image (offset, size), detached at scope end.
class PartitionLoop {
 public:
  PartitionLoop(const std::string& image, uint64_t offset, uint64_t size, uint32_t sector = 512) {
    auto r = test::run_tool({"losetup", "--find", "--show", "--read-only", "--sector-size", std::to_string(sector),
                             "--offset", std::to_string(offset), "--sizelimit", std::to_string(size), image});
    EXPECT_TRUE(r.ok()) << r.err;
    dev_ = r.out.substr(0, r.out.find('\n'));
  }
  ~PartitionLoop() {
    if (!dev_.empty()) test::run_tool({"losetup", "-d", dev_});
  }
  const std::string& dev() const { return dev_; }

 private:
  std::string dev_;
};

// A dynamically linked host program and the shared objects `ldd` lists for it, at the same paths
// in the guest (a test initramfs only: mdadm, btrfs, smartctl, the daemon).
inline void ship_with_libraries(VmSpec& spec, const std::string& host_path, const std::string& guest_path = {}) {
  spec.binaries[guest_path.empty() ? host_path : guest_path] = host_path;
  for (const auto& lib : ldd_libraries(test::run_tool({"ldd", host_path}).out)) spec.binaries[lib] = lib;
}

inline json partitions_of(const std::string& image) {
  auto t = test::run_tool({"sfdisk", "--json", image});
  EXPECT_TRUE(t.ok()) << t.err;
  return t.ok() ? json::parse(t.out)["partitiontable"]["partitions"] : json::array();
}

}  // namespace mos::vmtest
