// rpc.discover: the OpenRPC 1.2.6 service document, generated from the registry.
#include "rpc/call.hpp"
#include "rpc/registry.hpp"

namespace mos::rpc {
namespace {

json openrpc_document(const Registry& r) {
  json methods = json::array();
  for (const auto& m : r.methods()) {
    json params = json::array();
    const json props = m.params.value("properties", json::object());
    std::vector<std::string> required = m.params.value("required", std::vector<std::string>{});
    for (auto it = props.begin(); it != props.end(); ++it) {
      json schema = it.value();
      json p = {{"name", it.key()},
                {"required", std::find(required.begin(), required.end(), it.key()) != required.end()},
                {"schema", schema}};
      if (schema.contains("description")) p["description"] = schema["description"];
      params.push_back(std::move(p));
    }
    json entry = {{"name", m.name},
                  {"summary", m.summary},
                  {"paramStructure", "by-name"},
                  {"params", params},
                  {"result", {{"name", "result"}, {"schema", m.result.is_null() ? json::object() : m.result}}}};
    if (!m.description.empty()) entry["description"] = m.description;
    entry["x-mutating"] = m.mutating;
    entry["x-admin-only"] = m.admin_only();
    methods.push_back(std::move(entry));
  }
  json errors = json::array({
      json{{"code", -32700}, {"message", "Parse error (malformed JSON)"}},
      json{{"code", -32600}, {"message", "Invalid request"}},
      json{{"code", -32601}, {"message", "Method not found"}},
      json{{"code", -32602}, {"message", "Invalid params"}},
      json{{"code", -32603}, {"message", "Internal error"}},
      json{{"code", -32000}, {"message", "Storage operation failed"}},
      json{{"code", -32001}, {"message", "Validation error"}},
      json{{"code", -32002}, {"message", "Device not found"}},
  });
  return json{{"openrpc", "1.2.6"},
              {"info",
               {{"title", "mos_volmgrd"},
                {"version", "0.1.0"},
                {"description", "MOS volume manager: storage inventory and management over JSON-RPC 2.0"}}},
              {"methods", methods},
              {"components", {{"x-error-codes", errors}}},
              {"x-limits", current_call().limits ? current_call().limits->to_json() : json(nullptr)}};
}

}  // namespace

void register_discover_method(Registry& r) {
  const Registry* reg = &r;  // the registry outlives every request it serves
  r.add(Method{"rpc.discover", "OpenRPC service document describing every method", "",
               obj_schema(json::object()),
               {{"type", "object"}, {"description", "OpenRPC 1.2.6 document"}},
               false,
               [reg](const json&, engine::Context&) { return openrpc_document(*reg); }});
}

}  // namespace mos::rpc
