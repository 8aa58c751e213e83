// Runs an engine call in the exec-denying sandbox and brings back either its JSON result or
// the mos::Error code and message, so tests can judge both.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/context.hpp"
#include "base/error.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {

struct EngineOutcome {
  bool ok = false;
  int code = 0;          // JSON-RPC code of the error when !ok
  std::string message;   // error message when !ok
  nlohmann::json result; // when ok
};

// The policy every test daemon runs with: only loop devices.
inline engine::Context loop_only_context() {
  engine::Context ctx;
  ctx.policy = engine::Policy::from_globs("/dev/loop*");
  ctx.mount_prefixes.push_back("/var/tmp");  // TempDir's home
  return ctx;
}

inline EngineOutcome engine_outcome(const std::function<nlohmann::json()>& fn) {
  SandboxResult r = run_sandboxed([&] {
    // Appends, not "x" + string: GCC 12 -O3 warns falsely (-Wrestrict) on the latter.
    std::string out;
    try {
      std::string result = fn().dump();
      out.append("R").append(result);
    } catch (const Error& e) {
      out.append("E").append(std::to_string(static_cast<int>(e.code()))).append(" ").append(e.what());
    }
    return out;
  });
  EngineOutcome o;
  if (!r.ok || r.text.empty()) {
    o.code = 0;
    o.message = "sandbox failure (signal " + std::to_string(r.signal) + "): " + r.text;
    return o;
  }
  if (r.text[0] == 'R') {
    o.ok = true;
    o.result = nlohmann::json::parse(r.text.substr(1));
    return o;
  }
  size_t space = r.text.find(' ');
  o.code = std::stoi(r.text.substr(1, space - 1));
  o.message = r.text.substr(space + 1);
  return o;
}

}  // namespace mos::test
