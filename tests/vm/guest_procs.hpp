// Background processes of the VM test init (tests-only code): a program started by one step
// (e.g. the daemon) and signalled, waited for and judged by later ones.
#pragma once
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "tests/vm/guest.hpp"

namespace mos::vmtest {

// In a forked child: execve(argv, env); on failure the reason on stderr and _exit(127).
[[noreturn]] void exec_child(std::vector<std::string>& argv, std::vector<std::string>& env);

class Processes {
 public:
  Processes() = default;
  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;
  ~Processes();  // SIGKILL to whatever is still running (not waited for: a thread may be stuck)

  // {"name", "argv", "env"} -> {"pid", "stdout", "stderr"} (the files its output goes to).
  json spawn(const json& step);
  // {"name", "signal" (15), "wait_stuck_ms" (0)} -> {"threads_in_disk_sleep"}: its threads in
  // state D when signalled (after waiting up to wait_stuck_ms for one).
  json signal(const json& step);
  // {"name", "timeout_ms" (60000), "expect_exit" (0), "any_outcome"} -> {"exit_code", "signal",
  // "stdout", "stderr", "timed_out"}.
  json wait_exit(const json& step);

 private:
  std::map<std::string, pid_t> running_;
};

// {"path", "text" (absent: the path exists), "timeout_ms" (60000)} -> {"ms"}, polling every 20 ms.
json op_wait_text(const json& step);

}  // namespace mos::vmtest
