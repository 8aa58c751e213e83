// Fuzz target: the daemon's request path on hostile bytes. Input: the bytes a client sends;
// the first byte picks the caller (admin or not), the rest is split into newline-framed lines
// as the server does (over-long lines refused), each going through bounded parse, params
// validation against the real registry's schemas, authorization and dispatch to stub handlers
// (no engine call touches a device).
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/context.hpp"
#include "rpc/dispatch.hpp"
#include "rpc/registry.hpp"

namespace {

using mos::rpc::json;

// The daemon's methods with their schemas and flags, answering a stub result instead of acting.
const mos::rpc::Registry& stub_registry() {
  static const mos::rpc::Registry reg = [] {
    mos::rpc::Registry stubs;
    const mos::rpc::Registry real = mos::rpc::make_registry();
    for (mos::rpc::Method m : real.methods()) {
      if (m.name == "rpc.discover") continue;  // re-registered below: it points at its registry
      m.deferred = nullptr;
      m.serialized = nullptr;
      m.handler = [](const json& params, mos::engine::Context&) -> json { return params.size(); };
      stubs.add(std::move(m));
    }
    mos::rpc::register_discover_method(stubs);
    return stubs;
  }();
  return reg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static mos::engine::Context ctx;
  mos::rpc::Limits limits;
  limits.max_line_bytes = 64 << 10;
  limits.max_response_bytes = 256 << 10;
  mos::rpc::Dispatcher d{stub_registry(), ctx, limits, nullptr};
  mos::rpc::CallEnv env;
  env.caller.admin = (data[0] & 1) != 0;
  env.caller.uid = env.caller.admin ? 0 : 1000;
  env.limits = &limits;
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t start = 0;
  while (start < bytes.size()) {
    size_t nl = bytes.find('\n', start);
    size_t end = nl == std::string::npos ? bytes.size() : nl;
    std::string line = bytes.substr(start, end - start);
    start = end + 1;
    if (line.size() > limits.max_line_bytes) break;  // the server answers an error and disconnects
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    bool answered = false;
    d.dispatch(line, env, [&](std::optional<std::string> r) {
      answered = true;
      if (r && (r->empty() || r->size() > limits.max_response_bytes + 4096)) __builtin_trap();
    });
    if (!answered) __builtin_trap();  // stubs answer at once
  }
  return 0;
}
