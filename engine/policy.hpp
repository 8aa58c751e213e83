// Device policy, its one home: may this device be touched, and how. The --allow-devices globs
// over a device's whole stack, the device holding / and anything mounted, swapped on or in a
// mounted btrfs, a btrfs named by a path on it, and read-only devices. Every engine entry point
// asks here before it touches a device (daemon, mos_sysvol, bench and tests alike).
#pragma once
#include <map>
#include <string>
#include <vector>

namespace mos::io {
class Fd;
}

namespace mos::engine {

// How an operation uses a device; the policy judges each one differently.
enum class Access {
  read,   // checksum, probe, inspect: the allow list over the whole stack
  mount,  // and never the device holding / nor anything it stacks on
  write,  // and nothing in the stack mounted, active swap or a member of a mounted btrfs
  table,  // write to a disk's partition table: like write, but the disk's own partitions may be
          // in use (adding or growing one next to mounted ones); the change judges its partition
};

// The device a request names, as the node the kernel knows ("/dev/<kernel name>"): bare names
// ("loop7"), symlinks (by-id, /dev/md/x), "..", "//" and device nodes made outside /dev all
// resolve to it. A path that names no block device comes back lexically normalised (an md
// array about to be created is judged by its future name).
std::string canonical_device(const std::string& request);

// --allow-devices: operations only touch devices matching one of these globs — the device itself
// and everything it stacks on (partition → whole disk, md/dm → slaves, loop → its backing device
// or a backing file that is itself a device node), so a partition, an array or a loop alias
// cannot smuggle in a disk the policy leaves out; a member of a mounted btrfs brings in the other
// members. Globs match canonical names (/dev/NAME).
// Whatever the globs say, the device holding / (and everything under it) is never mounted or
// written, and a mounted or swapping device is never written (Access).
struct Policy {
  std::vector<std::string> allow_devices;  // fnmatch(3) globs; empty = every device

  // The one verdict every method asks for before it touches a device (engine and mos_sysvol
  // alike): canonicalises `request`, judges it for `access` and returns the canonical path to
  // open. Throws -32001 naming the device, the lower device that decided and the rule.
  std::string judge(const std::string& request, Access access) const;

  // A mounted btrfs, opened (a directory or file on it; btrfs::open_judged_btrfs opens paths):
  // every member device the kernel lists is judged as judge() judges a device for `access` (so
  // with its stack and the other members), on the handle that acts. Throws -32001 naming the
  // member and the rule.
  void judge_btrfs(const io::Fd& fs, Access access) const;

  bool allowed(const std::string& device_path) const;
  // The allow list matches the device itself (its stack may still be refused): where a label
  // is looked for.
  bool names(const std::string& device_path) const;
  // judge(device_path, Access::read) without the returned path.
  void require_allowed(const std::string& device_path) const;
  // The first device in the stack of device_path that no glob matches ("" when all match).
  std::string first_refused(const std::string& device_path) const;
  // The same for a canonical path, its kernel name (top, "" when no block device) and
  // stack_of(top), computed by the caller once.
  std::string first_refused_in(const std::string& path, const std::string& top,
                               const std::map<std::string, bool>& stack) const;
  // "a,b" -> {"a","b"}
  static Policy from_globs(const std::string& comma_separated);
};

// The read-only check of every writer (safety gate, member and disk opens, zero, raid members):
// throws -32001 "<path> is read-only" when the kernel says the device is.
void refuse_read_only(const std::string& path, bool read_only);

}  // namespace mos::engine
