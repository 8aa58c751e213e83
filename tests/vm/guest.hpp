// The VM test init (PID 1 of the guest): shared pieces of guest_init.cpp and guest_steps.cpp.
// Tests-only code: it may fork/exec (the `exec` step); product code never does.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace mos::vmtest {

using json = nlohmann::json;

// Prefix of every result line, on the console and on the results port (/dev/ttyS1).
inline constexpr const char* kResultPrefix = "MOSVM ";

// Writes `MOSVM <json>` to the console and the results port.
void emit(const json& line);
// Human text on the console only.
void say(const std::string& text);

// Unmounts what the scenario mounted (reverse order), swapoff all, stops md arrays; returns
// {unmounted, swapoff, md_stopped, errors}.
json release_storage();
// release_storage(), sync, then powers off. Emits a summary line first. Never returns.
[[noreturn]] void clean_shutdown(const std::string& reason);
// Powers off at once without sync (simulated power loss). Never returns.
[[noreturn]] void crash_now();

// Runs one step of the scenario; returns the line to emit (with "ok"). The shutdown and crash
// ops never reach it: main() handles them.
class StepRunner {
 public:
  // volumes_dir: the rpc steps' --volumes-dir (scenario "volumes_dir"; empty: the default).
  StepRunner(const std::string& allow_devices, const std::string& volumes_dir);
  ~StepRunner();
  json run(const json& step);

 private:
  struct State;
  State* state_;
};

}  // namespace mos::vmtest
