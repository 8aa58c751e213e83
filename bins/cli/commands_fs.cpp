// create-filesystem, repair-superblock, mount, unmount, usage.
#include <memory>

#include "bins/cli/env.hpp"
#include "bins/fstype_texts.hpp"  // generated from the filesystem-type table

namespace mos::cli {
namespace {

struct CreateFilesystemArgs {
  std::string device, fstype, label, uuid, profile, data_profile, metadata_profile;
  std::vector<std::string> devices;
  bool force = false, dry_run = false, full_init = false;
  unsigned block_size = 0;
};

void add_create_filesystem(CLI::App& app, Env& env) {
  auto args = std::make_shared<CreateFilesystemArgs>();
  const std::string multi = kMultiDeviceFstypes;
  auto* cmd =
      app.add_subcommand("create-filesystem", "create a " + std::string(kCreatableFstypes) + " filesystem on a device");
  cmd->add_option("--device", args->device, "block device")->required();
  cmd->add_option("--fstype", args->fstype,
                  std::string(kCreatableFstypeChoices) + " (" + kRefusedFstypes + ": refused, no writer yet)")
      ->required();
  cmd->add_option("--label", args->label, "filesystem label (\"\" for none)")->required();
  cmd->add_option("--uuid", args->uuid,
                  std::string(kVolumeIdFstypes) + ": XXXX-XXXX volume id; others: UUID (default: random)");
  cmd->add_option("--devices", args->devices, multi + ": further member devices, e.g. /dev/sdc[,/dev/sdd]")->delimiter(',');
  cmd->add_option("--profile", args->profile, multi + ": data and metadata profile: single | dup | raid1");
  cmd->add_option("--data-profile", args->data_profile, multi + ": data profile (overrides --profile)");
  cmd->add_option("--metadata-profile", args->metadata_profile, multi + ": metadata profile (overrides --profile)");
  cmd->add_flag("--force", args->force, "overwrite an existing signature (never a mounted or held device)");
  cmd->add_flag("--dry-run", args->dry_run, "show what would be written, write nothing");
  cmd->add_flag("--full-init", args->full_init,
                std::string(kFullInitFstypes) + ": initialize inode tables and journal now");
  cmd->add_option("--block-size", args->block_size,
                  std::string(kBlockSizeFstypes) + " block size: 1024, 2048 or 4096");
  cmd->callback([&env, args] {
    env.action = [&env, args] {
      json params = {{"device", args->device}, {"fstype", args->fstype}, {"label", args->label},
                     {"force", args->force}, {"dry_run", args->dry_run}};
      if (!args->uuid.empty()) params["uuid"] = args->uuid;
      if (!args->devices.empty()) params["devices"] = args->devices;
      if (!args->profile.empty()) params["profile"] = args->profile;
      if (!args->data_profile.empty()) params["data_profile"] = args->data_profile;
      if (!args->metadata_profile.empty()) params["metadata_profile"] = args->metadata_profile;
      json options = json::object();
      if (args->full_init) options["full_init"] = true;
      if (args->block_size) options["block_size"] = args->block_size;
      if (!options.empty()) params["options"] = options;
      env.print(env.call("storage.create_filesystem", params), [](const json& r) {
        uint64_t written = 0, zeroed = 0;
        for (auto& m : r["members"]) {
          written += m["plan"]["bytes_written"].get<uint64_t>();
          zeroed += m["plan"]["bytes_zeroed"].get<uint64_t>();
        }
        std::string on;
        for (auto& m : r["members"]) on += (on.empty() ? "" : ", ") + m["device"]["path"].get<std::string>();
        std::string what = r["fstype"].get<std::string>() + " on " + on +
                           " (LABEL=" + cell(r["label"]) + " UUID=" + cell(r["uuid"]) + ")";
        if (r["dry_run"].get<bool>()) {
          std::printf("Would create %s: write %s, zero %s\n", what.c_str(), human_size(written).c_str(),
                      human_size(zeroed).c_str());
          for (auto& m : r["members"]) {
            if (r["members"].size() > 1) std::printf("%s:\n", shown(m["device"]["path"]).c_str());
            print_write_plan(m["plan"]);
          }
        } else {
          std::printf("Created %s: wrote %s, zeroed %s\n", what.c_str(), human_size(written).c_str(),
                      human_size(zeroed).c_str());
        }
      });
    };
  });
}

void add_repair_superblock(CLI::App& app, Env& env) {
  auto device = std::make_shared<std::string>();
  auto dry_run = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("repair-superblock",
                                 "rewrite a damaged primary superblock (btrfs, ext2/3/4, FAT32) or primary GPT from its "
                                 "valid copy; refuses mounted devices and copies that do not verify");
  cmd->add_option("device", *device, "block device (a whole disk for its GPT)")->required();
  cmd->add_flag("--dry-run", *dry_run, "show the damage, the copy and what would be written; write nothing");
  cmd->callback([&env, device, dry_run] {
    env.action = [&env, device, dry_run] {
      json params = {{"device", *device}, {"dry_run", *dry_run}};
      env.print(env.call("storage.repair_superblock", params), [](const json& r) {
        const std::string on = r["format"].get<std::string>() + " on " + r["device"]["path"].get<std::string>();
        const std::string size = human_size(r["plan"]["bytes_written"].get<uint64_t>());
        if (r["source"].is_null()) std::printf("Nothing to repair: %s\n", on.c_str());
        else if (r["dry_run"].get<bool>()) std::printf("Would repair the %s from its %s: write %s\n", on.c_str(), shown(r["source"]).c_str(), size.c_str());
        else std::printf("Repaired the %s from its %s: wrote %s\n", on.c_str(), shown(r["source"]).c_str(), size.c_str());
        if (!r["damage"].is_null()) std::printf("  damage: %s\n", shown(r["damage"]).c_str());
        for (auto& n : r["notes"]) std::printf("  note: %s\n", shown(n).c_str());
        if (r["dry_run"].get<bool>() && !r["plan"]["steps"].empty()) print_write_plan(r["plan"]);
      });
    };
  });
}

struct MountArgs {
  std::string source, target, fstype, options;
};

void add_mount(CLI::App& app, Env& env) {
  auto args = std::make_shared<MountArgs>();
  auto* cmd = app.add_subcommand("mount", "mount a block device (creates the target directory)");
  cmd->add_option("--source", args->source, "block device")->required();
  cmd->add_option("--target", args->target, "absolute mount point")->required();
  cmd->add_option("--fstype", args->fstype, "filesystem type, e.g. ext4")->required();
  cmd->add_option("--options", args->options, "comma-separated options, e.g. noatime,compress=zstd");
  cmd->callback([&env, args] {
    env.action = [&env, args] {
      json params = {{"source", args->source}, {"target", args->target}, {"fstype", args->fstype},
                     {"options", args->options}};
      env.print(env.call("storage.mount", params), [](const json& m) {
        std::printf("%s %s on %s (%s; mount: %s; filesystem: %s)\n",
                    m["already_mounted"].get<bool>() ? "Already mounted" : "Mounted",
                    shown(m["source"]).c_str(), shown(m["target"]).c_str(),
                    shown(m["fstype"]).c_str(), shown(m["options"]).c_str(),
                    shown(m["super_options"]).c_str());
      });
    };
  });
}

void add_unmount(CLI::App& app, Env& env) {
  auto path = std::make_shared<std::string>();
  auto lazy = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("unmount", "unmount a mount point");
  cmd->add_option("path", *path, "mount point")->required();
  cmd->add_flag("--lazy", *lazy, "detach now even if busy (MNT_DETACH)");
  cmd->callback([&env, path, lazy] {
    env.action = [&env, path, lazy] {
      env.print(env.call("storage.unmount", {{"path", *path}, {"lazy", *lazy}}), [](const json& r) {
        std::printf("Unmounted %s (%s)\n", shown(r["target"]).c_str(), shown(r["source"]).c_str());
      });
    };
  });
}

void add_usage(CLI::App& app, Env& env) {
  app.add_subcommand("usage", "size, used and available space of mounted filesystems (like df)")->callback([&env] {
    env.action = [&env] {
      env.print(env.call("storage.usage"), [](const json& list) {
        std::vector<std::vector<std::string>> rows;
        for (auto& u : list)
          rows.push_back({u["target"], cell(u["device"].is_null() ? u["source"] : u["device"]), u["fstype"],
                          human_size(u["size_bytes"]), human_size(u["used_bytes"]), human_size(u["available_bytes"]),
                          std::to_string(u["use_percent"].get<unsigned>()) + "%"});
        print_table({"MOUNT POINT", "DEVICE", "FSTYPE", "SIZE", "USED", "AVAIL", "USE%"}, rows);
      });
    };
  });
}

}  // namespace

void add_fs_commands(CLI::App& app, Env& env) {
  add_create_filesystem(app, env);
  add_repair_superblock(app, env);
  add_mount(app, env);
  add_unmount(app, env);
  add_usage(app, env);
}

}  // namespace mos::cli
