#include "engine/policy.hpp"

#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "base/error.hpp"
#include "base/text.hpp"
#include "engine/btrfs/fs.hpp"
#include "engine/btrfs/members.hpp"
#include "ioctl/mountinfo.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine {
namespace {

// A stack of devices is a small DAG in sysfs; this bounds the walk whatever sysfs holds.
constexpr size_t kMaxStackDevices = 256;

// Kernel names use '!' where the node path has '/' (cciss!c0d0 → /dev/cciss/c0d0).
std::string dev_path(std::string name) {
  for (auto& c : name)
    if (c == '!') c = '/';
  return "/dev/" + name;
}

std::string name_of_devnum(unsigned maj, unsigned min) {
  auto link = io::read_link("/sys/dev/block/" + std::to_string(maj) + ":" + std::to_string(min));
  return link ? base_name(*link) : std::string();
}

// Kernel name of a block-device node ("/dev/md/mosboot" → "md127"), or "" when not one.
std::string block_name_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return {};
  return name_of_devnum(major(st.st_rdev), minor(st.st_rdev));
}

struct Lower {
  std::string name;
  bool covers;  // writing the upper device writes all of this one (false: partition → its disk)
};

// The devices `name` is built on, one level down.
std::vector<Lower> lower_devices(const std::string& name) {
  std::vector<Lower> out;
  const std::string sys = "/sys/class/block/" + name;
  if (io::sysfs_exists(sys + "/partition")) {
    auto link = io::read_link(sys);  // .../block/<disk>/<partition>
    if (link) out.push_back({base_name(link->substr(0, link->rfind('/'))), false});
  }
  for (const auto& s : io::list_dir(sys + "/slaves")) out.push_back({s, true});
  if (auto backing = io::sysfs_string(sys + "/loop/backing_file")) {
    // A regular backing file is judged by nobody: its filesystem's disk is not written raw.
    std::string lower = block_name_of(*backing);
    if (!lower.empty()) out.push_back({lower, true});
  }
  return out;
}

// The other members of an unmounted multi-device btrfs `name` carries (its superblock names the
// fsid and the member count; every block device carrying that fsid is one): mounting or writing
// one member reaches what the kernel assembles with it.
// `by_fsid` holds the devices of each fsid already scanned in this walk: every member of one
// filesystem names the same fsid, and each scan reads every block device of the node.
std::vector<std::string> unmounted_btrfs_siblings(const std::string& name,
                                                  std::map<std::string, std::vector<std::string>>& by_fsid) {
  std::vector<std::string> out;
  auto sb = btrfs::read_super(dev_path(name));
  if (!sb || sb->num_devices < 2) return out;
  auto it = by_fsid.find(sb->fsid);
  if (it == by_fsid.end()) it = by_fsid.emplace(sb->fsid, btrfs::devices_with_fsid(sb->fsid)).first;
  for (const auto& other : it->second)
    if (other != name) out.push_back(other);
  return out;
}

// Kernel name → the other members of the mounted btrfs it belongs to (/sys/fs/btrfs/<fsid>/devices).
std::map<std::string, std::vector<std::string>> mounted_btrfs_siblings() {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& fsid : io::list_dir("/sys/fs/btrfs")) {
    const std::vector<std::string> members = io::list_dir("/sys/fs/btrfs/" + fsid + "/devices");
    for (const auto& m : members)
      for (const auto& other : members)
        if (other != m) out[m].push_back(other);
  }
  return out;
}

// Every device in the stack of `top` (itself first), with whether a use of the top may reach
// all of it: a partition reaches only its own range of the disk, but below a loop, dm or md
// device we cannot tell which range, so those lowers count whole. A member of a btrfs, mounted
// or not, brings the other members (and their stacks) in whole: using one is using the filesystem.
// Empty when the walk exceeds kMaxStackDevices (the caller refuses).
std::map<std::string, bool> stack_of(const std::string& top) {
  const auto siblings = mounted_btrfs_siblings();
  std::map<std::string, std::vector<std::string>> by_fsid;
  std::map<std::string, bool> seen{{top, true}};
  std::vector<Lower> work = lower_devices(top);
  auto add_siblings = [&](const std::string& name) {
    if (auto it = siblings.find(name); it != siblings.end()) {
      for (const auto& s : it->second) work.push_back({s, true});
      return;
    }
    for (auto& s : unmounted_btrfs_siblings(name, by_fsid)) work.push_back({std::move(s), true});
  };
  add_siblings(top);
  while (!work.empty()) {
    Lower l = work.back();
    work.pop_back();
    auto [it, fresh] = seen.emplace(l.name, l.covers);
    if (!fresh) {
      if (l.covers && !it->second) it->second = true;
      continue;
    }
    if (seen.size() > kMaxStackDevices) return {};
    for (auto& lower : lower_devices(l.name)) work.push_back(std::move(lower));
    add_siblings(l.name);
  }
  return seen;
}

std::vector<std::string> partitions_of(const std::string& name) {
  std::vector<std::string> out;
  for (const auto& child : io::list_dir("/sys/class/block/" + name))
    if (child.rfind(name, 0) == 0 && io::sysfs_exists("/sys/class/block/" + child + "/partition")) out.push_back(child);
  return out;
}

// Devices that may never be written (and, for the root stack, never mounted again) with why.
struct Occupied {
  std::map<std::string, std::string> root;    // name → "holds /" / "is under the device holding /"
  std::map<std::string, std::string> in_use;  // name → "is mounted at X" / "is an active swap device" / ...
};

Occupied occupied_devices() {
  Occupied o;
  std::string root_name;
  for (const auto& m : io::read_mountinfo()) {
    std::string name = m.major != 0 ? name_of_devnum(m.major, m.minor) : std::string();
    if (name.empty() && !m.source.empty() && m.source[0] == '/') name = block_name_of(m.source);
    if (name.empty()) continue;
    o.in_use.emplace(name, "is mounted at " + m.mount_point);
    if (m.mount_point == "/") root_name = name;
  }
  for (const auto& fsid : io::list_dir("/sys/fs/btrfs")) {
    auto members = io::list_dir("/sys/fs/btrfs/" + fsid + "/devices");
    bool holds_root = false;
    for (const auto& dev : members) {
      o.in_use.emplace(dev, "is a member of mounted btrfs " + fsid);
      holds_root = holds_root || dev == root_name;
    }
    if (holds_root)
      for (const auto& dev : members) o.root.emplace(dev, "is a member of the btrfs holding /");
  }
  std::istringstream swaps(io::sysfs_string("/proc/swaps").value_or(""));
  std::string line;
  std::getline(swaps, line);  // header
  while (std::getline(swaps, line)) {
    std::string path = line.substr(0, line.find_first_of(" \t"));
    if (std::string name = block_name_of(path); !name.empty()) o.in_use.emplace(name, "is an active swap device");
  }
  if (!root_name.empty()) {
    o.root.emplace(root_name, "holds the root filesystem /");
    std::map<std::string, std::string> more;
    for (const auto& [name, why] : o.root)
      for (const auto& [lower, covered] : stack_of(name))
        if (lower != name && covered) more.emplace(lower, "is under the device holding /");
    o.root.insert(more.begin(), more.end());
  }
  return o;
}

bool matches_any(const std::vector<std::string>& globs, const std::string& path) {
  for (const auto& g : globs)
    if (fnmatch(g.c_str(), path.c_str(), FNM_PATHNAME) == 0) return true;
  return false;
}

[[noreturn]] void refuse(const std::string& device, const std::string& culprit, const std::string& why,
                         const std::string& what_not) {
  std::string who = culprit == device ? device : device + " stacks on " + culprit + ", which";
  throw Error(ErrorCode::validation, who + " " + why + "; refusing to " + what_not + " it", device);
}

}  // namespace

std::string canonical_device(const std::string& request) {
  if (request.empty()) throw_validation("device path is empty");
  if (request.size() > PATH_MAX) throw_validation("device path is longer than PATH_MAX");
  std::string p = request.find('/') == std::string::npos ? "/dev/" + request : request;
  if (p[0] != '/') throw_validation("device '" + request + "' must be an absolute path or a kernel name", request);
  std::string normal = std::filesystem::path(p).lexically_normal().string();
  if (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  char buf[PATH_MAX];
  std::string name;
  if (::realpath(p.c_str(), buf)) name = block_name_of(buf);
  if (name.empty() && ::realpath(normal.c_str(), buf)) name = block_name_of(buf);
  return name.empty() ? normal : dev_path(name);
}

std::string Policy::judge(const std::string& request, Access access) const {
  const std::string path = canonical_device(request);
  const std::string top = block_name_of(path);
  // One walk of the stack serves the allow list and the occupancy rules below (none when
  // neither needs it: a read with every device allowed).
  const bool walk = !top.empty() && (!allow_devices.empty() || access != Access::read);
  const auto stack = walk ? stack_of(top) : std::map<std::string, bool>{};
  std::string refused = first_refused_in(path, top, stack);
  if (!refused.empty()) {
    std::string globs;
    for (const auto& g : allow_devices) globs += (globs.empty() ? "" : ",") + g;
    std::string what = refused == path ? "device " + path : "device " + path + " stacks on " + refused + ", which";
    if (path != request) what += " (named as " + request + ")";
    throw Error(ErrorCode::validation, what + " is not allowed (daemon runs with --allow-devices '" + globs + "')",
                request);
  }
  if (access == Access::read) return path;
  if (top.empty()) return path;  // not (yet) a device: creating it is judged by name alone
  if (stack.empty()) refuse(path, path, "stacks on more than " + std::to_string(kMaxStackDevices) + " devices", "use");
  // What a write to `top` reaches: every device it covers whole and their partitions.
  // (A partition's disk is reached only in the partition's range: its other partitions are not.)
  std::vector<std::string> touched, partly;
  for (const auto& [name, covers] : stack) {
    if (!covers) {
      partly.push_back(name);
      continue;
    }
    touched.push_back(name);
    if (access == Access::table && name == top) continue;
    for (auto& part : partitions_of(name)) touched.push_back(std::move(part));
  }
  Occupied occ = occupied_devices();
  const char* verb = access == Access::mount ? "mount" : "modify";
  for (const auto& name : touched)
    if (auto it = occ.root.find(name); it != occ.root.end()) refuse(path, dev_path(name), it->second, verb);
  if (access == Access::mount) return path;
  for (const auto& name : touched) {
    if (auto it = occ.in_use.find(name); it != occ.in_use.end()) refuse(path, dev_path(name), it->second, "modify");
    if (name == top) continue;  // the gate judges the device's own holders
    for (const auto& holder : io::list_dir("/sys/class/block/" + name + "/holders"))
      if (!stack.count(holder)) refuse(path, dev_path(name), "is held by " + holder, "modify");
  }
  for (const auto& name : partly)  // a disk mounted whole under its partition table
    if (auto it = occ.in_use.find(name); it != occ.in_use.end()) refuse(path, dev_path(name), it->second, "modify");
  return path;
}

bool Policy::allowed(const std::string& device_path) const { return first_refused(device_path).empty(); }

bool Policy::names(const std::string& device_path) const {
  return allow_devices.empty() || matches_any(allow_devices, canonical_device(device_path));
}

std::string Policy::first_refused(const std::string& device_path) const {
  if (allow_devices.empty()) return {};
  const std::string path = canonical_device(device_path);
  const std::string top = block_name_of(path);
  return first_refused_in(path, top, top.empty() ? std::map<std::string, bool>{} : stack_of(top));
}

std::string Policy::first_refused_in(const std::string& path, const std::string& top,
                                     const std::map<std::string, bool>& stack) const {
  if (allow_devices.empty()) return {};
  auto glob_ok = [&](const std::string& p) { return matches_any(allow_devices, p); };
  if (!glob_ok(path)) return path;
  if (top.empty()) return {};  // not (yet) a block device: the path alone decides
  if (stack.empty()) return path;  // absurd stack: refuse
  for (const auto& [name, covers] : stack)
    if (!glob_ok(dev_path(name))) return dev_path(name);
  return {};
}

void Policy::require_allowed(const std::string& device_path) const { judge(device_path, Access::read); }

Policy Policy::from_globs(const std::string& s) {
  Policy p;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string g = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!g.empty()) p.allow_devices.push_back(g);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return p;
}

// btrfs methods name a filesystem by a path on it, the policy names devices: the filesystem is
// allowed only when every member is.
void Policy::judge_btrfs(const io::Fd& fs, Access access) const {
  for (const auto& d : btrfs::device_facts(fs))
    if (!d.path.empty()) judge(d.path, access);
}

void refuse_read_only(const std::string& path, bool read_only) {
  if (read_only) throw_validation(path + " is read-only", path);
}

}  // namespace mos::engine
