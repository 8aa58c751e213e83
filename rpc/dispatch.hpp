// JSON-RPC 2.0 message handling (spec section 4-6): single requests, batches, notifications,
// id echo, standard and storage error codes, authorization of mutating methods, and the bounds
// of rpc/limits.hpp (nesting depth while parsing, batch length, response budget). Transport-
// independent; deferred methods answer later, from any thread.
#pragma once
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

#include "rpc/call.hpp"
#include "rpc/limits.hpp"
#include "rpc/registry.hpp"

namespace mos::rpc {

// The serialized response, or nullopt when nothing must be sent (notifications only).
using Answer = std::function<void(std::optional<std::string> response)>;

struct Dispatcher {
  const Registry& registry;
  engine::Context& ctx;
  Limits limits = {};
  std::FILE* audit = nullptr;  // one line per mutating call (pid, uid, method, targets) when set

  // Handles one message as env's caller; answer is called exactly once, on this thread or
  // (when a deferred method answers later) on the thread that answers.
  void dispatch(const std::string& text, const CallEnv& env, Answer answer) const;

  // dispatch() in two steps, for a server that answers some calls on its I/O thread.
  // Parses text into req (depth-bounded); false when it is not JSON, after answering the error.
  bool parse(const std::string& text, json& req, const Answer& answer) const;
  // True when every call of a parsed message answers at once, without blocking: methods with
  // Path::memory, Path::model ones when env.model is set, and calls answered with an error
  // before any method runs (invalid, unknown method, over-long batch, not authorized).
  bool answers_inline(const json& req, const CallEnv& env) const;
  // Handles a parsed message as dispatch() does.
  void run(const json& req, const CallEnv& env, Answer answer) const;
};

// Handles one message synchronously as a trusted in-process caller (tests, tools, fuzzing).
std::optional<std::string> handle_message(const std::string& text, const Registry& registry,
                                          engine::Context& ctx, const Limits& limits = {});

json make_error(int code, const std::string& message, const json& id, const json& data = nullptr);

// Parses text, refusing (mos::Error invalid_request) nesting deeper than max_depth while parsing,
// before any deep value exists; malformed text throws json::parse_error (json::out_of_range for
// a number too large).
json parse_bounded(const std::string& text, unsigned max_depth);

}  // namespace mos::rpc
