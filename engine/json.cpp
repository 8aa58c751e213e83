#include "engine/json.hpp"

namespace mos::engine {

std::string json_text(const json& value, int indent) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace mos::engine
