#include "tests/vm/guest_procs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "ioctl/fd.hpp"

namespace mos::vmtest {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxShown = 64 << 10;  // of a spawned process's output, in a result line

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

json failed(const std::string& message, json extra = json::object()) {
  extra["ok"] = false;
  extra["error"] = {{"message", message}};
  return extra;
}

std::string output_path(const std::string& name, const char* stream) { return "/tmp/spawn-" + name + "." + stream; }

std::string file_text(const std::string& path) {
  std::ifstream f(path);
  std::string s((std::istreambuf_iterator<char>(f)), {});
  return s.size() > kMaxShown ? s.substr(0, kMaxShown) : s;
}

int threads_in_disk_sleep(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string stat;  // a thread that exits meanwhile fails the read (ESRCH): not counted
    try {
      stat = io::read_text_file(dir + "/" + e->d_name + "/stat");
    } catch (const std::exception&) {
    }
    auto close_paren = stat.rfind(')');
    if (close_paren != std::string::npos && stat.compare(close_paren, 4, ") D ") == 0) ++n;
  }
  ::closedir(d);
  return n;
}

}  // namespace

void exec_child(std::vector<std::string>& argv, std::vector<std::string>& env) {
  std::vector<char*> a, e;
  for (auto& x : argv) a.push_back(x.data());
  a.push_back(nullptr);
  for (auto& x : env) e.push_back(x.data());
  e.push_back(nullptr);
  ::execve(a[0], a.data(), e.data());
  std::string msg = "execve " + argv[0] + ": " + std::strerror(errno) + "\n";
  (void)!::write(2, msg.data(), msg.size());
  ::_exit(127);
}

Processes::~Processes() {
  for (const auto& [name, pid] : running_) ::kill(pid, SIGKILL);
}

json Processes::spawn(const json& s) {
  const std::string name = s.at("name");
  if (running_.count(name)) return failed("spawn: " + name + " is already running");
  std::vector<std::string> argv = s.at("argv").get<std::vector<std::string>>();
  if (argv.empty()) return failed("spawn: argv is empty");
  std::vector<std::string> env = {"PATH=/bin"};
  const json extra_env = s.value("env", json::object());  // items() of a temporary would dangle
  for (auto& [k, v] : extra_env.items()) env.push_back(k + "=" + v.get<std::string>());
  const std::string out = output_path(name, "stdout"), err = output_path(name, "stderr");
  pid_t pid = ::fork();
  if (pid < 0) return failed(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);  // never the console
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(null, 0), ::dup2(o, 1), ::dup2(e, 2);
    exec_child(argv, env);
  }
  running_[name] = pid;
  return {{"ok", true}, {"pid", pid}, {"stdout", out}, {"stderr", err}};
}

json Processes::signal(const json& s) {
  auto it = running_.find(s.at("name"));
  if (it == running_.end()) return failed("signal: no spawned process " + s["name"].get<std::string>());
  // wait_stuck_ms: first wait (that long at most) until one of its threads waits in the kernel.
  auto t0 = Clock::now();
  int stuck = threads_in_disk_sleep(it->second);
  for (const int wait_ms = s.value("wait_stuck_ms", 0); stuck == 0 && ms_since(t0) < wait_ms;
       stuck = threads_in_disk_sleep(it->second))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (::kill(it->second, s.value("signal", SIGTERM)) != 0) return failed(std::string("kill: ") + std::strerror(errno));
  return {{"ok", true}, {"threads_in_disk_sleep", stuck}};
}

json Processes::wait_exit(const json& s) {
  const std::string name = s.at("name");
  auto it = running_.find(name);
  if (it == running_.end()) return failed("wait_exit: no spawned process " + name);
  const int timeout_ms = s.value("timeout_ms", 60000);
  auto t0 = Clock::now();
  int status = 0;
  pid_t r = 0;
  while ((r = ::waitpid(it->second, &status, WNOHANG)) == 0 && ms_since(t0) < timeout_ms)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  json out = {{"ms", ms_since(t0)}, {"timed_out", r == 0}, {"stdout", file_text(output_path(name, "stdout"))},
              {"stderr", file_text(output_path(name, "stderr"))}};
  if (r == 0) return failed("wait_exit: " + name + " still running after " + std::to_string(timeout_ms) + " ms", out);
  running_.erase(it);
  out["exit_code"] = WIFEXITED(status) ? json(WEXITSTATUS(status)) : json(nullptr);
  out["signal"] = WIFSIGNALED(status) ? json(WTERMSIG(status)) : json(nullptr);
  out["ok"] = s.value("any_outcome", false) || out["exit_code"] == s.value("expect_exit", 0);
  if (!out["ok"].get<bool>()) out["error"] = {{"message", name + " exited with an unexpected status"}};
  return out;
}

json op_wait_text(const json& s) {
  const std::string path = s.at("path"), text = s.value("text", "");
  const int timeout_ms = s.value("timeout_ms", 60000);
  auto t0 = Clock::now();
  for (;;) {
    bool found = text.empty() ? ::access(path.c_str(), F_OK) == 0 : file_text(path).find(text) != std::string::npos;
    if (found) return {{"ok", true}, {"ms", ms_since(t0)}};
    if (ms_since(t0) > timeout_ms)
      return failed("wait_text: " + (text.empty() ? path : "\"" + text + "\" in " + path) + " not there after " +
                        std::to_string(timeout_ms) + " ms",
                    {{"ms", ms_since(t0)}, {"text", file_text(path)}});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace mos::vmtest
