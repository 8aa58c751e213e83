#include "engine/mount_target.hpp"

#include "ioctl/beneath.hpp"
#include "base/error.hpp"

namespace mos::engine {
namespace {

std::vector<std::string> components_of(const std::string& clean) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start < clean.size()) {
    size_t slash = clean.find('/', start);
    if (slash == std::string::npos) slash = clean.size();
    out.push_back(clean.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool at_or_beneath(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path.compare(0, dir.size(), dir) == 0 && (path.size() == dir.size() || path[dir.size()] == '/');
}

}  // namespace

std::string checked_target(const std::string& target) {
  if (target.empty() || target[0] != '/') throw_validation("mount target '" + target + "' must be an absolute path", target);
  std::string clean;
  size_t start = 1;
  while (start <= target.size()) {
    size_t slash = target.find('/', start);
    std::string part = target.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    start = slash == std::string::npos ? target.size() + 1 : slash + 1;
    if (part.empty()) continue;
    if (part == ".." || part == ".")
      throw_validation("mount target '" + target + "' must not contain '" + part + "' components", target);
    clean += "/";
    clean += part;
  }
  return clean.empty() ? "/" : clean;
}

MountTarget open_mount_target(const std::string& target, const std::vector<std::string>& prefixes, bool create) {
  const std::string clean = checked_target(target);
  if (clean == "/") throw_validation("/ is never a mount target", target);
  for (const char* kernel_tree : {"/proc", "/sys", "/dev"})
    if (at_or_beneath(clean, kernel_tree))
      throw_validation(clean + " lies in " + kernel_tree + " (a kernel pseudo-filesystem): never a mount target", target);
  std::string matched;
  std::string listed;
  for (const auto& given : prefixes) {
    if (!listed.empty()) listed += ", ";
    listed += given;
    if (given.empty() || given[0] != '/') continue;
    const std::string prefix = checked_target(given);
    if (prefix == "/") continue;  // "/" would allow everything: never a prefix
    if (at_or_beneath(clean, prefix)) matched = prefix;
  }
  if (matched.empty()) {
    std::string msg = "mount target ";
    msg += clean;
    msg += " is not at or beneath an allowed prefix (";
    msg += listed.empty() ? "none" : listed;
    msg += "; the daemon's --mount-prefix)";
    throw_validation(msg, target);
  }
  const std::vector<std::string> names = components_of(clean);
  // Allowed: its missing directories may be made (the prefix's own missing ancestors too: the
  // prefixes are the operator's, and a boot-time tree may not have /var/cache yet).
  io::Fd dir = io::open_dir_no_symlinks(names, create ? 0 : names.size());
  if (io::on_pseudo_filesystem(dir))
    throw_validation(clean + " lies on a kernel pseudo-filesystem: never a mount target", target);
  return MountTarget{std::move(dir), clean};
}

}  // namespace mos::engine
