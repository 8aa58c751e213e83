#include "rpc/registry.hpp"

#include <stdexcept>

namespace mos::rpc {

void Registry::add(Method m) {
  if (find(m.name)) throw std::logic_error("duplicate RPC method " + m.name);
  if (m.params.is_null()) m.params = obj_schema(json::object());
  methods_.push_back(std::move(m));
}

const Method* Registry::find(const std::string& name) const {
  for (const auto& m : methods_)
    if (m.name == name) return &m;
  return nullptr;
}

json obj_schema(json properties, std::vector<std::string> required) {
  json s = {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) s["required"] = required;
  return s;
}

json str_schema(const std::string& description) { return {{"type", "string"}, {"description", description}}; }

json int_schema(const std::string& description, int64_t minimum) {
  return {{"type", "integer"}, {"minimum", minimum}, {"description", description}};
}

json bool_schema(const std::string& description) { return {{"type", "boolean"}, {"description", description}}; }

}  // namespace mos::rpc
