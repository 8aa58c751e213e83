// volume create|list|show|clone|snapshot|resize|attach|detach|delete: storage.volume_* (volumes
// for VMs and containers in the daemon's --volumes-dir subvolume).
#include <memory>

#include "base/text.hpp"
#include "bins/cli/env.hpp"

namespace mos::cli {
namespace {

void print_volumes(const json& list) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : list) {
    auto bytes = [](const json& b) { return b.is_number() ? human_size(b.get<uint64_t>()) : std::string("-"); };
    rows.push_back({cell(v["name"]), cell(v["kind"]), v["kind"] == "block" ? bytes(v["size"]) : "-",
                    bytes(v["exclusive_bytes"]), bytes(v["shared_bytes"]), cell(v["origin"]),
                    v["snapshot"].get<bool>() ? "yes" : "no", cell(v["attached"])});
  }
  print_table({"NAME", "KIND", "SIZE", "EXCLUSIVE", "SHARED", "ORIGIN", "SNAPSHOT", "ATTACHED"}, rows);
}

void print_volume(const json& v) { print_volumes(json::array({v})); }

}  // namespace

void add_volume_commands(CLI::App& app, Env& env) {
  struct Args {
    std::string name, origin, kind = "block", size;
    bool force = false, read_only = false, buffered = false;
  };
  auto a = std::make_shared<Args>();
  auto* vol = app.add_subcommand("volume", "volumes for VMs and containers: create, list, show, clone, snapshot, "
                                           "resize, attach, detach, delete");
  vol->require_subcommand(1);

  auto* c = vol->add_subcommand("create", "create a volume (the same again answers the existing one)");
  c->add_option("name", a->name, "volume name")->required();
  c->add_option("--kind", a->kind, "block (a raw image) or fs (a subvolume)")->check(CLI::IsMember({"block", "fs"}))
      ->capture_default_str();
  c->add_option("--size", a->size, "block: size, bytes or K/M/G/T/P suffix (binary)");
  c->callback([&env, a] {
    env.action = [&env, a] {
      json p = {{"name", a->name}, {"kind", a->kind}};
      if (!a->size.empty()) p["size"] = mos::parse_size(a->size, "--size", std::nullopt);
      env.print(env.call("storage.volume_create", p), print_volume);
    };
  });
  c = vol->add_subcommand("list", "every volume: kind, size, bytes used (exclusive, shared), origin, attachment");
  c->callback([&env] { env.action = [&env] { env.print(env.call("storage.volume_list"), print_volumes); }; });
  c = vol->add_subcommand("show", "one volume");
  c->add_option("name", a->name, "volume name")->required();
  c->callback([&env, a] {
    env.action = [&env, a] { env.print(env.call("storage.volume_show", {{"name", a->name}}), print_volume); };
  });
  for (const char* verb : {"clone", "snapshot"}) {
    const std::string what = verb;
    c = vol->add_subcommand(what, what == "clone" ? "a writable copy sharing every extent (constant time)"
                                                  : "a read-only point-in-time copy");
    c->add_option("origin", a->origin, "the volume to copy")->required();
    c->add_option("name", a->name, "the new volume")->required();
    c->callback([&env, a, what] {
      env.action = [&env, a, what] {
        env.print(env.call("storage.volume_" + what, {{"origin", a->origin}, {"name", a->name}}), print_volume);
      };
    });
  }
  c = vol->add_subcommand("resize", "grow a block volume (smaller only with --force); an attached device is told");
  c->add_option("name", a->name, "volume name")->required();
  c->add_option("--size", a->size, "new size, bytes or K/M/G/T/P suffix (binary)")->required();
  c->add_flag("--force", a->force, "allow shrinking (drops the data past the new end)");
  c->callback([&env, a] {
    env.action = [&env, a] {
      json p = {{"name", a->name}, {"size", mos::parse_size(a->size, "--size", std::nullopt)}, {"force", a->force}};
      env.print(env.call("storage.volume_resize", p), print_volume);
    };
  });
  c = vol->add_subcommand("attach", "attach a block volume as a loop device (direct I/O unless --buffered)");
  c->add_option("name", a->name, "volume name")->required();
  c->add_flag("--read-only", a->read_only, "attach read-only");
  c->add_flag("--buffered", a->buffered, "no direct I/O");
  c->callback([&env, a] {
    env.action = [&env, a] {
      json p = {{"name", a->name}, {"read_only", a->read_only}, {"direct_io", !a->buffered}};
      env.print(env.call("storage.volume_attach", p), [](const json& r) {
        print_table({"DEVICE", "LINK", "READ-ONLY", "DIRECT-IO"},
                    {{cell(r["device"]), cell(r["link"]), r["read_only"].get<bool>() ? "yes" : "no",
                      r["direct_io"].get<bool>() ? "yes" : "no"}});
      });
    };
  });
  c = vol->add_subcommand("detach", "detach a block volume's loop device");
  c->add_option("name", a->name, "volume name")->required();
  c->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.volume_detach", {{"name", a->name}}), [](const json& r) {
        std::printf("%s detached%s\n", shown(r["device"]).c_str(),
                    r["deferred"].get<bool>() ? " when its last user closes it" : "");
      });
    };
  });
  c = vol->add_subcommand("delete", "delete a volume (refused while attached or mounted)");
  c->add_option("name", a->name, "volume name")->required();
  c->callback([&env, a] {
    env.action = [&env, a] { env.print(env.call("storage.volume_delete", {{"name", a->name}}), print_volume); };
  });
}

}  // namespace mos::cli
