#include "engine/btrfs/usage.hpp"

#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <map>
#include <set>
#include <tuple>

#include "engine/btrfs/fs.hpp"
#include "engine/btrfs/search.hpp"
#include "base/bytes.hpp"
#include "base/error.hpp"

namespace mos::engine::btrfs {

namespace {

struct ProfileName {
  uint64_t flag;
  const char* name;
};
constexpr ProfileName kProfiles[] = {
    {BTRFS_BLOCK_GROUP_RAID0, "RAID0"},     {BTRFS_BLOCK_GROUP_RAID1, "RAID1"},
    {BTRFS_BLOCK_GROUP_DUP, "DUP"},         {BTRFS_BLOCK_GROUP_RAID10, "RAID10"},
    {BTRFS_BLOCK_GROUP_RAID5, "RAID5"},     {BTRFS_BLOCK_GROUP_RAID6, "RAID6"},
    {BTRFS_BLOCK_GROUP_RAID1C3, "RAID1C3"}, {BTRFS_BLOCK_GROUP_RAID1C4, "RAID1C4"},
};

}  // namespace

int profile_copies(uint64_t flags) {
  if (flags & BTRFS_BLOCK_GROUP_RAID1C4) return 4;
  if (flags & BTRFS_BLOCK_GROUP_RAID1C3) return 3;
  if (flags & (BTRFS_BLOCK_GROUP_RAID1 | BTRFS_BLOCK_GROUP_DUP | BTRFS_BLOCK_GROUP_RAID10)) return 2;
  return 1;
}

uint64_t raw_used_bytes(const std::vector<SpaceGroup>& groups) {
  uint64_t used = 0;
  for (auto& g : groups)
    if (!(g.flags & BTRFS_SPACE_INFO_GLOBAL_RSV)) used += g.used_bytes * profile_copies(g.flags);
  return used;
}

namespace {

// Raw bytes per device of chunks, keyed like btrfs-progs: same type, device and stripe count.
struct ChunkAlloc {
  uint64_t type = 0;
  uint64_t devid = 0;
  uint16_t num_stripes = 0;
  uint16_t sub_stripes = 0;
  uint64_t size = 0;  // chunk length summed once per stripe on the device
};

std::vector<ChunkAlloc> chunk_allocations(const io::Fd& fs) {
  std::map<std::tuple<uint64_t, uint64_t, uint16_t>, ChunkAlloc> m;
  SearchRange r;
  r.tree_id = BTRFS_CHUNK_TREE_OBJECTID;
  r.min_objectid = r.max_objectid = BTRFS_FIRST_CHUNK_TREE_OBJECTID;
  r.min_type = r.max_type = BTRFS_CHUNK_ITEM_KEY;
  tree_search(fs, r, [&](const SearchItem& it) {
    if (it.len < sizeof(btrfs_chunk)) return;
    uint64_t length = load_le64(it.data + offsetof(btrfs_chunk, length));
    uint64_t type = load_le64(it.data + offsetof(btrfs_chunk, type));
    uint16_t n = load_le16(it.data + offsetof(btrfs_chunk, num_stripes));
    uint16_t sub = load_le16(it.data + offsetof(btrfs_chunk, sub_stripes));
    if (it.len < offsetof(btrfs_chunk, stripe) + size_t(n) * sizeof(btrfs_stripe)) return;
    for (uint16_t s = 0; s < n; ++s) {
      const uint8_t* st = it.data + offsetof(btrfs_chunk, stripe) + size_t(s) * sizeof(btrfs_stripe);
      uint64_t devid = load_le64(st + offsetof(btrfs_stripe, devid));
      auto& a = m[{type, devid, n}];
      a.type = type;
      a.devid = devid;
      a.num_stripes = n;
      a.sub_stripes = sub;
      a.size += length;
    }
  });
  std::vector<ChunkAlloc> out;
  for (auto& [k, v] : m) out.push_back(v);
  return out;
}

// Space a chunk group occupies on one device (striped profiles spread a chunk over devices).
uint64_t on_device_bytes(const ChunkAlloc& c) {
  if (c.type & (BTRFS_BLOCK_GROUP_RAID1 | BTRFS_BLOCK_GROUP_RAID1C3 | BTRFS_BLOCK_GROUP_RAID1C4 |
                BTRFS_BLOCK_GROUP_DUP))
    return c.size;
  int parity = (c.type & BTRFS_BLOCK_GROUP_RAID6) ? 2 : (c.type & BTRFS_BLOCK_GROUP_RAID5) ? 1 : 0;
  int sub = (c.type & BTRFS_BLOCK_GROUP_RAID10) ? 2 : 1;
  uint64_t div = (c.num_stripes - parity) / sub;
  return div ? c.size / div : c.size;
}

}  // namespace

std::string group_type_name(uint64_t flags) {
  if (flags & BTRFS_SPACE_INFO_GLOBAL_RSV) return "GlobalReserve";
  uint64_t t = flags & BTRFS_BLOCK_GROUP_TYPE_MASK;
  if (t == (BTRFS_BLOCK_GROUP_DATA | BTRFS_BLOCK_GROUP_METADATA)) return "Data+Metadata";
  if (t == BTRFS_BLOCK_GROUP_DATA) return "Data";
  if (t == BTRFS_BLOCK_GROUP_SYSTEM) return "System";
  if (t == BTRFS_BLOCK_GROUP_METADATA) return "Metadata";
  return "unknown";
}

std::string group_profile_name(uint64_t flags) {
  for (auto& p : kProfiles)
    if (flags & p.flag) return p.name;
  return "single";
}

std::optional<uint64_t> profile_flag(const std::string& name) {
  std::string up;
  for (char c : name) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (up == "SINGLE") return BTRFS_AVAIL_ALLOC_BIT_SINGLE;
  for (auto& p : kProfiles)
    if (up == p.name) return p.flag;
  return std::nullopt;
}

std::vector<SpaceGroup> space_info(const io::Fd& fs) {
  btrfs_ioctl_space_args probe{};
  if (ioctl(fs.get(), BTRFS_IOC_SPACE_INFO, &probe) < 0) throw_sys("BTRFS_IOC_SPACE_INFO", fs.path(), errno);
  uint64_t n = probe.total_spaces;
  std::vector<uint64_t> buf((sizeof(btrfs_ioctl_space_args) + n * sizeof(btrfs_ioctl_space_info)) / 8 + 1);
  auto* args = reinterpret_cast<btrfs_ioctl_space_args*>(buf.data());
  args->space_slots = n;
  if (ioctl(fs.get(), BTRFS_IOC_SPACE_INFO, args) < 0) throw_sys("BTRFS_IOC_SPACE_INFO", fs.path(), errno);
  std::vector<SpaceGroup> out;
  for (uint64_t i = 0; i < args->total_spaces && i < n; ++i) {
    const auto& s = args->spaces[i];
    out.push_back({group_type_name(s.flags), group_profile_name(s.flags), s.flags, s.total_bytes, s.used_bytes});
  }
  return out;
}

FsDf fs_df(const std::string& path, const Context& ctx) {
  return fs_df(open_judged_btrfs(path, ctx, BtrfsPath::anywhere));
}

FsUsage fs_usage(const std::string& path, const Context& ctx) {
  return fs_usage(open_judged_btrfs(path, ctx, BtrfsPath::anywhere));
}

std::vector<DeviceStats> device_stats(const std::string& path, const Context& ctx) {
  return device_stats(open_judged_btrfs(path, ctx, BtrfsPath::anywhere));
}

FsDf fs_df(const io::Fd& fs) {
  FsDf df;
  df.fsid = fs_facts(fs).fsid;
  df.mount_point = fs.path();
  df.groups = space_info(fs);
  return df;
}

FsUsage fs_usage(const io::Fd& fs) {
  FsUsage u;
  u.fsid = fs_facts(fs).fsid;
  u.mount_point = fs.path();
  auto spaces = space_info(fs);
  auto devices = device_facts(fs);
  auto chunks = chunk_allocations(fs);

  for (auto& d : devices) {
    u.device_size += d.total_bytes;
    uint64_t real = d.path.empty() ? 0 : block_device_size(d.path);
    if (real == 0) u.device_missing += d.total_bytes;
    else u.device_slack += real - d.total_bytes;
  }

  uint64_t r_data_chunks = 0, r_data_used = 0, l_data_chunks = 0;
  uint64_t r_meta_chunks = 0, r_meta_used = 0, l_meta_chunks = 0;
  uint64_t r_sys_chunks = 0, r_sys_used = 0;
  double max_ratio = 1.0;
  bool mixed = false;
  std::map<uint64_t, std::set<uint64_t>> profiles_by_type;
  for (auto& s : spaces) {
    if (s.flags & BTRFS_SPACE_INFO_GLOBAL_RSV) {
      u.global_reserve = s.total_bytes;
      u.global_reserve_used = s.used_bytes;
      continue;
    }
    int ratio = profile_copies(s.flags);
    if (ratio > max_ratio) max_ratio = ratio;
    uint64_t type = s.flags & BTRFS_BLOCK_GROUP_TYPE_MASK;
    profiles_by_type[type].insert(s.flags & BTRFS_BLOCK_GROUP_PROFILE_MASK);
    if (type == (BTRFS_BLOCK_GROUP_DATA | BTRFS_BLOCK_GROUP_METADATA)) mixed = true;
    if (s.flags & BTRFS_BLOCK_GROUP_DATA) {
      r_data_used += s.used_bytes * ratio;
      r_data_chunks += s.total_bytes * ratio;
      l_data_chunks += s.total_bytes;
    }
    if (s.flags & BTRFS_BLOCK_GROUP_METADATA) {
      r_meta_used += s.used_bytes * ratio;
      r_meta_chunks += s.total_bytes * ratio;
      l_meta_chunks += s.total_bytes;
    }
    if (s.flags & BTRFS_BLOCK_GROUP_SYSTEM) {
      r_sys_used += s.used_bytes * ratio;
      r_sys_chunks += s.total_bytes * ratio;
    }
  }
  for (auto& [t, p] : profiles_by_type) u.multiple_profiles |= p.size() > 1;

  u.device_allocated = r_data_chunks + r_sys_chunks + (mixed ? 0 : r_meta_chunks);
  u.used = r_data_used + r_sys_used + (mixed ? 0 : r_meta_used);
  u.device_unallocated = static_cast<int64_t>(u.device_size - u.device_allocated);
  u.data_ratio = l_data_chunks ? double(r_data_chunks) / double(l_data_chunks) : 0;
  u.metadata_ratio = mixed ? u.data_ratio : l_meta_chunks ? double(r_meta_chunks) / double(l_meta_chunks) : 0;

  // Same arithmetic (and truncations) as btrfs-progs, so the figures match to the byte.
  uint64_t free_est = u.data_ratio > 0 ? uint64_t(double(r_data_chunks - r_data_used) / u.data_ratio) : 0;
  if (mixed) free_est -= u.global_reserve - u.global_reserve_used;
  uint64_t free_min = free_est;
  uint64_t unused = u.device_size - u.device_allocated;
  if (u.device_allocated <= u.device_size && unused >= 16ull * 1024 * 1024 && u.data_ratio > 0) {
    free_est = uint64_t(double(free_est) + double(unused) / u.data_ratio);
    free_min = uint64_t(double(free_min) + double(unused) / max_ratio);
  }
  u.free_estimated = free_est;
  u.free_estimated_min = free_min;
  struct statvfs sv {};
  if (fstatvfs(fs.get(), &sv) == 0) u.free_statfs = uint64_t(sv.f_bavail) * sv.f_bsize;

  for (auto& s : spaces) {
    if (s.flags & BTRFS_SPACE_INFO_GLOBAL_RSV) continue;
    UsageGroup g{s.type, s.profile, s.total_bytes, s.used_bytes, {}};
    for (auto& d : devices) {
      uint64_t bytes = 0;
      for (auto& c : chunks)
        if (c.type == s.flags && c.devid == d.devid) bytes += on_device_bytes(c);
      if (bytes) g.devices.push_back({d.devid, d.path, bytes});
    }
    u.groups.push_back(std::move(g));
  }
  for (auto& d : devices) {
    uint64_t used = 0;
    for (auto& c : chunks)
      if (c.devid == d.devid) used += on_device_bytes(c);
    u.unallocated.push_back({d.devid, d.path, d.total_bytes - used});
  }
  return u;
}

std::map<std::string, std::set<std::string>> chunk_profiles(const io::Fd& fs) {
  std::map<std::string, std::set<std::string>> out;
  for (auto& c : chunk_allocations(fs)) {
    std::string profile = group_profile_name(c.type);
    for (auto& ch : profile) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (c.type & BTRFS_BLOCK_GROUP_DATA) out["data"].insert(profile);
    if (c.type & BTRFS_BLOCK_GROUP_METADATA) out["metadata"].insert(profile);
    if (c.type & BTRFS_BLOCK_GROUP_SYSTEM) out["system"].insert(profile);
  }
  return out;
}

std::vector<DeviceStats> device_stats(const io::Fd& fs) {
  std::vector<DeviceStats> out;
  for (auto& d : device_facts(fs)) {
    btrfs_ioctl_get_dev_stats a{};
    a.devid = d.devid;
    a.nr_items = BTRFS_DEV_STAT_VALUES_MAX;
    if (ioctl(fs.get(), BTRFS_IOC_GET_DEV_STATS, &a) < 0) throw_sys("BTRFS_IOC_GET_DEV_STATS", fs.path(), errno);
    DeviceStats s;
    s.devid = d.devid;
    s.path = d.path;
    auto value = [&](int i) { return a.nr_items > uint64_t(i) ? a.values[i] : 0; };
    s.write_io_errs = value(BTRFS_DEV_STAT_WRITE_ERRS);
    s.read_io_errs = value(BTRFS_DEV_STAT_READ_ERRS);
    s.flush_io_errs = value(BTRFS_DEV_STAT_FLUSH_ERRS);
    s.corruption_errs = value(BTRFS_DEV_STAT_CORRUPTION_ERRS);
    s.generation_errs = value(BTRFS_DEV_STAT_GENERATION_ERRS);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace mos::engine::btrfs
