#include "rpc/dispatch.hpp"

#include <future>

#include "ioctl/error.hpp"
#include "rpc/params.hpp"
#include "rpc/request_stats.hpp"

namespace mos::rpc {
namespace {

bool valid_id(const json& id) { return id.is_string() || id.is_number() || id.is_null(); }

json error_data(const Error& e) {
  json d = json::object();
  if (!e.path().empty()) d["path"] = e.path();
  if (e.sys_errno()) d["errno"] = e.sys_errno();
  return d.empty() ? json(nullptr) : d;
}

// Runs a deferred method and waits for its answer on this thread (the server may instead answer
// when the Reply is delivered).
json call_deferred(const Method& m, const json& params, engine::Context& ctx) {
  std::promise<json> answer;
  auto done = answer.get_future();
  m.deferred(params, ctx, Reply([&answer](json result, const Error* error) {
    if (error)
      answer.set_exception(std::make_exception_ptr(*error));
    else
      answer.set_value(std::move(result));
  }));
  return done.get();
}

// Returns nullopt for notifications. A method answering with serialized text leaves the result
// in `*raw` (response then holds only jsonrpc and id) when raw is given, else it is parsed back.
std::optional<json> handle_one(const json& req, const Registry& registry, engine::Context& ctx,
                               std::shared_ptr<const std::string>* raw = nullptr) {
  if (!req.is_object()) return make_error(-32600, "Invalid Request: not an object", nullptr);
  bool is_notification = !req.contains("id");
  json id = req.contains("id") && valid_id(req["id"]) ? req["id"] : json(nullptr);
  auto invalid = [&](const std::string& why) -> std::optional<json> {
    return make_error(-32600, "Invalid Request: " + why, id);
  };
  if (req.contains("id") && !valid_id(req["id"])) return invalid("id must be a string, number or null");
  // A malformed request is answered even without an id (spec section 5: id null); only a
  // well-formed request without id is a notification.
  if (!req.contains("jsonrpc") || req["jsonrpc"] != "2.0") return invalid("\"jsonrpc\" must be exactly \"2.0\"");
  if (!req.contains("method") || !req["method"].is_string()) return invalid("\"method\" must be a string");
  for (auto it = req.begin(); it != req.end(); ++it)
    if (it.key() != "jsonrpc" && it.key() != "method" && it.key() != "params" && it.key() != "id")
      return invalid("unknown member \"" + it.key() + "\"");
  json params = req.contains("params") ? req["params"] : json::object();
  if (!params.is_object() && !params.is_array()) return invalid("\"params\" must be an object or an array");
  const std::string& name = req["method"].get_ref<const std::string&>();
  const Method* m = registry.find(name);
  json response;
  if (!m) {
    response = make_error(-32601, "Method not found: " + name, id);
  } else {
    try {
      validate_params(m->params, params);
      if (m->serialized) {
        auto text = m->serialized(params, ctx);
        if (raw) *raw = std::move(text);
        response = raw ? json{{"jsonrpc", "2.0"}, {"id", id}}
                       : json{{"jsonrpc", "2.0"}, {"result", json::parse(*text)}, {"id", id}};
      } else {
        json result = m->deferred ? call_deferred(*m, params, ctx) : m->handler(params, ctx);
        response = json{{"jsonrpc", "2.0"}, {"result", std::move(result)}, {"id", id}};
      }
    } catch (const Error& e) {
      response = make_error(static_cast<int>(e.code()), e.what(), id, error_data(e));
    } catch (const json::exception& e) {
      response = make_error(-32603, std::string("Internal error: ") + e.what(), id);
    } catch (const std::exception& e) {
      response = make_error(-32603, std::string("Internal error: ") + e.what(), id);
    }
  }
  record_request(m ? name : std::string(), response.contains("error") ? response["error"]["code"].get<int>() : 0);
  if (is_notification) return std::nullopt;
  return response;
}

}  // namespace

json make_error(int code, const std::string& message, const json& id, const json& data) {
  json err = {{"code", code}, {"message", message}};
  if (!data.is_null()) err["data"] = data;
  return json{{"jsonrpc", "2.0"}, {"error", err}, {"id", id}};
}

std::optional<std::string> handle_message(const std::string& text, const Registry& registry,
                                          engine::Context& ctx) {
  json req;
  try {
    req = json::parse(text);
  } catch (const json::parse_error& e) {
    return make_error(-32700, "Parse error: " + std::string(e.what()), nullptr).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (req.is_array()) {
    if (req.empty()) return make_error(-32600, "Invalid Request: empty batch", nullptr).dump(-1, ' ', false, json::error_handler_t::replace);
    json out = json::array();
    for (const auto& r : req)
      if (auto resp = handle_one(r, registry, ctx)) out.push_back(std::move(*resp));
    if (out.empty()) return std::nullopt;
    return out.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  std::shared_ptr<const std::string> raw;
  auto resp = handle_one(req, registry, ctx, &raw);
  if (!resp) return std::nullopt;
  if (raw) return R"({"id":)" + (*resp)["id"].dump() + R"(,"jsonrpc":"2.0","result":)" + *raw + "}";
  return resp->dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace mos::rpc
