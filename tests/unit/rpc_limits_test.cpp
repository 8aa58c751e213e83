// The request path's bounds and authorization, in-process: nesting depth refused while parsing
// (the issue's 160000-deep params line), batch length, the response budget, deferred answers
// delivered from another thread, and mutating methods refused to non-admin callers.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "engine/context.hpp"
#include "base/error.hpp"
#include "rpc/call.hpp"
#include "rpc/dispatch.hpp"
#include "rpc/registry.hpp"

namespace mos::rpc {
namespace {

Registry test_registry() {
  Registry r;
  r.add(Method{"echo", "", "", json::object(), json::object(), false,
               [](const json& p, engine::Context&) -> json { return p; }});
  r.add(Method{"big", "", "", json::object(), json::object(), false,
               [](const json&, engine::Context&) -> json { return std::string(100000, 'x'); }});
  r.add(Method{"change", "", "", obj_schema({{"device", str_schema("d")}}), json::object(), true,
               [](const json&, engine::Context&) -> json { return "changed"; }});
  r.add(Method{"whoami", "", "", json::object(), json::object(), false,
               [](const json&, engine::Context&) -> json { return current_call().caller.uid; }});
  r.add(Method{"later", "", "", json::object(), json::object(), false, nullptr,
               [](const json& p, engine::Context&, Reply reply) {
                 std::thread([reply, p] {
                   std::this_thread::sleep_for(std::chrono::milliseconds(20));
                   reply.result(p);
                 }).detach();
               }});
  r.add(Method{"throws_after_dropping_reply", "", "", json::object(), json::object(), false, nullptr,
               [](const json&, engine::Context&, Reply) { throw Error(ErrorCode::storage_failed, "boom"); }});
  return r;
}

json run(const std::string& text, const Limits& limits = {}) {
  static Registry reg = test_registry();
  engine::Context ctx;
  auto out = handle_message(text, reg, ctx, limits);
  return out ? json::parse(*out) : json(nullptr);
}

std::string deep(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(RpcLimits, DeepParamsAreRefusedWhileParsing) {
  // The issue's crash: 160000 nested arrays inside params (a 320 KB line).
  auto r = run(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":)" + deep(160000) + "}}");
  EXPECT_EQ(r["error"]["code"], -32600);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("deeper than 64"), std::string::npos) << r;
  // The same depth in id, in a batch entry, and in an unterminated line.
  EXPECT_EQ(run(R"({"jsonrpc":"2.0","method":"echo","id":)" + deep(160000) + "}")["error"]["code"], -32600);
  EXPECT_EQ(run("[" + deep(160000) + "]")["error"]["code"], -32600);
  EXPECT_EQ(run(std::string(160000, '['))["error"]["code"], -32600);
  // Within the limit the value is used as given (64 levels in all: request object, params, 62 arrays).
  auto ok = run(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":)" + deep(62) + "}}");
  ASSERT_TRUE(ok.contains("result")) << ok;
  EXPECT_EQ(ok["result"]["x"].dump(), deep(62));
  EXPECT_EQ(run(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":)" + deep(63) + "}}")["error"]["code"], -32600);
  Limits shallow;
  shallow.max_json_depth = 3;
  EXPECT_EQ(run(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":[[1]]}})", shallow)["error"]["code"], -32600);
}

TEST(RpcLimits, NumberTooLargeIsAParseError) {
  // Found by fuzz_rpc: nlohmann reports 1e999 as out_of_range, not parse_error.
  EXPECT_EQ(run(R"({"jsonrpc":"2.0","id":1e999,"method":"echo"})")["error"]["code"], -32700);
}

TEST(RpcLimits, LongBatchIsRefusedWithoutRunningAnything) {
  std::string batch = "[";
  for (int i = 0; i < 2000; ++i) batch += std::string(i ? "," : "") + R"({"jsonrpc":"2.0","id":1,"method":"echo"})";
  batch += "]";
  auto r = run(batch);
  ASSERT_TRUE(r.is_object()) << r.dump().substr(0, 200);
  EXPECT_EQ(r["error"]["code"], -32600);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("exceeds 128"), std::string::npos);
}

TEST(RpcLimits, ResponseBudgetGivesOneErrorAndStopsRunning) {
  Limits l;
  l.max_response_bytes = 350000;  // three 100 KB answers fit, the fourth does not
  std::string batch = "[";
  for (int i = 0; i < 100; ++i) batch += std::string(i ? "," : "") + R"({"jsonrpc":"2.0","id":1,"method":"big"})";
  batch += "]";
  auto r = run(batch, l);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["error"]["code"], -32603);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("4 of 100 calls were run"), std::string::npos) << r;
  // A lone answer over budget: the error keeps its id.
  l.max_response_bytes = 1000;
  r = run(R"({"jsonrpc":"2.0","id":7,"method":"big"})", l);
  EXPECT_EQ(r["error"]["code"], -32603);
  EXPECT_EQ(r["id"], 7);
  // Under budget: the whole batch.
  l.max_response_bytes = 1 << 20;
  r = run(R"([{"jsonrpc":"2.0","id":1,"method":"big"},{"jsonrpc":"2.0","id":2,"method":"echo"}])", l);
  ASSERT_TRUE(r.is_array());
  EXPECT_EQ(r.size(), 2u);
}

TEST(RpcLimits, DeferredAnswersFromAnotherThreadInBatches) {
  auto r = run(R"([{"jsonrpc":"2.0","id":1,"method":"later","params":{"a":1}},)"
               R"({"jsonrpc":"2.0","id":2,"method":"echo","params":{"b":2}},)"
               R"({"jsonrpc":"2.0","method":"later"},)"
               R"({"jsonrpc":"2.0","id":3,"method":"throws_after_dropping_reply"}])");
  ASSERT_TRUE(r.is_array()) << r;
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0]["result"]["a"], 1);
  EXPECT_EQ(r[1]["result"]["b"], 2);
  EXPECT_EQ(r[2]["id"], 3);
  EXPECT_TRUE(r[2].contains("error"));
}

TEST(RpcLimits, MutatingMethodsNeedAnAdminCaller) {
  Registry reg = test_registry();
  engine::Context ctx;
  char log_buf[4096] = {};
  std::FILE* audit = fmemopen(log_buf, sizeof log_buf - 1, "w");
  setvbuf(audit, nullptr, _IONBF, 0);
  Dispatcher d{reg, ctx, Limits{}, audit};
  auto call = [&](const CallEnv& env, const std::string& text) {
    std::promise<std::string> p;
    auto f = p.get_future();
    d.dispatch(text, env, [&p](std::optional<std::string> r) { p.set_value(r.value_or("")); });
    return json::parse(f.get());
  };
  CallEnv user;
  user.caller = Caller{4242, 1234, 1234, false, true};
  auto r = call(user, R"({"jsonrpc":"2.0","id":1,"method":"change","params":{"device":"/dev/loop7\nforged"}})");
  EXPECT_EQ(r["error"]["code"], -32001);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("--admin-group"), std::string::npos);
  EXPECT_EQ(call(user, R"({"jsonrpc":"2.0","id":1,"method":"whoami"})")["result"], 1234);
  CallEnv admin = user;
  admin.caller.admin = true;
  EXPECT_EQ(call(admin, R"({"jsonrpc":"2.0","id":1,"method":"change","params":{"device":"/dev/loop7\nforged"}})")["result"],
            "changed");
  std::fclose(audit);
  // One line per allowed mutating call, control characters neutralised; refused calls run nothing.
  EXPECT_STREQ(log_buf, "mos_volmgrd: audit pid=4242 uid=1234 method=change target=/dev/loop7?forged\n");
}

}  // namespace
}  // namespace mos::rpc
