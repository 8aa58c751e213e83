#include "engine/btrfs_uuid.hpp"

#include <algorithm>

#include "engine/inventory_cache.hpp"
#include "ioctl/error.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine {

std::string btrfs_fsid_user(const io::Uuid& fsid, const std::vector<std::string>& members, const Context& ctx,
                            bool settle) {
  const std::string text = io::uuid_text(fsid);
  std::string sysfs = "/sys/fs/btrfs/";
  sysfs += text;
  if (io::sysfs_exists(sysfs)) return std::string("a mounted btrfs (").append(sysfs).append(")");
  for (const auto& [device, id] : known_btrfs_fsids(ctx, settle))
    if (id == text && std::find(members.begin(), members.end(), device) == members.end()) return device;
  return "";
}

io::Uuid unique_btrfs_fsid(const std::optional<io::Uuid>& requested, const std::function<io::Uuid()>& draw,
                           const std::vector<std::string>& members, const Context& ctx) {
  if (requested) {
    std::string user = btrfs_fsid_user(*requested, members, ctx);
    if (user.empty()) return *requested;
    std::string msg = "btrfs uuid ";
    msg += io::uuid_text(*requested);
    msg += " is not unique: ";
    msg += user;
    msg += " already uses it; give another uuid or none (a random one)";
    throw_validation(msg, members.empty() ? "" : members.front());
  }
  // A random collision is all but impossible; a bound keeps a broken generator from looping.
  for (int attempt = 0; attempt < 16; ++attempt) {
    io::Uuid fsid = draw();
    if (btrfs_fsid_user(fsid, members, ctx, false).empty()) return fsid;
  }
  throw Error(ErrorCode::storage_failed, "no unused random btrfs uuid after 16 draws",
              members.empty() ? "" : members.front());
}

}  // namespace mos::engine
