#include "bins/cli/env.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "base/error.hpp"
#include "rpc/client.hpp"

namespace mos::cli {

rpc::Client& Env::client() {
  if (!client_) client_ = std::make_unique<rpc::Client>(socket);
  return *client_;
}

json Env::call(const std::string& method, const json& params) { return client().call(method, params); }

void Env::print(const json& result, const std::function<void(const json&)>& human) {
  if (json_output) {
    std::printf("%s\n", result.dump(2, ' ', false, json::error_handler_t::replace).c_str());
  } else {
    human(result);
  }
}

json Env::wait_job(uint64_t id, const std::string& title) {
  bool bar = !json_output && isatty(STDOUT_FILENO);
  for (;;) {
    json job = call("storage.jobs", {{"id", id}});
    if (bar) {
      double pct = job.value("percent", 0.0);
      int filled = static_cast<int>(pct / 100.0 * 40.0);
      std::string b(static_cast<size_t>(std::max(0, std::min(40, filled))), '#');
      b.resize(40, '.');
      std::printf("\r%s [%s] %5.1f%% %s/%s", title.c_str(), b.c_str(), pct,
                  human_size(job.value("done", 0ull)).c_str(), human_size(job.value("total", 0ull)).c_str());
      std::fflush(stdout);
    }
    if (job["state"] != "running" && job["state"] != "queued") {
      if (bar) std::printf("\n");
      return job;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

json Env::run_long(const std::string& method, json params, const std::string& title) {
  params["background"] = true;
  json started = call(method, params);
  uint64_t id = started.at("job_id").get<uint64_t>();
  json job = wait_job(id, title);
  if (job["state"] != "succeeded") {
    std::string msg = job["error"].is_string() ? job["error"].get<std::string>() : "job " + job["state"].get<std::string>();
    int code = job["error_code"].is_number() ? job["error_code"].get<int>() : -32000;
    throw Error(static_cast<ErrorCode>(code), msg);
  }
  return job["result"];
}

std::string human_size(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::string s;
    for (auto& x : v) s += (s.empty() ? "" : ",") + cell(x);
    return s.empty() ? "-" : s;
  }
  return v.dump();
}

void print_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(headers.size());
  for (size_t i = 0; i < headers.size(); ++i) w[i] = headers[i].size();
  for (auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t i = 0; i < w.size(); ++i) {
      std::string c = i < r.size() ? r[i] : "";
      s += c;
      if (i + 1 < w.size()) s += std::string(w[i] - c.size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::printf("%s\n", s.c_str());
  };
  line(headers);
  for (auto& r : rows) line(r);
}

void print_write_plan(const json& plan) {
  std::vector<std::vector<std::string>> rows;
  for (auto& step : plan["steps"]) {
    for (auto& z : step["zeroes"])
      rows.push_back({step["name"], "zero", std::to_string(z["offset"].get<uint64_t>()), human_size(z["length"]), z["what"]});
    for (auto& w : step["writes"])
      rows.push_back({step["name"], "write", std::to_string(w["offset"].get<uint64_t>()), human_size(w["length"]), w["what"]});
    if (step["omitted"].get<uint64_t>() > 0)
      rows.push_back({step["name"], "...", "-", "-", std::to_string(step["omitted"].get<uint64_t>()) + " more ranges"});
  }
  if (!rows.empty()) print_table({"STEP", "ACTION", "OFFSET", "LENGTH", "WHAT"}, rows);
}

}  // namespace mos::cli
