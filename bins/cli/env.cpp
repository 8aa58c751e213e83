#include "bins/cli/env.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "base/error.hpp"
#include "engine/json.hpp"
#include "rpc/client.hpp"

namespace mos::cli {

rpc::Client& Env::client() {
  if (!client_) client_ = std::make_unique<rpc::Client>(socket);
  return *client_;
}

json Env::call(const std::string& method, const json& params) { return client().call(method, params); }

void Env::print(const json& result, const std::function<void(const json&)>& human) {
  if (json_output) {
    std::printf("%s\n", engine::json_text(result, 2).c_str());
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
