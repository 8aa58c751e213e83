// Finding and opening a btrfs filesystem for management: a mounted path, a label (default
// MOSDATA), or its top level (subvolid=5) mounted privately under the run directory when no
// mount of the top level exists. Also the FS_INFO/DEV_INFO facts every other file of engine/btrfs/ uses.
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
  std::string path;          // empty when the device is missing
  uint64_t total_bytes = 0;  // size btrfs uses on this device
  uint64_t bytes_used = 0;   // allocated to chunks
};

// Directory fd on a mounted btrfs path: -32002 if the path does not exist, -32001 if it is not
// on a btrfs filesystem (so nothing is attempted on e.g. an unmounted mount point).
io::Fd open_btrfs_path(const std::string& path);
// Like open_btrfs_path, and additionally requires `path` to be a mount point of btrfs.
io::Fd open_btrfs_mount(const std::string& path);

FsFacts fs_facts(const io::Fd& fs);
// Present devices ordered by devid (DEV_INFO for 1..max_id; holes are skipped).
std::vector<DeviceFacts> device_facts(const io::Fd& fs);
// Device size from BLKGETSIZE64, 0 if it cannot be opened.
uint64_t block_device_size(const std::string& dev);

// The top level (subvolid 5) of a btrfs filesystem, opened as a directory. If no mount of the
// top level exists, it is mounted under <run_dir>/mnt/<fsid> for as long as any TopLevel of
// that filesystem lives (reference-counted in this process), then unmounted.
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

 private:
  friend TopLevel open_top_level(const std::optional<std::string>&, const Context&);
  io::Fd fd_;
  std::string path_;
  std::string fsid_;
  bool private_ = false;
};

// filesystem: a path on a mounted btrfs, or a label; nullopt = label MOSDATA. A label is looked
// for only on devices ctx.policy allows, and the private mount goes under ctx.run_dir.
TopLevel open_top_level(const std::optional<std::string>& filesystem, const Context& ctx);

// A change to a filesystem named by a path on it: every member must be allowed by ctx.policy
// (a label is only ever resolved to allowed devices). Throws -32001 to refuse.
void judge_named_filesystem(const std::optional<std::string>& filesystem, const Context& ctx);

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
