// JSON conventions for engine structs: std::optional serializes as null (never omitted); integers
// are read with their range checked (json_integer), never narrowed; JSON text leaves the process
// only through json_text.
#pragma once
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "base/error.hpp"

namespace nlohmann {
template <typename T>
struct adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& v) {
    if (v) j = *v; else j = nullptr;
  }
  static void from_json(const json& j, std::optional<T>& v) {
    if (j.is_null()) v.reset(); else v = j.get<T>();
  }
};
}  // namespace nlohmann

namespace mos::engine {
using json = nlohmann::json;

// The one way a JSON integer becomes a C++ integer: object[name] must be an integer within
// [min, max] (by default T's whole range); otherwise (missing, fractional, a string, out of range)
// mos::Error(invalid_params) names it. get<T>() alone would wrap 4294967297 to 1 for a uint32_t.
template <typename T>
T json_integer(const json& object, const std::string& name, T min = std::numeric_limits<T>::min(),
               T max = std::numeric_limits<T>::max()) {
  static_assert(std::is_integral_v<T> && sizeof(T) <= 8);
  auto range = [&] { return " must be an integer from " + std::to_string(min) + " to " + std::to_string(max); };
  auto it = object.is_object() ? object.find(name) : object.end();
  if (it == object.end() || !it->is_number_integer())
    throw Error(ErrorCode::invalid_params, "invalid params: '" + name + "'" + range());
  auto within = [&](auto v) { return std::cmp_greater_equal(v, min) && std::cmp_less_equal(v, max); };
  bool fits = it->is_number_unsigned() ? within(it->template get<uint64_t>()) : within(it->template get<int64_t>());
  if (!fits) throw Error(ErrorCode::invalid_params, "invalid params: '" + name + "'" + range() + " (got " + it->dump() + ")");
  return it->template get<T>();
}

// The JSON face of the text boundary (base/safe_text.hpp): every JSON text the project writes
// (answers, events, state files, CLI output) is made here. Strings from the kernel or from disks
// may hold any bytes; ill-formed UTF-8 becomes U+FFFD instead of nlohmann's type_error 316, so a
// hostile file name can never abort a writer.
std::string json_text(const json& value, int indent = -1);

}  // namespace mos::engine
