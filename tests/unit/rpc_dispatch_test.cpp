// JSON-RPC 2.0 behaviour checked against the examples of the specification (section 7),
// using the spec's own example methods registered in a test registry.
#include <gtest/gtest.h>

#include "engine/context.hpp"
#include "base/error.hpp"
#include "rpc/dispatch.hpp"
#include "rpc/params.hpp"
#include "rpc/registry.hpp"

namespace mos::rpc {
namespace {

Registry spec_registry() {
  Registry r;
  // Empty schemas: any by-name params pass (the spec's methods have no schema).
  r.add(Method{"subtract", "", "", json::object(), json::object(), false, [](const json& p, engine::Context&) -> json {
                 if (p.is_array()) return p[0].get<int>() - p[1].get<int>();
                 return p["minuend"].get<int>() - p["subtrahend"].get<int>();
               }});
  r.add(Method{"sum", "", "", json::object(), json::object(), false, [](const json& p, engine::Context&) -> json {
                 int s = 0;
                 for (auto& v : p) s += v.get<int>();
                 return s;
               }});
  r.add(Method{"notify_hello", "", "", json::object(), json::object(), false,
               [](const json&, engine::Context&) -> json { return nullptr; }});
  r.add(Method{"update", "", "", json::object(), json::object(), false,
               [](const json&, engine::Context&) -> json { return nullptr; }});
  r.add(Method{"get_data", "", "", json::object(), json::object(), false,
               [](const json&, engine::Context&) -> json { return json::array({"hello", 5}); }});
  r.add(Method{"storage.fail", "", "", obj_schema({{"size_bytes", int_schema("size", 1, kMaxByteCount)}}, {"size_bytes"}),
               json::object(), true, [](const json&, engine::Context&) -> json {
                 throw Error(ErrorCode::not_found, "no such device: /dev/nope", "/dev/nope", 2);
               }});
  return r;
}

// Our methods take by-name params only (documented in the OpenRPC document as paramStructure
// "by-name"); the spec's positional examples are therefore asserted as -32602.
json run(const std::string& text) {
  static Registry reg = spec_registry();
  engine::Context ctx;
  auto out = handle_message(text, reg, ctx);
  if (!out) return nullptr;
  return json::parse(*out);
}

TEST(JsonRpcSpec, NamedParams) {
  EXPECT_EQ(run(R"({"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3})"),
            json::parse(R"({"jsonrpc": "2.0", "result": 19, "id": 3})"));
  EXPECT_EQ(run(R"({"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4})"),
            json::parse(R"({"jsonrpc": "2.0", "result": 19, "id": 4})"));
}

TEST(JsonRpcSpec, PositionalParamsAreRejectedClearly) {
  auto r = run(R"({"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1})");
  EXPECT_EQ(r["error"]["code"], -32602);
  EXPECT_EQ(r["id"], 1);
}

TEST(JsonRpcSpec, Notifications) {
  EXPECT_TRUE(run(R"({"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]})").is_null());
  EXPECT_TRUE(run(R"({"jsonrpc": "2.0", "method": "foobar"})").is_null());
}

TEST(JsonRpcSpec, NonExistentMethod) {
  auto r = run(R"({"jsonrpc": "2.0", "method": "foobar", "id": "1"})");
  EXPECT_EQ(r["error"]["code"], -32601);
  EXPECT_EQ(r["id"], "1");
}

TEST(JsonRpcSpec, InvalidJson) {
  auto r = run(R"({"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz])");
  EXPECT_EQ(r["error"]["code"], -32700);
  EXPECT_TRUE(r["id"].is_null());
}

TEST(JsonRpcSpec, InvalidRequestObject) {
  auto r = run(R"({"jsonrpc": "2.0", "method": 1, "params": "bar"})");
  EXPECT_EQ(r["error"]["code"], -32600);
  EXPECT_TRUE(r["id"].is_null());
}

TEST(JsonRpcSpec, BatchInvalidJson) {
  auto r = run(R"([
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method"
])");
  EXPECT_EQ(r["error"]["code"], -32700);
  EXPECT_TRUE(r["id"].is_null());
}

TEST(JsonRpcSpec, EmptyArray) {
  auto r = run("[]");
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["error"]["code"], -32600);
  EXPECT_TRUE(r["id"].is_null());
}

TEST(JsonRpcSpec, InvalidBatchButNotEmpty) {
  auto r = run("[1]");
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["error"]["code"], -32600);
}

TEST(JsonRpcSpec, InvalidBatch) {
  auto r = run("[1,2,3]");
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.size(), 3u);
  for (auto& e : r) {
    EXPECT_EQ(e["error"]["code"], -32600);
    EXPECT_TRUE(e["id"].is_null());
  }
}

TEST(JsonRpcSpec, MixedBatch) {
  auto r = run(R"([
        {"jsonrpc": "2.0", "method": "sum", "params": {"a": 1, "b": 2, "c": 4}, "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": {"x": 7}},
        {"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ])");
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0], json::parse(R"({"jsonrpc": "2.0", "result": 7, "id": "1"})"));
  EXPECT_EQ(r[1], json::parse(R"({"jsonrpc": "2.0", "result": 19, "id": "2"})"));
  EXPECT_EQ(r[2]["error"]["code"], -32600);
  EXPECT_TRUE(r[2]["id"].is_null());
  EXPECT_EQ(r[3]["error"]["code"], -32601);
  EXPECT_EQ(r[3]["id"], "5");
  EXPECT_EQ(r[4], json::parse(R"({"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"})"));
}

TEST(JsonRpcSpec, AllNotificationsBatchGetsNoReply) {
  EXPECT_TRUE(run(R"([
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ])").is_null());
}

TEST(JsonRpc, IdEchoNumberStringNull) {
  EXPECT_EQ(run(R"({"jsonrpc":"2.0","method":"get_data","id":7})")["id"], 7);
  EXPECT_EQ(run(R"({"jsonrpc":"2.0","method":"get_data","id":"abc"})")["id"], "abc");
  auto r = run(R"({"jsonrpc":"2.0","method":"get_data","id":null})");
  ASSERT_TRUE(r.contains("id"));
  EXPECT_TRUE(r["id"].is_null());
  EXPECT_EQ(r["result"][1], 5);
  EXPECT_EQ(run(R"({"jsonrpc":"2.0","method":"get_data","id":{"x":1}})")["error"]["code"], -32600);
}

TEST(JsonRpc, WrongVersionIsInvalidRequest) {
  EXPECT_EQ(run(R"({"jsonrpc":"1.0","method":"get_data","id":1})")["error"]["code"], -32600);
  EXPECT_EQ(run(R"({"method":"get_data","id":1})")["error"]["code"], -32600);
}

TEST(JsonRpc, StorageErrorsCarryCodeMessageAndPath) {
  auto r = run(R"({"jsonrpc":"2.0","method":"storage.fail","params":{"size_bytes":5},"id":1})");
  EXPECT_EQ(r["error"]["code"], -32002);
  EXPECT_EQ(r["error"]["data"]["path"], "/dev/nope");
}

TEST(JsonRpc, InvalidParamsNameTheParameter) {
  auto r = run(R"({"jsonrpc":"2.0","method":"storage.fail","params":{"size_bytes":"big"},"id":1})");
  EXPECT_EQ(r["error"]["code"], -32602);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("'size_bytes'"), std::string::npos);
  r = run(R"({"jsonrpc":"2.0","method":"storage.fail","params":{"size_bytes":0},"id":1})");
  EXPECT_NE(r["error"]["message"].get<std::string>().find(">= 1"), std::string::npos);
  r = run(R"({"jsonrpc":"2.0","method":"storage.fail","params":{},"id":1})");
  EXPECT_NE(r["error"]["message"].get<std::string>().find("'size_bytes' is required"), std::string::npos);
  r = run(R"({"jsonrpc":"2.0","method":"storage.fail","params":{"size_bytes":1,"evil":"--force"},"id":1})");
  EXPECT_EQ(r["error"]["code"], -32602);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("'evil' is not a known parameter"), std::string::npos);
}

TEST(ParamsSchema, EnumPatternLengthAndNested) {
  json s = obj_schema({{"t", {{"type", "string"}, {"enum", {"ext4", "vfat"}}}},
                       {"n", {{"type", "string"}, {"pattern", "^[A-Za-z0-9_-]+$"}, {"maxLength", 8}}},
                       {"devs", {{"type", "array"}, {"items", {{"type", "string"}}}, {"minItems", 1}}}});
  EXPECT_NO_THROW(validate_params(s, {{"t", "ext4"}, {"n", "ok_1"}, {"devs", {"/dev/a"}}}));
  EXPECT_THROW(validate_params(s, {{"t", "xfs"}}), Error);
  EXPECT_THROW(validate_params(s, {{"n", "../etc"}}), Error);
  EXPECT_THROW(validate_params(s, {{"n", "toolongname"}}), Error);
  EXPECT_THROW(validate_params(s, {{"devs", json::array()}}), Error);
  EXPECT_THROW(validate_params(s, {{"devs", {1}}}), Error);
}

}  // namespace
}  // namespace mos::rpc
