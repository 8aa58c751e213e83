// Helpers for writing VM scenarios in tests: step builders and the skip macro.
#pragma once
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/vm/seeded.hpp"
#include "tests/vm/vm.hpp"

namespace mos::vmtest {

#define MOS_REQUIRE_VM()                                                  \
  do {                                                                    \
    std::string why = ::mos::vmtest::vm_unavailable_reason();             \
    if (!why.empty()) GTEST_SKIP() << "VM tests cannot run here: " << why; \
  } while (0)

inline json rpc_step(const std::string& method, json params = json::object()) {
  return {{"op", "rpc"}, {"method", method}, {"params", std::move(params)}};
}
inline json write_step(const std::string& path, uint64_t bytes, uint64_t seed) {
  return {{"op", "write_file"}, {"path", path}, {"bytes", bytes}, {"seed", seed}};
}
// The guest checks the content against the seed too; the host compares the digest.
inline json read_step(const std::string& path, uint64_t bytes, uint64_t seed) {
  return {{"op", "read_file"}, {"path", path}, {"bytes", bytes}, {"seed", seed}};
}
inline json op_step(const std::string& op, const std::string& path = {}) {
  json s = {{"op", op}};
  if (!path.empty()) s["path"] = path;
  return s;
}

// Steps 0..steps-1 present and ok; prints the failures and the console tail otherwise.
inline void expect_steps_ok(const VmResult& r, size_t steps) {
  EXPECT_FALSE(r.timed_out) << r.explain();
  for (size_t i = 0; i < steps; ++i) {
    const json* line = r.step(i);
    ASSERT_NE(line, nullptr) << "no result for step " << i << "\n" << r.explain();
    EXPECT_TRUE(line->value("ok", false)) << "step " << i << ": " << line->dump() << "\n" << r.explain();
  }
}

// Every step ok, then a clean shutdown without errors.
inline void expect_all_steps_ok(const VmResult& r, size_t steps) {
  expect_steps_ok(r, steps);
  const json* down = r.event("shutdown");
  ASSERT_NE(down, nullptr) << r.explain();
  EXPECT_TRUE(down->at("errors").empty()) << down->dump();
}

// Steps 0..steps-1 ok, then a crash line (no clean shutdown).
inline void expect_steps_ok_until_crash(const VmResult& r, size_t steps) {
  expect_steps_ok(r, steps);
  EXPECT_NE(r.event("crash"), nullptr) << r.explain();
}

inline void report_wall_time(const std::string& scenario, const VmResult& r) {
  std::printf("[ VM time  ] %s: %.1f s wall (qemu TCG, boot to power-off)\n", scenario.c_str(), r.wall_s);
  ::testing::Test::RecordProperty("vm_wall_s", std::to_string(r.wall_s));
}

// The digest the guest must report for a seeded file: computed here from the same generator.
inline std::string seeded_digest(uint64_t seed, uint64_t bytes) {
  std::string data = seeded_bytes(seed, bytes);
  return xxh128_hex(data.data(), data.size());
}

}  // namespace mos::vmtest
