// The guest image and the first boot: what the initramfs holds (only our static binaries, the
// test init, kernel modules and the scenario) and that the resolver loads the storage modules
// into a real kernel (judged by the kernel itself: /proc/filesystems, /proc/mdstat).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <regex>

#include "engine/modules.hpp"
#include "tests/support/harness.hpp"
#include "tests/vm/cpio.hpp"
#include "tests/vm/scenario.hpp"

namespace mos::vmtest {
namespace {

TEST(VmImage, InitramfsHoldsOnlyOurStaticBinariesModulesAndScenario) {
  auto kernel = find_guest_kernel();
  if (!kernel) GTEST_SKIP() << vm_unavailable_reason();
  VmSpec spec;
  spec.name = "image";
  spec.scenario = {{"modules", {"md-mod", "raid1", "vfat", "btrfs", "ext4"}}, {"steps", json::array()}};
  spec.binaries["/bin/mos_sysvol"] = std::string(MOS_BIN_DIR) + "/mos_sysvol";
  spec.extra_files["/etc/mos_sysvol.toml"] = "# test\n";
  test::TempDir dir;
  const std::string image = dir / "initramfs.cpio";
  auto paths = build_initramfs(spec, *kernel, image);

  // cpio(1) is the oracle for our writer: it must list exactly what we put in, in order.
  auto listed = test::run_sh("cpio -it --quiet < " + image);
  ASSERT_TRUE(listed.ok()) << listed.err;
  std::string expected;
  for (const auto& p : paths) expected += p.substr(1) + "\n";
  EXPECT_EQ(listed.out, expected);
  EXPECT_EQ(list_cpio(image).size(), paths.size());

  // Regular files: only these; directories only to hold them; one device node (the console).
  const std::regex allowed_file(R"(^/(init|scenario\.json|bin/mos_sysvol|etc/mos_sysvol\.toml|)"
                                R"(lib/modules/[^/]+/(kernel/.*\.ko|modules\.(dep|softdep|alias|builtin|builtin\.modinfo)))$)");
  const std::regex forbidden(R"((^|/)(sh|bash|dash|ash|busybox|mkfs[^/]*|mdadm|modprobe|insmod|kmod|sgdisk|mount|btrfs)$)");
  int modules = 0;
  for (const auto& e : list_cpio(image)) {
    if (S_ISDIR(e.mode)) continue;
    if (S_ISCHR(e.mode)) {
      EXPECT_EQ(e.path, "/dev/console");
      continue;
    }
    EXPECT_TRUE(S_ISREG(e.mode)) << e.path;
    EXPECT_TRUE(std::regex_match(e.path, allowed_file)) << "unexpected file in the initramfs: " << e.path;
    EXPECT_FALSE(std::regex_search(e.path, forbidden)) << "forbidden tool in the initramfs: " << e.path;
    modules += e.path.ends_with(".ko") ? 1 : 0;
  }
  // Exactly the resolver's closure, nothing more.
  auto closure = engine::resolve_modules({"virtio_pci", "virtio_blk", "md-mod", "raid1", "vfat", "btrfs", "ext4"},
                                         kernel->modules_dir);
  EXPECT_EQ(static_cast<size_t>(modules), closure.size());

  // Our binaries are static ELF executables (file(1) is the judge).
  for (const std::string& bin : {std::string(MOS_VM_INIT), std::string(MOS_BIN_DIR) + "/mos_sysvol"}) {
    auto f = test::run_tool({"file", "-L", bin});
    ASSERT_TRUE(f.ok()) << f.err;
    EXPECT_NE(f.out.find("ELF 64-bit"), std::string::npos) << f.out;
    EXPECT_NE(f.out.find("statically linked"), std::string::npos) << f.out;
  }
  struct stat st {};
  ::stat(image.c_str(), &st);
  std::printf("[ VM image ] initramfs: %zu entries, %d modules, %lld bytes\n", paths.size(), modules,
              static_cast<long long>(st.st_size));
}

TEST(VmBoot, ResolverLoadsStorageModulesIntoTheGuestKernel) {
  MOS_REQUIRE_VM();
  VmSpec spec;
  spec.name = "modules";
  spec.scenario = {
      {"steps",
       {{{"op", "load_modules"},
         {"names", {"md-mod", "raid1", "vfat", "nls_cp437", "nls_ascii", "nls_iso8859-1", "nls_utf8", "btrfs", "ext4"}}},
        {{"op", "read_file"}, {"path", "/proc/filesystems"}, {"text", true}},
        {{"op", "read_file"}, {"path", "/proc/mdstat"}, {"text", true}},
        {{"op", "read_file"}, {"path", "/proc/modules"}, {"text", true}},
        // Loading again: everything is already there.
        {{"op", "load_modules"}, {"names", {"vfat", "btrfs", "ext4", "raid1"}}}}}};
  VmResult r = run_vm(spec);
  report_wall_time("boot + modules", r);
  expect_all_steps_ok(r, 5);

  const json* boot_modules = r.event("modules");
  ASSERT_NE(boot_modules, nullptr) << r.explain();
  for (const auto& m : (*boot_modules)["results"])
    EXPECT_TRUE(m["status"] == "loaded" || m["status"] == "builtin") << m.dump();
  const json* loaded = r.step(0);
  ASSERT_NE(loaded, nullptr) << r.explain();
  for (const auto& m : (*loaded)["results"])
    EXPECT_TRUE(m["status"] == "loaded" || m["status"] == "builtin") << m.dump();
  std::printf("[ VM time  ] module loading in the guest: boot set %.0f ms, storage set %.0f ms\n",
              (*boot_modules)["ms"].get<double>(), (*loaded)["ms"].get<double>());

  // The kernel's word: the filesystems and the md personality are registered.
  ASSERT_NE(r.step(1), nullptr);
  std::string filesystems = (*r.step(1))["text"];
  for (const char* fs : {"\tvfat\n", "\tbtrfs\n", "\text4\n"})
    EXPECT_NE(filesystems.find(fs), std::string::npos) << fs << " not in /proc/filesystems:\n" << filesystems;
  ASSERT_NE(r.step(2), nullptr);
  EXPECT_NE((*r.step(2))["text"].get<std::string>().find("[raid1]"), std::string::npos) << (*r.step(2))["text"];
  ASSERT_NE(r.step(3), nullptr);
  std::string proc_modules = "\n" + (*r.step(3))["text"].get<std::string>();
  for (const char* m : {"btrfs ", "ext4 ", "jbd2 ", "vfat ", "fat ", "raid1 ", "md_mod ", "libcrc32c ", "nls_cp437 "})
    EXPECT_NE(proc_modules.find(std::string("\n") + m), std::string::npos) << m << " not loaded:\n" << proc_modules;
  // A crc32c provider for btrfs/ext4 (the softdep modprobe would have pulled in).
  EXPECT_TRUE(proc_modules.find("crc32c_intel ") != std::string::npos ||
              proc_modules.find("crc32c_generic ") != std::string::npos) << proc_modules;
  ASSERT_NE(r.step(4), nullptr);
  for (const auto& m : (*r.step(4))["results"]) EXPECT_EQ(m["status"], "already") << m.dump();
}

// finit_module for real on a small modules directory of our own: a '-' named module loads and
// is then "already" (read back from the guest's /proc/modules); an xz-compressed one goes with
// MODULE_INIT_COMPRESSED_FILE, and a kernel without CONFIG_MODULE_DECOMPRESS refuses it clearly.
TEST(VmBoot, OwnModulesDirectoryDashNamesAndCompressedModules) {
  MOS_REQUIRE_VM();
  auto kernel = find_guest_kernel();
  const std::string nls = kernel->modules_dir + "/kernel/fs/nls/";
  auto xz = test::run_tool({"xz", "-c", "--check=crc32", nls + "nls_cp850.ko"});
  ASSERT_TRUE(xz.ok()) << xz.err;
  auto config = test::run_tool({"grep", "-c", "^CONFIG_MODULE_DECOMPRESS=y", "/boot/config-" + kernel->version});
  const bool kernel_decompresses = config.out.starts_with("1");

  const std::string dir = "/lib/modules/synthetic";
  VmSpec spec;
  spec.name = "own_modules";
  spec.extra_files[dir + "/modules.dep"] = "kernel/nls_cp850.ko.xz:\nkernel/mac-roman.ko:\n";
  spec.extra_files[dir + "/kernel/nls_cp850.ko.xz"] = xz.out;
  spec.extra_files[dir + "/kernel/mac-roman.ko"] = test::run_tool({"cat", nls + "mac-roman.ko"}).out;
  spec.scenario = {{"steps",
                    {{{"op", "load_modules"}, {"dir", dir}, {"names", {"mac-roman", "nls_cp850"}}, {"allow_failures", true}},
                     {{"op", "load_modules"}, {"dir", dir}, {"names", {"mac_roman"}}},
                     {{"op", "read_file"}, {"path", "/proc/modules"}, {"text", true}}}}};
  VmResult r = run_vm(spec);
  report_wall_time("own modules dir", r);
  expect_all_steps_ok(r, 3);
  ASSERT_NE(r.step(0), nullptr) << r.explain();
  const json& first = (*r.step(0))["results"];
  EXPECT_EQ(first[0]["status"], "loaded") << first.dump();
  EXPECT_EQ(first[0]["detail"], dir + "/kernel/mac-roman.ko");
  if (kernel_decompresses) {
    EXPECT_EQ(first[1]["status"], "loaded") << first.dump();
  } else {
    EXPECT_EQ(first[1]["status"], "failed") << first.dump();
    EXPECT_NE(first[1]["detail"].get<std::string>().find("cannot decompress"), std::string::npos) << first.dump();
    EXPECT_NE(first[1]["detail"].get<std::string>().find("nls_cp850.ko.xz"), std::string::npos) << first.dump();
  }
  EXPECT_EQ((*r.step(1))["results"][0]["status"], "already") << r.step(1)->dump();
  std::string proc_modules = (*r.step(2))["text"];
  EXPECT_NE(proc_modules.find("mac_roman "), std::string::npos) << proc_modules;
}

}  // namespace
}  // namespace mos::vmtest
