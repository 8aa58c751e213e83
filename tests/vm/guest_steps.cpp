// The step interpreter of the VM test init (the ops are documented in tests/vm/README.md).
// Every op returns a JSON object with "ok" and its result or an "error" {code?, message}.
#include <dirent.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include "engine/context.hpp"
#include "engine/disk_access.hpp"
#include "engine/jobs/jobs.hpp"
#include "engine/modules.hpp"
#include "ioctl/blkpg.hpp"
#include "ioctl/block_open.hpp"
#include "rpc/dispatch.hpp"
#include "rpc/registry.hpp"
#include "tests/support/loop.hpp"
#include "tests/vm/guest.hpp"
#include "tests/vm/guest_dm.hpp"
#include "tests/vm/guest_procs.hpp"
#include "tests/vm/guest_health.hpp"
#include "tests/vm/seeded.hpp"

namespace mos::vmtest {

namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kMaxCapture = 4 << 20;  // per stream of an exec step
constexpr size_t kMaxText = 64 << 10;     // read_file with "text": true (e.g. /proc/mdstat)

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

json fail(const std::string& message, json extra = json::object()) {
  extra["ok"] = false;
  extra["error"] = {{"message", message}};
  return extra;
}

std::string sys_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

void mkdir_p(const std::string& path, mode_t mode) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string part = slash == std::string::npos ? path : path.substr(0, slash);
    if (::mkdir(part.c_str(), mode) != 0 && errno != EEXIST) throw std::runtime_error(sys_error("mkdir", part));
    if (slash == std::string::npos) return;
  }
}

json op_write_file(const json& s) {
  const std::string path = s.at("path");
  const uint64_t bytes = s.at("bytes");
  const uint64_t seed = s.value("seed", uint64_t{1});
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(sys_error("open", path));
  std::vector<uint8_t> buf(kChunk);
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  std::string error;
  for (uint64_t off = 0; off < bytes && error.empty();) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, bytes - off));
    fill_seeded(seed, off, buf.data(), n);
    XXH3_128bits_update(st, buf.data(), n);
    // A short write is legal (e.g. at a quota limit): the rest is written again, and a write that
    // fails says why.
    for (size_t done = 0; done < n && error.empty();) {
      ssize_t w = ::pwrite(fd, buf.data() + done, n - done, static_cast<off_t>(off + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) error = w < 0 ? sys_error("write", path) : "write " + path + ": wrote nothing";
      else done += static_cast<size_t>(w);
    }
    off += n;
  }
  if (error.empty() && s.value("fsync", true) && ::fsync(fd) != 0) error = sys_error("fsync", path);
  ::close(fd);
  std::string digest = xxh128_hex(XXH3_128bits_digest(st));
  XXH3_freeState(st);
  // expect_error: the step is about the write failing (e.g. "Disk quota exceeded" past a limit).
  if (s.contains("expect_error")) {
    const std::string want = s["expect_error"];
    if (error.find(want) != std::string::npos) return {{"ok", true}, {"path", path}, {"failed", error}};
    return fail(error.empty() ? "the write succeeded, expected \"" + want + "\"" : error);
  }
  if (!error.empty()) return fail(error);
  return {{"ok", true}, {"path", path}, {"size", bytes}, {"xxh128", digest}};
}

json op_read_file(const json& s) {
  const std::string path = s.at("path");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(sys_error("open", path));
  std::vector<uint8_t> buf(kChunk);
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  uint64_t size = 0;
  bool matches_seed = true;
  std::vector<uint8_t> expect(s.contains("seed") ? kChunk : 0);
  const bool want_text = s.value("text", false);
  std::string text, error;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { error = sys_error("read", path); break; }
    if (n == 0) break;
    XXH3_128bits_update(st, buf.data(), static_cast<size_t>(n));
    if (!expect.empty()) {
      fill_seeded(s["seed"].get<uint64_t>(), size, expect.data(), static_cast<size_t>(n));
      matches_seed = matches_seed && std::memcmp(expect.data(), buf.data(), static_cast<size_t>(n)) == 0;
    }
    if (want_text && text.size() < kMaxText)
      text.append(reinterpret_cast<char*>(buf.data()), std::min(static_cast<size_t>(n), kMaxText - text.size()));
    size += static_cast<uint64_t>(n);
  }
  ::close(fd);
  std::string digest = xxh128_hex(XXH3_128bits_digest(st));
  XXH3_freeState(st);
  if (!error.empty()) return fail(error);
  json out = {{"ok", true}, {"path", path}, {"size", size}, {"xxh128", digest}};
  if (want_text) out["text"] = text;
  // Optional in-guest check against the seeded stream (the host judges the digest too).
  if (s.contains("seed")) {
    bool size_ok = !s.contains("bytes") || s["bytes"].get<uint64_t>() == size;
    out["matches_seed"] = matches_seed && size_ok;
    if (!(matches_seed && size_ok)) out["ok"] = false, out["error"] = {{"message", path + " differs from seed"}};
  }
  return out;
}

json op_list_dir(const json& s) {
  const std::string path = s.at("path");
  DIR* d = ::opendir(path.c_str());
  if (!d) return fail(sys_error("opendir", path));
  std::map<std::string, json> entries;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    json entry = {{"name", name}};
    if (::lstat((path + "/" + name).c_str(), &st) == 0) {
      entry["type"] = S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : S_ISLNK(st.st_mode) ? "link" : "other";
      entry["size"] = static_cast<uint64_t>(st.st_size);
    }
    entries[name] = entry;
  }
  ::closedir(d);
  json arr = json::array();
  for (auto& [name, e] : entries) arr.push_back(e);
  return {{"ok", true}, {"path", path}, {"entries", arr}};
}

// fork + execve with captured stdout/stderr (bounded) and a hard timeout.
json op_exec(const json& s) {
  std::vector<std::string> argv = s.at("argv").get<std::vector<std::string>>();
  if (argv.empty()) return fail("exec: argv is empty");
  std::vector<std::string> env = {"PATH=/bin"};
  const json extra_env = s.value("env", json::object());
  for (auto& [k, v] : extra_env.items()) env.push_back(k + "=" + v.get<std::string>());
  const int timeout_ms = s.value("timeout_ms", 120000);
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) return fail("pipe failed");
  auto t0 = Clock::now();
  pid_t pid = ::fork();
  if (pid < 0) return fail(sys_error("fork", argv[0]));
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);  // never the console: a child must not read it
    if (null >= 0) ::dup2(null, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    exec_child(argv, env);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  std::string out, err;
  bool timed_out = false;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    int left = timeout_ms - static_cast<int>(ms_since(t0));
    if (left <= 0) { timed_out = true; ::kill(pid, SIGKILL); break; }
    if (::poll(fds, 2, left) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) { fds[i].fd = -1; --open_fds; continue; }
      std::string& dst = i == 0 ? out : err;
      if (dst.size() < kMaxCapture) dst.append(buf, std::min(static_cast<size_t>(n), kMaxCapture - dst.size()));
    }
  }
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  json r = {{"ms", ms_since(t0)}, {"stdout", out}, {"stderr", err}, {"timed_out", timed_out}};
  r["exit_code"] = WIFEXITED(status) ? json(WEXITSTATUS(status)) : json(nullptr);
  r["signal"] = WIFSIGNALED(status) ? json(WTERMSIG(status)) : json(nullptr);
  json parsed = json::parse(out, nullptr, false);
  if (!parsed.is_discarded()) r["stdout_json"] = parsed;
  const bool exit_ok = s.contains("expect_exit") ? r["exit_code"] == s["expect_exit"]
                                                 : WIFEXITED(status) && WEXITSTATUS(status) == 0;
  // expect_timeout: the step is about the timeout itself (the harness's own test); any_outcome:
  // how the child ended is the result, judged on the host (one boot of many on replayed disks).
  r["ok"] = s.value("any_outcome", false) || (s.value("expect_timeout", false) ? timed_out : exit_ok && !timed_out);
  if (!r["ok"].get<bool>())
    r["error"] = {{"message", argv[0] + (timed_out ? std::string(" timed out") : " exited with an unexpected status")}};
  return r;
}

// {"name", "targets": [{"type", "params", "start" (0), "length" or "length_of": a device}]}
// (512-byte sectors) -> {"device": "/dev/dm-N"}.
json op_dm_create(const json& s) {
  std::vector<DmTarget> table;
  for (const auto& t : s.at("targets")) {
    DmTarget d{t.value("start", uint64_t{0}), 0, t.at("type"), t.at("params")};
    d.length = t.contains("length_of") ? device_sectors(t["length_of"]) : t.at("length").get<uint64_t>();
    table.push_back(std::move(d));
  }
  return {{"ok", true}, {"name", s["name"]}, {"device", dm_create(s.at("name"), table)}};
}

// Between two runs on other disks: nothing stays mounted, swapped on or assembled, and the btrfs
// module forgets every unmounted device (BTRFS_IOC_FORGET_DEV, no name): the next disks may
// carry the same fsid.
json op_release() {
  json out = release_storage();
  int fd = ::open("/dev/btrfs-control", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    btrfs_ioctl_vol_args args{};
    if (::ioctl(fd, BTRFS_IOC_FORGET_DEV, &args) != 0) out["errors"].push_back(sys_error("BTRFS_IOC_FORGET_DEV", "/dev/btrfs-control"));
    ::close(fd);
  }
  out["ok"] = out["errors"].empty();
  return out;
}

// Before a run on some of the guest's disks: the kernel forgets the partitions of every disk in
// "hide" (BLKPG delete; nothing is written to a disk) and reads the tables of the disks in
// "show" again (BLKRRPART), so a run sees its own disks as a boot with only them would, not the
// other states' partitions that carry the same btrfs fsid and md array UUIDs.
json op_show_only_disks(const json& s) {
  json hidden = json::array(), errors = json::array();
  for (const auto& name : s.at("hide")) {
    const std::string disk = name.get<std::string>();
    try {
      io::Fd fd = io::open_block("/dev/" + disk, O_RDONLY);
      for (const auto& p : engine::kernel_partitions(disk)) {
        io::blkpg_delete_partition(fd, static_cast<int>(p.number));
        hidden.push_back(p.name);
      }
    } catch (const std::exception& e) {
      errors.push_back(disk + ": " + e.what());
    }
  }
  json shown = json::array();
  for (const auto& name : s.at("show")) {
    const std::string disk = name.get<std::string>();
    try {
      io::blk_reread_partitions(io::open_block("/dev/" + disk, O_RDONLY));
      for (const auto& p : engine::kernel_partitions(disk)) shown.push_back(p.name);
    } catch (const std::exception& e) {
      errors.push_back(disk + ": " + e.what());
    }
  }
  return {{"ok", errors.empty()}, {"hidden", hidden}, {"shown", shown}, {"errors", errors}};
}

}  // namespace

struct StepRunner::State {
  engine::Jobs jobs;
  engine::Context ctx;
  rpc::Registry registry = rpc::make_registry();
  int next_id = 1;
  std::map<std::string, test::LoopDevice> loops;  // attached by loop_attach, by device path
  Processes processes;                            // started by spawn steps, by name

  // {"backing", "offset", "size_limit", "sector_size", "direct_io"} -> {"device"}.
  json op_loop_attach(const json& s) {
    test::LoopOptions o;
    o.sector_size = s.value("sector_size", 0u);
    o.direct_io = s.value("direct_io", false);
    o.offset = s.value("offset", uint64_t{0});
    o.size_limit = s.value("size_limit", uint64_t{0});
    test::LoopDevice loop = test::LoopDevice::attach(s.at("backing"), o);
    const std::string dev = loop.path();
    loops.emplace(dev, std::move(loop));
    return {{"ok", true}, {"device", dev}};
  }

  json op_loop_detach(const json& s) {
    auto it = loops.find(s.at("device"));
    if (it == loops.end()) return fail(s["device"].get<std::string>() + " was not attached by a loop_attach step");
    it->second.detach();
    loops.erase(it);
    return {{"ok", true}};
  }

  // One JSON-RPC request through the daemon's own dispatcher (same params validation).
  json call(const std::string& method, const json& params) {
    json req = {{"jsonrpc", "2.0"}, {"id", next_id++}, {"method", method}, {"params", params}};
    auto resp = rpc::handle_message(req.dump(), registry, ctx);
    if (!resp) return {{"error", {{"code", -32603}, {"message", "no response"}}}};
    return json::parse(*resp);
  }

  json op_rpc(const json& s) {
    auto t0 = Clock::now();
    json resp = call(s.at("method"), s.value("params", json::object()));
    json out = {{"method", s["method"]}, {"ms", ms_since(t0)}};
    if (resp.contains("error")) {
      out["error"] = resp["error"];
      out["ok"] = s.contains("expect_error") && resp["error"].value("code", 0) == s["expect_error"].get<int>();
    } else {
      out["result"] = resp["result"];
      out["ok"] = !s.contains("expect_error");
      if (s.contains("expect_error")) out["error"] = {{"message", "expected error " + s["expect_error"].dump()}};
    }
    return out;
  }

  // Polls a method until every "until" JSON pointer has its value.
  json op_wait(const json& s) {
    auto t0 = Clock::now();
    const int timeout_ms = s.value("timeout_ms", 60000);
    const int interval_ms = s.value("interval_ms", 200);
    json last;
    for (int polls = 1;; ++polls) {
      json resp = call(s.at("method"), s.value("params", json::object()));
      last = resp.contains("result") ? resp["result"] : resp;
      bool all = resp.contains("result");
      for (auto& [pointer, want] : s.at("until").items()) {
        json::json_pointer p(pointer);
        all = all && last.contains(p) && last[p] == want;
      }
      if (all) return {{"ok", true}, {"ms", ms_since(t0)}, {"polls", polls}, {"result", last}};
      if (ms_since(t0) > timeout_ms)
        return fail("wait for " + s["method"].get<std::string>() + " timed out after " +
                        std::to_string(timeout_ms) + " ms",
                    {{"result", last}, {"polls", polls}});
      std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    }
  }
};

StepRunner::StepRunner(const std::string& allow_devices, const std::string& volumes_dir) : state_(new State) {
  ::mkdir("/run/mos_volmgrd", 0700);
  state_->ctx.policy = engine::Policy::from_globs(allow_devices);
  state_->ctx.run_dir = "/run/mos_volmgrd";
  if (!volumes_dir.empty()) state_->ctx.volumes_dir = volumes_dir;
  state_->ctx.jobs = &state_->jobs;
}

StepRunner::~StepRunner() { delete state_; }

json StepRunner::run(const json& s) {
  const std::string op = s.value("op", "");
  auto t0 = Clock::now();
  try {
    json out;
    if (op == "rpc") out = state_->op_rpc(s);
    else if (op == "wait") out = state_->op_wait(s);
    else if (op == "write_file") out = op_write_file(s);
    else if (op == "read_file") out = op_read_file(s);
    else if (op == "list_dir") out = op_list_dir(s);
    else if (op == "exec") out = op_exec(s);
    else if (op == "dm_create") out = op_dm_create(s);
    else if (op == "loop_attach") out = state_->op_loop_attach(s);
    else if (op == "loop_detach") out = state_->op_loop_detach(s);
    else if (op == "release") out = op_release();
    else if (op == "show_only_disks") out = op_show_only_disks(s);
    else if (op == "spawn") out = state_->processes.spawn(s);
    else if (op == "signal") out = state_->processes.signal(s);
    else if (op == "wait_exit") out = state_->processes.wait_exit(s);
    else if (op == "wait_text") out = op_wait_text(s);
    else if (op == "dm_suspend" || op == "dm_resume") {
      (op == "dm_suspend" ? dm_suspend : dm_resume)(s.at("name"));
      out = {{"ok", true}};
    }
    else if (op == "health_pages") out = op_health_pages(s);
    else if (op == "dm_remove") {
      dm_remove(s.at("name"));
      out = {{"ok", true}};
    }
    else if (op == "mkdir") {
      mkdir_p(s.at("path"), static_cast<mode_t>(s.value("mode", 0755)));
      out = {{"ok", true}, {"path", s["path"]}};
    } else if (op == "sync") {
      ::sync();
      out = {{"ok", true}};
    } else if (op == "swapon") {
      const std::string path = s.at("path");
      if (::swapon(path.c_str(), 0) != 0) out = fail(sys_error("swapon", path));
      else out = {{"ok", true}, {"path", path}};
    } else if (op == "sleep") {
      std::this_thread::sleep_for(std::chrono::milliseconds(s.at("ms").get<int>()));
      out = {{"ok", true}};
    } else if (op == "load_modules") {
      auto results = engine::load_modules(s.at("names").get<std::vector<std::string>>(), s.value("dir", ""));
      json arr = json::array();
      bool all_ok = true;
      for (const auto& r : results) {
        arr.push_back({{"name", r.name}, {"status", r.status}, {"detail", r.detail}});
        all_ok = all_ok && (r.status == "loaded" || r.status == "already" || r.status == "builtin");
      }
      out = {{"ok", all_ok || s.value("allow_failures", false)}, {"results", arr}};
    } else {
      out = fail("unknown op \"" + op + "\" (see tests/vm/README.md)");
    }
    if (!out.contains("ms")) out["ms"] = ms_since(t0);
    return out;
  } catch (const std::exception& e) {
    return fail(std::string(op) + ": " + e.what(), {{"ms", ms_since(t0)}});
  }
}

}  // namespace mos::vmtest
