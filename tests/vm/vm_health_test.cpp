// Issue 20: our native health read against smartctl in the same guest. qemu's emulated NVMe
// controller (real SMART / Health log) and an IDE disk on AHCI (real ATA SMART) are read by
// storage.disk_health (the engine through the guest's rpc step) and by `smartctl -j -a` (shipped
// with its ldd closure in this test's initramfs only); the host compares field by field. The raw
// pages qemu returned come back too: they must parse to the same values, and with
// MOS_VM_HEALTH_PAGES_DIR set they are written there (how tests/unit/data/health and the fuzz
// seeds seed-qemu were captured).
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "engine/health/ata_smart.hpp"
#include "engine/health/nvme_health.hpp"
#include "tests/support/harness.hpp"
#include "tests/vm/scenario.hpp"

namespace mos::vmtest {
namespace {

constexpr const char* kSmartctl = "/usr/sbin/smartctl";
constexpr const char* kNvme = "/dev/nvme0n1";
constexpr const char* kAta = "/dev/sda";

// smartctl and the shared objects it loads, at the same paths in the guest.
void ship_smartctl(VmSpec& spec) {
  spec.binaries[kSmartctl] = kSmartctl;
  for (const auto& lib : ldd_libraries(test::run_tool({"ldd", kSmartctl}).out)) spec.binaries[lib] = lib;
}

json exec_smartctl(const std::string& disk) {
  return {{"op", "exec"}, {"argv", {kSmartctl, "-j", "-a", disk}}, {"any_outcome", true}, {"timeout_ms", 60000}};
}

std::vector<uint8_t> unhex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

void keep_page(const std::string& name, const std::vector<uint8_t>& bytes) {
  const char* dir = std::getenv("MOS_VM_HEALTH_PAGES_DIR");
  if (!dir) return;
  std::ofstream(std::string(dir) + "/" + name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void compare_nvme(const json& ours, const json& smart) {
  const json& log = smart.at("nvme_smart_health_information_log");
  const json& n = ours.at("nvme");
  std::printf("[ health   ] NVMe %s: field: ours / smartctl\n", kNvme);
  auto same = [&](const char* our_field, const char* smart_field) {
    std::printf("[ health   ]   %s: %s / %s\n", our_field, n.at(our_field).dump().c_str(), log.at(smart_field).dump().c_str());
    EXPECT_EQ(n.at(our_field), log.at(smart_field)) << our_field << " vs smartctl " << smart_field;
  };
  same("critical_warning", "critical_warning");
  same("available_spare", "available_spare");
  same("available_spare_threshold", "available_spare_threshold");
  same("percentage_used", "percentage_used");
  same("data_units_read", "data_units_read");
  same("data_units_written", "data_units_written");
  same("host_read_commands", "host_reads");
  same("host_write_commands", "host_writes");
  same("controller_busy_minutes", "controller_busy_time");
  same("power_cycles", "power_cycles");
  same("power_on_hours", "power_on_hours");
  same("unsafe_shutdowns", "unsafe_shutdowns");
  same("media_errors", "media_errors");
  same("error_log_entries", "num_err_log_entries");
  std::printf("[ health   ]   temperature_celsius: %s / %s\n", ours["temperature_celsius"].dump().c_str(),
              log.at("temperature").dump().c_str());
  EXPECT_EQ(ours.at("temperature_celsius"), log.at("temperature"));
}

void compare_ata(const json& ours, const json& smart) {
  std::printf("[ health   ] ATA %s: overall ours threshold_exceeded=%s / smartctl passed=%s\n", kAta,
              ours["smart_threshold_exceeded"].dump().c_str(), smart["smart_status"]["passed"].dump().c_str());
  ASSERT_TRUE(ours.at("smart_threshold_exceeded").is_boolean()) << ours;
  EXPECT_EQ(ours["smart_threshold_exceeded"].get<bool>(), !smart.at("smart_status").at("passed").get<bool>());
  const json& table = smart.at("ata_smart_attributes").at("table");
  const json& attrs = ours.at("attributes");
  ASSERT_TRUE(attrs.is_array()) << ours;
  EXPECT_EQ(attrs.size(), table.size());
  for (const auto& t : table) {
    const json* mine = nullptr;
    for (const auto& a : attrs)
      if (a["id"] == t["id"]) mine = &a;
    ASSERT_NE(mine, nullptr) << "attribute " << t["id"] << " missing from ours";
    std::printf("[ health   ]   id %3d %-24s value %s/%s worst %s/%s thresh %s/%s raw %s/%s prefail %s/%s\n",
                t["id"].get<int>(), t.value("name", "").c_str(), (*mine)["current"].dump().c_str(), t["value"].dump().c_str(),
                (*mine)["worst"].dump().c_str(), t["worst"].dump().c_str(), (*mine)["threshold"].dump().c_str(),
                t["thresh"].dump().c_str(), (*mine)["raw"].dump().c_str(), t["raw"]["value"].dump().c_str(),
                (*mine)["prefailure"].dump().c_str(), t["flags"]["prefailure"].dump().c_str());
    EXPECT_EQ((*mine)["current"], t["value"]) << "id " << t["id"];
    EXPECT_EQ((*mine)["worst"], t["worst"]) << "id " << t["id"];
    EXPECT_EQ((*mine)["threshold"], t["thresh"]) << "id " << t["id"];
    EXPECT_EQ((*mine)["raw"], t["raw"]["value"]) << "id " << t["id"];
    EXPECT_EQ((*mine)["prefailure"], t["flags"]["prefailure"]) << "id " << t["id"];
    EXPECT_EQ((*mine)["flags"], t["flags"]["value"]) << "id " << t["id"];
  }
  if (smart.contains("temperature")) {
    EXPECT_EQ(ours["temperature_celsius"], smart["temperature"]["current"]);
  }
}

TEST(VmHealth, NvmeAndAtaEqualSmartctlFieldByField) {
  MOS_REQUIRE_VM();
  if (::access(kSmartctl, X_OK) != 0) GTEST_SKIP() << "smartctl not installed (scripts/setup)";
  test::TempDir dir;
  VmSpec spec;
  spec.name = "health";
  spec.disks = {{dir.path() + "/nvme.img", 64ull << 20, 512, VmBus::nvme}, {dir.path() + "/ata.img", 64ull << 20, 512, VmBus::ahci}};
  ship_smartctl(spec);
  spec.scenario = {{"modules", {"nvme", "nvme_core", "ahci", "libahci", "libata", "sd_mod"}},
                   {"allow_devices", "/dev/nvme*,/dev/sd*"},
                   {"wait_devices", {kNvme, kAta}},
                   {"steps",
                    {rpc_step("storage.disk_health", {{"disk", kNvme}}), exec_smartctl(kNvme),
                     rpc_step("storage.disk_health", {{"disk", kAta}}), exec_smartctl(kAta),
                     {{"op", "health_pages"}, {"disk", kNvme}}, {{"op", "health_pages"}, {"disk", kAta}}}}};
  VmResult r = run_vm(spec);
  report_wall_time("health vs smartctl", r);
  expect_all_steps_ok(r, spec.scenario["steps"].size());
  ASSERT_NE(r.step(5), nullptr) << r.explain();

  const json nvme = r.step(0)->at("result");
  const json ata = r.step(2)->at("result");
  EXPECT_EQ(nvme["transport"], "nvme") << nvme;
  EXPECT_EQ(ata["transport"], "ata") << ata;
  std::printf("[ health   ] verdicts: NVMe %s %s, ATA %s %s\n", nvme["status"].dump().c_str(), nvme["reasons"].dump().c_str(),
              ata["status"].dump().c_str(), ata["reasons"].dump().c_str());
  ASSERT_TRUE(r.step(1)->contains("stdout_json")) << r.step(1)->dump();
  ASSERT_TRUE(r.step(3)->contains("stdout_json")) << r.step(3)->dump();
  compare_nvme(nvme, r.step(1)->at("stdout_json"));
  compare_ata(ata, r.step(3)->at("stdout_json"));

  // The raw pages parse to what storage.disk_health reported.
  auto log_bytes = unhex(r.step(4)->at("nvme_log"));
  auto data_bytes = unhex(r.step(5)->at("ata_data"));
  auto thr_bytes = unhex(r.step(5)->at("ata_thresholds"));
  auto log = engine::health::parse_nvme_health(log_bytes);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->data_units_read, nvme["nvme"]["data_units_read"].get<uint64_t>());
  EXPECT_EQ(log->available_spare, nvme["nvme"]["available_spare"].get<unsigned>());
  auto parsed = engine::health::parse_ata_smart(data_bytes, thr_bytes);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->attributes.size(), ata["attributes"].size());
  keep_page("qemu_nvme_smart_log.bin", log_bytes);
  keep_page("qemu_ata_smart_data.bin", data_bytes);
  keep_page("qemu_ata_smart_thresholds.bin", thr_bytes);
}

}  // namespace
}  // namespace mos::vmtest
