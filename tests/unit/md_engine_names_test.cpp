// md array names and the RAID methods' parameter schemas (rejected before any device is touched).
#include <gtest/gtest.h>

#include "engine/raid/raid.hpp"
#include "base/error.hpp"
#include "rpc/dispatch.hpp"
#include "rpc/registry.hpp"

namespace mos {
namespace {

using nlohmann::json;

TEST(MdEngineNames, ValidNamesAndTheirDevices) {
  for (const std::string& ok : std::vector<std::string>{"mosefi", "MOSBOOT", "a", "data_1-2", std::string(32, 'z')})
    EXPECT_NO_THROW(engine::validate_raid_name(ok)) << ok;
  EXPECT_EQ(engine::raid_block_name("mosefi"), "md_mosefi");
  EXPECT_EQ(engine::raid_device_path("mosefi"), "/dev/md_mosefi");
  EXPECT_EQ(engine::raid_link_path("mosefi"), "/dev/md/mosefi");
}

TEST(MdEngineNames, InvalidNamesAreValidationErrors) {
  for (const std::string& bad : std::vector<std::string>{"", "a/b", "..", "a b", std::string(33, 'z'), "é", "x\n"}) {
    try {
      engine::validate_raid_name(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::validation) << bad;
    }
  }
}

json call(const std::string& method, const json& params) {
  static const rpc::Registry registry = rpc::make_registry();
  engine::Context ctx;
  ctx.policy = engine::Policy::from_globs("/dev/nothing-matches");
  json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
  auto out = rpc::handle_message(req.dump(), registry, ctx);
  return out ? json::parse(*out) : json();
}

TEST(MdEngineRpc, ParamsAreCheckedBeforeAnythingRuns) {
  auto code = [](const json& r) { return r.contains("error") ? r["error"]["code"].get<int>() : 0; };
  const json members = {"/dev/vda1", "/dev/vdb1"};
  EXPECT_EQ(code(call("storage.create_raid", {{"name", "a/b"}, {"members", members}})), -32602);
  EXPECT_EQ(code(call("storage.create_raid", {{"name", "ok"}, {"members", members}, {"metadata", "1.0"}})), -32602);
  EXPECT_EQ(code(call("storage.create_raid", {{"name", "ok"}, {"members", {"/dev/a", "/dev/b", "/dev/c"}}})), -32602);
  EXPECT_EQ(code(call("storage.create_raid", {{"name", "ok"}, {"members", {"/dev/a"}}})), -32602);
  EXPECT_EQ(code(call("storage.create_raid", {{"name", "ok"}, {"members", members}, {"level", 5}})), -32602);
  EXPECT_EQ(code(call("storage.create_raid", {{"members", members}})), -32602);
  EXPECT_EQ(code(call("storage.assemble_raid", {{"devices", json::array({1})}})), -32602);
  EXPECT_EQ(code(call("storage.assemble_raid", {{"uuid", "zz"}})), -32602);
  EXPECT_EQ(code(call("storage.stop_raid", json::object())), -32602);
  EXPECT_EQ(code(call("storage.raid_add_member", {{"array", "x"}})), -32602);
  EXPECT_EQ(code(call("storage.raid_remove_member", {{"array", "x"}, {"device", ""}})), -32602);
  // Well-formed, but the policy refuses the member before anything is read.
  json r = call("storage.create_raid", {{"name", "ok"}, {"members", members}, {"start", false}});
  EXPECT_EQ(code(r), -32001) << r.dump();
}

TEST(MdEngineRpc, MethodsAreDiscoverable) {
  rpc::Registry registry = rpc::make_registry();
  for (auto name : {"storage.create_raid", "storage.assemble_raid", "storage.stop_raid", "storage.list_raids",
                    "storage.raid_add_member", "storage.raid_remove_member"}) {
    const rpc::Method* m = registry.find(name);
    ASSERT_NE(m, nullptr) << name;
    EXPECT_FALSE(m->summary.empty()) << name;
    EXPECT_EQ(m->mutating, std::string(name) != "storage.list_raids") << name;
  }
  EXPECT_TRUE(registry.find("storage.inventory")->result["properties"].contains("raids"));
}

}  // namespace
}  // namespace mos
