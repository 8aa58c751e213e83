// The module resolver: on the installed distribution kernel's modules.* files (judged against
// `modprobe --show-depends`) and on small synthetic directories (cycles, aliases, built-ins,
// missing files, '-' vs '_'). Nothing is loaded into the host kernel: loading goes through an
// injected inserter here; real finit_module runs in the VM tests.
#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/modules.hpp"
#include "base/error.hpp"
#include "ioctl/kmod.hpp"
#include "tests/support/harness.hpp"

namespace mos::engine {
namespace {

// Highest /lib/modules/<version> holding modules.dep and a kernel/ tree (not necessarily the
// running kernel: CI runs in a container or VM whose kernel has no modules installed).
std::string installed_modules_version() {
  std::string best;
  if (DIR* d = ::opendir("/lib/modules")) {
    while (dirent* e = ::readdir(d)) {
      std::string v = e->d_name;
      if (v[0] == '.') continue;
      std::string dir = "/lib/modules/" + v;
      if (::access((dir + "/modules.dep").c_str(), R_OK) != 0 || ::access((dir + "/kernel").c_str(), F_OK) != 0)
        continue;
      if (best.empty() || ::strverscmp(v.c_str(), best.c_str()) > 0) best = v;
    }
    ::closedir(d);
  }
  return best;
}

#define REQUIRE_INSTALLED_MODULES(ver)                                                           \
  std::string ver = installed_modules_version();                                                 \
  if (ver.empty()) GTEST_SKIP() << "no kernel modules under /lib/modules (scripts/setup installs " \
                                   "linux-image-amd64)";

// modprobe's answer: module names (normalized) in its load order, parameters dropped.
std::vector<std::string> modprobe_show_depends(const std::string& version, const std::string& name) {
  auto r = test::run_tool({"modprobe", "-S", version, "--show-depends", name});
  EXPECT_TRUE(r.ok()) << "modprobe --show-depends " << name << ": " << r.err;
  std::vector<std::string> names;
  std::istringstream in(r.out);
  std::string word, path, line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    ls >> word >> path;
    if (word == "insmod") names.push_back(module_name_from_path(path));
    else if (word == "builtin") names.push_back("builtin:" + normalize_module_name(path));
  }
  return names;
}

std::vector<std::string> names_of(const std::vector<std::string>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(module_name_from_path(f));
  return out;
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

// The pre softdep names of a module, read straight from modules.softdep (every line).
std::vector<std::string> softdep_names(const std::string& dir, const std::string& module) {
  std::vector<std::string> out;
  std::ifstream in(dir + "/modules.softdep");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string kw, mod, w;
    ls >> kw >> mod;
    if (kw != "softdep" || mod != module) continue;
    while (ls >> w)
      if (w != "pre:" && w != "post:") out.push_back(w);
  }
  return out;
}

// Every module appears once, and after everything modprobe would load before it.
void expect_load_order_respects_modprobe(const std::string& version, const std::vector<std::string>& order) {
  EXPECT_EQ(as_set(order).size(), order.size()) << "a module listed twice";
  for (size_t i = 0; i < order.size(); ++i) {
    for (const auto& before : modprobe_show_depends(version, order[i])) {
      if (before == order[i] || before.starts_with("builtin:")) continue;
      auto pos = std::find(order.begin(), order.end(), before);
      ASSERT_NE(pos, order.end()) << before << " (needed by " << order[i] << ") missing";
      EXPECT_LT(pos - order.begin(), static_cast<long>(i)) << before << " must load before " << order[i];
    }
  }
}

TEST(Modules, ExtFatRaidVirtioMatchModprobe) {
  REQUIRE_INSTALLED_MODULES(ver);
  const std::string dir = "/lib/modules/" + ver;
  for (std::string name : {"ext4", "vfat", "raid1", "md-mod", "md_mod", "virtio_blk", "virtio-pci",
                           "nls_cp437", "nls_iso8859-1", "nls_utf8", "crypto-crc32c"}) {
    SCOPED_TRACE(name);
    auto ours = names_of(resolve_modules({name}, dir));
    auto theirs = modprobe_show_depends(ver, name);
    EXPECT_EQ(ours, theirs);
  }
  auto ext4 = as_set(names_of(resolve_modules({"ext4"}, dir)));
  for (const char* m : {"jbd2", "mbcache", "crc16", "crc32c_generic", "ext4"}) EXPECT_TRUE(ext4.count(m)) << m;
  auto vfat = names_of(resolve_modules({"vfat"}, dir));
  EXPECT_EQ(vfat, (std::vector<std::string>{"fat", "vfat"}));
}

TEST(Modules, BtrfsTakesEverySoftdepLine) {
  REQUIRE_INSTALLED_MODULES(ver);
  const std::string dir = "/lib/modules/" + ver;
  auto ours = names_of(resolve_modules({"btrfs"}, dir));
  // modprobe honours only the first softdep line of a module; we take all of them, so the
  // expectation is modprobe's closure of btrfs plus modprobe's closure of each softdep name.
  auto softdeps = softdep_names(dir, "btrfs");
  ASSERT_GE(softdeps.size(), 2u) << "expected several softdep lines for btrfs in " << dir;
  std::set<std::string> expected;
  for (const auto& m : modprobe_show_depends(ver, "btrfs")) expected.insert(m);
  for (const auto& s : softdeps)
    for (const auto& m : modprobe_show_depends(ver, s))
      if (!m.starts_with("builtin:")) expected.insert(m);
  EXPECT_EQ(as_set(ours), expected);
  for (const char* m : {"xxhash_generic", "blake2b_generic", "crc32c_generic", "libcrc32c",
                        "raid6_pq", "xor", "zstd_compress", "btrfs"})
    EXPECT_TRUE(as_set(ours).count(m)) << m;
  EXPECT_EQ(ours.back(), "btrfs");
  expect_load_order_respects_modprobe(ver, ours);
}

TEST(Modules, ScenarioListResolvesInDependencyOrder) {
  REQUIRE_INSTALLED_MODULES(ver);
  const std::string dir = "/lib/modules/" + ver;
  auto order = names_of(resolve_modules({"virtio_pci", "virtio_blk", "md-mod", "raid1", "vfat", "nls_cp437",
                                         "nls_iso8859-1", "nls_utf8", "btrfs", "ext4"}, dir));
  expect_load_order_respects_modprobe(ver, order);
  for (const auto& f : resolve_modules({"btrfs", "ext4"}, dir)) EXPECT_EQ(::access(f.c_str(), R_OK), 0) << f;
}

TEST(Modules, BuiltinsAreSatisfiedNotLoaded) {
  REQUIRE_INSTALLED_MODULES(ver);
  const std::string dir = "/lib/modules/" + ver;
  ModuleIndex index(dir);
  int inserted = 0;
  ModuleInserter count = [&](const std::string&) { ++inserted; return io::ModuleInsert::inserted; };
  // nls_base and sha256_generic are in modules.builtin of the Debian kernel (checked by modprobe).
  for (const char* name : {"nls_base", "sha256_generic"}) {
    ASSERT_EQ(modprobe_show_depends(ver, name), std::vector<std::string>{"builtin:" + std::string(name)});
    auto r = load_modules_with(index, {name}, {}, count);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, "builtin") << r[0].detail;
  }
  EXPECT_EQ(inserted, 0);
  EXPECT_TRUE(resolve_modules({"nls_base"}, dir).empty());
  // The real entry point: a built-in needs no finit_module, so this is safe on any host.
  auto real = load_modules({"nls_base"}, dir);
  ASSERT_EQ(real.size(), 1u);
  EXPECT_EQ(real[0].status, "builtin");
}

TEST(Modules, AliasFallsBackToNextProviderAndBuiltin) {
  REQUIRE_INSTALLED_MODULES(ver);
  ModuleIndex index("/lib/modules/" + ver);
  std::vector<std::string> tried;
  // Simulate a CPU without SSE4.2/SSSE3: the accelerated providers refuse with ENODEV.
  ModuleInserter insert = [&](const std::string& path) {
    tried.push_back(module_name_from_path(path));
    if (path.find("intel") != std::string::npos || path.find("ssse3") != std::string::npos)
      throw Error(ErrorCode::not_found, "finit_module " + path + ": no such device", path, ENODEV);
    return io::ModuleInsert::inserted;
  };
  auto r = load_modules_with(index, {"crypto-crc32c", "sha256"}, {}, insert);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, "loaded");
  EXPECT_EQ(module_name_from_path(r[0].detail), "crc32c_generic");
  // sha256's only loadable provider fails; sha256_generic is built in.
  EXPECT_EQ(r[1].status, "builtin") << r[1].detail;
  EXPECT_EQ(tried, (std::vector<std::string>{"crc32c_intel", "crc32c_generic", "sha256_ssse3"}));
}

// ---- synthetic modules directories ----

class Fixture {
 public:
  Fixture& file(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return *this;
  }
  Fixture& ko(const std::string& rel) {
    std::filesystem::create_directories(std::filesystem::path(dir_ / rel).parent_path());
    std::ofstream(dir_ / rel) << "not a module";
    return *this;
  }
  std::string dir() const { return dir_.path(); }

 private:
  test::TempDir dir_;
};

struct Recorder {
  std::vector<std::string> inserted;
  std::set<std::string> refuse;
  ModuleInserter fn() {
    return [this](const std::string& path) {
      std::string n = module_name_from_path(path);
      if (refuse.count(n)) throw Error(ErrorCode::storage_failed, "finit_module " + path + ": refused", path, EINVAL);
      inserted.push_back(n);
      return io::ModuleInsert::inserted;
    };
  }
};

TEST(ModulesSynthetic, HardDepsLoadLastListedFirstAndDashEqualsUnderscore) {
  Fixture f;
  f.file("modules.dep", "kernel/md/raid-one.ko: kernel/md/md-mod.ko kernel/lib/x_y.ko\n"
                        "kernel/md/md-mod.ko: kernel/lib/x_y.ko\nkernel/lib/x_y.ko:\n")
      .ko("kernel/md/raid-one.ko").ko("kernel/md/md-mod.ko").ko("kernel/lib/x_y.ko");
  auto files = resolve_modules({"raid_one"}, f.dir());
  EXPECT_EQ(files, (std::vector<std::string>{f.dir() + "/kernel/lib/x_y.ko", f.dir() + "/kernel/md/md-mod.ko",
                                             f.dir() + "/kernel/md/raid-one.ko"}));
  EXPECT_EQ(names_of(resolve_modules({"x-y", "md_mod", "raid-one"}, f.dir())),
            (std::vector<std::string>{"x_y", "md_mod", "raid_one"}));
  ModuleIndex index(f.dir());
  Recorder rec;
  auto r = load_modules_with(index, {"raid-one", "md_mod"}, {"x_y"}, rec.fn());
  EXPECT_EQ(rec.inserted, (std::vector<std::string>{"md_mod", "raid_one"}));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].name, "raid-one");
  EXPECT_EQ(r[0].status, "loaded");
  EXPECT_EQ(r[0].detail, f.dir() + "/kernel/md/raid-one.ko");
  EXPECT_EQ(r[1].status, "loaded");  // loaded by this call, as raid-one's dependency
  auto again = load_modules_with(index, {"raid_one"}, {"raid_one", "md_mod", "x_y"}, rec.fn());
  EXPECT_EQ(again[0].status, "already");
  EXPECT_EQ(rec.inserted.size(), 2u);
}

TEST(ModulesSynthetic, CyclesTerminate) {
  Fixture f;
  f.file("modules.dep", "a.ko: b.ko\nb.ko: a.ko\nc.ko:\nd.ko:\n")
      .file("modules.softdep", "softdep c pre: d\nsoftdep d pre: c\nsoftdep a post: c\n")
      .ko("a.ko").ko("b.ko").ko("c.ko").ko("d.ko");
  auto order = names_of(resolve_modules({"a", "c", "d"}, f.dir()));
  EXPECT_EQ(as_set(order), (std::set<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(order.size(), 4u);
  Recorder rec;
  ModuleIndex index(f.dir());
  auto r = load_modules_with(index, {"a", "d"}, {}, rec.fn());
  EXPECT_EQ(r[0].status, "loaded");
  EXPECT_EQ(r[1].status, "loaded");
  EXPECT_EQ(rec.inserted.size(), 4u);
}

TEST(ModulesSynthetic, AbsurdDepthIsBoundedNotRecursed) {
  Fixture f;
  std::string dep, softdep;
  for (int i = 0; i < 5000; ++i) {
    dep += "m" + std::to_string(i) + ".ko:\n";
    softdep += "softdep m" + std::to_string(i) + " pre: m" + std::to_string(i + 1) + "\n";
  }
  f.file("modules.dep", dep).file("modules.softdep", softdep);
  auto order = names_of(resolve_modules({"m0"}, f.dir()));  // soft failures deep down are skipped
  EXPECT_EQ(order.back(), "m0");
  EXPECT_LT(order.size(), 100u);
  ModuleIndex index(f.dir());
  Recorder rec;
  auto r = load_modules_with(index, {"m0"}, {}, rec.fn());
  EXPECT_EQ(r[0].status, "missing");  // the files do not exist: nothing is inserted
  EXPECT_TRUE(rec.inserted.empty());
}

TEST(ModulesSynthetic, AliasesInFileOrderUntilOneLoads) {
  Fixture f;
  f.file("modules.dep", "fast.ko:\ngeneric.ko:\nuser.ko:\n")
      .file("modules.alias", "# comment\nalias pci:v00001AF4d* other\nalias crypto-foo fast\n"
                             "alias crypto-foo generic\nalias foo generic\nalias cpu:type:x86* fast\n")
      .file("modules.softdep", "softdep user pre: crypto_foo\n")
      .ko("fast.ko").ko("generic.ko").ko("user.ko");
  EXPECT_EQ(names_of(resolve_modules({"crypto-foo"}, f.dir())), (std::vector<std::string>{"fast", "generic"}));
  EXPECT_EQ(names_of(resolve_modules({"user"}, f.dir())), (std::vector<std::string>{"fast", "generic", "user"}));
  EXPECT_EQ(names_of(resolve_modules({"cpu:type:x86,ven0000"}, f.dir())), (std::vector<std::string>{"fast"}));
  ModuleIndex index(f.dir());
  Recorder ok;
  auto r = load_modules_with(index, {"user"}, {}, ok.fn());
  EXPECT_EQ(ok.inserted, (std::vector<std::string>{"fast", "user"}));  // generic not needed
  Recorder refusing;
  refusing.refuse = {"fast"};
  ModuleIndex index2(f.dir());
  r = load_modules_with(index2, {"crypto-foo"}, {}, refusing.fn());
  EXPECT_EQ(r[0].status, "loaded");
  EXPECT_EQ(r[0].detail, f.dir() + "/generic.ko");
  Recorder none;
  none.refuse = {"fast", "generic"};
  ModuleIndex index3(f.dir());
  r = load_modules_with(index3, {"crypto-foo", "user"}, {}, none.fn());
  EXPECT_EQ(r[0].status, "failed");
  EXPECT_NE(r[0].detail.find("refused"), std::string::npos) << r[0].detail;
  EXPECT_EQ(r[1].status, "loaded");  // a soft dependency failing does not stop the module
}

TEST(ModulesSynthetic, BuiltinsMissingAndFailedDependencies) {
  Fixture f;
  f.file("modules.dep", "needs_builtin.ko: kernel/lib/core.ko\nneeds_bad.ko: bad.ko\nbad.ko:\ngone.ko:\n")
      .file("modules.builtin", "kernel/lib/core.ko\nkernel/crypto/sha_gen.ko\n")
      .file("modules.builtin.modinfo", std::string("sha_gen.alias=crypto-sha\0sha_gen.license=GPL\0", 45))
      .ko("needs_builtin.ko").ko("needs_bad.ko").ko("bad.ko");
  EXPECT_EQ(names_of(resolve_modules({"needs_builtin", "core", "crypto-sha"}, f.dir())),
            (std::vector<std::string>{"needs_builtin"}));
  try {
    resolve_modules({"nope"}, f.dir());
    ADD_FAILURE() << "resolving an unknown module must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
  }
  ModuleIndex index(f.dir());
  Recorder rec;
  rec.refuse = {"bad"};
  auto r = load_modules_with(index, {"needs_builtin", "core", "crypto-sha", "needs_bad", "gone", "nope"}, {}, rec.fn());
  std::vector<std::string> statuses;
  for (const auto& x : r) statuses.push_back(x.status);
  EXPECT_EQ(statuses, (std::vector<std::string>{"loaded", "builtin", "builtin", "failed", "missing", "missing"}));
  EXPECT_NE(r[3].detail.find("needs bad"), std::string::npos) << r[3].detail;
  EXPECT_NE(r[4].detail.find("gone.ko not found"), std::string::npos) << r[4].detail;
  EXPECT_EQ(rec.inserted, std::vector<std::string>{"needs_builtin"});
}

TEST(ModulesSynthetic, MissingDirectoryIsReportedNotThrownByLoad) {
  auto r = load_modules({"btrfs"}, "/nonexistent/modules/dir");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, "missing");
  EXPECT_NE(r[0].detail.find("/nonexistent/modules/dir"), std::string::npos) << r[0].detail;
  EXPECT_THROW(resolve_modules({"btrfs"}, "/nonexistent/modules/dir"), Error);
}

TEST(Kmod, ProcModulesAndCompressedNames) {
  auto names = io::parse_proc_modules("md_mod 200704 1 raid1, Live 0x0000000000000000\n"
                                      "raid1 57344 0 - Live 0x0000000000000000\n\n");
  EXPECT_EQ(names, (std::vector<std::string>{"md_mod", "raid1"}));
  EXPECT_TRUE(io::is_compressed_module("/x/btrfs.ko.zst"));
  EXPECT_TRUE(io::is_compressed_module("a.ko.xz"));
  EXPECT_TRUE(io::is_compressed_module("a.ko.gz"));
  EXPECT_FALSE(io::is_compressed_module("a.ko"));
  EXPECT_EQ(module_name_from_path("kernel/fs/btrfs/btrfs.ko.xz"), "btrfs");
  EXPECT_EQ(module_name_from_path("kernel/arch/x86/crypto/crc32c-intel.ko"), "crc32c_intel");
  EXPECT_THROW(io::insert_module_file("/nonexistent/x.ko"), Error);
}

}  // namespace
}  // namespace mos::engine
