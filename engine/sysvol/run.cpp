// mos_sysvol's run: configuration, modules, then existing storage or a first boot, and the report.
#include "engine/sysvol/run.hpp"

#include "engine/inventory/devices.hpp"
#include "engine/modules.hpp"
#include "engine/sysvol/disks.hpp"
#include "engine/sysvol/steps.hpp"
#include "base/error.hpp"

namespace mos::engine::sysvol {
namespace {

// btrfs and ext4 always; vfat with its code pages when the ESP is mounted.
void load_needed_modules(const RunOptions& opts, const Config& cfg, Reporter& rep) {
  if (!opts.load_modules) {
    rep.skip("kernel modules", "--no-modules");
    return;
  }
  if (opts.dry_run) {
    rep.skip("kernel modules", "dry run");
    return;
  }
  struct Need {
    std::string name;
    bool required;
  };
  const bool esp = !cfg.efi_mount.empty();
  // vfat mounts with codepage 437 and Debian's default iocharset (ascii).
  const std::vector<Need> needs = {{"btrfs", true},    {"ext4", true},      {"vfat", esp},
                                   {"nls_cp437", esp}, {"nls_ascii", esp}};
  std::vector<std::string> names;
  for (const auto& n : needs) names.push_back(n.name);
  auto results = load_modules(names, opts.modules_dir);
  for (size_t i = 0; i < results.size() && i < needs.size(); ++i) {
    const auto& r = results[i];
    if (r.status == "loaded") rep.done("loaded module " + r.name);
    else if (r.status == "already" || r.status == "builtin") rep.info("module " + r.name + ": " + r.status);
    else if (needs[i].required) rep.error("module " + r.name + " " + r.status + ": " + r.detail);
    else rep.warn("module " + r.name + " " + r.status + ": " + r.detail);
  }
}

// Disks carrying only our own half-made layout, among the eligible ones.
std::vector<Device> half_made_disks(const std::vector<Device>& all, const Policy& policy, Reporter& rep) {
  std::vector<Device> out;
  for (const auto& d : all) {
    if (!eligible_kind(d, policy)) continue;
    if (auto why = half_made_reason(d, all)) continue;
    rep.warn(d.path + " carries an unfinished MOS layout (an interrupted first boot): starting it again");
    out.push_back(d);
  }
  return out;
}

void first_boot(const std::vector<Device>& all, const Config& cfg, const RunOptions& opts, Reporter& rep) {
  Report& report = rep.report();
  std::vector<Device> disks = half_made_disks(all, opts.policy, rep);
  bool resume = !disks.empty();
  if (resume) {
    report.mode = "resume";
    if (disks.size() > 2) disks.resize(2);
  }
  if (resume && disks.size() == 1) {
    // A dual-disk first boot may have stopped after the first disk's GPT: its partner is blank.
    Selection sel = select_disks(gather_disk_facts(all, opts.policy, cfg), cfg);
    for (const auto& d : sel.chosen)
      if (d.path != disks[0].path) {
        rep.warn(d.path + " is blank next to the unfinished " + disks[0].path + ": provisioning both (dual-disk)");
        disks.push_back(d);
        break;
      }
  } else if (!resume) {
    Selection sel = select_disks(gather_disk_facts(all, opts.policy, cfg), cfg);
    for (const auto& r : sel.refused) rep.skip(r.path, r.reason);
    for (const auto& r : sel.unused) rep.skip(r.path, r.reason);
    disks = sel.chosen;
    report.mode = "fresh";
  }
  if (disks.empty()) {
    rep.error("no MOS storage found and no blank disk to provision (see skipped)");
    return;
  }
  report.plan = plan_json(disks, cfg);
  for (const auto& p : report.plan) {
    std::string line = "plan for " + p["disk"].get<std::string>() + ":";
    for (const auto& part : p["partitions"]) {
      // Appended piecewise: `" " + std::string` trips GCC 12's false -Wrestrict at -O3 (bug 105651).
      line.append(" ").append(part["name"].get<std::string>()).append("=");
      line += part["size_bytes"].is_null() ? std::string("rest") : std::to_string(part["size_bytes"].get<uint64_t>() >> 20) + "MiB";
      if (!part["fstype"].is_null()) line += "/" + part["fstype"].get<std::string>();
    }
    rep.info(line);
  }
  if (opts.dry_run) {
    rep.skip("first-boot provisioning of " + disks.front().path + (disks.size() == 2 ? " and " + disks[1].path : ""), "dry run");
    return;
  }
  provision(disks, resume, cfg, opts, rep);
  Found found = find_mos_storage(discover_allowed(md_policy(opts.policy)), md_policy(opts.policy));
  assemble_md(found, opts, rep);  // created arrays already run: reported as such
  bring_up(found, cfg, opts, rep);
}

}  // namespace

void to_json(json& j, const Report& r) {
  json skipped = json::array();
  for (const auto& s : r.skipped) skipped.push_back({{"what", s.what}, {"why", s.why}});
  j = {{"mode", r.mode},         {"found", r.found},       {"plan", r.plan},
       {"done", r.done},         {"skipped", skipped},     {"warnings", r.warnings},
       {"errors", r.errors},     {"degraded", r.degraded}, {"ready", r.ready},
       {"dry_run", r.dry_run}};
}

Report run(const RunOptions& opts, const LogFn& log) {
  Report report;
  report.dry_run = opts.dry_run;
  Reporter rep(report, log);
  try {
    Config cfg = load_config(opts.config_path, opts.cmdline_path);
    for (const auto& w : cfg.warnings) rep.warn(w);
    for (const auto& s : cfg.sources) rep.info("configuration: " + s);
    load_needed_modules(opts, cfg, rep);
    std::vector<Device> all = discover_allowed(md_policy(opts.policy));
    Found found = find_mos_storage(all, opts.policy);
    report.found = found_json(found);
    // MOSDATA is written last: without it, md members are at most a half-made first boot.
    if (!found.data.empty()) {
      report.mode = "existing";
      rep.info("existing MOS storage found (" + std::to_string(report.found.size()) + " devices)");
      if (!found.md_members.empty()) {
        assemble_md(found, opts, rep);
        found = find_mos_storage(discover_allowed(md_policy(opts.policy)), md_policy(opts.policy));  // now with the md devices
      }
      bring_up(found, cfg, opts, rep);
    } else {
      first_boot(all, cfg, opts, rep);
    }
  } catch (const Error& e) {
    rep.error(e.what());
  } catch (const std::exception& e) {
    rep.error(std::string("internal error: ") + e.what());
  }
  if (!report.errors.empty()) report.ready = false;
  if (opts.dry_run) report.ready = false;
  if (report.ready) rep.info(report.degraded ? "storage READY (DEGRADED)" : "storage ready");
  else if (!opts.dry_run) rep.error("storage NOT ready");
  return report;
}

}  // namespace mos::engine::sysvol
