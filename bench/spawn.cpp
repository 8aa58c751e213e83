// Peer tools for the benchmark. posix_spawn lives here only: bench/ is a measurement tool.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "bench/bench.hpp"

extern char** environ;

namespace mos::bench {

namespace {

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

}  // namespace

std::string tool_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(std::string(path ? path : "") + ":/usr/sbin:/sbin");
  std::string d;
  while (std::getline(dirs, d, ':'))
    if (!d.empty() && access((d + "/" + name).c_str(), X_OK) == 0) return d + "/" + name;
  return "";
}

bool have_tool(const std::string& name) { return !tool_path(name).empty(); }

namespace {

// Runs argv to completion, stdout into `out` when given (else /dev/null), stderr to /dev/null.
void spawn_and_wait(const std::vector<std::string>& argv, std::string* out) {
  int pipe_fds[2] = {-1, -1};
  if (out && pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (out) posix_spawn_file_actions_adddup2(&fa, pipe_fds[1], 1);
  else posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (out) close(pipe_fds[1]);
  if (rc != 0) {
    if (out) close(pipe_fds[0]);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  if (out) {
    char buf[4096];
    ssize_t n;
    while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0 && out->size() < (1u << 20)) out->append(buf, static_cast<size_t>(n));
    close(pipe_fds[0]);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("peer failed (status " + std::to_string(status) + "): " + join(argv));
}

}  // namespace

void run_peer(const std::vector<std::string>& argv) { spawn_and_wait(argv, nullptr); }

std::string peer_output(const std::vector<std::string>& argv) {
  std::string out;
  spawn_and_wait(argv, &out);
  return out;
}

Contender peer(std::string name, std::string tool,
               std::function<std::vector<std::string>(const Target&)> args,
               std::function<void(Target&)> prepare) {
  Contender c;
  c.name = std::move(name);
  c.prepare = std::move(prepare);
  if (!have_tool(tool)) c.unavailable = tool + " not installed";
  c.run = [tool, args](Target& t) -> std::optional<double> {
    std::vector<std::string> argv{tool};
    for (auto& a : args(t)) argv.push_back(a);
    run_peer(argv);
    return std::nullopt;
  };
  return c;
}

FioResult run_fio(std::vector<std::string> job, const std::string& scratch, const std::string& direction) {
  const std::string out = scratch + ".fio.json";
  job.insert(job.begin(), "fio");
  job.push_back("--output-format=json");
  job.push_back("--output=" + out);
  run_peer(job);
  nlohmann::json j;
  {
    std::ifstream in(out);
    j = nlohmann::json::parse(in);
  }
  unlink(out.c_str());
  const auto& dir = j.at("jobs").at(0).at(direction);
  FioResult r{dir.at("bw_bytes").get<double>(), dir.at("io_bytes").get<double>()};
  if (r.bw_bytes <= 0) throw std::runtime_error("fio reported no bandwidth");
  return r;
}

Contender fio_peer(std::string name, std::string rw, unsigned iodepth, std::function<void(Target&)> prepare) {
  Contender c;
  c.name = std::move(name);
  c.prepare = std::move(prepare);
  if (!have_tool("fio")) c.unavailable = "fio not installed";
  c.run = [rw, iodepth](Target& t) -> std::optional<double> {
    FioResult r = run_fio({"--name=bench", "--filename=" + t.dev(), "--ioengine=io_uring",
                           "--iodepth=" + std::to_string(iodepth), "--rw=" + rw, "--bs=1M", "--direct=1",
                           "--size=" + std::to_string(t.size())},
                          t.file(), rw == "read" ? "read" : "write");
    return r.io_bytes / r.bw_bytes;
  };
  return c;
}

}  // namespace mos::bench
