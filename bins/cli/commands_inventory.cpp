// status, disks, partitions, filesystems, mounts, discover.
#include "bins/cli/env.hpp"

namespace mos::cli {
namespace {

void print_devices(const json& devs) {
  std::vector<std::vector<std::string>> rows;
  for (auto& d : devs)
    rows.push_back({d["path"], d["kind"], human_size(d["size_bytes"]),
                    std::to_string(d["logical_sector_size"].get<int>()) + "/" +
                        std::to_string(d["physical_sector_size"].get<int>()),
                    cell(d["pttype"]), cell(d["fstype"]), cell(d["label"]), cell(d["uuid"]), cell(d["model"]),
                    cell(d["mountpoints"])});
  print_table({"DEVICE", "KIND", "SIZE", "SECTOR", "PTTYPE", "FSTYPE", "LABEL", "UUID", "MODEL", "MOUNTPOINTS"}, rows);
}

void print_partitions(const json& parts) {
  std::vector<std::vector<std::string>> rows;
  for (auto& d : parts)
    rows.push_back({d["path"], cell(d["parent"]), cell(d["partnum"]), human_size(d["size_bytes"]),
                    d["start_bytes"].is_null() ? "-" : human_size(d["start_bytes"]), cell(d["partlabel"]),
                    cell(d["parttype_name"].is_null() ? d["parttype"] : d["parttype_name"]), cell(d["partuuid"]),
                    cell(d["fstype"]), cell(d["label"]), cell(d["mountpoints"])});
  print_table({"PARTITION", "DISK", "#", "SIZE", "START", "PARTLABEL", "TYPE", "PARTUUID", "FSTYPE", "LABEL",
               "MOUNTPOINTS"},
              rows);
}

void print_filesystems(const json& fss) {
  std::vector<std::vector<std::string>> rows;
  for (auto& f : fss)
    rows.push_back({f["path"], cell(f["fstype"]), cell(f["label"]), cell(f["uuid"]), human_size(f["size_bytes"]),
                    f["mos"].get<bool>() ? cell(f["mos_role"]) : "-", cell(f["mountpoints"])});
  print_table({"DEVICE", "FSTYPE", "LABEL", "UUID", "SIZE", "MOS", "MOUNTPOINTS"}, rows);
}

void print_subvolumes(const json& filesystems) {
  std::vector<std::vector<std::string>> rows;
  for (auto& fs : filesystems) {
    if (!fs["error"].is_null()) rows.push_back({fs["mounted_at"], cell(fs["label"]), "-", "-", "-", fs["error"]});
    for (auto& v : fs["subvolumes"])
      rows.push_back({fs["mounted_at"], cell(fs["label"]), cell(v["id"]), v["path"], cell(v["read_only"]), cell(v["uuid"])});
  }
  print_table({"FILESYSTEM", "LABEL", "ID", "SUBVOLUME", "RO", "UUID"}, rows);
}

void print_mounts(const json& ms) {
  std::vector<std::vector<std::string>> rows;
  for (auto& m : ms)
    rows.push_back({m["target"], m["source"], m["fstype"], m["root"], cell(m["label"]), m["options"]});
  print_table({"TARGET", "SOURCE", "FSTYPE", "ROOT", "LABEL", "OPTIONS"}, rows);
}

}  // namespace

void add_inventory_commands(CLI::App& app, Env& env) {
  app.add_subcommand("status", "full inventory: disks, partitions, filesystems, mounts, md arrays, btrfs subvolumes")->callback([&env] {
    env.action = [&env] {
      env.print(env.call("storage.inventory"), [](const json& inv) {
        std::printf("Disks\n");
        print_devices(inv["disks"]);
        std::printf("\nPartitions\n");
        print_partitions(inv["partitions"]);
        std::printf("\nFilesystems\n");
        print_filesystems(inv["filesystems"]);
        std::printf("\nMounts\n");
        print_mounts(inv["mounts"]);
        if (inv.contains("raids")) {
          std::printf("\nmd arrays\n");
          print_raids(inv["raids"]);
        }
        if (inv.contains("subvolumes")) {
          std::printf("\nbtrfs subvolumes\n");
          print_subvolumes(inv["subvolumes"]);
        }
      });
    };
  });
  app.add_subcommand("disks", "block devices that are not partitions")->callback([&env] {
    env.action = [&env] { env.print(env.call("storage.list_disks"), print_devices); };
  });
  app.add_subcommand("partitions", "partitions with names, types and filesystems")->callback([&env] {
    env.action = [&env] { env.print(env.call("storage.list_partitions"), print_partitions); };
  });
  app.add_subcommand("filesystems", "devices carrying a filesystem (MOS labels flagged)")->callback([&env] {
    env.action = [&env] { env.print(env.call("storage.list_filesystems"), print_filesystems); };
  });
  app.add_subcommand("mounts", "mounted block-device filesystems")->callback([&env] {
    env.action = [&env] { env.print(env.call("storage.list_mounts"), print_mounts); };
  });
  app.add_subcommand("discover", "OpenRPC service document")->callback([&env] {
    env.action = [&env] {
      json doc = env.call("rpc.discover");
      env.print(doc, [](const json& d) {
        std::vector<std::vector<std::string>> rows;
        for (auto& m : d["methods"]) rows.push_back({m["name"], m["summary"]});
        print_table({"METHOD", "SUMMARY"}, rows);
      });
    };
  });
}

}  // namespace mos::cli
