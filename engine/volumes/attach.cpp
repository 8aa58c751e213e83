#include "engine/volumes/attach.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"
#include "engine/volumes/holders.hpp"
#include "ioctl/loop.hpp"
#include "ioctl/mountinfo.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine::volumes {

namespace {

std::string link_dir(const Context& ctx) { return ctx.run_dir + "/volumes"; }

// <run_dir>/volumes/<name> -> device, replaced atomically (a symlink beside it, then rename).
void write_link(const Context& ctx, const std::string& name, const std::string& device) {
  const std::string dir = link_dir(ctx);
  if (::mkdir(ctx.run_dir.c_str(), 0755) != 0 && errno != EEXIST) throw_sys("mkdir", ctx.run_dir, errno);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) throw_sys("mkdir", dir, errno);
  const std::string tmp = dir + "/." + name + ".new";
  ::unlink(tmp.c_str());
  if (::symlink(device.c_str(), tmp.c_str()) != 0) throw_sys("symlink", tmp, errno);
  if (::rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) throw_sys("rename", tmp, errno);
}

void remove_link(const Context& ctx, const std::string& name) { ::unlink((link_dir(ctx) + "/" + name).c_str()); }

bool loop_read_only(const std::string& device) {
  auto ro = io::sysfs_u64("/sys/block/" + device.substr(device.rfind('/') + 1) + "/ro");
  return ro && *ro == 1;
}

}  // namespace

Attachment attach(const Store& store, const std::string& name, bool read_only, bool direct_io, const Context& ctx,
                  DryRun* dry) {
  Volume v = store.show(name);
  if (v.kind != Kind::block) throw_validation("volume '" + name + "' is an fs volume: mount it, it is not attached", v.path);
  const bool ro = read_only || v.snapshot;
  io::Fd image = store.open_volume(name, ro ? O_RDONLY : O_RDWR);
  Attachment a;
  a.link = link_dir(ctx) + "/" + name;
  if (auto dev = attached_loop(image)) {
    a.device = *dev;
    a.read_only = loop_read_only(*dev);
    if (a.read_only != ro)
      throw_validation("volume '" + name + "' is attached to " + *dev + (a.read_only ? " read-only" : " read-write") +
                 "; detach it first to attach it otherwise", v.path);
    a.already = true;
  } else if (dry) {
    dry->actions.push_back("attach " + v.path + " to a free loop device" + (ro ? " read-only" : "") +
                           (direct_io ? " with direct I/O where the kernel can" : ""));
    a.read_only = ro;
  } else {
    io::LoopOptions o;
    o.direct_io = direct_io;
    o.read_only = ro;
    a.device = io::loop_attach(image, v.path, o);
    a.read_only = ro;
  }
  if (dry) {
    dry->actions.push_back("point the link " + a.link + " at " + (a.device.empty() ? "it" : a.device));
    if (!a.device.empty()) a.direct_io = io::loop_direct_io(a.device);
    return a;
  }
  a.direct_io = io::loop_direct_io(a.device);
  write_link(ctx, name, a.device);
  return a;
}

Detached detach(const Store& store, const std::string& name, const Context& ctx, DryRun* dry) {
  Volume v = store.show(name);
  io::Fd image = store.open_volume(name, O_RDONLY);
  auto dev = attached_loop(image);
  if (!dev) throw_validation("volume '" + name + "' is not attached", v.path);
  for (const auto& m : io::read_mountinfo())
    if (m.source == *dev) throw_validation(*dev + " (volume '" + name + "') is mounted at " + m.mount_point + "; unmount it first", v.path);
  const std::string node = dev->substr(dev->rfind('/') + 1);
  if (!io::list_dir("/sys/block/" + node + "/holders").empty())
    throw_validation(*dev + " (volume '" + name + "') is held by another block device (md, dm); stop that first", v.path);
  Detached d;
  d.device = *dev;
  if (dry) {
    dry->actions.push_back("detach " + *dev + " and remove the link " + link_dir(ctx) + "/" + name);
    return d;
  }
  io::loop_detach(*dev);
  // With openers left the kernel only marks the device to detach on its last close.
  d.deferred = attached_loop(image).has_value();
  if (!d.deferred) remove_link(ctx, name);
  return d;
}

Volume resize(const Store& store, const std::string& name, uint64_t new_size, bool force, DryRun* dry) {
  Volume v = store.show(name);
  if (v.snapshot) throw_validation("volume '" + name + "' is a snapshot: it is never resized", v.path);
  if (v.kind == Kind::fs) {
    if (dry) {
      v.limit.mode = new_size ? predicted_limit_mode(store.open_volume(name, O_RDONLY), store.classic_qgroups()) : LimitMode::none;
      v.limit.bytes = new_size ? std::optional<uint64_t>(new_size) : std::nullopt;
      dry->actions.push_back(new_size ? "limit " + v.path + " to " + std::to_string(new_size) + " bytes (" +
                                            limit_mode_name(v.limit.mode) + " quota; enabled filesystem-wide if it is off)"
                                      : "remove the limit of " + v.path);
      return v;
    }
    set_limit(store.open_volume(name, O_RDONLY | O_DIRECTORY), new_size, store.classic_qgroups());
    return store.show(name);
  }
  if (new_size == 0 || new_size % 512 != 0)
    throw Error(ErrorCode::invalid_params, "invalid params: 'size' must be a positive multiple of 512");
  if (new_size < v.size && !force)
    throw_validation("volume '" + name + "' would shrink from " + std::to_string(v.size) + " to " + std::to_string(new_size) +
               " bytes, which drops data at its end; pass force to do it",
           v.path);
  io::Fd image = store.open_volume(name, O_RDWR);
  auto dev = attached_loop(image);
  if (dry) {
    dry->actions.push_back("set the size of " + v.path + " to " + std::to_string(new_size) + " bytes" +
                           (dev ? " and tell " + *dev : std::string()));
    v.size = new_size;
    return v;
  }
  if (::ftruncate(image.get(), static_cast<off_t>(new_size)) != 0) throw_sys("resize", v.path, errno);
  image.fsync();
  if (dev) io::loop_set_capacity(*dev);
  return store.show(name);
}

}  // namespace mos::engine::volumes
