// vm-replace-disk (issue 20 part 2): the time from a degraded two-disk node with a blank disk
// attached to full redundancy, ours (`mos-volmgr replace-disk /dev/vdb --wait` through the daemon)
// against the manual procedure (sgdisk -R + -G, two `mdadm --add` and the rebuild, `btrfs replace
// start -B`, balance convert soft, mkswap + swapon). Per repetition one guest provisions two nodes
// (mos_sysvol on two 8 GiB disks each, untimed); a second guest has disk a of each next to a blank
// disk, and each side in turn: mos_sysvol boots its node degraded, the same seeded data is written
// while degraded (into a single chunk), and the side's steps are timed (exec ms); ours is released
// (arrays stopped) before the manual side starts. Afterwards, untimed, both
// must show two-member arrays with no recovery running, no single btrfs chunk and the new swap on.
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "bench/vm_steps.hpp"
#include "fsmake/probe/btrfs.hpp"
#include "rpc/registry.hpp"

namespace mos::bench {
namespace {

constexpr uint64_t kDiskBytes = 8ull << 30;  // mos_sysvol's smallest disk
const char* kData = "/var/cache/system";     // a MOSDATA subvolume
const char* kSocket = "/run/d/d.sock";
enum Row : size_t { kOurs, kManual };

std::string sysvol_path() {
  const std::string sysvol = self_dir() + "/mos_sysvol";
  if (::access(sysvol.c_str(), X_OK) != 0) throw std::runtime_error(sysvol + " not built");
  return sysvol;
}

// A program at a host path and its ldd closure, at the same paths in the guest unless `guest` says.
void ship_file(VmSpec& spec, const std::string& host, const std::string& guest = {}) {
  spec.binaries[guest.empty() ? host : guest] = host;
  for (auto& lib : vmtest::ldd_libraries(peer_output({"ldd", host}))) spec.binaries[lib] = lib;
}

VmSpec node_spec(const std::string& name, const std::vector<std::string>& images) {
  VmSpec spec;
  spec.name = name;
  for (const auto& i : images) spec.disks.push_back({i, kDiskBytes});
  spec.binaries["/bin/mos_sysvol"] = sysvol_path();
  spec.extra_modules = {"btrfs", "ext4", "vfat", "nls_cp437", "nls_ascii", "raid1"};
  spec.scenario = {{"modules", json::array()}};
  spec.timeout_s = 1800;
  ship_tools(spec, {"btrfs", "fallocate", "rm"});  // the degraded writes and the checks of both sides
  return spec;
}

// One node in a guest with two: its survivor and its second (or new) disk, e.g. vda and vdb.
struct Node {
  std::string survivor, other;
  std::string dev(const std::string& disk, int part = 0) const {
    return "/dev/" + disk + (part ? std::to_string(part) : std::string());
  }
  std::string allowed() const { return dev(survivor) + "," + dev(survivor) + "[0-9]*," + dev(other) + "," + dev(other) + "[0-9]*"; }
};
const Node kOursNode{"vda", "vdb"}, kManualNode{"vdc", "vdd"};

// mos_sysvol on one node's disks only (the other node's are not its business).
json sysvol_step(const Node& n, int expect_exit) {
  json s = exec_step({"/bin/mos_sysvol", "--json", "--allow-devices", n.allowed()}, 240000);
  s["expect_exit"] = expect_exit;
  return s;
}

// The devid of MOSDATA's btrfs on disk a (partition 5 of the image): the manual side replaces the
// other, missing one by its devid, as `btrfs filesystem show` would tell an operator.
uint64_t survivor_devid(const std::string& image) {
  const json parts = json::parse(peer_output({"sfdisk", "--json", image}))["partitiontable"]["partitions"];
  if (parts.size() != 5) throw std::runtime_error(image + ": not the five partitions of a MOS disk");
  fsmake::probe::BtrfsSuperblockHead sb{};
  std::ifstream in(image, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(parts[4]["start"].get<uint64_t>() * 512 + fsmake::probe::kBtrfsCopyOffsets[0]));
  in.read(reinterpret_cast<char*>(&sb), sizeof sb);
  if (!in || std::memcmp(sb.magic, "_BHRfS_M", 8) != 0) throw std::runtime_error(image + ": no btrfs on partition 5");
  uint64_t devid = 0;
  std::memcpy(&devid, sb.dev_item_head, sizeof devid);  // little-endian, as this host
  return devid;
}

// The steps both sides share before the timed part: a degraded boot and the data written then.
// A preallocated filler larger than the node's first data chunk (RAID1, ~600 MiB) makes the
// degraded kernel allocate a single chunk, where the file lands; the filler is removed again, so
// what is converted back is the file (as in tests/vm/vm_replace_disk_test.cpp).
void degraded_start(Script& sc, const Node& n, uint64_t data_bytes) {
  const std::string filler = std::string(kData) + "/filler";
  sc.add(sysvol_step(n, 2));
  sc.add(exec_step({tool_path("fallocate"), "-l", "640M", filler}));
  sc.add({{"op", "write_file"}, {"path", std::string(kData) + "/degraded.bin"}, {"bytes", data_bytes}, {"seed", 7}});
  sc.add(exec_step({tool_path("rm"), filler}));
  sc.add({{"op", "sync"}});
}

// Untimed, after each side: the state full redundancy means. Returns the first step's index.
size_t add_checks(Script& sc) {
  const size_t first = sc.steps.size();
  sc.add({{"op", "read_file"}, {"path", "/proc/mdstat"}, {"text", true}});
  sc.add(exec_step({tool_path("btrfs"), "filesystem", "df", kData}));
  sc.add({{"op", "read_file"}, {"path", "/proc/swaps"}, {"text", true}});
  return first;
}

void expect_redundant(const VmResult& r, size_t first, const Node& n, const std::string& side) {
  const std::string mdstat = r.step(first)->value("text", "");
  const std::string df = r.step(first + 1)->value("stdout", "");
  const std::string swaps = r.step(first + 2)->value("text", "");
  size_t two = 0;
  for (size_t at = mdstat.find("[UU]"); at != std::string::npos; at = mdstat.find("[UU]", at + 1)) ++two;
  std::string wrong;
  if (two != 2 || mdstat.find("recovery") != std::string::npos || mdstat.find("resync") != std::string::npos)
    wrong += "md arrays not both whole and idle:\n" + mdstat;
  if (df.find("Data, single") != std::string::npos || df.find("Metadata, single") != std::string::npos)
    wrong += "single chunks left:\n" + df;
  if (swaps.find(n.dev(n.other, 4)) == std::string::npos) wrong += "the new disk's swap is not on:\n" + swaps;
  if (!wrong.empty()) throw std::runtime_error(side + " did not reach full redundancy: " + wrong);
}

// Ours: the daemon allowed this node's disks and the arrays, replace-disk timed, then the checks.
size_t add_ours(Script& sc, uint64_t data_bytes, unsigned rep) {
  const Node& n = kOursNode;
  degraded_start(sc, n, data_bytes);
  sc.add({{"op", "mkdir"}, {"path", "/run/d"}, {"mode", 0700}});
  sc.add({{"op", "spawn"},
          {"name", "d"},
          {"argv", {"/bin/mos_volmgrd", "--socket", kSocket, "--run-dir", "/run/d/run", "--state-dir", "/tmp/d",
                    "--allow-devices", n.dev(n.survivor) + "*," + n.dev(n.other) + "*,/dev/md*"}}});
  sc.add({{"op", "wait_text"}, {"path", "/tmp/spawn-d.stderr"}, {"text", "listening on"}});
  sc.add_timed(exec_step({"/bin/mos-volmgr", "--socket", kSocket, "replace-disk", n.dev(n.other), "--wait", "--json"},
                         1200000),
               kOurs, rep);
  const size_t checks = add_checks(sc);
  sc.add({{"op", "signal"}, {"name", "d"}, {"signal", 15}});
  sc.add({{"op", "wait_exit"}, {"name", "d"}});
  return checks;
}

// The manual procedure, each tool an exec step, all timed; then the same checks.
size_t add_manual(Script& sc, uint64_t data_bytes, uint64_t missing_devid, unsigned rep) {
  const Node& n = kManualNode;
  const std::string sgdisk = tool_path("sgdisk"), mdadm = tool_path("mdadm"), btrfs = tool_path("btrfs");
  degraded_start(sc, n, data_bytes);
  auto timed = [&](std::vector<std::string> argv) { sc.add_timed(exec_step(std::move(argv), 1200000), kManual, rep); };
  timed({sgdisk, "-R", n.dev(n.other), n.dev(n.survivor)});
  timed({sgdisk, "-G", n.dev(n.other)});
  timed({mdadm, "/dev/md_mosefi", "--add", n.dev(n.other, 2)});
  timed({mdadm, "/dev/md_mosboot", "--add", n.dev(n.other, 3)});
  // --wait exits 1 for an array that had nothing left to wait for: the checks below judge.
  json wait = exec_step({mdadm, "--wait", "/dev/md_mosefi", "/dev/md_mosboot"}, 1200000);
  wait["any_outcome"] = true;
  sc.add_timed(wait, kManual, rep);
  timed({btrfs, "replace", "start", "-B", std::to_string(missing_devid), n.dev(n.other, 5), kData});
  timed({btrfs, "balance", "start", "-dconvert=raid1,soft", "-mconvert=raid1,soft", kData});
  timed({tool_path("mkswap"), "-L", "MOSSWAP", n.dev(n.other, 4)});
  timed({tool_path("swapon"), n.dev(n.other, 4)});
  return add_checks(sc);
}

}  // namespace

std::string replace_disk_unavailable() {
  if (!rpc::make_registry().find("storage.replace_disk")) return "storage.replace_disk is not in this build";
  return "";
}

void run_replace_disk(const Config& cfg, std::vector<Measured>& rows) {
  // --short (CI): a few MiB written while degraded, and ours only: CI checks that our operation
  // still runs, and both sides are ~20 s of TCG each (the md rebuild of the 1 GiB boot array and
  // the 100 MiB ESP array is the floor either way); the manual side is the reference of full runs.
  const uint64_t data_bytes = cfg.short_run ? (16ull << 20) : (256ull << 20);
  const bool ours = rows[kOurs].unavailable.empty(), manual = !cfg.short_run;
  for (unsigned rep = 0; rep < cfg.reps && (ours || manual); ++rep) {
    Images images(vm_dir(cfg, "replace"));
    auto img = [&](const std::string& name) { return images.dir + "/" + name + ".img"; };
    // The nodes provisioned in one guest, one after the other (the arrays' names are fixed).
    Script provision;
    if (ours) provision.add(sysvol_step(kOursNode, 0));
    if (ours && manual) provision.add({{"op", "release"}});
    if (manual) provision.add(sysvol_step(kManualNode, 0));
    run_script(node_spec("bench_replace_nodes", {img("x-a"), img("x-b"), img("y-a"), img("y-b")}), provision, rows, 0);
    // Both sides in one guest: disk b of each node replaced by a blank disk.
    VmSpec spec = node_spec("bench_replace", {img("x-a"), img("x-new"), img("y-a"), img("y-new")});
    Script sc;
    size_t ours_checks = 0, manual_checks = 0;
    if (ours) {
      ship_file(spec, self_dir() + "/mos_volmgrd", "/bin/mos_volmgrd");
      spec.binaries["/bin/mos-volmgr"] = self_dir() + "/mos-volmgr";
      ours_checks = add_ours(sc, data_bytes, rep);
    }
    if (ours && manual) sc.add({{"op", "release"}});
    if (manual) {
      ship_tools(spec, {"sgdisk", "mdadm", "mkswap", "swapon"});
      manual_checks = add_manual(sc, data_bytes, survivor_devid(img("y-a")) == 1 ? 2 : 1, rep);
    }
    VmResult r = run_script(spec, sc, rows, 0);
    if (ours) expect_redundant(r, ours_checks, kOursNode, "replace-disk");
    if (manual) expect_redundant(r, manual_checks, kManualNode, "the manual procedure");
  }
  if (!manual) rows.erase(rows.begin() + kManual);
}

}  // namespace mos::bench
