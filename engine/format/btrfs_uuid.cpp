#include "engine/format/btrfs_uuid.hpp"

#include <algorithm>

#include "engine/inventory/cache.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine {

std::string btrfs_fsid_user(const mos::Uuid& fsid, const std::vector<std::string>& members, const Context& ctx,
                            bool settle) {
  const std::string text = mos::uuid_text(fsid);
  std::string sysfs = "/sys/fs/btrfs/";
  sysfs += text;
  if (io::sysfs_exists(sysfs)) return std::string("a mounted btrfs (").append(sysfs).append(")");
  for (const auto& [device, id] : known_btrfs_fsids(ctx, settle))
    if (id == text && std::find(members.begin(), members.end(), device) == members.end()) return device;
  return "";
}

mos::Uuid unique_btrfs_fsid(const std::optional<mos::Uuid>& requested, const std::function<mos::Uuid()>& draw,
                           const std::vector<std::string>& members, const Context& ctx) {
  if (requested) {
    std::string user = btrfs_fsid_user(*requested, members, ctx);
    if (user.empty()) return *requested;
    std::string msg = "btrfs uuid ";
    msg += mos::uuid_text(*requested);
    msg += " is not unique: ";
    msg += user;
    msg += " already uses it; give another uuid or none (a random one)";
    throw_validation(msg, members.empty() ? "" : members.front());
  }
  // A random collision is all but impossible; a bound keeps a broken generator from looping.
  for (int attempt = 0; attempt < 16; ++attempt) {
    mos::Uuid fsid = draw();
    if (btrfs_fsid_user(fsid, members, ctx, false).empty()) return fsid;
  }
  throw Error(ErrorCode::storage_failed, "no unused random btrfs uuid after 16 draws",
              members.empty() ? "" : members.front());
}

}  // namespace mos::engine
