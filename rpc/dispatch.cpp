#include "rpc/dispatch.hpp"

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include "base/error.hpp"
#include "base/safe_text.hpp"
#include "engine/json.hpp"
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

std::string serialize(const json& j) { return engine::json_text(j); }

// {"id":..,"jsonrpc":"2.0","result":<text>} from a result that is JSON text already (appends only).
std::string with_result(const json& id, const std::string& text) {
  std::string out = R"({"id":)";
  out += serialize(id);
  out += R"(,"jsonrpc":"2.0","result":)";
  out += text;
  out += '}';
  return out;
}

// Printable, bounded text for a log line (caller-controlled strings must not forge lines).
std::string log_safe(const std::string& s) {
  std::string out;
  for (char ch : s.substr(0, 256)) out += (ch >= 0x20 && ch < 0x7f && ch != '"') ? ch : '?';
  return out;
}

// The devices/paths a call names: top-level string (or string-array) params whose name says so.
std::string audit_targets(const json& params) {
  std::string out;
  if (!params.is_object()) return out;
  for (auto it = params.begin(); it != params.end(); ++it) {
    const std::string& k = it.key();
    bool named = false;
    for (const char* w : {"device", "disk", "path", "target", "member", "mountpoint", "source"})
      named = named || k.find(w) != std::string::npos;
    if (!named) continue;
    std::vector<std::string> values;
    if (it->is_string()) values.push_back(it->get<std::string>());
    if (it->is_array())
      for (const auto& v : *it)
        if (v.is_string() && values.size() < 16) values.push_back(v.get<std::string>());
    for (const auto& v : values) {  // appends only: GCC 12 -O3 false -Wrestrict on "x" + string
      if (!out.empty()) out += ',';
      out += log_safe(v);
    }
  }
  return out.empty() ? "-" : out;
}

// Collects the answers of one message (one request, or every call of a batch) as they arrive
// from any thread, within the response budget, and sends the message's answer after the last.
struct Collector {
  std::mutex mu;
  std::vector<std::optional<std::string>> slots;
  std::vector<bool> answered;  // a deferred method that throws after dropping its Reply answers twice
  size_t outstanding;
  size_t bytes = 0;
  size_t started = 0;
  bool batch;
  json single_id;  // the id of a lone request, for an over-budget error
  size_t budget;
  Answer answer;

  Collector(size_t n, bool is_batch, size_t budget_bytes, Answer a)
      : slots(n), answered(n), outstanding(n + 1), batch(is_batch), budget(budget_bytes), answer(std::move(a)) {}

  bool over_budget() {
    std::lock_guard lk(mu);
    return bytes > budget;
  }
  // Slot i answered (nullopt: a notification); the extra count is released by finish_start().
  void put(size_t i, std::optional<std::string> s) {
    {
      std::lock_guard lk(mu);
      if (answered[i]) return;
      answered[i] = true;
      if (s) bytes += s->size() + 1;
      slots[i] = std::move(s);
      if (--outstanding) return;
    }
    complete();
  }
  void finish_start(size_t started_calls) {
    {
      std::lock_guard lk(mu);
      started = started_calls;
      outstanding -= (slots.size() - started_calls);  // calls never started answer nothing
      if (--outstanding) return;
    }
    complete();
  }
  void complete() {
    if (bytes > budget) {
      std::string why = "response exceeds the " + std::to_string(budget) + "-byte budget (--max-response-bytes)";
      if (batch)
        why += "; " + std::to_string(started) + " of " + std::to_string(slots.size()) +
               " calls were run, the rest were not: send smaller batches";
      answer(serialize(make_error(static_cast<int>(ErrorCode::internal), "Internal error: " + why,
                                  batch ? json(nullptr) : single_id)));
      return;
    }
    if (!batch) {
      answer(std::move(slots[0]));
      return;
    }
    std::string out = "[";
    for (auto& s : slots)
      if (s) {
        if (out.size() > 1) out += ',';
        out += *s;
      }
    if (out.size() == 1) return answer(std::nullopt);
    answer(out + "]");
  }
};

void finish_call(const std::shared_ptr<Collector>& col, size_t slot, const std::string& method, bool notification,
                 const json& response) {
  record_request(method, response.contains("error") ? response["error"]["code"].get<int>() : 0);
  col->put(slot, notification ? std::nullopt : std::optional<std::string>(serialize(response)));
}

// Runs one call; its answer goes to col's slot now or, for a deferred method, when it replies.
void handle_one(const Dispatcher& d, const CallEnv& env, const json& req, const std::shared_ptr<Collector>& col,
                size_t slot) {
  auto answer_now = [&](const json& response, const std::string& method = {}) {
    finish_call(col, slot, method, false, response);
  };
  if (!req.is_object()) return answer_now(make_error(-32600, "Invalid Request: not an object", nullptr));
  bool is_notification = !req.contains("id");
  json id = req.contains("id") && valid_id(req["id"]) ? req["id"] : json(nullptr);
  if (!col->batch) col->single_id = id;
  auto invalid = [&](const std::string& why) { answer_now(make_error(-32600, "Invalid Request: " + why, id)); };
  if (req.contains("id") && !valid_id(req["id"])) return invalid("id must be a string, number or null");
  // A malformed request is answered even without an id (spec section 5: id null); only a
  // well-formed request without id is a notification.
  if (!req.contains("jsonrpc") || req["jsonrpc"] != "2.0") return invalid("\"jsonrpc\" must be exactly \"2.0\"");
  if (!req.contains("method") || !req["method"].is_string()) return invalid("\"method\" must be a string");
  for (auto it = req.begin(); it != req.end(); ++it)
    if (it.key() != "jsonrpc" && it.key() != "method" && it.key() != "params" && it.key() != "id")
      return invalid("unknown member \"" + it.key() + "\"");
  static const json no_params = json::object();
  const json& params = req.contains("params") ? req["params"] : no_params;  // a reference: no deep copy
  if (!params.is_object() && !params.is_array()) return invalid("\"params\" must be an object or an array");
  const std::string& name = req["method"].get_ref<const std::string&>();
  const Method* m = d.registry.find(name);
  auto fail = [&](const Error& e) {
    finish_call(col, slot, m ? name : std::string(), is_notification,
                make_error(static_cast<int>(e.code()), e.what(), id, error_data(e)));
  };
  if (!m) return finish_call(col, slot, "", is_notification, make_error(-32601, "Method not found: " + name, id));
  if (m->admin_only() && !env.caller.admin)
    return fail(Error(ErrorCode::validation,
                      "permission denied: " + name + (m->mutating ? " changes storage" : " reads device contents") +
                          " and is allowed only to uid 0 and members of the daemon's --admin-group (caller uid " +
                          std::to_string(env.caller.uid) + ", pid " + std::to_string(env.caller.pid) + ")"));
  if (m->admin_only() && d.audit)
    std::fprintf(d.audit, "mos_volmgrd: audit pid=%d uid=%u method=%s target=%s\n", static_cast<int>(env.caller.pid),
                 static_cast<unsigned>(env.caller.uid), name.c_str(), printable_text(audit_targets(params)).c_str());
  CallScope scope(env);
  try {
    validate_params(m->params, params);
    if (m->serialized) {  // the result is JSON text already (the inventory model): no re-encoding
      auto text = m->serialized(params, d.ctx);
      record_request(name, 0);
      return col->put(slot, is_notification ? std::nullopt
                                            : std::optional<std::string>(with_result(id, *text)));
    }
    if (!m->deferred) {
      json result = m->handler(params, d.ctx);
      return finish_call(col, slot, name, is_notification, json{{"jsonrpc", "2.0"}, {"result", std::move(result)}, {"id", id}});
    }
    m->deferred(params, d.ctx, Reply([col, slot, name, is_notification, id](json result, const Error* error) {
      if (error)
        finish_call(col, slot, name, is_notification, make_error(static_cast<int>(error->code()), error->what(), id, error_data(*error)));
      else
        finish_call(col, slot, name, is_notification, json{{"jsonrpc", "2.0"}, {"result", std::move(result)}, {"id", id}});
    }));
  } catch (const Error& e) {
    fail(e);
  } catch (const std::exception& e) {
    fail(Error(ErrorCode::internal, std::string("Internal error: ") + e.what()));
  }
}

struct TooDeep {};

// A SAX handler building the DOM with an explicit stack (no recursion) and refusing a container
// that would open deeper than max_depth before it exists; no per-token callback object.
class BoundedDom {
 public:
  BoundedDom(json& root, unsigned max_depth) : root_(root), max_depth_(max_depth) {}
  bool null() { return put(nullptr); }
  bool boolean(bool v) { return put(v); }
  bool number_integer(json::number_integer_t v) { return put(v); }
  bool number_unsigned(json::number_unsigned_t v) { return put(v); }
  bool number_float(json::number_float_t v, const std::string&) { return put(v); }
  bool string(std::string& v) { return put(std::move(v)); }
  bool binary(json::binary_t& v) { return put(json::binary(std::move(v))); }
  bool start_object(std::size_t) { return open(json::value_t::object); }
  bool key(std::string& k) {
    key_ = &(*open_.back())[std::move(k)];  // a repeated key keeps its last value, as json::parse
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(json::value_t::array); }
  bool end_array() { return close(); }
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& ex) {
    throw ex;  // its own type: parse_error, or out_of_range for a number too large
  }

 private:
  json* place(json&& v) {
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& top = *open_.back();
    if (top.is_array()) {  // an open container's address is stable: only its last child grows
      top.push_back(std::move(v));
      return &top.back();
    }
    *key_ = std::move(v);
    return key_;
  }
  bool put(json&& v) {
    place(std::move(v));
    return true;
  }
  bool open(json::value_t t) {
    if (open_.size() >= max_depth_) throw TooDeep{};
    open_.push_back(place(json(t)));
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }

  json& root_;
  unsigned max_depth_;
  std::vector<json*> open_;  // at most max_depth_ entries
  json* key_ = nullptr;
};

}  // namespace

json make_error(int code, const std::string& message, const json& id, const json& data) {
  json err = {{"code", code}, {"message", message}};
  if (!data.is_null()) err["data"] = data;
  return json{{"jsonrpc", "2.0"}, {"error", err}, {"id", id}};
}

json parse_bounded(const std::string& text, unsigned max_depth) {
  json root;
  BoundedDom dom(root, max_depth);
  try {
    json::sax_parse(text, &dom);
    return root;
  } catch (const TooDeep&) {
    throw Error(ErrorCode::invalid_request, "Invalid Request: JSON nested deeper than " + std::to_string(max_depth) +
                                                " levels (--max-json-depth)");
  }
}

bool Dispatcher::parse(const std::string& text, json& req, const Answer& answer) const {
  try {
    req = parse_bounded(text, limits.max_json_depth);
    return true;
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number too large
    answer(serialize(make_error(-32700, "Parse error: " + std::string(e.what()), nullptr)));
  } catch (const Error& e) {
    answer(serialize(make_error(static_cast<int>(e.code()), e.what(), nullptr)));
  }
  return false;
}

bool Dispatcher::answers_inline(const json& req, const CallEnv& env) const {
  auto one = [&](const json& call) {
    if (!call.is_object()) return true;  // answered with an error
    auto it = call.find("method");
    if (it == call.end() || !it->is_string()) return true;
    const Method* m = registry.find(it->get_ref<const std::string&>());
    return !m || m->path == Path::memory || (m->path == Path::model && env.model) || (m->admin_only() && !env.caller.admin);
  };
  if (!req.is_array()) return one(req);
  if (req.empty() || req.size() > limits.max_batch) return true;
  for (const auto& call : req)
    if (!one(call)) return false;
  return true;
}

void Dispatcher::run(const json& req, const CallEnv& env, Answer answer) const {
  if (req.is_array()) {
    if (req.empty()) return answer(serialize(make_error(-32600, "Invalid Request: empty batch", nullptr)));
    if (req.size() > limits.max_batch)
      return answer(serialize(make_error(-32600, "Invalid Request: batch of " + std::to_string(req.size()) +
                                                     " calls exceeds " + std::to_string(limits.max_batch) +
                                                     " (--max-batch); nothing was run", nullptr)));
    auto col = std::make_shared<Collector>(req.size(), true, limits.max_response_bytes, std::move(answer));
    size_t i = 0;
    for (; i < req.size() && !col->over_budget(); ++i) handle_one(*this, env, req[i], col, i);
    col->finish_start(i);
    return;
  }
  auto col = std::make_shared<Collector>(1, false, limits.max_response_bytes, std::move(answer));
  handle_one(*this, env, req, col, 0);
  col->finish_start(1);
}

void Dispatcher::dispatch(const std::string& text, const CallEnv& env, Answer answer) const {
  json req;
  if (parse(text, req, answer)) run(req, env, std::move(answer));
}

std::optional<std::string> handle_message(const std::string& text, const Registry& registry, engine::Context& ctx,
                                          const Limits& limits) {
  std::promise<std::optional<std::string>> p;
  auto f = p.get_future();
  Dispatcher{registry, ctx, limits, nullptr}.dispatch(text, CallEnv{}, [&p](std::optional<std::string> r) {
    p.set_value(std::move(r));
  });
  return f.get();
}

}  // namespace mos::rpc
