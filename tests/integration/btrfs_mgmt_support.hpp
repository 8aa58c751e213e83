// Shared fixtures for the btrfs management tests: a real btrfs made by mkfs.btrfs (a test
// fixture only) on loop devices we attach, mounted by the test, unmounted and detached in every
// outcome; engine calls run sandboxed and report "OK <json>" or "ERR <code> <message>".
#pragma once
#include <sys/mount.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "engine/context.hpp"
#include "tests/support/harness.hpp"

namespace mos::test::btrfsmgmt {

inline std::string unique_label(const std::string& tag) { return "mgmt-" + tag + "-" + std::to_string(getpid()); }

// The context of these tests' engine calls: every device allowed (the policy's own refusals are
// tested in btrfs_member_policy_test and policy_engine_test).
inline const mos::engine::Context kAllowAll{};

class BtrfsOnLoops {
 public:
  BtrfsOnLoops(int devices, uint64_t size, const std::vector<std::string>& mkfs_args, const std::string& label,
               bool mount_it = true) {
    for (int i = 0; i < devices; ++i) images_.push_back(std::make_unique<LoopImage>(size));
    std::vector<std::string> argv{"mkfs.btrfs", "-q", "-f", "-L", label};
    argv.insert(argv.end(), mkfs_args.begin(), mkfs_args.end());
    for (auto& img : images_) argv.push_back(img->dev());
    auto r = run_tool(argv);
    if (!r.ok()) throw std::runtime_error("mkfs.btrfs failed: " + r.err);
    mnt_ = dir_ / "mnt";
    run_tool({"mkdir", "-p", mnt_});
    if (mount_it) mount();
  }
  ~BtrfsOnLoops() { unmount(); }

  void mount() {
    std::vector<std::string> argv{"btrfs", "device", "scan"};
    for (auto& i : images_) argv.push_back(i->dev());
    run_tool(argv);
    auto r = run_tool({"mount", "-t", "btrfs", dev(0), mnt_});
    if (!r.ok()) throw std::runtime_error("mount failed: " + r.err);
    guard_ = std::make_unique<MountGuard>(mnt_);
  }
  void unmount() { guard_.reset(); }

  const std::string& mnt() const { return mnt_; }
  const std::string& dev(size_t i) const { return images_.at(i)->dev(); }
  LoopImage& image(size_t i) { return *images_.at(i); }
  const TempDir& dir() const { return dir_; }
  std::vector<std::string> devs() const {
    std::vector<std::string> v;
    for (auto& i : images_) v.push_back(i->dev());
    return v;
  }
  // A context allowing these loop devices alone, with its run directory.
  mos::engine::Context only_ours(const std::string& run_dir) const {
    mos::engine::Context ctx;
    for (auto& i : images_) ctx.policy.allow_devices.push_back(i->dev());
    ctx.run_dir = run_dir;
    return ctx;
  }

 private:
  std::vector<std::unique_ptr<LoopImage>> images_;
  TempDir dir_;
  std::string mnt_;
  std::unique_ptr<MountGuard> guard_;  // destroyed first: unmount before detaching
};

// Runs fn under the no-exec sandbox; "OK <text>" or "ERR <code> <message>".
inline std::string sandboxed(const std::function<std::string()>& fn) {
  auto r = run_sandboxed([&]() -> std::string {
    try {
      return "OK " + fn();
    } catch (const mos::Error& e) {
      return "ERR " + std::to_string(static_cast<int>(e.code())) + " " + e.what();
    }
  });
  if (!r.ok) return "CRASH " + r.text;
  return r.text;
}

inline nlohmann::json ok_json(const std::string& out) {
  EXPECT_EQ(out.rfind("OK ", 0), 0u) << out;
  if (out.rfind("OK ", 0) != 0) return nullptr;
  return nlohmann::json::parse(out.substr(3));
}

inline int err_code(const std::string& out) {
  EXPECT_EQ(out.rfind("ERR ", 0), 0u) << out;
  if (out.rfind("ERR ", 0) != 0) return 0;
  return std::stoi(out.substr(4));
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

inline std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace mos::test::btrfsmgmt
