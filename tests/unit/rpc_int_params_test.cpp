// Every integer parameter of every method of the daemon's registry, fed values outside its range
// (below, above, fractional, past 32 and 64 bits): each answers -32602 naming the parameter, and
// no handler runs. Driven by the registry's schemas, so a new method is covered without an edit.
#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/context.hpp"
#include "rpc/dispatch.hpp"
#include "rpc/params.hpp"
#include "rpc/registry.hpp"

namespace mos::rpc {
namespace {

std::atomic<int> handler_calls{0};

// The daemon's methods with every handler replaced by a counter: what reaches a handler is seen,
// and no engine function ever runs.
Registry counting_registry() {
  Registry out;
  const Registry plain = make_registry();
  for (Method m : plain.methods()) {
    if (m.handler) m.handler = [](const json&, engine::Context&) -> json { return ++handler_calls, nullptr; };
    if (m.deferred) m.deferred = [](const json&, engine::Context&, Reply r) { ++handler_calls, r.result(nullptr); };
    if (m.serialized)
      m.serialized = [](const json&, engine::Context&) { return ++handler_calls, std::make_shared<const std::string>("null"); };
    out.add(std::move(m));
  }
  return out;
}

bool fits(const json& schema, const json& value) {
  try {
    validate_params({{"type", "object"}, {"properties", {{"v", schema}}}, {"required", {"v"}}}, {{"v", value}});
    return true;
  } catch (const Error&) {
    return false;
  }
}

// A value the schema accepts (so a call fails only for the integer under test).
json valid_value(const json& s) {
  if (s.contains("enum")) return s["enum"][0];
  if (s.contains("properties") || s.value("type", json()) == "object") {
    json o = json::object();
    for (const auto& r : s.value("required", json::array())) o[r.get<std::string>()] = valid_value(s["properties"][r.get<std::string>()]);
    return o;
  }
  if (s.contains("minimum")) return s["minimum"];
  const json candidates[] = {"/dev/loop0", "max", "x", false, 1, json::array({"/dev/loop0"}), json::array({"/dev/loop0", "/dev/loop1"})};
  for (const json& c : candidates)
    if (fits(s, c)) return c;
  ADD_FAILURE() << "no valid sample value for schema " << s.dump();
  return nullptr;
}

struct IntParam {
  std::vector<std::string> path;  // {"options", "block_size"}
  json schema;
};

void collect(const json& s, std::vector<std::string> path, std::vector<IntParam>& out) {
  const json& t = s.value("type", json());
  bool integer = t == "integer" || (t.is_array() && std::find(t.begin(), t.end(), "integer") != t.end());
  if (integer && !path.empty()) out.push_back({path, s});
  if (s.contains("properties"))
    for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it) {
      auto child = path;
      child.push_back(it.key());
      collect(it.value(), child, out);
    }
}

// Values outside the schema's range; fails the test when an integer parameter states none.
// Which integers lie outside is decided here, exactly, not by the validator under test (as
// doubles it took INT64_MAX + 1 for INT64_MAX, and a filter through it hid that).
std::vector<json> out_of_range(const IntParam& p) {
  const json& s = p.schema;
  std::vector<json> bad = {1.5, "1", 18446744073709551616.0};
  const int64_t lowest = std::numeric_limits<int64_t>::min();
  const uint64_t highest = std::numeric_limits<uint64_t>::max();
  if (s.contains("enum")) {
    bad.insert(bad.end(), {json(lowest), json(highest), json(4294967297LL),
                           json(s["enum"][0].get<int64_t>() + 4294967296LL)});
    return bad;
  }
  EXPECT_TRUE(s.contains("minimum") && s.contains("maximum")) << "integer parameter without a range: " << s.dump();
  if (!s.contains("minimum") || !s.contains("maximum")) return bad;
  const int64_t min = s["minimum"].get<int64_t>();
  const uint64_t max = s["maximum"].get<uint64_t>();
  for (int64_t v : {lowest, min == lowest ? lowest : min - 1})
    if (std::cmp_less(v, min)) bad.push_back(v);
  for (uint64_t v : {max == highest ? highest : max + 1, uint64_t{4294967297ULL}, highest})
    if (std::cmp_greater(v, max)) bad.push_back(v);
  return bad;
}

TEST(IntegerParams, EveryIntegerParameterRefusesValuesOutsideItsRangeBeforeAnyHandler) {
  Registry reg = counting_registry();
  engine::Context ctx;
  size_t checked = 0;
  for (const Method& m : reg.methods()) {
    std::vector<IntParam> params;
    collect(m.params, {}, params);
    for (const IntParam& p : params) {
      json base = valid_value(m.params);
      // The parameter's containers must exist (an optional object such as "options").
      json* at = &base;
      for (size_t i = 0; i + 1 < p.path.size(); ++i) at = &(*at)[p.path[i]];
      json request = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", m.name}};
      int before = handler_calls.load();
      (*at)[p.path.back()] = valid_value(p.schema);
      request["params"] = base;
      auto ok = json::parse(*handle_message(request.dump(), reg, ctx));
      EXPECT_FALSE(ok.contains("error")) << m.name << " with valid params: " << ok.dump();
      EXPECT_EQ(handler_calls.load(), before + 1) << m.name;
      for (const json& v : out_of_range(p)) {
        (*at)[p.path.back()] = v;
        request["params"] = base;
        before = handler_calls.load();
        auto r = json::parse(*handle_message(request.dump(), reg, ctx));
        std::string what = m.name + " " + p.path.back() + "=" + v.dump();
        ASSERT_TRUE(r.contains("error")) << what << ": " << r.dump();
        EXPECT_EQ(r["error"]["code"], -32602) << what << ": " << r.dump();
        EXPECT_NE(r["error"]["message"].get<std::string>().find(p.path.back()), std::string::npos) << what << ": " << r.dump();
        EXPECT_EQ(handler_calls.load(), before) << what << " reached the handler";
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 30u);  // partition number, sizes, offsets, quota bytes, job ids, block size
}

// The helper every handler reads integers with: no narrowing, the parameter named.
TEST(IntegerParams, JsonIntegerRefusesWhatDoesNotFitTheType) {
  json p = {{"number", 4294967297ULL}, {"neg", -1}, {"frac", 1.5}, {"ok", 7}};
  EXPECT_THROW(engine::json_integer<uint32_t>(p, "number"), Error);
  EXPECT_THROW(engine::json_integer<uint64_t>(p, "neg"), Error);
  EXPECT_THROW(engine::json_integer<int>(p, "frac"), Error);
  EXPECT_THROW(engine::json_integer<int>(p, "missing"), Error);
  EXPECT_EQ(engine::json_integer<uint32_t>(p, "ok"), 7u);
  EXPECT_EQ(engine::json_integer<int64_t>(p, "neg"), -1);
  try {
    engine::json_integer<uint32_t>(p, "number");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_params);
    EXPECT_NE(std::string(e.what()).find("'number'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mos::rpc
