// JSON conventions for engine result structs: std::optional serializes as null (never omitted),
// and JSON text leaves the process only through json_text.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

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

// The JSON face of the text boundary (base/safe_text.hpp): every JSON text the project writes
// (answers, events, state files, CLI output) is made here. Strings from the kernel or from disks
// may hold any bytes; ill-formed UTF-8 becomes U+FFFD instead of nlohmann's type_error 316, so a
// hostile file name can never abort a writer.
std::string json_text(const json& value, int indent = -1);
}
