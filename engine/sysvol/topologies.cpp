#include "engine/sysvol/topologies.hpp"

#include <algorithm>

#include "engine/fstypes.hpp"
#include "engine/sysvol/config.hpp"
#include "base/error.hpp"
#include "base/text.hpp"

namespace mos::engine {
namespace {

std::string disk_text(const CandidateDisk& d) {
  return d.path + " (" + mos::bytes_text(d.size_bytes) + ", " + d.media + ")";
}

const CandidateDisk* find(const std::vector<CandidateDisk>& c, const std::string& path) {
  for (const auto& d : c)
    if (d.path == path) return &d;
  return nullptr;
}

TopologyAnswer single(std::string name, std::string description, const std::vector<CandidateDisk>& c,
                      bool kernel_has, const std::string& fs) {
  TopologyAnswer t{std::move(name), std::move(description), 1, false, {}, 0, {}};
  if (!kernel_has) t.reasons.push_back("kernel has no " + fs);
  if (c.empty()) t.reasons.push_back("needs 1 free disk, found none");
  if (!t.reasons.empty()) return t;
  t.feasible = true;
  t.disks = {c.front().path};
  t.usable_bytes = c.front().size_bytes;
  t.reasons.push_back(fs + " on the largest free disk " + disk_text(c.front()));
  return t;
}

TopologyAnswer pair(std::string name, std::string description, const std::vector<CandidateDisk>& c,
                    const std::vector<std::string>& two, bool kernel_has, const std::string& fs, bool mirrored) {
  TopologyAnswer t{std::move(name), std::move(description), 2, false, {}, 0, {}};
  if (!kernel_has) t.reasons.push_back("kernel has no " + fs);
  if (c.size() < 2) t.reasons.push_back("needs 2 free disks, found " + std::to_string(c.size()));
  if (!t.reasons.empty()) return t;
  const CandidateDisk* a = find(c, two.at(0));
  const CandidateDisk* b = find(c, two.at(1));
  if (!a || !b) throw Error(ErrorCode::internal, "topology pick names a disk that is not a candidate");
  t.feasible = true;
  t.disks = {a->path, b->path};
  t.usable_bytes = mirrored ? std::min(a->size_bytes, b->size_bytes) : a->size_bytes + b->size_bytes;
  t.reasons.push_back(std::string(mirrored ? "two copies of everything on " : "one " + fs + " on each of ") +
                      disk_text(*a) + " and " + disk_text(*b) + " (the two largest free disks of one class)");
  if (mirrored && a->size_bytes != b->size_bytes)
    t.reasons.push_back("the smaller disk bounds the capacity: " + mos::bytes_text(t.usable_bytes));
  return t;
}

TopologyAnswer ssd_hdd(const std::vector<CandidateDisk>& c, bool kernel_has) {
  TopologyAnswer t{"SsdHddBcachefs", "SSD cache + HDD backing via bcachefs", 2, false, {}, 0, {}};
  const CandidateDisk* fast = nullptr;
  const CandidateDisk* slow = nullptr;
  for (const auto& d : c) {  // largest first: the first of each class is the largest
    if (d.media == "hdd") { if (!slow) slow = &d; }
    else if (!fast) fast = &d;
  }
  if (!kernel_has) t.reasons.push_back("kernel has no bcachefs");
  if (!fast) t.reasons.push_back("needs a free SSD or NVMe disk (non-rotational), found none");
  if (!slow) t.reasons.push_back("needs a free HDD (rotational), found none");
  if (!t.reasons.empty()) return t;
  t.feasible = true;
  t.disks = {fast->path, slow->path};
  t.usable_bytes = slow->size_bytes;
  t.reasons.push_back("cache on " + disk_text(*fast) + ", data on " + disk_text(*slow));
  return t;
}

}  // namespace

void to_json(json& j, const CandidateDisk& d) {
  j = {{"path", d.path}, {"size_bytes", d.size_bytes}, {"media", d.media}};
}

void to_json(json& j, const TopologyAnswer& t) {
  j = {{"name", t.name},         {"description", t.description}, {"min_disks", t.min_disks},
       {"feasible", t.feasible}, {"disks", t.disks},             {"usable_bytes", t.usable_bytes},
       {"reasons", t.reasons}};
}

void to_json(json& j, const TopologyReport& r) {
  json refused = json::array();
  for (const auto& n : r.not_candidates) refused.push_back({{"path", n.path}, {"reason", n.reason}});
  j = {{"topologies", r.topologies},
       {"candidates", r.candidates},
       {"not_candidates", refused},
       {"kernel", {{"btrfs", r.kernel.btrfs}, {"bcachefs", r.kernel.bcachefs}}}};
}

std::string media_class(const Device& d) {
  if (d.name.rfind("nvme", 0) == 0) return "nvme";
  return d.rotational ? "hdd" : "ssd";
}

KernelFilesystems kernel_filesystems(const TopologyOptions& opts) {
  return {kernel_has(filesystem_type("btrfs"), opts), kernel_has(filesystem_type("bcachefs"), opts)};
}

std::vector<TopologyAnswer> judge_topologies(const std::vector<CandidateDisk>& c, const std::vector<std::string>& two,
                                             const KernelFilesystems& k) {
  if (c.size() >= 2 && two.size() != 2)
    throw Error(ErrorCode::internal, "two or more candidates but no pair chosen among them");
  return {
      single("BtrfsSingle", "Single disk, btrfs data", c, k.btrfs, "btrfs"),
      single("BcachefsSingle", "Single disk, bcachefs data", c, k.bcachefs, "bcachefs"),
      pair("DualIndependent", "Independent btrfs per disk", c, two, k.btrfs, "btrfs", false),
      ssd_hdd(c, k.bcachefs),
      pair("Bcachefs2Copy", "Multi-device bcachefs with 2 replicas", c, two, k.bcachefs, "bcachefs", true),
      pair("BtrfsRaid1", "Mirrored btrfs across 2 disks", c, two, k.btrfs, "btrfs", true),
  };
}

TopologyReport feasible_topologies(const Context& ctx, const TopologyOptions& opts) {
  // Read content only of devices the policy allows (its stack walk covers a partition's disk), as
  // mos_sysvol does.
  const Policy& policy = ctx.policy;
  auto all = discover_devices(DiscoverOptions(true, [&](const Device& d) { return policy.allowed(d.path); }));
  sysvol::Selection sel = sysvol::select_disks(sysvol::gather_disk_facts(all, policy, sysvol::default_config()), sysvol::default_config());
  TopologyReport r;
  std::vector<const Device*> free;
  for (const auto& d : sel.chosen) free.push_back(&d);
  for (const auto& u : sel.unused)
    for (const auto& d : all)
      if (d.path == u.path) free.push_back(&d);
  std::stable_sort(free.begin(), free.end(), [](const Device* a, const Device* b) { return a->size_bytes > b->size_bytes; });
  for (const Device* d : free) r.candidates.push_back({d->path, d->size_bytes, media_class(*d)});
  r.not_candidates = sel.refused;
  std::vector<std::string> two;
  if (sel.chosen.size() == 2) two = {sel.chosen[0].path, sel.chosen[1].path};
  r.kernel = kernel_filesystems(opts);
  r.topologies = judge_topologies(r.candidates, two, r.kernel);
  return r;
}

}  // namespace mos::engine
