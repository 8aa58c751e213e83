// btrfs management: subvolumes, snapshot, set-quota, scrub-*, balance-*, defrag, resize-max,
// device-stats, fs-usage, fs-df, add-device, remove-device, jobs.
#include <cstdio>
#include <memory>

#include "bins/cli/env.hpp"
#include "base/error.hpp"
#include "base/text.hpp"

namespace mos::cli {
namespace {

struct Args {
  std::string filesystem, name, source, snapshot, path, device, convert, bytes;
  uint64_t job_id = 0;
  bool wait = false, force = false, read_only = false;
};

json with_filesystem(json p, const Args& a) {
  if (!a.filesystem.empty()) p["filesystem"] = a.filesystem;
  return p;
}

void print_subvolume(const json& s) {
  print_table({"ID", "PARENT", "PATH", "READ-ONLY", "UUID", "SNAPSHOT OF"},
              {{cell(s["id"]), cell(s["parent_id"]), cell(s["path"]), s["read_only"].get<bool>() ? "yes" : "no",
                cell(s["uuid"]), cell(s["parent_uuid"])}});
}

void print_scrub(const json& r) {
  std::printf("Scrub of %s: %s\n", shown(r["mount_point"]).c_str(), shown(r["state"]).c_str());
  const json& t = r["totals"];
  std::printf("  scrubbed: data %s, metadata %s of %s used\n", human_size(t["data_bytes_scrubbed"]).c_str(),
              human_size(t["tree_bytes_scrubbed"]).c_str(), human_size(r["bytes_to_scrub"]).c_str());
  std::printf("  errors: %llu (csum %llu, read %llu, verify %llu, super %llu), corrected %llu, uncorrectable %llu\n",
              static_cast<unsigned long long>(r["error_count"].get<uint64_t>()),
              static_cast<unsigned long long>(t["csum_errors"].get<uint64_t>()),
              static_cast<unsigned long long>(t["read_errors"].get<uint64_t>()),
              static_cast<unsigned long long>(t["verify_errors"].get<uint64_t>()),
              static_cast<unsigned long long>(t["super_errors"].get<uint64_t>()),
              static_cast<unsigned long long>(t["corrected_errors"].get<uint64_t>()),
              static_cast<unsigned long long>(t["uncorrectable_errors"].get<uint64_t>()));
  std::vector<std::vector<std::string>> rows;
  for (auto& d : r["devices"])
    rows.push_back({cell(d["devid"]), cell(d["path"]), cell(d["state"]),
                    human_size(d["counters"]["data_bytes_scrubbed"].get<uint64_t>() +
                               d["counters"]["tree_bytes_scrubbed"].get<uint64_t>()),
                    cell(d["counters"]["csum_errors"]), cell(d["error"])});
  if (!rows.empty()) print_table({"DEVID", "DEVICE", "STATE", "SCRUBBED", "CSUM-ERRORS", "ERROR"}, rows);
}

void print_balance(const json& b) {
  std::printf("Balance of %s: %s", shown(b["mount_point"]).c_str(), shown(b["state"]).c_str());
  if (!b["convert"].is_null()) std::printf(" (convert to %s)", shown(b["convert"]).c_str());
  std::printf(", %s of %s chunks relocated (%s considered)\n", shown(b["completed_chunks"]).c_str(),
              shown(b["expected_chunks"]).c_str(), shown(b["considered_chunks"]).c_str());
}

void print_usage(const json& u) {
  auto line = [](const char* k, const std::string& v) { std::printf("    %-22s %s\n", k, v.c_str()); };
  std::printf("Overall:\n");
  line("Device size:", human_size(u["device_size"]));
  line("Device allocated:", human_size(u["device_allocated"]));
  int64_t un = u["device_unallocated"];
  line("Device unallocated:", un < 0 ? "-" + human_size(uint64_t(-un)) : human_size(uint64_t(un)));
  line("Device missing:", human_size(u["device_missing"]));
  line("Device slack:", human_size(u["device_slack"]));
  line("Used:", human_size(u["used"]));
  line("Free (estimated):", human_size(u["free_estimated"]) + " (min: " + human_size(u["free_estimated_min"]) + ")");
  line("Free (statfs, df):", human_size(u["free_statfs"]));
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.2f", u["data_ratio"].get<double>());
  line("Data ratio:", ratio);
  std::snprintf(ratio, sizeof ratio, "%.2f", u["metadata_ratio"].get<double>());
  line("Metadata ratio:", ratio);
  line("Global reserve:", human_size(u["global_reserve"]) + " (used: " + human_size(u["global_reserve_used"]) + ")");
  line("Multiple profiles:", u["multiple_profiles"].get<bool>() ? "yes" : "no");
  std::vector<std::vector<std::string>> rows;
  for (auto& g : u["groups"])
    for (auto& d : g["devices"])
      rows.push_back({cell(g["type"]), cell(g["profile"]), human_size(g["size_bytes"]), human_size(g["used_bytes"]),
                      cell(d["path"]), human_size(d["bytes"])});
  for (auto& d : u["unallocated"]) rows.push_back({"Unallocated", "-", "-", "-", cell(d["path"]), human_size(d["bytes"])});
  std::printf("\n");
  print_table({"TYPE", "PROFILE", "SIZE", "USED", "DEVICE", "ON DEVICE"}, rows);
}

// Starts a job in the background; with --wait shows progress until it ends and fails unless it
// succeeded. Returns the result (or {job_id} without --wait).
json start_job(Env& env, const std::string& method, json params, bool wait, const std::string& title) {
  params["background"] = true;
  json started = env.call(method, params);
  if (!wait) return started;
  json job = env.wait_job(started["job_id"].get<uint64_t>(), title);
  if (job["state"] != "succeeded") {
    std::string msg = job["error"].is_string() ? job["error"].get<std::string>() : title + " " + job["state"].get<std::string>();
    int code = job["error_code"].is_number() ? job["error_code"].get<int>() : -32000;
    throw Error(static_cast<ErrorCode>(code), msg);
  }
  return job["result"];
}

void print_job_started(const json& j) { std::printf("started job %llu\n", static_cast<unsigned long long>(j["job_id"].get<uint64_t>())); }

void add_subvolume_commands(CLI::App& app, Env& env, std::shared_ptr<Args> a) {
  auto fs_opt = [a](CLI::App* c) { c->add_option("--filesystem", a->filesystem, "mount path or label (default: MOSDATA)"); };
  auto* c = app.add_subcommand("subvolumes", "list the subvolumes of a btrfs");
  fs_opt(c);
  c->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.list_subvolumes", with_filesystem(json::object(), *a)), [](const json& l) {
        std::vector<std::vector<std::string>> rows;
        for (auto& s : l["subvolumes"])
          rows.push_back({cell(s["id"]), cell(s["parent_id"]), cell(s["path"]), s["read_only"].get<bool>() ? "yes" : "no",
                          cell(s["uuid"])});
        print_table({"ID", "PARENT", "PATH", "READ-ONLY", "UUID"}, rows);
      });
    };
  });
  c = app.add_subcommand("create-subvolume", "create a subvolume at the top level");
  c->add_option("name", a->name, "subvolume name")->required();
  fs_opt(c);
  c->callback([&env, a] {
    env.action = [&env, a] { env.print(env.call("storage.create_subvolume", with_filesystem({{"name", a->name}}, *a)), print_subvolume); };
  });
  c = app.add_subcommand("delete-subvolume", "delete a subvolume (never a core one)");
  c->add_option("name", a->name, "subvolume name")->required();
  fs_opt(c);
  c->callback([&env, a] {
    env.action = [&env, a] { env.print(env.call("storage.delete_subvolume", with_filesystem({{"name", a->name}}, *a)), print_subvolume); };
  });
  c = app.add_subcommand("snapshot", "read-only snapshot of a subvolume");
  c->add_option("source", a->source, "subvolume")->required();
  c->add_option("snapshot", a->snapshot, "new snapshot name")->required();
  fs_opt(c);
  c->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.snapshot_subvolume", with_filesystem({{"source", a->source}, {"snapshot", a->snapshot}}, *a)),
                print_subvolume);
    };
  });
  c = app.add_subcommand("set-quota", "limit the referenced bytes of a subvolume (0 = no limit)");
  c->add_option("name", a->name, "subvolume name")->required();
  c->add_option("bytes", a->bytes, "limit (bytes, or a K/M/G/T/P suffix)")->required();
  fs_opt(c);
  c->callback([&env, a] {
    env.action = [&env, a] {
      json p = with_filesystem({{"name", a->name}, {"max_bytes", mos::parse_size(a->bytes, "quota size")}}, *a);
      env.print(env.call("storage.set_quota", p), [](const json& q) {
        print_table({"QGROUP", "SUBVOLUME", "LIMIT", "REFERENCED", "EXCLUSIVE"},
                    {{cell(q["qgroupid"]), cell(q["subvolume"]),
                      q["max_referenced_bytes"].is_null() ? "none" : human_size(q["max_referenced_bytes"]),
                      human_size(q["referenced_bytes"]), human_size(q["exclusive_bytes"])}});
      });
    };
  });
}

void add_scrub_balance_commands(CLI::App& app, Env& env, std::shared_ptr<Args> a) {
  auto* c = app.add_subcommand("scrub-start", "scrub a mounted btrfs (a background job)");
  c->add_option("path", a->path, "mount point")->required();
  c->add_flag("--wait", a->wait, "show progress until the scrub ends; exit code reflects errors found");
  c->add_flag("--read-only", a->read_only, "report errors without repairing");
  c->callback([&env, a] {
    env.action = [&env, a] {
      json r = start_job(env, "storage.scrub_start", {{"mount_point", a->path}, {"read_only", a->read_only}}, a->wait, "scrub");
      if (!a->wait) return env.print(r, print_job_started);
      env.print(r, print_scrub);
      if (r["state"] != "finished") throw Error(ErrorCode::storage_failed, "scrub " + r["state"].get<std::string>());
      if (r["error_count"].get<uint64_t>() > 0)
        throw Error(ErrorCode::storage_failed, "scrub found " + r["error_count"].dump() + " errors (" +
                                                   r["totals"]["uncorrectable_errors"].dump() + " uncorrectable)");
    };
  });
  for (auto [name, method, help] : {std::tuple{"scrub-status", "storage.scrub_status", "scrub state and counters"},
                                    std::tuple{"scrub-cancel", "storage.scrub_cancel", "cancel the running scrub"}}) {
    c = app.add_subcommand(name, help);
    c->add_option("path", a->path, "mount point")->required();
    c->callback([&env, a, m = std::string(method)] {
      env.action = [&env, a, m] { env.print(env.call(m, {{"mount_point", a->path}}), print_scrub); };
    });
  }
  c = app.add_subcommand("balance-start", "balance a mounted btrfs, optionally converting its profile (a job)");
  c->add_option("path", a->path, "mount point")->required();
  c->add_option("--convert", a->convert, "target profile for data and metadata (single, dup, raid1, ...)");
  c->add_flag("--force", a->force, "allow lowering metadata redundancy");
  c->add_flag("--wait", a->wait, "show progress until the balance ends; exit code reflects the outcome");
  c->callback([&env, a] {
    env.action = [&env, a] {
      json p = {{"mount_point", a->path}, {"force", a->force}};
      if (!a->convert.empty()) p["convert"] = a->convert;
      json r = start_job(env, "storage.balance_start", p, a->wait, "balance");
      if (!a->wait) return env.print(r, print_job_started);
      env.print(r, print_balance);
      if (r["state"] != "finished") throw Error(ErrorCode::storage_failed, "balance " + r["state"].get<std::string>());
    };
  });
  for (auto [name, method, help] : {std::tuple{"balance-status", "storage.balance_status", "balance state"},
                                    std::tuple{"balance-cancel", "storage.balance_cancel", "cancel the running balance"}}) {
    c = app.add_subcommand(name, help);
    c->add_option("path", a->path, "mount point")->required();
    c->callback([&env, a, m = std::string(method)] {
      env.action = [&env, a, m] { env.print(env.call(m, {{"mount_point", a->path}}), print_balance); };
    });
  }
}

void add_maintenance_commands(CLI::App& app, Env& env, std::shared_ptr<Args> a) {
  auto* c = app.add_subcommand("defrag", "defragment a file or directory tree on btrfs");
  c->add_option("path", a->path, "file or directory")->required();
  c->callback([&env, a] {
    env.action = [&env, a] {
      env.print(start_job(env, "storage.defrag", {{"path", a->path}}, true, "defrag"), [](const json& r) {
        std::printf("defragmented %s files (%s), %s failed\n", shown(r["files_defragmented"]).c_str(),
                    human_size(r["bytes"]).c_str(), shown(r["files_failed"]).c_str());
        for (auto& f : r["failures"]) std::printf("  %s\n", shown(f).c_str());
      });
    };
  });
  c = app.add_subcommand("resize-max", "grow every device of a mounted btrfs to its full size");
  c->add_option("path", a->path, "mount point")->required();
  c->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.resize_max", {{"mount_point", a->path}}), [](const json& devs) {
        std::vector<std::vector<std::string>> rows;
        for (auto& d : devs) rows.push_back({cell(d["devid"]), cell(d["path"]), human_size(d["old_size_bytes"]), human_size(d["new_size_bytes"])});
        print_table({"DEVID", "DEVICE", "OLD SIZE", "NEW SIZE"}, rows);
      });
    };
  });
  c = app.add_subcommand("add-device", "add a device to a mounted btrfs");
  c->add_option("path", a->path, "mount point")->required();
  c->add_option("device", a->device, "block device")->required();
  c->add_flag("--force", a->force, "accept a device carrying a signature");
  c->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.add_device", {{"mount_point", a->path}, {"device", a->device}, {"force", a->force}}),
                [](const json& r) { std::printf("added %s as devid %s; %s devices\n", shown(r["device"]).c_str(), shown(r["devid"]).c_str(), shown(r["num_devices"]).c_str()); });
    };
  });
  c = app.add_subcommand("remove-device", "remove a device (path or devid) from a mounted btrfs");
  c->add_option("path", a->path, "mount point")->required();
  c->add_option("device", a->device, "member path or devid")->required();
  c->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.remove_device", {{"mount_point", a->path}, {"device", a->device}}),
                [](const json& r) { std::printf("removed %s; %s devices left\n", shown(r["device"]).c_str(), shown(r["num_devices"]).c_str()); });
    };
  });
}

void add_usage_commands(CLI::App& app, Env& env, std::shared_ptr<Args> a) {
  auto* c = app.add_subcommand("device-stats", "per-device error counters of a mounted btrfs");
  c->add_option("path", a->path, "mount point")->required();
  c->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.device_stats", {{"mount_point", a->path}}), [](const json& devs) {
        std::vector<std::vector<std::string>> rows;
        for (auto& d : devs)
          rows.push_back({cell(d["devid"]), cell(d["path"]), cell(d["write_io_errs"]), cell(d["read_io_errs"]),
                          cell(d["flush_io_errs"]), cell(d["corruption_errs"]), cell(d["generation_errs"])});
        print_table({"DEVID", "DEVICE", "WRITE", "READ", "FLUSH", "CORRUPTION", "GENERATION"}, rows);
      });
    };
  });
  c = app.add_subcommand("fs-usage", "space usage of a mounted btrfs (as btrfs filesystem usage)");
  c->add_option("path", a->path, "mount point")->required();
  c->callback([&env, a] { env.action = [&env, a] { env.print(env.call("storage.fs_usage", {{"mount_point", a->path}}), print_usage); }; });
  c = app.add_subcommand("fs-df", "space per type and profile (as btrfs filesystem df)");
  c->add_option("path", a->path, "mount point")->required();
  c->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.fs_df", {{"mount_point", a->path}}), [](const json& df) {
        std::vector<std::vector<std::string>> rows;
        for (auto& g : df["groups"]) rows.push_back({cell(g["type"]), cell(g["profile"]), human_size(g["total_bytes"]), human_size(g["used_bytes"])});
        print_table({"TYPE", "PROFILE", "TOTAL", "USED"}, rows);
      });
    };
  });
  c = app.add_subcommand("jobs", "running and finished long operations");
  c->add_option("id", a->job_id, "one job");
  c->callback([&env, a] {
    env.action = [&env, a] {
      json p = json::object();
      if (a->job_id) p["id"] = a->job_id;
      json r = env.call("storage.jobs", p);
      env.print(r, [](const json& res) {
        json list = res.is_array() ? res : json::array({res});
        std::vector<std::vector<std::string>> rows;
        for (auto& j : list) {
          char pct[16];
          std::snprintf(pct, sizeof pct, "%.1f%%", j.value("percent", 0.0));
          rows.push_back({cell(j["id"]), cell(j["kind"]), cell(j["target"]), cell(j["state"]), pct, cell(j["error"])});
        }
        print_table({"ID", "KIND", "TARGET", "STATE", "PROGRESS", "ERROR"}, rows);
      });
    };
  });
}

}  // namespace

void add_btrfs_commands(CLI::App& app, Env& env) {
  auto args = std::make_shared<Args>();
  add_subvolume_commands(app, env, args);
  add_scrub_balance_commands(app, env, args);
  add_maintenance_commands(app, env, args);
  add_usage_commands(app, env, args);
}

}  // namespace mos::cli
