#include "rpc/params.hpp"

#include <regex>
#include <string>

#include "base/error.hpp"

namespace mos::rpc {
namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  std::string subject = where.empty() ? "params" : "'" + where + "'";
  throw Error(ErrorCode::invalid_params, "invalid params: " + subject + " " + what);
}

bool has_type(const json& v, const std::string& t) {
  if (t == "string") return v.is_string();
  if (t == "integer") return v.is_number_integer();
  if (t == "number") return v.is_number();
  if (t == "boolean") return v.is_boolean();
  if (t == "array") return v.is_array();
  if (t == "object") return v.is_object();
  if (t == "null") return v.is_null();
  return false;
}

// a < b for JSON numbers; exact for integers of any sign and width (as doubles, 2^53 + 1 would
// compare equal to 2^53 and 2^64 - 1 to 2^64).
bool below(const json& a, const json& b) {
  if (!a.is_number_integer() || !b.is_number_integer()) return a.get<double>() < b.get<double>();
  auto negative = [](const json& x) { return !x.is_number_unsigned() && x.get<int64_t>() < 0; };
  if (negative(a) != negative(b)) return negative(a);
  if (negative(a)) return a.get<int64_t>() < b.get<int64_t>();
  return a.get<uint64_t>() < b.get<uint64_t>();
}

std::string article(const std::string& t) {
  return (t == "integer" || t == "object" || t == "array") ? "an " + t : "a " + t;
}

// Recursion follows the schema (items, properties), never the data: a value nested deeper than
// its schema is only type-checked, so hostile depth costs nothing here.
void check(const json& s, const json& v, const std::string& where) {
  if (s.contains("type")) {
    const json& t = s["type"];
    bool ok = false;
    std::string names;
    if (t.is_array()) {
      for (auto& x : t) {
        ok = ok || has_type(v, x.get<std::string>());
        names += (names.empty() ? "" : " or ") + article(x.get<std::string>());
      }
    } else {
      ok = has_type(v, t.get<std::string>());
      names = article(t.get<std::string>());
    }
    if (!ok) fail(where, "must be " + names);
  }
  if (s.contains("enum")) {
    bool found = false;
    for (auto& e : s["enum"]) found = found || e == v;
    if (!found) {
      std::string allowed;
      for (auto& e : s["enum"]) allowed += (allowed.empty() ? "" : ", ") + e.dump();
      fail(where, "must be one of " + allowed);
    }
  }
  if (v.is_number()) {
    if (s.contains("minimum") && below(v, s["minimum"])) fail(where, "must be >= " + s["minimum"].dump());
    if (s.contains("maximum") && below(s["maximum"], v)) fail(where, "must be <= " + s["maximum"].dump());
  }
  if (v.is_string()) {
    auto len = v.get_ref<const std::string&>().size();
    if (s.contains("minLength") && len < s["minLength"].get<size_t>())
      fail(where, "must be at least " + s["minLength"].dump() + " characters");
    if (s.contains("maxLength") && len > s["maxLength"].get<size_t>())
      fail(where, "must be at most " + s["maxLength"].dump() + " characters");
    if (s.contains("pattern")) {
      std::regex re(s["pattern"].get<std::string>(), std::regex::ECMAScript);
      if (!std::regex_search(v.get_ref<const std::string&>(), re))
        fail(where, "does not match " + s["pattern"].get<std::string>());
    }
  }
  if (v.is_array()) {
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>())
      fail(where, "must have at least " + s["minItems"].dump() + " items");
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>())
      fail(where, "must have at most " + s["maxItems"].dump() + " items");
    if (s.contains("items"))
      for (size_t i = 0; i < v.size(); ++i) check(s["items"], v[i], where + "[" + std::to_string(i) + "]");
  }
  if (v.is_object() && (s.contains("properties") || s.contains("required"))) {
    const json props = s.value("properties", json::object());
    if (s.contains("required"))
      for (auto& r : s["required"]) {
        auto name = r.get<std::string>();
        if (!v.contains(name)) fail(where.empty() ? name : where + "." + name, "is required");
      }
    bool closed = !s.contains("additionalProperties") || s["additionalProperties"] == false;
    for (auto it = v.begin(); it != v.end(); ++it) {
      std::string child = where.empty() ? it.key() : where + "." + it.key();
      if (props.contains(it.key())) check(props[it.key()], it.value(), child);
      else if (closed) fail(child, "is not a known parameter");
    }
  }
}

}  // namespace

void validate_params(const json& schema, const json& value) {
  if (!value.is_object()) fail("", "must be an object (by-name parameters)");
  check(schema, value, "");
}

}  // namespace mos::rpc
