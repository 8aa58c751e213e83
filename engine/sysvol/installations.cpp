#include "engine/sysvol/installations.hpp"

#include <map>

namespace mos::engine::sysvol {
namespace {

// Union-find over disk paths.
struct Groups {
  std::map<std::string, std::string> parent;
  std::string root(const std::string& d) {
    if (!parent.count(d)) parent[d] = d;
    std::string r = d;
    while (parent[r] != r) r = parent[r];
    return parent[d] = r;
  }
  void join(const std::string& a, const std::string& b) { parent[root(a)] = root(b); }
};

std::string joined(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

}  // namespace

std::string disk_of(const Device& d) { return d.parent.value_or(d.path); }

std::string Installation::describe() const {
  std::string s = joined(disks);
  std::string ids;
  if (!data_fsids.empty()) ids += "MOSDATA fsid " + joined(data_fsids);
  if (!array_uuids.empty()) ids += std::string(ids.empty() ? "" : "; ") + "md array " + joined(array_uuids);
  return ids.empty() ? s : s + " (" + ids + ")";
}

std::vector<Installation> group_installations(const std::vector<MosDisk>& mos_disks, const Found& found) {
  Groups g;
  std::map<std::string, std::string> first_disk_of_key;
  auto tie = [&](const Device& d, const std::string& key) {
    const std::string disk = disk_of(d);
    g.root(disk);
    if (key.empty()) return;
    auto [it, fresh] = first_disk_of_key.emplace(key, disk);
    if (!fresh) g.join(disk, it->second);
  };
  for (const auto& m : mos_disks) g.root(m.disk.path);
  for (const auto* list : {&found.efi, &found.boot, &found.swap})
    for (const auto& d : *list)
      if (d.kind != "md") tie(d, "");
  for (const auto& d : found.data) tie(d, "btrfs " + d.uuid.value_or(""));
  for (const auto& d : found.md_members) tie(d, "md " + d.uuid.value_or(""));

  std::map<std::string, Installation> by_root;
  for (const auto& [disk, _] : g.parent) by_root[g.root(disk)].disks.insert(disk);
  for (const auto& d : found.data)
    if (d.uuid) by_root[g.root(disk_of(d))].data_fsids.insert(*d.uuid);
  for (const auto& d : found.md_members)
    if (d.uuid) by_root[g.root(disk_of(d))].array_uuids.insert(*d.uuid);
  std::vector<Installation> out;
  for (auto& [_, inst] : by_root) out.push_back(std::move(inst));
  return out;
}

std::optional<Installation> pick_installation(const std::vector<Installation>& all, const Config& cfg, Reporter& rep) {
  if (cfg.data_fsid) {
    for (const auto& i : all)
      if (i.data_fsids.count(*cfg.data_fsid)) {
        for (const auto& other : all)
          if (&other != &i) rep.skip(other.describe(), "another MOS installation; [storage] data_fsid names " + *cfg.data_fsid);
        return i;
      }
    // One installation whose MOSDATA is unreadable contradicts nothing: it is this node.
    if (all.size() == 1 && all[0].data_fsids.empty()) return all[0];
    std::string seen;
    for (const auto& i : all) seen += (seen.empty() ? "" : "; ") + i.describe();
    rep.error("[storage] data_fsid " + *cfg.data_fsid + " names no MOSDATA found (found: " + (seen.empty() ? "none" : seen) +
              "); nothing touched");
    return std::nullopt;
  }
  if (all.size() <= 1) return all.empty() ? Installation{} : all.front();
  std::string list;
  for (size_t i = 0; i < all.size(); ++i) list += "; installation " + std::to_string(i + 1) + ": " + all[i].describe();
  rep.error("two or more MOS installations are visible at once" + list +
            ". Refusing to mix or choose them: nothing touched. Remove the disks that do not belong to this node, "
            "or name the one to use with data_fsid = \"<fsid>\" under [storage] in mos_sysvol.toml");
  return std::nullopt;
}

Found restrict_found(const Found& f, const std::set<std::string>& disks, const std::set<std::string>& excluded) {
  auto keep = [&](const std::vector<Device>& in) {
    std::vector<Device> out;
    for (const auto& d : in)
      if ((d.kind == "md" || disks.count(disk_of(d))) && !excluded.count(d.path)) out.push_back(d);
    return out;
  };
  Found r;
  r.efi = keep(f.efi), r.boot = keep(f.boot), r.swap = keep(f.swap), r.data = keep(f.data), r.md_members = keep(f.md_members);
  return r;
}

}  // namespace mos::engine::sysvol
