// Which messages the server may answer on its I/O thread (Dispatcher::answers_inline): memory
// methods always, model methods only with a fresh model in hand, errors answered before any
// method runs; anything else waits for a worker. A registry refuses inline methods that would
// answer later or mutate. The inline run answers synchronously with the same bounds as dispatch().
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>

#include "engine/context.hpp"
#include "engine/inventory/cache.hpp"
#include "rpc/call.hpp"
#include "rpc/dispatch.hpp"
#include "rpc/registry.hpp"

namespace mos::rpc {
namespace {

Method method(const std::string& name, Path path, bool mutating = false) {
  Method m{name, "", "", json::object(), json::object(), mutating,
           [name](const json&, engine::Context&) -> json { return name; }};
  m.path = path;
  return m;
}

Registry registry() {
  Registry r;
  r.add(method("mem", Path::memory));
  r.add(method("slow", Path::worker));
  r.add(method("change", Path::worker, true));
  Method model{"model", "", "", json::object(), json::object(), false, nullptr};
  model.serialized = [](const json&, engine::Context&) -> std::shared_ptr<const std::string> {
    // The snapshot the server found fresh, as the inventory methods read it.
    const auto& snap = current_call().model;
    if (!snap) throw std::logic_error("model method ran without a fresh model");
    return std::make_shared<const std::string>(std::to_string(snap->generation));
  };
  model.path = Path::model;
  r.add(std::move(model));
  return r;
}

struct Fixture {
  Registry reg = registry();
  engine::Context ctx;
  Dispatcher d{reg, ctx, Limits{}, nullptr};
  CallEnv env;

  bool inline_ok(const std::string& text) {
    json req;
    EXPECT_TRUE(d.parse(text, req, [](std::optional<std::string>) {})) << text;
    return d.answers_inline(req, env);
  }
  // Runs text inline; the answer, which must have been given before run() returned.
  json run_now(const std::string& text) {
    json req;
    std::optional<std::string> got;
    bool answered = false;
    auto to = [&](std::optional<std::string> r) {
      answered = true;
      got = std::move(r);
    };
    if (!d.parse(text, req, to)) return json::parse(*got);
    EXPECT_TRUE(d.answers_inline(req, env)) << text;
    d.run(req, env, to);
    EXPECT_TRUE(answered) << text << " was not answered synchronously";
    return got ? json::parse(*got) : json(nullptr);
  }
};

std::string call(const std::string& method, int id = 1) {
  std::string s = R"({"jsonrpc":"2.0","id":)";
  s += std::to_string(id);
  s += R"(,"method":")";
  s += method;
  s += R"("})";
  return s;
}

TEST(RpcInlineDispatch, OnlyNonBlockingCallsAnswerInline) {
  Fixture f;
  EXPECT_TRUE(f.inline_ok(call("mem")));
  EXPECT_FALSE(f.inline_ok(call("slow")));
  EXPECT_FALSE(f.inline_ok(call("change")));  // an admin's mutation runs on a worker
  EXPECT_FALSE(f.inline_ok(call("model")));   // no fresh model in hand: a worker settles it first
  auto snap = std::make_shared<engine::InventorySnapshot>();
  snap->generation = 42;
  f.env.model = snap;
  EXPECT_TRUE(f.inline_ok(call("model")));
  EXPECT_EQ(f.run_now(call("model", 9)), json::parse(R"({"jsonrpc":"2.0","id":9,"result":42})"));
  // A batch is inline only when every call is.
  EXPECT_TRUE(f.inline_ok("[" + call("mem") + "," + call("model", 2) + "]"));
  EXPECT_FALSE(f.inline_ok("[" + call("mem") + "," + call("slow", 2) + "]"));
  // Errors answered before any method runs.
  EXPECT_TRUE(f.inline_ok(call("nope")));
  EXPECT_TRUE(f.inline_ok("[]"));
  EXPECT_TRUE(f.inline_ok("[1,2]"));
  EXPECT_TRUE(f.inline_ok(R"({"jsonrpc":"2.0","id":1})"));
  EXPECT_EQ(f.run_now("{").at("error").at("code"), -32700);
  EXPECT_EQ(f.run_now(call("nope")).at("error").at("code"), -32601);
}

TEST(RpcInlineDispatch, AReadOnlyCallerIsRefusedInlineNeverRun) {
  Fixture f;
  f.env.caller.admin = false;
  f.env.caller.uid = 1234;
  // The refusal needs no worker; the mutation itself never runs for this caller.
  EXPECT_TRUE(f.inline_ok(call("change")));
  auto r = f.run_now("[" + call("mem", 1) + "," + call("change", 2) + "]");
  ASSERT_TRUE(r.is_array()) << r;
  ASSERT_EQ(r.size(), 2u) << r;
  EXPECT_EQ(r[0]["result"], "mem");
  EXPECT_EQ(r[1]["error"]["code"], -32001) << r;
  EXPECT_NE(r[1]["error"]["message"].get<std::string>().find("uid 1234"), std::string::npos) << r;
}

TEST(RpcInlineDispatch, InlineAnswersKeepTheResponseBudgetAndBatchBound) {
  Fixture f;
  f.d.limits.max_response_bytes = 100;  // one {"id":1,"jsonrpc":"2.0","result":"mem"} is 40 bytes
  EXPECT_EQ(f.run_now(call("mem")).at("result"), "mem");
  auto r = f.run_now("[" + call("mem", 1) + "," + call("mem", 2) + "," + call("mem", 3) + "," + call("mem", 4) + "]");
  ASSERT_TRUE(r.is_object()) << r;
  EXPECT_EQ(r["error"]["code"], -32603);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("--max-response-bytes"), std::string::npos) << r;
  f.d.limits.max_batch = 2;
  r = f.run_now("[" + call("mem", 1) + "," + call("mem", 2) + "," + call("mem", 3) + "]");
  EXPECT_EQ(r["error"]["code"], -32600) << r;
}

TEST(RpcInlineDispatch, RegistryKeepsBlockingAndMutatingMethodsOffTheIoThread) {
  Registry r;
  Method later{"later", "", "", json::object(), json::object(), false, nullptr,
               [](const json&, engine::Context&, Reply reply) { reply.result(1); }};
  later.path = Path::memory;
  EXPECT_THROW(r.add(later), std::logic_error);
  EXPECT_THROW(r.add(method("change", Path::memory, true)), std::logic_error);
  EXPECT_NO_THROW(r.add(method("mem", Path::memory)));
  EXPECT_EQ(r.find("mem")->name, "mem");
  EXPECT_EQ(r.find("nope"), nullptr);
}

}  // namespace
}  // namespace mos::rpc
