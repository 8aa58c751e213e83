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
};

struct CreateRequest {
  std::string name;
  Kind kind = Kind::block;
  uint64_t size = 0;  // block: > 0, a multiple of 512
};

class Store {
 public:
  // `parent` is a directory on a mounted btrfs whose every member ctx.policy allows (judged on
  // the handle kept); the volumes live in its subvolume `subvolume`, created when `create` is set
  // and it is missing (-32002 otherwise).
  static Store open(const std::string& parent, const std::string& subvolume, const Context& ctx, bool create);

  const std::string& path() const { return path_; }
  // Idempotent: the same name with the same kind and size answers the existing volume; any other
  // difference is refused (-32001) and nothing is written.
  Volume create(const CreateRequest& req);
  // A writable copy sharing every extent with `origin` (block: FICLONE; fs: snapshot), constant
  // time whatever the size. snapshot(): the same, read-only (block: immutable file).
  Volume clone(const std::string& origin, const std::string& name);
  Volume snapshot(const std::string& origin, const std::string& name);
  Volume show(const std::string& name) const;
  std::vector<Volume> list() const;  // by name; at most kMaxVolumes
  // Refused (-32001, nothing changed) while the volume is attached to a loop device or mounted,
  // or while another volume's attachment holds it. Returns what was removed.
  Volume remove(const std::string& name);
  // The volume's entry opened with `flags` (O_NOFOLLOW added): -32602 for a bad name, -32002 when
  // missing, -32001 for a link.
  io::Fd open_volume(const std::string& name, int flags) const;

  // Removes the in-progress entries a crash left (returns how many) and makes every block
  // snapshot immutable again (a crash can leave one without the flag).
  size_t sweep_incomplete();

 private:
  Store(io::Fd dir, std::string path) : dir_(std::move(dir)), path_(std::move(path)) {}
  Volume copy(const std::string& origin, const std::string& name, bool read_only);
  Volume describe(const std::string& name) const;

  io::Fd dir_;  // O_RDONLY|O_DIRECTORY of the volumes subvolume
  std::string path_;
};

inline constexpr size_t kMaxVolumes = 100000;  // list() refuses beyond: a bound, not a quota

}  // namespace mos::engine::volumes
