// What the VM scenarios of mos-volmgr-bench share (bench/vm_bench.cpp, bench/vm_replace.cpp): host
// tools shipped with their ldd closure in the bench's initramfs, step builders, a step script
// with timed repetitions, and the temp folder of a scenario's disk images.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/bench.hpp"
#include "tests/vm/vm.hpp"

namespace mos::bench {

using json = nlohmann::json;
using vmtest::VmResult;
using vmtest::VmSpec;

// A host tool and the shared objects ldd lists for it (loader included), each at the same path
// in the guest. Throws when the tool is missing.
inline std::vector<std::string> tool_closure(const std::string& name) {
  std::string path = tool_path(name);
  if (path.empty()) throw std::runtime_error(name + " not installed on the host");
  std::vector<std::string> files = {path};
  for (auto& lib : vmtest::ldd_libraries(peer_output({"ldd", path}))) files.push_back(std::move(lib));
  return files;
}

// Ships tools and their libraries in the bench's initramfs (never a test or product one).
inline void ship_tools(VmSpec& spec, const std::vector<std::string>& names) {
  for (const auto& n : names)
    for (const auto& f : tool_closure(n)) spec.binaries[f] = f;
}

inline std::string self_dir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

inline json rpc_step(const std::string& method, json params) {
  return {{"op", "rpc"}, {"method", method}, {"params", std::move(params)}};
}
inline json exec_step(std::vector<std::string> argv, int timeout_ms = 60000) {
  return {{"op", "exec"}, {"argv", std::move(argv)}, {"timeout_ms", timeout_ms}};
}

// A step script where some steps are timed repetitions of a contender.
struct Script {
  json steps = json::array();
  struct Timed {
    size_t step;
    size_t contender;  // index into the Measured rows
    unsigned rep;
  };
  std::vector<Timed> timed;
  void add(json s) { steps.push_back(std::move(s)); }
  void add_timed(json s, size_t contender, unsigned rep) {
    timed.push_back({steps.size(), contender, rep});
    steps.push_back(std::move(s));
  }
};

// One line of a step that must have succeeded; throws with the guest's words otherwise.
inline const json& step_line(const VmResult& r, size_t i, const json& step) {
  const json* line = r.step(i);
  if (!line) throw std::runtime_error("guest never reached step " + std::to_string(i) + " (" + step.dump() + ")\n" + r.explain());
  if (!line->value("ok", false))
    throw std::runtime_error("step " + std::to_string(i) + " failed: " + line->dump() + "\n" + r.console_tail(20));
  return *line;
}

// Runs the boot and fills rows from the timed steps (warm-up repetitions dropped); a contender's
// repetition made of several steps counts their sum. `judge` rejects a timed step whose result
// shows the work was not done.
inline VmResult run_script(VmSpec spec, const Script& sc, std::vector<Measured>& rows, unsigned warmup,
                           const std::function<void(size_t contender, const json& line)>& judge = {}) {
  spec.scenario["steps"] = sc.steps;
  VmResult r = vmtest::run_vm(spec);
  if (r.timed_out) throw std::runtime_error("guest timed out after " + std::to_string(spec.timeout_s) + " s\n" + r.explain());
  for (size_t i = 0; i < sc.steps.size(); ++i) step_line(r, i, sc.steps[i]);
  std::map<std::pair<unsigned, size_t>, double> ms;  // (rep, contender) -> sum, in run order
  for (const auto& t : sc.timed) {
    const json& line = *r.step(t.step);
    if (judge) judge(t.contender, line);
    if (t.rep >= warmup) ms[{t.rep, t.contender}] += line.at("ms").get<double>();
  }
  for (const auto& [key, total] : ms) rows[key.second].seconds.push_back(total / 1000.0);
  return r;
}

inline std::string vm_dir(const Config& cfg, const std::string& name) {
  return cfg.workdir + "/mos-bench-" + name + "-" + std::to_string(::getpid());
}

// Removes the disk images of one scenario in every outcome.
struct Images {
  std::string dir;
  explicit Images(std::string d) : dir(std::move(d)) { std::filesystem::create_directories(dir); }
  ~Images() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// vm-replace-disk (bench/vm_replace.cpp): rows {ours, manual}; why ours cannot run ("" when it can).
std::string replace_disk_unavailable();
void run_replace_disk(const Config& cfg, std::vector<Measured>& rows);

}  // namespace mos::bench
