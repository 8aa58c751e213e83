// Block volumes as loop devices for a hypervisor: attach (LOOP_CONFIGURE, direct I/O where the
// filesystem allows it, read-only on request and always for a snapshot), detach, and resize
// (LOOP_SET_CAPACITY tells an attached device). An attachment is not remembered anywhere: it is
// the loop device whose backing file is the image (holders.hpp), so a restarted daemon finds it.
// A stable name for it: the symlink <run_dir>/volumes/<name> -> /dev/loopN.
#pragma once
#include <cstdint>
#include <string>

#include "engine/context.hpp"
#include "engine/volumes/store.hpp"

namespace mos::engine::volumes {

struct Attachment {
  std::string device;  // /dev/loopN
  std::string link;    // <run_dir>/volumes/<name>
  bool read_only = false;
  bool direct_io = false;  // as the kernel runs it (it falls back to buffered I/O when it must)
  bool already = false;    // it was attached before this call (attach is idempotent)
};

// Refused (-32001) for an fs volume, or when attached with the other read-only setting. Each
// change takes `dry` (store.hpp; null: do it). A dry run of a new attachment has no device.
Attachment attach(const Store& store, const std::string& name, bool read_only, bool direct_io, const Context& ctx,
                  DryRun* dry = nullptr);
// Refused (-32001) when not attached, or while the loop device is mounted or held by another
// block device. A device some process still has open is detached when it closes it (the
// kernel's deferred detach): `deferred` says so.
struct Detached {
  std::string device;
  bool deferred = false;
};
Detached detach(const Store& store, const std::string& name, const Context& ctx, DryRun* dry = nullptr);

// Grows a block volume to new_size (a multiple of 512); smaller only with `force`; a snapshot
// never. An attached loop device is told the new size. For an fs volume new_size is its limit
// (limits.hpp; 0 removes it).
Volume resize(const Store& store, const std::string& name, uint64_t new_size, bool force, DryRun* dry = nullptr);

}  // namespace mos::engine::volumes
