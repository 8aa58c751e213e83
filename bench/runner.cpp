// Runs scenarios: one target per scenario, repetitions interleaved across contenders (so drift
// hits everyone alike), medians, ours/peer throughput ratios, table or JSON.
#include <csignal>
#include <cstdio>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "bench/bench.hpp"
#include "base/error.hpp"

namespace mos::bench {

std::atomic<bool>& interrupted() {
  static std::atomic<bool> flag{false};
  return flag;
}

double Measured::median() const {
  std::vector<double> s = seconds;
  std::sort(s.begin(), s.end());
  if (s.empty()) return 0;
  return s.size() % 2 ? s[s.size() / 2] : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2;
}
double Measured::min() const { return seconds.empty() ? 0 : *std::min_element(seconds.begin(), seconds.end()); }
double Measured::max() const { return seconds.empty() ? 0 : *std::max_element(seconds.begin(), seconds.end()); }

namespace {

// Column title for a peer: its tool name, or its full name when two peers share the tool.
std::string peer_column(const std::vector<Measured>& m, const Measured& p) {
  auto tool = [](const Measured& x) { return x.name.substr(0, x.name.find(' ')); };
  int same = 0;
  for (auto& o : m) same += !o.ours && tool(o) == tool(p);
  return "vs " + (same > 1 ? p.name : tool(p));
}

// Timed repetitions actually measured (a VM run may end early), else the configured count.
size_t repetitions(const std::vector<Measured>& m, const Config& cfg) {
  size_t most = 0;
  for (auto& x : m) most = std::max(most, x.seconds.size());
  return most ? most : cfg.reps;
}

double mib_per_s(uint64_t bytes, double seconds) { return seconds > 0 ? bytes / seconds / (1 << 20) : 0; }

std::string size_text(uint64_t b) {
  char buf[32];
  if (b >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / double(1ull << 30));
  else std::snprintf(buf, sizeof buf, "%.0f MiB", b / double(1 << 20));
  return buf;
}

// After a failure: restore the target (unmount, swapoff...) with `undo`, whose own failure is only
// logged, so the first failure is the one reported.
void undo_after_failure(const std::function<void(Target&)>& undo, Target& t, const std::string& who, const char* what) {
  try {
    if (undo) undo(t);
  } catch (const std::exception& e) {
    std::cerr << "mos-volmgr-bench: " << who << ": " << what << " after a failed run: " << e.what() << "\n";
  }
}

double time_one(Contender& c, Target& t) {
  if (c.prepare) c.prepare(t);
  auto start = std::chrono::steady_clock::now();
  std::optional<double> reported;
  try {
    reported = c.run(t);
  } catch (...) {
    undo_after_failure(c.cleanup, t, c.name, "cleanup");
    throw;
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (c.cleanup) c.cleanup(t);
  return reported.value_or(wall);
}

std::vector<Measured> measure(Scenario& s, const Config& cfg) {
  Target target(s.target, cfg.workdir);
  std::vector<Contender*> who;
  std::vector<Measured> m;
  for (auto& c : s.ours) who.push_back(&c), m.push_back({c.name, true, {}, c.unavailable});
  for (auto& c : s.peers) who.push_back(&c), m.push_back({c.name, false, {}, c.unavailable});
  try {
    for (unsigned rep = 0; rep < cfg.warmup + cfg.reps; ++rep)
      for (size_t i = 0; i < m.size(); ++i) {
        if (!m[i].unavailable.empty()) continue;
        if (interrupted()) throw std::runtime_error("interrupted");
        double sec = time_one(*who[i], target);
        if (rep >= cfg.warmup) m[i].seconds.push_back(sec);
      }
  } catch (...) {
    undo_after_failure(s.teardown, target, s.name, "teardown");
    throw;
  }
  if (s.teardown) s.teardown(target);
  return m;
}

}  // namespace

void print_table(const Scenario& s, const std::vector<Measured>& m, const Config& cfg) {
  std::printf("\n== %s: %s (%zu reps after %u warm-up, median)\n", s.name.c_str(), s.description.c_str(),
              repetitions(m, cfg), cfg.warmup);
  std::printf("%-28s %10s %17s %10s", "contender", "median s", "min-max s", s.bytes ? "MiB/s" : "");
  for (auto& p : m)
    if (!p.ours) std::printf(" %*s", std::max(12, int(peer_column(m, p).size())), peer_column(m, p).c_str());
  std::printf("\n");
  for (auto& x : m) {
    if (!x.unavailable.empty()) {
      std::printf("%-28s %s\n", x.name.c_str(), ("skipped: " + x.unavailable).c_str());
      continue;
    }
    double med = x.median();
    std::printf(med < 0.1 ? "%-28s %10.4f" : "%-28s %10.3f", x.name.c_str(), med);
    std::printf(med < 0.1 ? " %8.4f-%-8.4f" : " %8.3f-%-8.3f", x.min(), x.max());
    if (s.bytes) std::printf(" %10.1f", mib_per_s(s.bytes, med)); else std::printf(" %10s", "");
    if (x.ours)
      for (auto& p : m)
        if (!p.ours) {
          int w = std::max(12, int(peer_column(m, p).size()));
          if (p.seconds.empty() || med <= 0) std::printf(" %*s", w, "-");
          else std::printf(" %*.2fx", w - 1, p.median() / med);
        }
    std::printf("\n");
  }
  std::fflush(stdout);
}

nlohmann::json results_json(const Scenario& s, const std::vector<Measured>& m) {
  nlohmann::json j{{"name", s.name}, {"description", s.description}, {"bytes", s.bytes},
                   {"contenders", nlohmann::json::array()}, {"ratios", nlohmann::json::array()}};
  for (auto& x : m) {
    nlohmann::json c{{"name", x.name}, {"ours", x.ours}, {"seconds", x.seconds}};
    if (!x.unavailable.empty()) c["skipped"] = x.unavailable;
    if (!x.seconds.empty()) {
      c["median_seconds"] = x.median();
      if (s.bytes) c["mib_per_s"] = mib_per_s(s.bytes, x.median());
    }
    j["contenders"].push_back(c);
  }
  for (auto& o : m)
    for (auto& p : m)
      if (o.ours && !p.ours && !o.seconds.empty() && !p.seconds.empty())
        j["ratios"].push_back({{"ours", o.name}, {"peer", p.name},
                               {"speedup", p.median() / o.median()}});  // >1: ours is faster
  return j;
}

bool unavailable_fails(const std::string& scenario, const std::vector<Measured>& m, const Config& cfg) {
  if (!cfg.short_run) return false;
  bool any = false;
  for (const auto& x : m)
    if (!x.unavailable.empty()) {
      std::cerr << "mos-volmgr-bench: " << scenario << ": " << x.name << " did not run: " << x.unavailable << "\n";
      any = true;
    }
  return any;
}

namespace {

void on_signal(int) { interrupted() = true; }

int run_device_scenarios(const Config& cfg) {
  std::vector<Scenario> scenarios = all_scenarios(cfg);
  for (auto& want : cfg.only)
    if (std::none_of(scenarios.begin(), scenarios.end(), [&](auto& s) { return s.name == want; })) {
      std::cerr << "mos-volmgr-bench: no scenario named '" << want << "' (have:";
      for (auto& s : scenarios) std::cerr << " " << s.name;
      std::cerr << ")\n";
      return 2;
    }
  nlohmann::json report{{"size_bytes", cfg.size}, {"reps", cfg.reps}, {"warmup", cfg.warmup}, {"scenarios", nlohmann::json::array()}};
  if (!cfg.json) std::printf("mos-volmgr-bench: %s per scenario, loop devices on %s\n", size_text(cfg.size).c_str(), cfg.workdir.c_str());
  int rc = 0;
  for (auto& s : scenarios) {
    if (!cfg.only.empty() && std::find(cfg.only.begin(), cfg.only.end(), s.name) == cfg.only.end()) continue;
    try {
      auto m = measure(s, cfg);
      if (cfg.json) report["scenarios"].push_back(results_json(s, m));
      else print_table(s, m, cfg);
      if (unavailable_fails(s.name, m, cfg)) rc = 1;
    } catch (const std::exception& e) {
      std::cerr << "mos-volmgr-bench: " << s.name << ": " << e.what() << "\n";
      if (cfg.json) report["scenarios"].push_back({{"name", s.name}, {"error", e.what()}});
      rc = 1;
      if (interrupted()) break;
    }
  }
  if (cfg.json) std::cout << report.dump(2) << "\n";
  return rc;
}

}  // namespace

int run_bench(const Config& cfg) {
  if (geteuid() != 0) {
    std::cerr << "mos-volmgr-bench: needs root (it attaches loop devices)\n";
    return cfg.short_run ? kCannotRunHere : 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  // `rpc` measures a server, not a device: it has its own runner (bench/scenario_rpc.cpp), run
  // when named and in a --short run of every scenario.
  Config devices = cfg;
  std::erase(devices.only, std::string("rpc"));
  const bool rpc_named = devices.only.size() != cfg.only.size();
  int rc = 0;
  if (rpc_named || (cfg.short_run && cfg.only.empty())) {
    try {
      rc = run_rpc_bench(cfg);
    } catch (const std::exception& e) {
      std::cerr << "mos-volmgr-bench: rpc: " << e.what() << "\n";
      rc = 1;
    }
    if (rpc_named && devices.only.empty()) return rc;
  }
  return std::max(rc, run_device_scenarios(devices));
}

}  // namespace mos::bench
