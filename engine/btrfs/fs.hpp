// Finding, opening and judging a btrfs filesystem for management: a mounted path, a label
// (default MOSDATA), or its top level (subvolid=5) mounted privately under the run directory when
// no mount of the top level exists (changes only). Also the FS_INFO/DEV_INFO facts every other
// file of engine/btrfs/ uses.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "ioctl/fd.hpp"

namespace mos::engine::btrfs {

inline constexpr const char* kDefaultLabel = "MOSDATA";

struct FsFacts {
  std::string fsid;  // text UUID, as blkid prints it
  std::string label;
  uint64_t num_devices = 0;
  uint64_t max_devid = 0;
  uint32_t nodesize = 0;
  uint32_t sectorsize = 0;
  uint64_t generation = 0;
};

struct DeviceFacts {
  uint64_t devid = 0;
  std::string uuid;
  std::string path;          // empty when the device is missing (even if the kernel kept its old name)
  uint64_t total_bytes = 0;  // size btrfs uses on this device
  uint64_t bytes_used = 0;   // allocated to chunks
};

// Directory fd on a mounted btrfs path: -32002 if the path does not exist, -32001 if it is not
// on a btrfs filesystem (so nothing is attempted on e.g. an unmounted mount point).
io::Fd open_btrfs_path(const std::string& path);
// Like open_btrfs_path, and additionally requires `path` to be a mount point of btrfs (asked
// of the opened directory itself: the root of a mount).
io::Fd open_btrfs_mount(const std::string& path);

// What a path names for a btrfs operation: a mount point (scrub, balance, devices), or any
// directory or regular file on the filesystem (defrag, the filesystem of subvolume calls).
enum class BtrfsPath { mount_point, anywhere };

// A mounted btrfs named by a path, opened once and judged on that handle: ctx.policy allows every
// member the kernel lists for it (BTRFS_IOC_FS_INFO/DEV_INFO on this fd). The caller's ioctls act
// on the returned fd, so a symlink flipped after the judge reaches no other filesystem. Never
// opens a FIFO or a device (O_PATH first). Throws -32002 when path does not exist, -32001 when
// it is not on a mounted btrfs (or not its mount point), or a member is refused.
io::Fd open_judged_btrfs(const std::string& path, const Context& ctx, BtrfsPath what = BtrfsPath::mount_point);

FsFacts fs_facts(const io::Fd& fs);
// Present devices ordered by devid (DEV_INFO for 1..max_id; holes are skipped).
std::vector<DeviceFacts> device_facts(const io::Fd& fs);
// Device size from BLKGETSIZE64, 0 if it cannot be opened.
uint64_t block_device_size(const std::string& dev);

// Whether open_top_level may mount the top level privately when no mount of it exists. Queries
// never mount (not even read-only, not even for an admin): they read through an existing mount
// of any subvolume of the filesystem, or answer "not mounted".
enum class Mounting { private_allowed, never };

// The top level (subvolid 5) of a btrfs filesystem, opened as a directory and judged on that
// handle (every member through ctx.policy). If no mount of the top level exists, it is mounted
// under <run_dir>/mnt/<fsid> for as long as any TopLevel of that filesystem lives
// (reference-counted in this process), then unmounted; with Mounting::never another mount of
// the filesystem is used instead (at_top_level() false).
class TopLevel {
 public:
  TopLevel() = default;
  TopLevel(TopLevel&&) noexcept;
  TopLevel& operator=(TopLevel&&) = delete;
  TopLevel(const TopLevel&) = delete;
  ~TopLevel();

  const io::Fd& fd() const { return fd_; }
  const std::string& path() const { return path_; }  // mount path of the top level
  const std::string& fsid() const { return fsid_; }
  // False when read through a mount of another subvolume (Mounting::never): path() is that mount.
  bool at_top_level() const { return at_top_level_; }

 private:
  friend TopLevel open_top_level(const std::optional<std::string>&, const Context&, Mounting);
  io::Fd fd_;
  std::string path_;
  std::string fsid_;
  bool private_ = false;
  bool at_top_level_ = true;
};

// filesystem: a path on a mounted btrfs, or a label; nullopt = label MOSDATA. A label is looked
// for only on devices ctx.policy allows; either form is then judged whole (every member, mounted
// or not), so both forms give the same answer. The private mount goes under ctx.run_dir.
TopLevel open_top_level(const std::optional<std::string>& filesystem, const Context& ctx,
                        Mounting mounting = Mounting::private_allowed);

// Long operations report progress (done, total in the operation's unit) and poll a cancel
// flag; the job registry adapts these to its JobHandle.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;
using CancelFlag = const std::atomic<bool>*;
// Cancels the caller's queued runs of an operation (never started in the kernel) and returns how
// many there were; the daemon's job registry provides it, other callers have none.
using QueuedCancel = std::function<size_t()>;

// btrfs device ioctls fail with -1/errno or with a positive BTRFS_ERROR_DEV_* code; both become
// a mos::Error naming the call and the path.
void check_btrfs_ioctl(int ret, const std::string& call, const std::string& path);

// Subvolume names: one path component, 1..255 bytes of [A-Za-z0-9._-+@], not "." or "..".
void validate_subvolume_name(const std::string& name, const char* what = "subvolume name");
// Core subvolumes of the system (delete refuses them).
bool is_core_subvolume(const std::string& name);

}  // namespace mos::engine::btrfs
