// Removable media at boot (issue 19 item 6), booted for real: a node's disk provisioned by a first
// boot on virtio, then the same image given to the next guests as a removable scsi-hd on
// virtio-scsi (/dev/sda, sysfs removable = 1). At a normal boot no MOS role is served from it
// (nothing mounted, no swap, the image byte-identical) and the report says why; with
// `mosremovable=1` on the command line, and with `[storage] allow_removable = true`, it is served.
#include <gtest/gtest.h>

#include "tests/integration/sysvol_support.hpp"
#include "tests/vm/sysvol_vm.hpp"

namespace mos::vmtest {
namespace {

constexpr uint64_t GiB = 1ull << 30;
constexpr uint64_t kFileBytes = (1ull << 20) + 777;
constexpr uint64_t kSeed = 19;
const char* kFile = "/var/cache/system/precious";
const char* kWhy = "is on removable media";

json removable_sysvol_step(const std::vector<std::string>& extra, int expect_exit) {
  json s = sysvol_step(extra, json::object(), expect_exit);
  s["argv"][3] = "/dev/sd*";  // --allow-devices: the removable disk's guest name
  return s;
}

VmSpec removable_spec(const std::string& name, const std::string& image, json steps) {
  VmSpec spec = sysvol_spec(name, {{image, 8 * GiB, 512, VmBus::scsi_removable}}, std::move(steps));
  spec.scenario["modules"] = {"virtio_scsi", "sd_mod"};
  spec.scenario["wait_devices"] = {"/dev/sda"};
  return spec;
}

bool warned(const json& report, const std::string& part) {
  for (const auto& w : report.value("warnings", json::array()))
    if (w.is_string() && w.get<std::string>().find(part) != std::string::npos) return true;
  return false;
}

std::string text_of(const VmResult& r, size_t step) {
  const json* s = r.step(step);
  return s ? s->value("text", "") : "";
}

TEST(VmSysvolRemovable, NotServedAtANormalBootServedWhenConfiguredOrOnTheCmdline) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string image = dir / "node.img";
  {
    json steps = {sysvol_step(), write_step(kFile, kFileBytes, kSeed), op_step("sync")};
    VmResult r = run_vm(sysvol_spec("removable_first", {{image, 8 * GiB, 512}}, steps));
    report_wall_time("removable: first boot on virtio", r);
    expect_all_steps_ok(r, steps.size());
    ASSERT_EQ(report_of(r, 0).value("mode", ""), "fresh") << report_of(r, 0).dump(2);
  }
  ASSERT_FALSE(HasFailure());
  const std::string provisioned = test::sparse_digest(image);

  // A normal boot: the only MOS disk is removable. Not ready, nothing mounted or swapped on from
  // it, not one byte written, and the report and the console say why.
  {
    json steps = {removable_sysvol_step({}, 1), mounts_step(), swaps_step()};
    VmResult r = run_vm(removable_spec("removable_refused", image, steps));
    report_wall_time("removable: normal boot", r);
    expect_all_steps_ok(r, steps.size());
    const json& rep = report_of(r, 0);
    EXPECT_FALSE(rep.value("ready", true)) << rep.dump(2);
    EXPECT_TRUE(warned(rep, "not used: /dev/sda")) << rep.dump(2);
    EXPECT_TRUE(warned(rep, kWhy)) << rep.dump(2);
    ASSERT_NE(r.step(0), nullptr);
    EXPECT_NE(r.step(0)->value("stderr", "").find(kWhy), std::string::npos) << "no console line:\n" << r.step(0)->dump(2);
    EXPECT_EQ(text_of(r, 1).find("/dev/sda"), std::string::npos) << text_of(r, 1);
    EXPECT_EQ(text_of(r, 2).find("/dev/sda"), std::string::npos) << text_of(r, 2);
    EXPECT_EQ(test::sparse_digest(image), provisioned) << "the removable disk was written";
  }

  // One guest, two runs: mosremovable=1 (a command line file), then, released, allow_removable in
  // the config file. Each serves the node: MOSDATA mounted, MOSSWAP on, the file reads back.
  {
    const size_t per_run = 4;
    json steps = {removable_sysvol_step({"--cmdline", "/etc/cmdline"}, 0), mounts_step(), swaps_step(),
                  read_step(kFile, kFileBytes, kSeed), op_step("release"),
                  removable_sysvol_step({"--config", "/etc/allow.toml"}, 0), mounts_step(), swaps_step(),
                  read_step(kFile, kFileBytes, kSeed)};
    VmSpec spec = removable_spec("removable_allowed", image, steps);
    spec.extra_files["/etc/cmdline"] = "quiet mosremovable=1\n";
    spec.extra_files["/etc/allow.toml"] = "[storage]\nallow_removable = true\n";
    VmResult r = run_vm(spec);
    report_wall_time("removable: mosremovable=1, then allow_removable", r);
    expect_all_steps_ok(r, steps.size());
    for (size_t run : {size_t{0}, per_run + 1}) {
      const json& rep = report_of(r, run);
      EXPECT_EQ(rep.value("mode", ""), "existing") << rep.dump(2);
      EXPECT_TRUE(rep.value("ready", false)) << rep.dump(2);
      EXPECT_FALSE(warned(rep, kWhy)) << rep.dump(2);
      EXPECT_NE(text_of(r, run + 1).find("/dev/sda"), std::string::npos) << "MOSDATA not mounted:\n" << text_of(r, run + 1);
      EXPECT_NE(text_of(r, run + 2).find("/dev/sda"), std::string::npos) << "MOSSWAP not on:\n" << text_of(r, run + 2);
    }
  }
}

}  // namespace
}  // namespace mos::vmtest
