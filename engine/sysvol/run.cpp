// mos_sysvol's run: configuration, modules, then existing storage or a first boot, and the report.
#include "engine/sysvol/run.hpp"

#include "engine/health/disk_health.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/modules.hpp"
#include "engine/sysvol/disks.hpp"
#include "engine/sysvol/steps.hpp"

#include <set>
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

// A first boot on blank disks (nothing of MOS found, no provisioning record).
void first_boot(const std::vector<Device>& all, const Config& cfg, const RunOptions& opts, Reporter& rep) {
  Report& report = rep.report();
  report.mode = "fresh";
  Selection sel = select_disks(gather_disk_facts(all, opts.policy, cfg), cfg);
  for (const auto& r : sel.refused) rep.skip(r.path, r.reason);
  for (const auto& r : sel.unused) rep.skip(r.path, r.reason);
  const std::vector<Device>& disks = sel.chosen;
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
  provision(disks, cfg, opts, rep);
}

// Whatever a first boot (fresh or resumed) made, brought up as a later boot would.
void bring_up_provisioned(const RunOptions& opts, const Config& cfg, Reporter& rep) {
  if (!rep.report().errors.empty()) return;
  Found found = find_mos_storage(discover_allowed(md_policy(opts.policy)), md_policy(opts.policy), cfg);
  if (!found.md_members.empty()) {
    // Created arrays already run (reported as such); a resume's done ones start here.
    assemble_md(found, opts, rep, StaleMember::re_add);
    found = find_mos_storage(discover_allowed(md_policy(opts.policy)), md_policy(opts.policy), cfg);
  }
  bring_up(found, cfg, opts, rep);
}

// MOS storage that is not on the recorded disks: a second installation next to an unfinished one.
std::vector<std::string> outside_record(const std::vector<MosDisk>& recorded, const std::vector<MosDisk>& mos_disks,
                                        const Found& found) {
  std::set<std::string> rec;
  for (const auto& m : recorded) rec.insert(m.disk.path);
  std::vector<std::string> out;
  for (const auto& m : mos_disks)
    if (!rec.count(m.disk.path)) out.push_back(m.disk.path);
  for (const auto* list : {&found.efi, &found.boot, &found.swap, &found.data, &found.md_members})
    for (const auto& d : *list)
      if (!rec.count(d.parent.value_or(d.path))) out.push_back(d.path);
  return out;
}

}  // namespace

void to_json(json& j, const Report& r) {
  json skipped = json::array();
  for (const auto& s : r.skipped) skipped.push_back({{"what", s.what}, {"why", s.why}});
  j = {{"mode", r.mode},         {"found", r.found},       {"plan", r.plan},
       {"done", r.done},         {"skipped", skipped},     {"warnings", r.warnings},
       {"errors", r.errors},     {"damage", r.damage},     {"not_in_service", r.not_in_service},
       {"recovery", r.recovery}, {"degraded", r.degraded}, {"ready", r.ready},
       {"dry_run", r.dry_run},   {"exit_status", exit_status(r)}};
}

void to_json(json& j, const Damage& d) {
  j = {{"device", d.device}, {"part", d.part}, {"reason", d.reason},
       {"repair", d.repair.empty() ? json(nullptr) : json(d.repair)}, {"action", d.action}};
}

void Reporter::damaged(const Damage& d) {
  r_.damage.push_back(d);
  emit(3, "DAMAGED: " + d.part + " on " + d.device + ": " + d.reason + (d.repair.empty() ? "" : "; repair: " + d.repair) +
              " [" + d.action + "]");
}

int exit_status(const Report& r) {
  if (r.dry_run) return r.errors.empty() ? kExitReady : kExitNotReady;
  if (!r.ready) return kExitNotReady;
  return r.not_in_service.empty() ? kExitReady : kExitNotWhole;
}

// One line per MOS disk that is not ok (a sleeping disk is not woken); never fails the boot.
static void report_disk_health(const std::vector<MosDisk>& disks, const Policy& policy, Reporter& rep) {
  for (const auto& m : disks) {
    try {
      auto h = health::read_disk_health(m.disk.path, policy);
      if (h.verdict.status == health::Status::ok) continue;
      std::string line = "disk health of " + m.disk.path + ": " + health::to_string(h.verdict.status);
      for (const auto& r : h.verdict.reasons) line += "; " + r;
      // unknown (no SMART: loop, virtio, asleep) is information; warning and failing are warnings.
      if (h.verdict.status == health::Status::unknown) rep.info(line);
      else rep.warn(line);
    } catch (const std::exception& e) {
      rep.info("disk health of " + m.disk.path + " not read: " + e.what());
    }
  }
}

Report run(const RunOptions& opts, const LogFn& log) {
  Report report;
  report.dry_run = opts.dry_run;
  Reporter rep(report, log);
  try {
    Config cfg = load_config(opts.config_path, opts.cmdline_path);
    report.recovery = cfg.superblocks;
    for (const auto& w : cfg.warnings) rep.warn(w);
    for (const auto& s : cfg.sources) rep.info("configuration: " + s);
    load_needed_modules(opts, cfg, rep);
    std::vector<Device> all = discover_allowed(md_policy(opts.policy));
    std::vector<MosDisk> mos_disks = find_mos_disks(all, opts.policy, cfg);
    report_disk_health(mos_disks, opts.policy, rep);
    report_unfinished_replacement(mos_disks, rep);
    Found found = find_mos_storage(all, opts.policy, cfg);
    for (const auto& why : found.ignored) rep.warn("not used: " + why);
    report.found = found_json(found);
    std::vector<MosDisk> recorded;
    for (const auto& m : mos_disks)
      if (m.recorded()) recorded.push_back(m);
    if (!recorded.empty()) {
      // Only the record proves a first boot is unfinished; it is finished only if nothing else
      // of MOS is in sight (never mix an unfinished node with another one).
      report.mode = "resume";
      auto others = outside_record(recorded, mos_disks, found);
      if (!others.empty()) {
        rep.error("an unfinished first boot is recorded on " + recorded.front().disk.path + " while other MOS storage is present (" +
                  others.front() + "): refusing to mix them; nothing written");
      } else if (opts.dry_run) {
        rep.skip("finishing the recorded first boot on " + recorded.front().disk.path, "dry run");
      } else {
        resume(recorded, all, cfg, opts, rep);
        bring_up_provisioned(opts, cfg, rep);
      }
    } else if (found.any() || !mos_disks.empty()) {
      // Our layout without a record is a complete node, whatever is wrong with it.
      existing_boot(all, mos_disks, found, cfg, opts, rep);
    } else {
      first_boot(all, cfg, opts, rep);
      if (!opts.dry_run) bring_up_provisioned(opts, cfg, rep);
    }
  } catch (const Error& e) {
    rep.error(e.what());
  } catch (const std::exception& e) {
    rep.error(std::string("internal error: ") + e.what());
  }
  if (!report.errors.empty()) report.ready = false;
  if (opts.dry_run) report.ready = false;
  if (report.ready && report.not_in_service.empty()) rep.info("storage ready");
  else if (report.ready) rep.warn(std::string("storage READY") + (report.degraded ? " (DEGRADED)" : "") + " but NOT WHOLE: " +
                                  std::to_string(report.not_in_service.size()) + " part(s) of the layout not in service");
  else if (!opts.dry_run) rep.error("storage NOT ready");
  return report;
}

}  // namespace mos::engine::sysvol
