// mos_sysvol host tests: run the built static binary in a private mount namespace (its mounts
// vanish with it), limited to our own loop devices, with the host's /boot, ESP mount, kernel
// command line and module loading kept out of it.
#pragma once
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/swap.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/gpt_support.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {

inline std::string sysvol_bin() { return std::string(MOS_BIN_DIR) + "/mos_sysvol"; }

// Exact allow-list for the loop devices of a test: "/dev/loop7,/dev/loop7p*,...".
inline std::string allow_list(const std::vector<const LoopImage*>& imgs) {
  std::string s;
  for (const auto* i : imgs) s += (s.empty() ? "" : ",") + i->dev() + "," + i->dev() + "p*";
  return s;
}

struct SysvolRun {
  int exit_code = -1;
  nlohmann::json report;    // --json output (null if unparseable)
  std::string log;          // human lines (stderr)
  std::string mountinfo;    // /proc/self/mountinfo inside the namespace after the run
};

// A config directory with the ESP mount off (no vfat driver on the host) and an empty cmdline.
class SysvolEnv {
 public:
  explicit SysvolEnv(const std::string& extra_toml = {}, const std::string& cmdline = "ro quiet") {
    std::ofstream(dir_ / "mos_sysvol.toml") << "[mount]\nefi = \"off\"\n" << extra_toml;
    std::ofstream(dir_ / "cmdline") << cmdline << "\n";
    std::filesystem::create_directories(dir_ / "root");
  }
  std::string root() const { return dir_ / "root"; }
  std::string config() const { return dir_ / "mos_sysvol.toml"; }

  // env: extra VAR=value words (crash points). Runs `unshare -m` so mounts die with the process.
  SysvolRun run(const std::string& allow, const std::vector<std::string>& extra_args = {},
                const std::vector<std::string>& env = {}) const {
    std::string cmd;
    for (const auto& e : env) cmd += e + " ";
    cmd += "unshare -m --propagation private sh -c '" + sysvol_bin() + " --json --no-modules --config " + config() +
           " --cmdline " + (dir_ / "cmdline") + " --root " + root() + " --allow-devices \"" + allow + "\"";
    for (const auto& a : extra_args) cmd += " " + a;
    cmd += " > " + (dir_ / "report.json") + " 2> " + (dir_ / "log.txt") + "; rc=$?; cat /proc/self/mountinfo > " +
           (dir_ / "mountinfo") + "; exit $rc'";
    auto r = run_sh(cmd);
    SysvolRun out;
    out.exit_code = r.exit_code;
    out.log = slurp(dir_ / "log.txt");
    out.mountinfo = slurp(dir_ / "mountinfo");
    out.report = nlohmann::json::parse(slurp(dir_ / "report.json"), nullptr, false);
    if (out.report.is_discarded()) out.report = nullptr;
    return out;
  }

 private:
  static std::string slurp(const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  TempDir dir_;
};

// Swap areas we activated on our loops are turned off in every outcome.
class SwapGuard {
 public:
  explicit SwapGuard(std::string dev) : dev_(std::move(dev)) {}
  ~SwapGuard() { ::swapoff(dev_.c_str()); }
  SwapGuard(const SwapGuard&) = delete;
  SwapGuard& operator=(const SwapGuard&) = delete;

 private:
  std::string dev_;
};

// By kernel name: a swap activated inside a namespace that is gone shows a shortened path.
inline bool swap_active(const std::string& dev) {
  const std::string name = dev.substr(dev.rfind('/'));
  std::ifstream in("/proc/swaps");
  std::string line;
  while (std::getline(in, line)) {
    std::string first = line.substr(0, line.find_first_of(" \t"));
    if (first.size() >= name.size() && first.compare(first.size() - name.size(), name.size(), name) == 0) return true;
  }
  return false;
}

// sha256 of a sparse image's bytes, as (offset, 64 KiB chunk) for every chunk that is not all
// zero: equal digests mean equal bytes (holes read as zeros), without hashing gigabytes of holes.
// The host filesystem may turn a hole into a zero-filled extent on its own (late writeback of an
// oracle tool's zeroing), which changes no byte and so no digest; each chunk is hashed once
// however the file's extents split it (they change with writeback). Bytes inside `masked`
// ({offset, length} ranges) count as zeros: the digest of everything outside them.
inline std::string sparse_digest(const std::string& file, const std::vector<std::pair<uint64_t, uint64_t>>& masked = {}) {
  std::string ranges = "[";
  for (const auto& [off, len] : masked) ranges += (ranges.size() > 1 ? ",[" : "[") + std::to_string(off) + "," + std::to_string(len) + "]";
  ranges += "]";
  auto r = run_tool({"python3", "-c",
                     "import hashlib,json,os,sys\n"
                     "f=os.open(sys.argv[1],os.O_RDONLY);n=os.fstat(f).st_size;h=hashlib.sha256();o=0;Z=bytes(65536)\n"
                     "M=json.loads(sys.argv[2])\n"
                     "while o<n:\n"
                     "  try: d=os.lseek(f,o,os.SEEK_DATA)\n"
                     "  except OSError: break\n"
                     "  e=os.lseek(f,d,os.SEEK_HOLE);d=max(d-d%65536,o)\n"
                     "  while d<e:\n"
                     "    b=bytearray(os.pread(f,65536,d))\n"
                     "    for mo,ml in M:\n"
                     "      s,t=max(mo,d),min(mo+ml,d+len(b))\n"
                     "      if s<t: b[s-d:t-d]=bytes(t-s)\n"
                     "    if b!=Z[:len(b)]: h.update(b'%d;'%d);h.update(b)\n"
                     "    d+=65536\n"
                     "  o=d\n"
                     "print(h.hexdigest())",
                     file, ranges});
  EXPECT_TRUE(r.ok()) << r.err;
  return r.out;
}

// A named byte range of an image: the GPT areas and each partition.
struct Region {
  std::string name;
  uint64_t offset = 0, length = 0;
};

// sha256 of [offset, offset+length) of a sparse image (the same idea as sparse_digest): (offset, 64 KiB chunk) of every chunk that
// is not all zero, found with SEEK_DATA (equal digests mean equal bytes, holes read as zeros).
inline std::string region_digest(const std::string& file, const Region& r) {
  auto out = run_tool({"python3", "-c",
                       "import hashlib,os,sys\n"
                       "f=os.open(sys.argv[1],os.O_RDONLY);base=o=int(sys.argv[2]);end=o+int(sys.argv[3]);h=hashlib.sha256();Z=bytes(65536)\n"
                       "while o<end:\n"
                       "  try: d=os.lseek(f,o,os.SEEK_DATA)\n"
                       "  except OSError: break\n"
                       "  if d>=end: break\n"
                       "  e=min(os.lseek(f,d,os.SEEK_HOLE),end);d-=(d-base)%65536\n"
                       "  while d<e:\n"
                       "    b=os.pread(f,min(65536,end-d),d)\n"
                       "    if b!=Z[:len(b)]: h.update(b'%d;'%(d-base));h.update(b)\n"
                       "    d+=65536\n"
                       "  o=d\n"
                       "print(h.hexdigest())",
                       file, std::to_string(r.offset), std::to_string(r.length)});
  EXPECT_TRUE(out.ok()) << out.err;
  return out.out;
}

// gpt-head, p1..pN, gpt-tail of a disk with a GPT (from sfdisk), in image bytes.
inline std::vector<Region> gpt_regions(const std::string& dev, uint64_t size, uint32_t sector) {
  auto t = sfdisk_json(dev);
  std::vector<Region> out;
  out.push_back({"gpt-head", 0, t["firstlba"].get<uint64_t>() * sector});
  for (size_t i = 0; i < t["partitions"].size(); ++i)
    out.push_back({"p" + std::to_string(i + 1), t["partitions"][i]["start"].get<uint64_t>() * sector,
                   t["partitions"][i]["size"].get<uint64_t>() * sector});
  const uint64_t tail = (t["lastlba"].get<uint64_t>() + 1) * sector;
  out.push_back({"gpt-tail", tail, size - tail});
  return out;
}

inline std::map<std::string, std::string> region_digests(const std::string& file, const std::vector<Region>& regions) {
  run_tool({"sync"});
  std::map<std::string, std::string> d;
  for (const auto& r : regions) d[r.name] = region_digest(file, r);
  return d;
}

// Waits until nothing holds the device (the run's private mounts die with its namespace).
inline void wait_idle(const std::string& dev) {
  for (int i = 0; i < 100; ++i) {
    int fd = ::open(dev.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);
      return;
    }
    usleep(50 * 1000);
  }
  ADD_FAILURE() << dev << " stays busy";
}

inline bool mounted_in(const std::string& mountinfo, const std::string& target, const std::string& fstype) {
  std::istringstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, devno, root, mp;
    f >> id >> parent >> devno >> root >> mp;
    if (mp != target) continue;
    size_t dash = line.find(" - ");
    if (dash != std::string::npos && line.compare(dash + 3, fstype.size() + 1, fstype + " ") == 0) return true;
  }
  return false;
}

}  // namespace mos::test
