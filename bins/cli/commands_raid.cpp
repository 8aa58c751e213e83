// create-raid, assemble-raid, stop-raid, raids, raid-add (--wait: rebuild progress), raid-remove.
#include <memory>

#include "bins/cli/env.hpp"
#include "base/error.hpp"

namespace mos::cli {

void print_raids(const json& arrays) {
  std::vector<std::vector<std::string>> rows;
  for (auto& a : arrays) {
    std::string members;
    for (auto& m : a["members"]) {
      std::string dev = m["device"].is_null() ? "missing" : m["device"].get<std::string>();
      std::string slot = m["slot"].is_null() ? "spare" : std::to_string(m["slot"].get<int>());
      members += (members.empty() ? "" : " ") + dev + "[" + slot + "," + m["state"].get<std::string>() + "]";
    }
    std::string sync = cell(a["sync_action"]);
    if (a["sync_total_bytes"].is_number() && a["sync_total_bytes"].get<uint64_t>() > 0)
      sync += " " + std::to_string(100 * a["sync_done_bytes"].get<uint64_t>() / a["sync_total_bytes"].get<uint64_t>()) + "%";
    rows.push_back({a["name"], a["device"], a["metadata"], a["level"], a["state"], std::to_string(a["degraded"].get<int>()),
                    sync, human_size(a["size_bytes"]), cell(a["uuid"]), members});
  }
  print_table({"NAME", "DEVICE", "META", "LEVEL", "STATE", "DEGRADED", "SYNC", "SIZE", "UUID", "MEMBERS"}, rows);
}

namespace {

void print_create(const json& r) {
  const json& a = r["array"];
  if (r["dry_run"].get<bool>()) std::printf("Dry run: nothing written.\n");
  std::printf("%s %s (metadata %s, uuid %s)%s\n", r["started"].get<bool>() ? "Started" : "Planned",
              shown(a["device"]).c_str(), shown(a["metadata"]).c_str(), shown(a["uuid"]).c_str(),
              r["resync"].get<bool>() ? ", initial resync by the kernel" : "");
  print_raids(json::array({a}));
}

void print_assemble(const json& r) {
  std::vector<std::vector<std::string>> rows;
  for (auto& a : r["arrays"]) {
    std::string members, left;
    for (auto& m : a["members"]) members += (members.empty() ? "" : " ") + m.get<std::string>();
    for (auto& l : a["left_out"])
      left += (left.empty() ? "" : "; ") + l["device"].get<std::string>() + ": " + l["reason"].get<std::string>();
    rows.push_back({a["name"], a["metadata"], a["outcome"], members, a["missing_slots"].dump(), left.empty() ? "-" : left,
                    cell(a["error"])});
  }
  print_table({"NAME", "META", "OUTCOME", "MEMBERS", "MISSING SLOTS", "LEFT OUT", "ERROR"}, rows);
}

}  // namespace

void add_raid_commands(CLI::App& app, Env& env) {
  struct CreateArgs {
    std::string name, metadata = "1.2", uuid;
    std::vector<std::string> members;
    bool zero = false, assume_clean = false, force = false, dry_run = false, no_start = false;
  };
  auto create = std::make_shared<CreateArgs>();
  auto* c = app.add_subcommand("create-raid", "create and start an md RAID1 array (no mdadm)");
  c->add_option("--name", create->name, "array name: /dev/md_<name>, /dev/md/<name>")->required();
  c->add_option("--metadata", create->metadata, "0.90 | 1.2 (default 1.2)");
  c->add_option("members", create->members, "two devices, or one device and 'missing'")->required()->expected(2);
  c->add_option("--uuid", create->uuid, "array UUID (random when absent)");
  c->add_flag("--zero-members", create->zero, "zero the data areas so no initial resync is needed");
  c->add_flag("--assume-clean", create->assume_clean, "members are known identical: no initial resync");
  c->add_flag("--force", create->force, "overwrite existing signatures (never a mounted or held member)");
  c->add_flag("--no-start", create->no_start, "write the superblocks only");
  c->add_flag("--dry-run", create->dry_run, "show the plans, write nothing");
  c->callback([&env, create] {
    env.action = [&env, create] {
      json p = {{"name", create->name}, {"metadata", create->metadata}, {"members", create->members},
                {"zero_members", create->zero}, {"assume_clean", create->assume_clean}, {"force", create->force},
                {"start", !create->no_start}, {"dry_run", create->dry_run}};
      if (!create->uuid.empty()) p["uuid"] = create->uuid;
      env.print(env.call("storage.create_raid", p), print_create);
    };
  });

  struct AssembleArgs {
    std::string name, uuid;
    std::vector<std::string> devices;
    bool dry_run = false;
  };
  auto assemble = std::make_shared<AssembleArgs>();
  auto* a = app.add_subcommand("assemble-raid", "find md members and start their arrays");
  a->add_option("--name", assemble->name, "only this array");
  a->add_option("--uuid", assemble->uuid, "only this array UUID");
  a->add_option("devices", assemble->devices, "probe only these devices (default: every allowed device)");
  a->add_flag("--dry-run", assemble->dry_run, "report, start nothing");
  a->callback([&env, assemble] {
    env.action = [&env, assemble] {
      json p = {{"dry_run", assemble->dry_run}};
      if (!assemble->name.empty()) p["name"] = assemble->name;
      if (!assemble->uuid.empty()) p["uuid"] = assemble->uuid;
      if (!assemble->devices.empty()) p["devices"] = assemble->devices;
      env.print(env.call("storage.assemble_raid", p), print_assemble);
    };
  });

  auto stop_array = std::make_shared<std::string>();
  auto* s = app.add_subcommand("stop-raid", "stop an md array (refused while mounted)");
  s->add_option("array", *stop_array, "name, /dev/md_<name> or /dev/md/<name>")->required();
  s->callback([&env, stop_array] {
    env.action = [&env, stop_array] {
      env.print(env.call("storage.stop_raid", {{"array", *stop_array}}),
                [](const json& r) { std::printf("Stopped %s\n", shown(r["device"]).c_str()); });
    };
  });

  app.add_subcommand("raids", "md arrays: state, degraded, sync progress, members")->callback([&env] {
    env.action = [&env] { env.print(env.call("storage.list_raids"), print_raids); };
  });

  struct MemberArgs {
    std::string array, device;
    bool force = false, dry_run = false, wait = false;
  };
  auto add = std::make_shared<MemberArgs>();
  auto* ad = app.add_subcommand("raid-add", "add a blank replacement member; the kernel rebuilds onto it");
  ad->add_option("array", add->array, "name, /dev/md_<name> or /dev/md/<name>")->required();
  ad->add_option("device", add->device, "the new member")->required();
  ad->add_flag("--force", add->force, "overwrite an existing signature");
  ad->add_flag("--dry-run", add->dry_run, "show the plan, write nothing");
  ad->add_flag("--wait", add->wait, "follow the rebuild with a progress bar until it ends");
  ad->callback([&env, add] {
    env.action = [&env, add] {
      json r = env.call("storage.raid_add_member",
                        {{"array", add->array}, {"device", add->device}, {"force", add->force}, {"dry_run", add->dry_run}});
      if (add->wait && r["job"].is_number()) {
        json job = env.wait_job(r["job"].get<uint64_t>(), "rebuild " + r["array"]["device"].get<std::string>());
        if (job["state"] != "succeeded")
          throw Error(ErrorCode::storage_failed, job["error"].is_string() ? job["error"].get<std::string>() : "rebuild " + job["state"].get<std::string>());
        r["array"] = job["result"];
      }
      env.print(r, [](const json& res) { print_raids(json::array({res["array"]})); });
    };
  });

  auto remove = std::make_shared<MemberArgs>();
  auto* rm = app.add_subcommand("raid-remove", "fail and remove a member of a running array");
  rm->add_option("array", remove->array, "name, /dev/md_<name> or /dev/md/<name>")->required();
  rm->add_option("device", remove->device, "the member to remove")->required();
  rm->callback([&env, remove] {
    env.action = [&env, remove] {
      env.print(env.call("storage.raid_remove_member", {{"array", remove->array}, {"device", remove->device}}),
                [](const json& a) { print_raids(json::array({a})); });
    };
  });
}

}  // namespace mos::cli
