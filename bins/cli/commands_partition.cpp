// free-space, create-partition-table, create-partition, delete-partition, resize-partition,
// wipe-signatures, repair-partition-table, partition-table.
#include <cstdio>
#include <memory>

#include "bins/cli/env.hpp"
#include "base/error.hpp"
#include "base/text.hpp"

namespace mos::cli {
namespace {

// A table edit's result: its device, write plan, kernel calls and notes.
void print_operation(const json& op) {
  std::printf("%s%s\n", shown(op["device"]).c_str(), op["dry_run"].get<bool>() ? " (dry run: nothing written)" : "");
  print_write_plan(op["plan"]);
  std::vector<std::vector<std::string>> rows;
  for (auto& c : op["kernel_calls"])
    rows.push_back({c["op"], c["number"].get<uint32_t>() ? std::to_string(c["number"].get<uint32_t>()) : "-",
                    c["op"] == "blkpg_add" || c["op"] == "blkpg_resize" ? std::to_string(c["start_bytes"].get<uint64_t>()) : "-",
                    c["op"] == "blkpg_add" || c["op"] == "blkpg_resize" ? human_size(c["length_bytes"]) : "-"});
  if (!rows.empty()) print_table({"KERNEL CALL", "#", "START", "LENGTH"}, rows);
  for (auto& n : op["notes"]) std::printf("note: %s\n", shown(n).c_str());
}

void print_partition_only(const json& d) {
  print_table({"PARTITION", "#", "START", "SIZE", "PARTLABEL", "TYPE", "PARTUUID"},
              {{d["path"], cell(d["partnum"]), cell(d["start_bytes"]), human_size(d["size_bytes"]), cell(d["partlabel"]),
                cell(d["parttype_name"].is_null() ? d["parttype"] : d["parttype_name"]), cell(d["partuuid"])}});
}

void print_partition(const json& d) {
  print_partition_only(d);
  if (d.contains("plan")) print_operation(d["plan"]);
}

struct Args {
  std::string disk, device, name, part_type, size, start;
  uint32_t number = 0;
  bool force = false, dry_run = false, verbose = false;
};

// The partition; its write plan only when asked (--verbose) or when nothing was written (--dry-run).
std::function<void(const json&)> partition_printer(const Args& a) {
  if (a.verbose || a.dry_run) return print_partition;
  return print_partition_only;
}

// "123", "512M", "10G", "25%" (of the disk), "max" (resize only) -> JSON for size_bytes.
json size_arg(Env& env, const Args& a, const std::string& text, bool allow_max) {
  if (allow_max && text == "max") return "max";
  std::optional<uint64_t> whole;
  if (!text.empty() && text.back() == '%') {
    for (auto& d : env.call("storage.list_disks", json::object()))
      if (d["path"] == a.disk) whole = d["size_bytes"].get<uint64_t>();
    if (!whole) throw Error(ErrorCode::not_found, "disk " + a.disk + " not found (needed for a size in %)", a.disk);
  }
  return mos::parse_size(text, "--size", whole);
}

}  // namespace

void add_partition_commands(CLI::App& app, Env& env) {
  auto a = std::make_shared<Args>();

  auto* fs = app.add_subcommand("free-space", "aligned unpartitioned gaps of a disk");
  fs->add_option("disk", a->disk, "whole-disk device")->required();
  fs->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.list_free_space", {{"disk", a->disk}}), [](const json& gaps) {
        std::vector<std::vector<std::string>> rows;
        for (auto& g : gaps)
          rows.push_back({std::to_string(g["start_bytes"].get<uint64_t>()), std::to_string(g["end_bytes"].get<uint64_t>()),
                          human_size(g["size_bytes"])});
        print_table({"START", "END", "SIZE"}, rows);
      });
    };
  });

  auto* pt = app.add_subcommand("partition-table", "check both GPT copies and list the partitions");
  pt->add_option("--disk", a->disk, "whole-disk device")->required();
  pt->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.read_partition_table", {{"disk", a->disk}}), [](const json& t) {
        std::printf("%s: GPT %s, primary %s, backup %s\n", shown(t["disk"]).c_str(),
                    t["has_gpt"].get<bool>() ? "present" : "absent",
                    t["primary_ok"].get<bool>() ? "ok" : shown(t["primary_error"]).c_str(),
                    t["backup_ok"].get<bool>() ? "ok" : shown(t["backup_error"]).c_str());
        for (auto& p : t["partitions"]) print_partition(p);
      });
    };
  });

  auto* cpt = app.add_subcommand("create-partition-table", "write a fresh, empty GPT");
  cpt->add_option("--disk", a->disk, "whole-disk device")->required();
  cpt->add_flag("--force", a->force, "overwrite existing signatures / partition table");
  cpt->add_flag("--dry-run", a->dry_run, "show the plan, write nothing");
  cpt->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.create_partition_table", {{"disk", a->disk}, {"force", a->force}, {"dry_run", a->dry_run}}), print_operation);
    };
  });

  auto* cp = app.add_subcommand("create-partition", "add a partition (no --size: the largest free gap)");
  cp->add_option("--disk", a->disk, "whole-disk device")->required();
  cp->add_option("--name", a->name, "partition name (PARTLABEL)")->required();
  cp->add_option("--part-type", a->part_type, "linux, esp, swap, bios_boot, linux_raid, ... or a type GUID")->required();
  cp->add_option("--size", a->size, "size: bytes, K/M/G/T/P suffix (binary) or N% of the disk");
  cp->add_option("--start", a->start, "start offset: bytes or K/M/G/T/P suffix");
  cp->add_flag("--dry-run", a->dry_run, "show the plan, write nothing");
  cp->add_flag("--verbose,-v", a->verbose, "also show the write plan");
  cp->callback([&env, a] {
    env.action = [&env, a] {
      json params = {{"disk", a->disk}, {"name", a->name}, {"part_type", a->part_type}, {"dry_run", a->dry_run}};
      if (!a->size.empty()) params["size_bytes"] = size_arg(env, *a, a->size, false);
      if (!a->start.empty()) params["start_bytes"] = mos::parse_size(a->start, "--start");
      env.print(env.call("storage.create_partition", params), partition_printer(*a));
    };
  });

  auto* dp = app.add_subcommand("delete-partition", "remove a partition (refused while mounted or held)");
  dp->add_option("--disk", a->disk, "whole-disk device")->required();
  dp->add_option("--number", a->number, "partition number")->required();
  dp->add_flag("--dry-run", a->dry_run, "show the plan, write nothing");
  dp->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.delete_partition", {{"disk", a->disk}, {"number", a->number}, {"dry_run", a->dry_run}}), print_operation);
    };
  });

  auto* rp = app.add_subcommand("resize-partition", "grow a partition to --size BYTES or 'max'");
  rp->add_option("--disk", a->disk, "whole-disk device")->required();
  rp->add_option("--number", a->number, "partition number")->required();
  rp->add_option("--size", a->size, "new size: bytes, K/M/G/T/P suffix, N% of the disk, or max")->required();
  rp->add_flag("--dry-run", a->dry_run, "show the plan, write nothing");
  rp->add_flag("--verbose,-v", a->verbose, "also show the write plan");
  rp->callback([&env, a] {
    env.action = [&env, a] {
      json params = {{"disk", a->disk}, {"number", a->number}, {"size_bytes", size_arg(env, *a, a->size, true)}, {"dry_run", a->dry_run}};
      env.print(env.call("storage.resize_partition", params), partition_printer(*a));
    };
  });

  auto* ws = app.add_subcommand("wipe-signatures", "erase every known signature (GPT copies, MBR, filesystems)");
  ws->add_option("device", a->device, "disk or partition")->required();
  ws->add_flag("--force", a->force, "erase signatures that are present");
  ws->add_flag("--dry-run", a->dry_run, "show the plan, write nothing");
  ws->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.wipe_signatures", {{"device", a->device}, {"force", a->force}, {"dry_run", a->dry_run}}), print_operation);
    };
  });

  auto* rt = app.add_subcommand("repair-partition-table", "restore a damaged GPT copy from the good one");
  rt->add_option("--disk", a->disk, "whole-disk device")->required();
  rt->add_flag("--dry-run", a->dry_run, "show the plan, write nothing");
  rt->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.repair_partition_table", {{"disk", a->disk}, {"dry_run", a->dry_run}}), print_operation);
    };
  });
}

}  // namespace mos::cli
