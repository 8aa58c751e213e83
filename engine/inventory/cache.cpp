#include "engine/inventory/cache.hpp"

#include <sys/stat.h>

#include <map>
#include <optional>

#include "engine/btrfs/json.hpp"
#include "engine/health/health_cache.hpp"
#include "engine/inventory/content.hpp"
#include "engine/inventory/events.hpp"
#include "engine/inventory/monitor.hpp"
#include "base/error.hpp"

namespace mos::engine {
namespace {

// Content facts come from reading the device; everything else from sysfs and mountinfo.
void copy_content(const Device& from, Device& to) {
  to.partlabel = from.partlabel;
  to.partuuid = from.partuuid;
  to.parttype = from.parttype;
  to.parttype_name = from.parttype_name;
  to.pttype = from.pttype;
  to.ptuuid = from.ptuuid;
  to.fstype = from.fstype;
  to.label = from.label;
  to.uuid = from.uuid;
  to.fsversion = from.fsversion;
  to.usage = from.usage;
}

std::string disk_of(const Device& d) { return d.parent ? d.parent->substr(5) : d.name; }

// Publishes what differs between two keyed lists: add/remove and `changed` for the rest.
template <class T, class Key>
void publish_diff(const EventBus& bus, const std::string& topic, const std::vector<T>& before,
                  const std::vector<T>& after, Key key, const char* added, const char* removed, const char* changed) {
  std::map<std::string, json> old_by_key, new_by_key;
  for (const auto& x : before) old_by_key[key(x)] = json(x);
  for (const auto& x : after) new_by_key[key(x)] = json(x);
  for (auto& [k, j] : new_by_key) {
    auto it = old_by_key.find(k);
    if (it == old_by_key.end()) bus.publish(Event{topic, added, j});
    else if (changed && it->second != j) bus.publish(Event{topic, changed, j});
  }
  for (auto& [k, j] : old_by_key)
    if (!new_by_key.count(k)) bus.publish(Event{topic, removed, j});
}

// (mtime ns, size) of the file behind a loop device; nullopt when it cannot be seen from here.
std::optional<std::pair<int64_t, int64_t>> backing_stamp(const std::optional<std::string>& file) {
  struct stat st {};
  if (!file || ::stat(file->c_str(), &st) != 0) return std::nullopt;
  return std::pair<int64_t, int64_t>{static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                                     static_cast<int64_t>(st.st_size)};
}

// The backing file of a loop device or of the loop device a partition belongs to.
std::optional<std::string> backing_of(const Device& d, const std::map<std::string, const Device*>& by_name) {
  if (d.kind == "loop") return d.backing_file;
  if (d.kind == "partition" && d.parent) {
    auto it = by_name.find(d.parent->substr(5));
    if (it != by_name.end() && it->second->kind == "loop") return it->second->backing_file;
  }
  return std::nullopt;
}

}  // namespace

std::vector<FilesystemSubvolumes> mounted_subvolumes(const std::vector<MountInfo>& mounts) {
  std::vector<FilesystemSubvolumes> out;
  std::map<std::string, bool> seen_sources;
  for (const auto& m : mounts) {
    if (m.fstype != "btrfs") continue;
    const std::string source = m.device.value_or(m.source);
    if (seen_sources[source]) continue;
    seen_sources[source] = true;
    FilesystemSubvolumes fs;
    fs.device = source;
    fs.mounted_at = m.target;
    fs.label = m.label;
    fs.mos = m.label && *m.label == "MOSDATA";
    try {
      auto list = btrfs::list_subvolumes_of_mount(m.target);
      fs.fsid = list.fsid;
      fs.subvolumes = std::move(list.subvolumes);
    } catch (const Error& e) {
      fs.error = e.what();  // e.g. mounted over by something else since mountinfo was read
    }
    bool same_fs = false;  // a multi-device filesystem mounted through two of its members
    for (const auto& o : out) same_fs |= !fs.fsid.empty() && o.fsid == fs.fsid;
    if (!same_fs) out.push_back(std::move(fs));
  }
  return out;
}

InventoryCache::InventoryCache(EventBus* events) : InventoryCache(events, Options{}) {}

InventoryCache::InventoryCache(EventBus* events, Options opts) : events_(events), opts_(opts) {
  // The watcher opens its sources first, so nothing between the first scan and its start is lost.
  if (opts_.monitor) monitor_ = std::make_unique<Monitor>(*this, opts_.revalidate);
  rescan();
  if (monitor_) monitor_->start();
}

InventoryCache::~InventoryCache() { monitor_.reset(); }

void InventoryCache::rescan() { rebuild(nullptr); }

void InventoryCache::revalidate() {
  // Backstop for writes still in the loop device's page cache (they reach the backing file only
  // at the writer's fsync or at writeback): everything is re-probed every tenth period.
  if (++revalidations_ % 10 == 0) return rebuild(nullptr);
  std::set<std::string> reprobe;
  {
    std::lock_guard writer(write_mu_);  // loop_stamps_ belongs to the writer
    std::shared_lock lock(mu_);
    std::map<std::string, const Device*> by_name;
    for (const auto& d : snap_->devices) by_name[d.name] = &d;
    for (const auto& d : snap_->devices) {
      auto file = backing_of(d, by_name);
      if (!file) {
        reprobe.insert(d.name);  // a real disk, md, zram: nothing cheaper than reading it
        continue;
      }
      auto stamp = backing_stamp(file);
      auto it = loop_stamps_.find(d.name);
      if (!stamp || it == loop_stamps_.end() || it->second != *stamp) reprobe.insert(d.name);
    }
  }
  rebuild(&reprobe);  // sysfs, mounts, md arrays and subvolumes are re-read whatever the set
}

void InventoryCache::settle() {
  if (monitor_) {
    try {
      monitor_->settle();
    } catch (const std::exception&) {
      // keep answering from the last good model; the monitor thread retries
    }
  }
  if (dirty_.exchange(false)) rescan();
}

std::shared_ptr<const InventorySnapshot> InventoryCache::snapshot() {
  settle();
  std::shared_lock lock(mu_);
  return snap_;
}

std::shared_ptr<const InventorySnapshot> InventoryCache::fresh_snapshot() {
  if (dirty_.load() || (monitor_ && monitor_->pending())) return nullptr;
  std::shared_lock lock(mu_);
  return snap_;
}

void InventoryCache::rebuild(const std::set<std::string>* reprobe) {
  std::lock_guard writer(write_mu_);
  std::shared_ptr<const InventorySnapshot> old;
  {
    std::shared_lock lock(mu_);
    old = snap_;
  }
  auto next = std::make_shared<InventorySnapshot>();
  next->devices = discover_devices(DiscoverOptions{false});  // sysfs facts and mount points

  // A changed device drags its whole disk along: a new GPT renames every partition, a new
  // partition's name lives in its disk's table.
  std::set<std::string> disks_to_probe;
  if (reprobe)
    for (const auto& d : next->devices)
      if (reprobe->count(d.name)) disks_to_probe.insert(disk_of(d));
  std::map<std::string, const Device*> before;
  if (old)
    for (const auto& d : old->devices) before[d.name] = &d;

  std::vector<Device> to_probe;
  std::vector<size_t> where;
  for (size_t i = 0; i < next->devices.size(); ++i) {
    Device& d = next->devices[i];
    auto it = before.find(d.name);
    bool known = it != before.end() && it->second->major == d.major && it->second->minor == d.minor &&
                 it->second->size_bytes == d.size_bytes;
    if (reprobe && known && !disks_to_probe.count(disk_of(d))) {
      copy_content(*it->second, d);
    } else {
      to_probe.push_back(d);
      where.push_back(i);
    }
  }
  std::map<std::string, const Device*> by_name;
  for (const auto& d : next->devices) by_name[d.name] = &d;
  for (const auto& d : to_probe)  // stamped before reading: a write racing the probe shows next time
    if (auto file = backing_of(d, by_name)) {
      if (auto stamp = backing_stamp(file)) loop_stamps_[d.name] = *stamp;
      else loop_stamps_.erase(d.name);
    }
  fill_content(to_probe);
  for (size_t k = 0; k < where.size(); ++k) next->devices[where[k]] = std::move(to_probe[k]);

  next->inventory = inventory_of(next->devices);
  next->generation = old ? old->generation + 1 : 1;
  render(*next);
  install(std::move(next));
}

void InventoryCache::render(InventorySnapshot& snap) const {
  json all = snap.inventory;
  health::add_health(all["disks"], opts_.health);
  snap.disks = json_text(all["disks"]);
  snap.partitions = json_text(all["partitions"]);
  snap.filesystems = json_text(all["filesystems"]);
  snap.mounts = json_text(all["mounts"]);
  snap.raids = json_text(all["raids"]);
  snap.all = json_text(all);
}

void InventoryCache::refresh_health() {
  std::lock_guard writer(write_mu_);
  std::shared_ptr<InventorySnapshot> next;
  {
    std::shared_lock lock(mu_);
    if (!snap_) return;
    next = std::make_shared<InventorySnapshot>(*snap_);
  }
  ++next->generation;
  render(*next);
  std::unique_lock lock(mu_);  // same devices, mounts and arrays: nothing to publish
  snap_ = std::move(next);
}

void InventoryCache::install(std::shared_ptr<InventorySnapshot> next) {
  std::shared_ptr<const InventorySnapshot> old;
  {
    std::unique_lock lock(mu_);
    old = snap_;
    snap_ = next;
  }
  if (!events_ || !old) return;
  auto device_key = [](const Device& d) { return d.name; };
  auto mount_key = [](const MountInfo& m) { return m.target + "\n" + m.source + "\n" + m.root; };
  auto raid_key = [](const RaidArray& a) { return a.device; };
  publish_diff(*events_, "devices", old->devices, next->devices, device_key, "add", "remove", "change");
  publish_diff(*events_, "mounts", old->inventory.mounts, next->inventory.mounts, mount_key, "mounted", "unmounted",
               nullptr);
  publish_diff(*events_, "raid", old->inventory.raids, next->inventory.raids, raid_key, "add", "remove", "change");
}

namespace {

std::vector<std::pair<std::string, std::string>> btrfs_fsids_of(const std::vector<Device>& devices) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& d : devices)
    if (d.fstype && *d.fstype == "btrfs" && d.uuid) out.emplace_back(d.path, *d.uuid);
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> InventoryCache::btrfs_fsids(bool settle) {
  if (settle) return btrfs_fsids_of(snapshot()->devices);
  std::shared_lock lock(mu_);
  return snap_ ? btrfs_fsids_of(snap_->devices) : std::vector<std::pair<std::string, std::string>>{};
}

std::vector<std::pair<std::string, std::string>> known_btrfs_fsids(const Context& ctx, bool settle) {
  if (ctx.inventory) return ctx.inventory->btrfs_fsids(settle);
  const Policy& policy = ctx.policy;
  return btrfs_fsids_of(discover_devices(DiscoverOptions{true, [&policy](const Device& d) { return policy.allowed(d.path); }}));
}

}  // namespace mos::engine
