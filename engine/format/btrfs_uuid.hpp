// A new btrfs must not share its fsid with another btrfs as mkfs.btrfs refuses a non-unique one: the kernel would
// take the members of both for one filesystem. Checked before the first write, as mkfs.btrfs
// does ("non-unique UUID").
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "base/uuid.hpp"

namespace mos::engine {

// Where `fsid` is already used: "mounted (/sys/fs/btrfs/<fsid>)" or the first visible device
// carrying it (engine::known_btrfs_fsids) other than `members` (about to be overwritten); ""
// when nowhere. settle = false: the devices as the daemon's model holds them now (no wait for
// pending changes, no rebuild), enough for a random fsid (known_btrfs_fsids).
std::string btrfs_fsid_user(const mos::Uuid& fsid, const std::vector<std::string>& members, const Context& ctx,
                            bool settle = true);

// The fsid for a new btrfs over `members`: `requested` when unused, else validation naming who
// uses it; without a request, draw() again until an unused one comes (checked against mounted
// filesystems and the daemon's model as it stands: a random 122-bit collision needs no fresh
// rescan).
mos::Uuid unique_btrfs_fsid(const std::optional<mos::Uuid>& requested, const std::function<mos::Uuid()>& draw,
                           const std::vector<std::string>& members, const Context& ctx);

}  // namespace mos::engine
