// The ATA SMART and NVMe health page parsers and the verdict rules (engine/health/README.md), on
// hand-made pages: every rule, its boundary, and truncated input.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "engine/health/ata_smart.hpp"
#include "engine/health/nvme_health.hpp"
#include "engine/health/verdict.hpp"

using namespace mos::engine::health;

namespace {

using Page = std::array<uint8_t, 512>;

void put_attribute(Page& data, size_t slot, uint8_t id, uint16_t flags, uint8_t current, uint8_t worst,
                   uint64_t raw) {
  uint8_t* e = data.data() + 2 + slot * 12;
  e[0] = id;
  e[1] = static_cast<uint8_t>(flags);
  e[2] = static_cast<uint8_t>(flags >> 8);
  e[3] = current;
  e[4] = worst;
  for (int i = 0; i < 6; ++i) e[5 + i] = static_cast<uint8_t>(raw >> (8 * i));
}

void put_threshold(Page& thresholds, size_t slot, uint8_t id, uint8_t threshold) {
  thresholds[2 + slot * 12] = id;
  thresholds[2 + slot * 12 + 1] = threshold;
}

// One attribute in slot 0 with its threshold, judged.
Verdict judge_one(uint8_t id, uint16_t flags, uint8_t current, uint8_t worst, uint8_t threshold, uint64_t raw = 0) {
  Page data{}, thr{};
  put_attribute(data, 0, id, flags, current, worst, raw);
  put_threshold(thr, 0, id, threshold);
  auto parsed = parse_ata_smart(data, thr);
  EXPECT_TRUE(parsed);
  return judge_ata(*parsed, AtaOverall::passed);
}

}  // namespace

TEST(HealthAtaSmart, ParsesTableSkippingEmptySlotsAndMatchesThresholdsBySlot) {
  Page data{}, thr{};
  put_attribute(data, 0, 5, 0x0033, 100, 99, 0);
  put_attribute(data, 2, 194, 0x0022, 64, 50, 0x0000'2800'0024ull);  // slot 1 empty
  put_attribute(data, 29, 9, 0x0032, 98, 98, 0xAABBCCDDEEFFull);     // the last slot
  put_threshold(thr, 0, 5, 36);
  put_threshold(thr, 2, 7, 30);  // another id in that slot: not this attribute's threshold
  auto p = parse_ata_smart(data, thr);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->attributes.size(), 3u);
  EXPECT_EQ(p->attributes[0].id, 5);
  EXPECT_EQ(p->attributes[0].name, "Reallocated_Sector_Ct");
  EXPECT_TRUE(p->attributes[0].prefailure);
  EXPECT_EQ(p->attributes[0].threshold, std::optional<uint8_t>(36));
  EXPECT_EQ(p->attributes[1].id, 194);
  EXPECT_FALSE(p->attributes[1].prefailure);
  EXPECT_EQ(p->attributes[1].current, 64);
  EXPECT_EQ(p->attributes[1].worst, 50);
  EXPECT_EQ(p->attributes[1].raw, 0x0000'2800'0024ull);
  EXPECT_FALSE(p->attributes[1].threshold);
  EXPECT_EQ(p->attributes[2].raw, 0xAABBCCDDEEFFull);  // 48 bits, the reserved byte not included
  EXPECT_EQ(judge_ata(*p, AtaOverall::passed).status, Status::ok);
}

TEST(HealthAtaSmart, TruncatedPagesAreRefusedOrIgnored) {
  Page data{};
  put_attribute(data, 0, 5, 1, 100, 100, 0);
  EXPECT_FALSE(parse_ata_smart(std::span<const uint8_t>(data.data(), 511)));
  EXPECT_FALSE(parse_ata_smart({}));
  Page thr{};
  put_threshold(thr, 0, 5, 100);
  auto p = parse_ata_smart(data, std::span<const uint8_t>(thr.data(), 100));  // short thresholds: none
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->attributes[0].threshold);
}

TEST(HealthAtaSmart, PrefailureAtThresholdIsFailingAdvisoryIsWarning) {
  EXPECT_EQ(judge_one(3, 0x0001, 21, 21, 21).status, Status::failing);
  EXPECT_EQ(judge_one(3, 0x0001, 22, 22, 21).status, Status::ok);
  EXPECT_EQ(judge_one(3, 0x0000, 21, 21, 21).status, Status::warning);
  auto v = judge_one(3, 0x0001, 10, 10, 21);
  ASSERT_EQ(v.reasons.size(), 1u);
  EXPECT_NE(v.reasons[0].find("Spin_Up_Time"), std::string::npos) << v.reasons[0];
}

TEST(HealthAtaSmart, ZeroThresholdNeverFails) {
  EXPECT_EQ(judge_one(3, 0x0001, 0, 0, 0).status, Status::ok);
}

TEST(HealthAtaSmart, FailedInThePastIsWarning) {
  EXPECT_EQ(judge_one(3, 0x0001, 100, 21, 21).status, Status::warning);
  EXPECT_EQ(judge_one(3, 0x0001, 100, 22, 21).status, Status::ok);
}

TEST(HealthAtaSmart, BadSectorCountersAboveZeroAreWarning) {
  for (uint8_t id : {5, 197, 198}) {
    EXPECT_EQ(judge_one(id, 0x0033, 100, 100, 10, 1).status, Status::warning) << int(id);
    EXPECT_EQ(judge_one(id, 0x0033, 100, 100, 10, 0).status, Status::ok) << int(id);
  }
  EXPECT_EQ(judge_one(199, 0x0033, 100, 100, 10, 7).status, Status::ok);  // CRC errors: the cable
}

TEST(HealthAtaSmart, OverallThresholdExceededIsFailing) {
  AtaSmartData none;
  EXPECT_EQ(judge_ata(none, AtaOverall::threshold_exceeded).status, Status::failing);
  EXPECT_EQ(judge_ata(none, AtaOverall::passed).status, Status::ok);
  EXPECT_EQ(judge_ata(none, std::nullopt).status, Status::ok);
}

namespace {

Page nvme_page() {
  Page p{};
  p[1] = 0x3B; p[2] = 0x01;  // 315 K
  p[3] = 100;                // available spare
  p[4] = 10;                 // threshold
  p[5] = 3;                  // percentage used
  return p;
}

void put_u128_low(Page& p, size_t offset, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

TEST(HealthNvme, ParsesEveryField) {
  Page p = nvme_page();
  p[0] = 0;
  size_t off = 32;
  for (uint64_t v = 1; v <= 10; ++v, off += 16) put_u128_low(p, off, v * 1000 + v);
  auto h = parse_nvme_health(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->temperature_kelvin, 315);
  EXPECT_EQ(h->available_spare, 100);
  EXPECT_EQ(h->available_spare_threshold, 10);
  EXPECT_EQ(h->percentage_used, 3);
  EXPECT_EQ(h->data_units_read, 1001u);
  EXPECT_EQ(h->data_units_written, 2002u);
  EXPECT_EQ(h->host_read_commands, 3003u);
  EXPECT_EQ(h->host_write_commands, 4004u);
  EXPECT_EQ(h->controller_busy_minutes, 5005u);
  EXPECT_EQ(h->power_cycles, 6006u);
  EXPECT_EQ(h->power_on_hours, 7007u);
  EXPECT_EQ(h->unsafe_shutdowns, 8008u);
  EXPECT_EQ(h->media_errors, 9009u);
  EXPECT_EQ(h->error_log_entries, 10010u);
  EXPECT_EQ(judge_nvme(*h).status, Status::warning);  // media errors
}

TEST(HealthNvme, HighHalfOfA128BitCounterSaturates) {
  Page p = nvme_page();
  p[32 + 8] = 1;  // data units read: 2^64
  auto h = parse_nvme_health(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->data_units_read, UINT64_MAX);
}

TEST(HealthNvme, TruncatedLogIsRefused) {
  Page p = nvme_page();
  EXPECT_FALSE(parse_nvme_health(std::span<const uint8_t>(p.data(), 511)));
  EXPECT_TRUE(parse_nvme_health(p));
}

TEST(HealthNvme, HealthyLogIsOk) {
  auto h = parse_nvme_health(nvme_page());
  auto v = judge_nvme(*h);
  EXPECT_EQ(v.status, Status::ok);
  EXPECT_TRUE(v.reasons.empty());
}

TEST(HealthNvme, CriticalWarningBits) {
  for (uint8_t bit : {0x01, 0x04, 0x08, 0x10, 0x20}) {
    Page p = nvme_page();
    p[0] = bit;
    EXPECT_EQ(judge_nvme(*parse_nvme_health(p)).status, Status::failing) << int(bit);
  }
  Page p = nvme_page();
  p[0] = 0x02;
  EXPECT_EQ(judge_nvme(*parse_nvme_health(p)).status, Status::warning);
}

TEST(HealthNvme, SpareBelowThresholdIsFailing) {
  Page p = nvme_page();
  p[3] = 9;
  EXPECT_EQ(judge_nvme(*parse_nvme_health(p)).status, Status::failing);
  p[3] = 10;
  EXPECT_EQ(judge_nvme(*parse_nvme_health(p)).status, Status::ok);
}

TEST(HealthNvme, PercentageUsedAtHundredIsWarning) {
  Page p = nvme_page();
  p[5] = 99;
  EXPECT_EQ(judge_nvme(*parse_nvme_health(p)).status, Status::ok);
  p[5] = 100;
  EXPECT_EQ(judge_nvme(*parse_nvme_health(p)).status, Status::warning);
  p[5] = 255;
  EXPECT_EQ(judge_nvme(*parse_nvme_health(p)).status, Status::warning);
}

TEST(HealthNvme, MediaErrorsAreWarning) {
  Page p = nvme_page();
  put_u128_low(p, 160, 1);
  auto v = judge_nvme(*parse_nvme_health(p));
  EXPECT_EQ(v.status, Status::warning);
  ASSERT_EQ(v.reasons.size(), 1u);
}

TEST(HealthVerdict, UnknownCarriesItsReasonAndWorstRuleWins) {
  auto u = unknown_verdict("virtio disks carry no SMART data");
  EXPECT_EQ(u.status, Status::unknown);
  EXPECT_EQ(std::string(to_string(u.status)), "unknown");
  Page p = nvme_page();
  p[0] = 0x02;   // warning
  p[3] = 5;      // failing
  auto v = judge_nvme(*parse_nvme_health(p));
  EXPECT_EQ(v.status, Status::failing);
  EXPECT_EQ(v.reasons.size(), 2u);
}
