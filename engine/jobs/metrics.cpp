#include "engine/jobs/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>

#include "engine/btrfs/usage.hpp"
#include "engine/jobs/jobs.hpp"
#include "engine/jobs/metrics_health.hpp"
#include "engine/inventory/cache.hpp"
#include "engine/mount.hpp"
#include "engine/raid/raid.hpp"
#include "engine/jobs/state_scrub.hpp"
#include "base/error.hpp"
#include "base/safe_text.hpp"

namespace mos::engine {
namespace {

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

double as_double(uint64_t v) { return static_cast<double>(v); }

void filesystem_metrics(const Context& ctx, MetricsText& out, std::vector<Usage>& btrfs_mounts) {
  out.family("mos_filesystem_size_bytes", "gauge", "Size of a mounted filesystem (statvfs f_blocks * f_frsize)");
  out.family("mos_filesystem_used_bytes", "gauge", "Used bytes of a mounted filesystem");
  out.family("mos_filesystem_avail_bytes", "gauge", "Bytes unprivileged users may still write");
  std::set<std::string> seen;
  for (auto& u : usage()) {
    if (!u.device || !ctx.policy.allowed(*u.device) || !seen.insert(u.target).second) continue;
    MetricsText::Labels l{{"mountpoint", u.target}, {"device", *u.device}, {"fstype", u.fstype}};
    out.sample("mos_filesystem_size_bytes", l, as_double(u.size_bytes));
    out.sample("mos_filesystem_used_bytes", l, as_double(u.used_bytes));
    out.sample("mos_filesystem_avail_bytes", l, as_double(u.available_bytes));
    if (u.fstype == "btrfs") btrfs_mounts.push_back(u);
  }
}

void btrfs_metrics(const Context& ctx, MetricsText& out, const std::vector<Usage>& mounts) {
  out.family("mos_btrfs_device_errors_total", "counter", "btrfs device error counters (btrfs device stats)");
  out.family("mos_btrfs_scrub_last_seconds", "gauge", "Seconds since the last scrub of the filesystem ended");
  out.family("mos_btrfs_scrub_last_errors", "gauge", "Errors found by the last scrub (read, csum, verify, super)");
  std::set<std::string> seen_fsids;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const auto& m : mounts) {
    try {
      json scrub = scrub_status_recorded(ctx, m.target);
      std::string fsid = scrub.value("fsid", std::string());
      if (!seen_fsids.insert(fsid).second) continue;  // one filesystem mounted twice (subvolumes)
      for (const auto& d : btrfs::device_stats(m.target, ctx)) {
        auto counter = [&](const char* type, uint64_t v) {
          out.sample("mos_btrfs_device_errors_total", {{"fsid", fsid}, {"device", d.path}, {"type", type}}, as_double(v));
        };
        counter("write_io", d.write_io_errs);
        counter("read_io", d.read_io_errs);
        counter("flush_io", d.flush_io_errs);
        counter("corruption", d.corruption_errs);
        counter("generation", d.generation_errs);
      }
      if (scrub.contains("finished_unix") && scrub["finished_unix"].is_number_integer()) {
        MetricsText::Labels l{{"fsid", fsid}, {"mountpoint", m.target}, {"state", scrub.value("state", "")}};
        out.sample("mos_btrfs_scrub_last_seconds", l, static_cast<double>(now - scrub["finished_unix"].get<int64_t>()));
        out.sample("mos_btrfs_scrub_last_errors", l, as_double(scrub.value("error_count", uint64_t{0})));
      }
    } catch (const Error&) {  // unmounted meanwhile or unreadable: no samples for it
    }
  }
}

void raid_metrics(const Context& ctx, MetricsText& out) {
  out.family("mos_md_degraded", "gauge", "Slots of an md array without a working member");
  out.family("mos_md_sync_active", "gauge", "1 while the array resyncs, recovers or checks");
  out.family("mos_md_sync_ratio", "gauge", "Fraction of the running sync done");
  std::vector<RaidArray> arrays;
  try {
    arrays = list_raids(ctx);
  } catch (const Error&) {
    return;
  }
  for (const auto& a : arrays) {
    MetricsText::Labels l{{"array", a.name}, {"device", a.device}, {"level", a.level}};
    out.sample("mos_md_degraded", l, a.degraded);
    std::string action = a.sync_action.value_or("idle");
    MetricsText::Labels la = l;
    la.emplace_back("action", action);
    out.sample("mos_md_sync_active", la, action == "idle" ? 0 : 1);
    if (a.sync_done_bytes && a.sync_total_bytes && *a.sync_total_bytes)
      out.sample("mos_md_sync_ratio", l, as_double(*a.sync_done_bytes) / as_double(*a.sync_total_bytes));
  }
}

void job_metrics(const Context& ctx, MetricsText& out) {
  if (!ctx.jobs) return;
  out.family("mos_jobs", "gauge", "Jobs known to the daemon by state");
  std::map<std::string, size_t> by_state;
  for (const char* s : {"queued", "running", "succeeded", "failed", "cancelled", "interrupted"}) by_state[s] = 0;
  for (const auto& j : ctx.jobs->list()) ++by_state[j.state];
  for (const auto& [state, n] : by_state) out.sample("mos_jobs", {{"state", state}}, static_cast<double>(n));
  out.family("mos_job_workers", "gauge", "Job worker threads created (at most --job-workers)");
  out.sample("mos_job_workers", {}, static_cast<double>(ctx.jobs->stats().workers));
  out.family("mos_job_queue_limit", "gauge", "Jobs that may wait for a worker (--job-queue)");
  out.sample("mos_job_queue_limit", {}, static_cast<double>(ctx.jobs->options().queue_limit));
}

}  // namespace

MetricsText::Family& MetricsText::find(const std::string& name) {
  for (auto& f : families_)
    if (f.name == name) return f;
  throw Error(ErrorCode::internal, "metric family " + name + " was not declared");
}

void MetricsText::family(const std::string& name, const std::string& type, const std::string& help) {
  for (auto& f : families_)
    if (f.name == name) return;
  families_.push_back(Family{name, type, help, {}});
}

void MetricsText::sample(const std::string& name, const Labels& labels, double value) {
  std::string line = name;
  if (!labels.empty()) {
    line += '{';
    for (size_t i = 0; i < labels.size(); ++i)
      line += (i ? "," : "") + labels[i].first + "=\"" + prometheus_label_value(labels[i].second) + "\"";
    line += '}';
  }
  find(name).samples.push_back(line + " " + number(value));
}

std::string MetricsText::text() const {
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + " " + f.help + "\n";
    out += "# TYPE " + f.name + " " + f.type + "\n";
    for (const auto& s : f.samples) out += s + "\n";
  }
  return out;
}

void storage_metrics(const Context& ctx, MetricsText& out) {
  std::vector<Usage> btrfs_mounts;
  filesystem_metrics(ctx, out, btrfs_mounts);
  btrfs_metrics(ctx, out, btrfs_mounts);
  raid_metrics(ctx, out);
  health_metrics(ctx.inventory ? ctx.inventory->health() : nullptr, ctx.policy, out);
  job_metrics(ctx, out);
}

}  // namespace mos::engine
