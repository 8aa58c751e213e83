// The pages qemu's emulated disks returned in the guest (tests/vm/vm_health_test.cpp wrote them
// with MOS_VM_HEALTH_PAGES_DIR): parsed and judged to what smartctl -j -a said in that guest.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/health/ata_smart.hpp"
#include "engine/health/nvme_health.hpp"
#include "engine/health/verdict.hpp"

namespace mos::engine::health {
namespace {

std::vector<uint8_t> page(const std::string& name) {
  std::ifstream in(std::string(MOS_UNIT_DATA_DIR) + "/health/" + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(HealthQemuPages, NvmeLogIsWhatSmartctlSaid) {
  auto bytes = page("qemu_nvme_smart_log.bin");
  ASSERT_EQ(bytes.size(), kNvmeHealthLogSize);
  auto log = parse_nvme_health(bytes);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->critical_warning, 0);
  EXPECT_EQ(log->temperature_kelvin, 323);  // smartctl: 50 Celsius
  EXPECT_EQ(log->available_spare, 0);
  EXPECT_EQ(log->available_spare_threshold, 0);
  EXPECT_EQ(log->percentage_used, 0);
  EXPECT_EQ(log->data_units_read, 1u);
  EXPECT_EQ(log->data_units_written, 0u);
  EXPECT_EQ(log->host_read_commands, 5u);
  EXPECT_EQ(log->host_write_commands, 0u);
  EXPECT_EQ(log->power_cycles, 0u);
  EXPECT_EQ(log->power_on_hours, 0u);
  EXPECT_EQ(log->unsafe_shutdowns, 0u);
  EXPECT_EQ(log->media_errors, 0u);
  EXPECT_EQ(log->error_log_entries, 0u);
  Verdict v = judge_nvme(*log);
  EXPECT_EQ(v.status, Status::ok);
  EXPECT_TRUE(v.reasons.empty());
}

TEST(HealthQemuPages, AtaAttributesAreWhatSmartctlSaid) {
  auto data = page("qemu_ata_smart_data.bin");
  auto thresholds = page("qemu_ata_smart_thresholds.bin");
  ASSERT_EQ(data.size(), kAtaSmartPageSize);
  ASSERT_EQ(thresholds.size(), kAtaSmartPageSize);
  auto parsed = parse_ata_smart(data, thresholds);
  ASSERT_TRUE(parsed);
  struct Row {
    int id, value, worst, thresh;
    uint64_t raw;
    bool prefailure;
  };
  // smartctl -j -a /dev/sda in the guest: id, value, worst, thresh, raw.value, flags.prefailure.
  const std::vector<Row> smartctl = {{1, 100, 100, 6, 0, true},          {3, 100, 100, 0, 16, true},
                                     {4, 100, 100, 20, 100, false},      {5, 100, 100, 36, 0, true},
                                     {9, 100, 100, 0, 1, true},          {12, 100, 100, 0, 0, true},
                                     {190, 69, 69, 50, 522125343, true}};
  ASSERT_EQ(parsed->attributes.size(), smartctl.size());
  for (size_t i = 0; i < smartctl.size(); ++i) {
    const AtaAttribute& a = parsed->attributes[i];
    const Row& r = smartctl[i];
    EXPECT_EQ(a.id, r.id);
    EXPECT_EQ(a.current, r.value) << "id " << r.id;
    EXPECT_EQ(a.worst, r.worst) << "id " << r.id;
    ASSERT_TRUE(a.threshold) << "id " << r.id;
    EXPECT_EQ(*a.threshold, r.thresh) << "id " << r.id;
    EXPECT_EQ(a.raw, r.raw) << "id " << r.id;
    EXPECT_EQ(a.prefailure, r.prefailure) << "id " << r.id;
  }
  Verdict v = judge_ata(*parsed, AtaOverall::passed);  // smartctl: smart_status.passed
  EXPECT_EQ(v.status, Status::ok);
  EXPECT_TRUE(v.reasons.empty());
}

}  // namespace
}  // namespace mos::engine::health
