// Volumes for VMs and containers, kept in one btrfs subvolume of a mounted filesystem (MOSDATA):
// `fs` volumes are subvolumes, `block` volumes are raw image files. Every entry is built under an
// in-progress name (names.hpp) and renamed last, and removed by renaming it away first, so a
// crash leaves either no volume or a complete one. Everything is reached by *at() calls from the
// one directory handle opened and judged at open(): no path is walked twice and no name can
// leave the directory (names.hpp; O_NOFOLLOW on every open). What a volume is (kind, origin,
// creation time) is kept in the `user.mos.volume` xattr of the entry itself, written before the
// rename that makes it visible.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "engine/volumes/limits.hpp"
#include "ioctl/fd.hpp"

namespace mos::engine::volumes {

enum class Kind { fs, block };
const char* kind_name(Kind k);
Kind parse_kind(const std::string& text);  // -32602 unless "fs" or "block"

struct Volume {
  std::string name;
  Kind kind = Kind::block;
  std::string path;                   // absolute, for the hypervisor (open or attach it)
  uint64_t size = 0;                  // block: image bytes; fs: 0
  int64_t created_unix = 0;
  std::optional<std::string> origin;  // the volume it was cloned or snapshotted from
  bool snapshot = false;              // a read-only point-in-time copy
  // block: bytes of the image's extents on disk, shared with another file (a clone, a snapshot)
  // or this image's alone (FIEMAP; holes count for neither).
  std::optional<uint64_t> exclusive_bytes, shared_bytes;
  std::optional<std::string> attached;  // block: the loop device backed by it (found, not remembered)
  Limit limit;                          // fs: its size limit (limits.hpp), read from the kernel
};

struct CreateRequest {
  std::string name;
  Kind kind = Kind::block;
  uint64_t size = 0;   // block: > 0, a multiple of 512
  uint64_t limit = 0;  // fs: max referenced bytes (limits.hpp); 0 = none
};

// A dry run: the operation validates exactly as the real call (same refusals, same codes), writes
// nothing, and lists here what it would do.
struct DryRun {
  std::vector<std::string> actions;
};

class Store {
 public:
  // `parent` is a directory on a mounted btrfs whose every member ctx.policy allows (judged on
  // the handle kept); the volumes live in its subvolume `subvolume`, created when `create` is set
  // and it is missing (-32002 otherwise).
  static Store open(const std::string& parent, const std::string& subvolume, const Context& ctx, bool create);
  // For a dry run: the same judgement, but a missing volumes subvolume is not made; the store
  // answers as the empty one the real call would make (absent()).
  static Store open_for_dry_run(const std::string& parent, const std::string& subvolume, const Context& ctx);
  bool absent() const { return !dir_.valid(); }
  // Limits enable classic qgroups even where simple quotas exist (Context::volumes_classic_qgroups).
  bool classic_qgroups() const { return classic_qgroups_; }

  const std::string& path() const { return path_; }
  // Idempotent: the same name with the same kind and size answers the existing volume; any other
  // difference is refused (-32001) and nothing is written. Every change takes `dry` (null: do it).
  Volume create(const CreateRequest& req, DryRun* dry = nullptr);
  // A writable copy sharing every extent with `origin` (block: FICLONE; fs: snapshot), constant
  // time whatever the size. snapshot(): the same, read-only (block: immutable file).
  // An fs clone starts without a limit (resize sets one).
  Volume clone(const std::string& origin, const std::string& name, DryRun* dry = nullptr);
  Volume snapshot(const std::string& origin, const std::string& name, DryRun* dry = nullptr);
  Volume show(const std::string& name) const;
  std::vector<Volume> list() const;  // by name; at most kMaxVolumes
  // Refused (-32001, nothing changed) while the volume is attached to a loop device or mounted,
  // or while another volume's attachment holds it. Returns what was removed.
  Volume remove(const std::string& name, DryRun* dry = nullptr);
  // The volume's entry opened with `flags` (O_NOFOLLOW added): -32602 for a bad name, -32002 when
  // missing, -32001 for a link.
  io::Fd open_volume(const std::string& name, int flags) const;

  // Removes the in-progress entries a crash left (returns how many) and makes every block
  // snapshot immutable again (a crash can leave one without the flag).
  size_t sweep_incomplete();

 private:
  enum class Missing { refuse, create, absent };
  static Store open_as(const std::string& parent, const std::string& subvolume, const Context& ctx, Missing missing);
  Store(io::Fd dir, std::string path, io::Fd parent = {})
      : dir_(std::move(dir)), path_(std::move(path)), parent_(std::move(parent)) {}
  Volume copy(const std::string& origin, const std::string& name, bool read_only, DryRun* dry);
  Volume describe(const std::string& name) const;

  io::Fd dir_;  // O_RDONLY|O_DIRECTORY of the volumes subvolume; invalid when absent()
  std::string path_;
  io::Fd parent_;  // absent(): the judged parent, to ask the filesystem about quota
  bool classic_qgroups_ = false;
};

inline constexpr size_t kMaxVolumes = 100000;  // list() refuses beyond: a bound, not a quota

}  // namespace mos::engine::volumes
