// zero, checksum: whole-device jobs with a progress bar on a terminal; metrics: the daemon's
// Prometheus text (for node_exporter's textfile collector).
#include <memory>

#include "bins/cli/env.hpp"

namespace mos::cli {

void add_bulk_commands(CLI::App& app, Env& env) {
  struct ZeroArgs {
    std::string device;
    bool force = false;
  };
  auto zero = std::make_shared<ZeroArgs>();
  auto* z = app.add_subcommand("zero", "write zeroes over a whole device");
  z->add_option("device", zero->device, "block device")->required();
  z->add_flag("--force", zero->force, "zero a device that carries a signature (never a mounted or held one)");
  z->callback([&env, zero] {
    env.action = [&env, zero] {
      json r = env.run_long("storage.zero", {{"device", zero->device}, {"force", zero->force}}, "zero " + zero->device);
      env.print(r, [](const json& res) {
        std::printf("Zeroed %s (%s)\n", shown(res["device"]["path"]).c_str(),
                    human_size(res["bytes_zeroed"]).c_str());
      });
    };
  });

  struct ChecksumArgs {
    std::string device, algo;
  };
  auto sum = std::make_shared<ChecksumArgs>();
  auto* c = app.add_subcommand("checksum", "xxHash of a whole device (digest as xxhsum prints it)");
  c->add_option("device", sum->device, "block device")->required();
  c->add_option("--algo", sum->algo, "xxh64 | xxh3 | xxh128")->required();
  c->callback([&env, sum] {
    env.action = [&env, sum] {
      json r = env.run_long("storage.checksum", {{"device", sum->device}, {"algo", sum->algo}}, sum->algo + " " + sum->device);
      env.print(r, [](const json& res) {
        std::printf("%s  %s\n", shown(res["digest"]).c_str(), shown(res["device"]).c_str());
      });
    };
  });

  auto* m = app.add_subcommand("metrics", "metrics in the Prometheus text exposition format");
  m->callback([&env] {
    env.action = [&env] {
      json text = env.call("storage.metrics");
      env.print(text, [](const json& t) { std::fputs(t.get<std::string>().c_str(), stdout); });
    };
  });
}

}  // namespace mos::cli
