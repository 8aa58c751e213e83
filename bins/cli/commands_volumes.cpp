// volume create|list|show|clone|snapshot|resize|attach|detach|delete: storage.volume_* (volumes
// for VMs and containers in the daemon's --volumes-dir subvolume). Every change takes --dry-run.
#include <memory>

#include "base/text.hpp"
#include "bins/cli/env.hpp"

namespace mos::cli {
namespace {

// "1.0 GiB (simple)", "1.0 GiB (qgroup, inconsistent)" or "-".
std::string limit_cell(const json& v) {
  if (!v.contains("limit") || !v["limit"].is_number()) return "-";
  std::string text = human_size(v["limit"].get<uint64_t>()) + " (" + cell(v["limit_mode"]);
  if (v.value("limit_inconsistent", false)) text += ", inconsistent";
  return text + ")";
}

void print_volumes(const json& list) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : list) {
    auto bytes = [](const json& b) { return b.is_number() ? human_size(b.get<uint64_t>()) : std::string("-"); };
    rows.push_back({cell(v["name"]), cell(v["kind"]), v["kind"] == "block" ? bytes(v["size"]) : "-",
                    bytes(v["exclusive_bytes"]), bytes(v["shared_bytes"]), limit_cell(v), cell(v["origin"]),
                    v["snapshot"].get<bool>() ? "yes" : "no", cell(v["attached"])});
  }
  print_table({"NAME", "KIND", "SIZE", "EXCLUSIVE", "SHARED", "LIMIT", "ORIGIN", "SNAPSHOT", "ATTACHED"}, rows);
}

void print_volume(const json& v) { print_volumes(json::array({v})); }

// A dry run's answer: what would be done, then the answer as the real call would print it.
std::function<void(const json&)> after_actions(std::function<void(const json&)> human) {
  return [human = std::move(human)](const json& r) {
    if (r.value("dry_run", false)) {
      std::printf("dry run, nothing written; would:\n");
      for (const auto& a : r["actions"]) std::printf("  %s\n", shown(a).c_str());
    }
    human(r);
  };
}

}  // namespace

void add_volume_commands(CLI::App& app, Env& env) {
  struct Args {
    std::string name, origin, kind = "block", size, limit;
    bool force = false, read_only = false, buffered = false, dry_run = false;
  };
  auto a = std::make_shared<Args>();
  auto* vol = app.add_subcommand("volume", "volumes for VMs and containers: create, list, show, clone, snapshot, "
                                           "resize, attach, detach, delete");
  vol->require_subcommand(1);
  auto dry_run_flag = [a](CLI::App* cmd) {
    cmd->add_flag("--dry-run", a->dry_run, "validate as the real call does and say what it would do; write nothing");
  };

  auto* c = vol->add_subcommand("create", "create a volume (the same again answers the existing one)");
  c->add_option("name", a->name, "volume name")->required();
  c->add_option("--kind", a->kind, "block (a raw image) or fs (a subvolume)")->check(CLI::IsMember({"block", "fs"}))
      ->capture_default_str();
  c->add_option("--size", a->size, "block: size, bytes or K/M/G/T/P suffix (binary)");
  c->add_option("--limit", a->limit, "fs: size limit, bytes or K/M/G/T/P suffix (turns btrfs quota on, filesystem-wide)");
  dry_run_flag(c);
  c->callback([&env, a] {
    env.action = [&env, a] {
      json p = {{"name", a->name}, {"kind", a->kind}, {"dry_run", a->dry_run}};
      if (!a->size.empty()) p["size"] = mos::parse_size(a->size, "--size", std::nullopt);
      if (!a->limit.empty()) p["limit"] = mos::parse_size(a->limit, "--limit", std::nullopt);
      env.print(env.call("storage.volume_create", p), after_actions(print_volume));
    };
  });
  c = vol->add_subcommand("list", "every volume: kind, size, bytes used (exclusive, shared), limit, origin, attachment");
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
    dry_run_flag(c);
    c->callback([&env, a, what] {
      env.action = [&env, a, what] {
        json p = {{"origin", a->origin}, {"name", a->name}, {"dry_run", a->dry_run}};
        env.print(env.call("storage.volume_" + what, p), after_actions(print_volume));
      };
    });
  }
  c = vol->add_subcommand("resize", "grow a block volume (smaller only with --force; an attached device is told), "
                                    "or set an fs volume's limit (none removes it)");
  c->add_option("name", a->name, "volume name")->required();
  c->add_option("--size", a->size, "new size or limit, bytes or K/M/G/T/P suffix (binary); fs: none = no limit")
      ->required();
  c->add_flag("--force", a->force, "allow shrinking (drops the data past the new end)");
  dry_run_flag(c);
  c->callback([&env, a] {
    env.action = [&env, a] {
      const uint64_t size = a->size == "none" ? 0 : mos::parse_size(a->size, "--size", std::nullopt);
      json p = {{"name", a->name}, {"size", size}, {"force", a->force}, {"dry_run", a->dry_run}};
      env.print(env.call("storage.volume_resize", p), after_actions(print_volume));
    };
  });
  c = vol->add_subcommand("attach", "attach a block volume as a loop device (direct I/O unless --buffered)");
  c->add_option("name", a->name, "volume name")->required();
  c->add_flag("--read-only", a->read_only, "attach read-only");
  c->add_flag("--buffered", a->buffered, "no direct I/O");
  dry_run_flag(c);
  c->callback([&env, a] {
    env.action = [&env, a] {
      json p = {{"name", a->name}, {"read_only", a->read_only}, {"direct_io", !a->buffered}, {"dry_run", a->dry_run}};
      env.print(env.call("storage.volume_attach", p), after_actions([](const json& r) {
                  print_table({"DEVICE", "LINK", "READ-ONLY", "DIRECT-IO"},
                              {{cell(r["device"]), cell(r["link"]), r["read_only"].get<bool>() ? "yes" : "no",
                                r["direct_io"].get<bool>() ? "yes" : "no"}});
                }));
    };
  });
  c = vol->add_subcommand("detach", "detach a block volume's loop device");
  c->add_option("name", a->name, "volume name")->required();
  dry_run_flag(c);
  c->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.volume_detach", {{"name", a->name}, {"dry_run", a->dry_run}}), [](const json& r) {
        if (r.value("dry_run", false)) return after_actions([](const json&) {})(r);
        std::printf("%s detached%s\n", shown(r["device"]).c_str(),
                    r["deferred"].get<bool>() ? " when its last user closes it" : "");
      });
    };
  });
  c = vol->add_subcommand("delete", "delete a volume (refused while attached or mounted)");
  c->add_option("name", a->name, "volume name")->required();
  dry_run_flag(c);
  c->callback([&env, a] {
    env.action = [&env, a] {
      env.print(env.call("storage.volume_delete", {{"name", a->name}, {"dry_run", a->dry_run}}),
                after_actions(print_volume));
    };
  });
}

}  // namespace mos::cli
