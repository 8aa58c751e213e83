// Native btrfs mkfs on loop devices, judged by btrfs-progs (check, scrub, filesystem df/show),
// blkid and the kernel (mount, write, remount, read back). Formatting and the SCAN_DEV ioctl run
// under the seccomp sandbox; oracles run outside it.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "engine/apply_plan.hpp"
#include "fsmake/btrfs.hpp"
#include "fsmake/readers/btrfs_read.hpp"
#include "ioctl/blockdev.hpp"
#include "ioctl/btrfs_control.hpp"
#include "base/error.hpp"
#include "ioctl/fd.hpp"
#include "tests/support/harness.hpp"
#include "base/text.hpp"

namespace mos::test {
namespace {

using fsmake::btrfs::BtrfsOptions;
constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;

// Known to the test, but different in every run: tests running in parallel must never present
// the kernel two filesystems with the same fsid and devid (SCAN_DEV then fails with EEXIST).
std::array<uint8_t, 16> test_uuid(uint8_t seed) {
  static const uint64_t salt = std::random_device{}() * 0x9E3779B97F4A7C15ull ^ std::random_device{}();
  std::array<uint8_t, 16> u;
  for (size_t i = 0; i < 16; ++i) u[i] = static_cast<uint8_t>(seed * 17 + i * 13 + 1 + (salt >> (8 * (i % 8))));
  u[6] = (u[6] & 0x0f) | 0x40;
  u[8] = (u[8] & 0x3f) | 0x80;
  return u;
}

// The kernel keeps scanned devices registered; drop ours before the loop devices go away.
struct ForgetDevices {
  std::vector<std::string> devs;
  ~ForgetDevices() {
    for (auto& d : devs) run_tool({"btrfs", "device", "scan", "--forget", d});
  }
};

// Plans and applies the filesystem in the sandbox, then (multi-device) registers the devices.
void format_in_sandbox(const std::vector<const LoopImage*>& imgs, const BtrfsOptions& o, bool scan) {
  auto r = run_sandboxed([&] {
    std::vector<io::Fd> fds;
    std::vector<fsmake::BtrfsDevice> devs;
    for (auto* img : imgs) {
      fds.push_back(io::Fd::open(img->dev(), O_RDWR | O_CLOEXEC));
      auto f = io::block_facts(fds.back());
      devs.push_back({f.size_bytes, f.logical_sector_size});
    }
    auto plans = fsmake::btrfs::plan_mkfs(o, devs);
    for (size_t i = 0; i < fds.size(); ++i) engine::apply_plan(fds[i], plans[i]);
    if (scan)
      for (auto* img : imgs) io::btrfs_scan_device(img->dev());
    return std::string("ok");
  });
  ASSERT_TRUE(r.ok) << r.text;
}

// btrfs check scans every block device for members and reports the ones it cannot read
// (other tests' loop devices going away in parallel); every other ERROR line is about us.
std::string errors_about_us(const std::string& err) {
  std::string out, line;
  std::istringstream in(err);
  while (std::getline(in, line))
    if (line.find("ERROR") != std::string::npos && line.rfind("ERROR: cannot scan /dev/", 0) != 0) out += line + "\n";
  return out;
}

// Both checkers (original and lowmem) must be silent; the first run also checks from the
// 64 MiB superblock mirror, so mirrors are complete superblocks, not just magic.
void expect_check_clean(const std::string& dev, bool also_mirror = false) {
  std::vector<std::vector<std::string>> runs = {{"btrfs", "check", "--readonly", dev},
                                                {"btrfs", "check", "--readonly", "--mode=lowmem", dev}};
  if (also_mirror) runs.push_back({"btrfs", "check", "--readonly", "-s", "1", dev});
  for (auto& argv : runs) {
    ToolResult c = run_btrfs_check(argv);
    EXPECT_EQ(c.exit_code, 0) << argv[argv.size() - 2] << "\n" << c.out << c.err;
    EXPECT_NE(c.out.find("no error found"), std::string::npos) << c.out << c.err;
    EXPECT_EQ(errors_about_us(c.err), "") << c.err;
  }
}

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 g(seed);
  for (size_t i = 0; i < n; i += 4) {
    uint32_t x = g();
    std::memcpy(v.data() + i, &x, std::min<size_t>(4, n - i));
  }
  return v;
}

void write_file(const std::string& path, const std::vector<uint8_t>& data) {
  io::Fd fd = io::Fd::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  fd.pwrite_exact(data.data(), data.size(), 0);
  fd.fsync();
}

std::vector<uint8_t> read_file(const std::string& path, size_t n) {
  io::Fd fd = io::Fd::open(path, O_RDONLY | O_CLOEXEC);
  return fd.pread_vec(n, 0);
}

// Mount, write, remount, read back, scrub, df, show; then check again.
void exercise_with_kernel(const std::string& dev, const std::vector<std::string>& all_devs,
                          const std::vector<std::string>& expected_df) {
  TempDir mnt;
  const auto big = pattern(64 * MiB, 7);
  const auto small = pattern(5000, 9);
  {
    auto m = run_tool({"mount", "-t", "btrfs", dev, mnt.path()});
    ASSERT_TRUE(m.ok()) << m.err;
    MountGuard guard(mnt.path());
    write_file(mnt / "big.bin", big);
    ASSERT_EQ(mkdir((mnt / "dir").c_str(), 0755), 0);
    for (int i = 0; i < 20; ++i) write_file(mnt / ("dir/f" + std::to_string(i)), small);
  }
  {
    auto m = run_tool({"mount", "-t", "btrfs", dev, mnt.path()});
    ASSERT_TRUE(m.ok()) << m.err;
    MountGuard guard(mnt.path());
    EXPECT_TRUE(read_file(mnt / "big.bin", big.size()) == big);
    EXPECT_TRUE(read_file(mnt / "dir/f19", small.size()) == small);

    auto scrub = run_tool({"btrfs", "scrub", "start", "-B", mnt.path()});
    EXPECT_EQ(scrub.exit_code, 0) << scrub.out << scrub.err;
    EXPECT_NE(scrub.out.find("no errors found"), std::string::npos) << scrub.out;

    // Relocating every chunk exercises the chunk, dev, extent and data reloc trees we wrote.
    auto balance = run_tool({"btrfs", "balance", "start", "--full-balance", mnt.path()});
    EXPECT_EQ(balance.exit_code, 0) << balance.out << balance.err;
    EXPECT_TRUE(read_file(mnt / "big.bin", big.size()) == big);

    auto df = run_tool({"btrfs", "filesystem", "df", "-b", mnt.path()});
    ASSERT_TRUE(df.ok()) << df.err;
    for (auto& line : expected_df) EXPECT_NE(df.out.find(line), std::string::npos) << line << " in\n" << df.out;

    auto show = run_tool({"btrfs", "filesystem", "show", mnt.path()});
    ASSERT_TRUE(show.ok()) << show.err;
    EXPECT_NE(show.out.find("Total devices " + std::to_string(all_devs.size())), std::string::npos) << show.out;
    for (auto& d : all_devs) EXPECT_NE(show.out.find(d), std::string::npos) << d << " in\n" << show.out;
  }
  expect_check_clean(dev);
}

struct SingleCase {
  uint64_t size;
  uint32_t sector;
};

class BtrfsMkfsSingle : public ::testing::TestWithParam<SingleCase> {};

TEST_P(BtrfsMkfsSingle, CheckBlkidMountScrubDf) {
  MOS_REQUIRE_ROOT();
  LoopImage img(GetParam().size, GetParam().sector);
  ForgetDevices forget{{img.dev()}};
  BtrfsOptions o;
  o.label = "MOSTEST";
  o.fsid = test_uuid(1);
  o.dev_uuids = std::vector<std::array<uint8_t, 16>>{test_uuid(2)};
  format_in_sandbox({&img}, o, false);

  expect_check_clean(img.dev(), true);
  auto b = blkid_probe(img.dev());
  EXPECT_EQ(b["TYPE"], "btrfs");
  EXPECT_EQ(b["LABEL"], "MOSTEST");
  EXPECT_EQ(b["UUID"], mos::uuid_text(test_uuid(1)));
  EXPECT_EQ(b["UUID_SUB"], mos::uuid_text(test_uuid(2)));
  exercise_with_kernel(img.dev(), {img.dev()}, {"Data, single", "Metadata, DUP", "System, DUP"});
}

INSTANTIATE_TEST_SUITE_P(Sizes, BtrfsMkfsSingle,
                         ::testing::Values(SingleCase{1 * GiB, 512}, SingleCase{1 * GiB, 4096},
                                           SingleCase{16 * GiB, 512}, SingleCase{16 * GiB, 4096},
                                           SingleCase{1ull << 40, 512}, SingleCase{1ull << 40, 4096}),
                         [](const auto& info) {
                           return std::to_string(info.param.size >> 30) + "GiB_" + std::to_string(info.param.sector);
                         });

TEST(BtrfsMkfsOverOld, ReplacesAPreviousBtrfsIncludingItsMirrors) {
  MOS_REQUIRE_ROOT();
  LoopImage img(2 * GiB, 512);
  ForgetDevices forget{{img.dev()}};
  auto old = run_tool({"mkfs.btrfs", "-q", "-f", "-L", "OLD", img.dev()});
  ASSERT_TRUE(old.ok()) << old.err;
  BtrfsOptions o;
  o.label = "NEW";
  o.fsid = test_uuid(6);
  o.metadata_profile = "single";
  format_in_sandbox({&img}, o, false);

  expect_check_clean(img.dev());
  EXPECT_EQ(blkid_probe(img.dev())["LABEL"], "NEW");
  for (int mirror : {0, 1}) {  // 64 KiB and 64 MiB; every copy must be ours now
    auto s = run_tool({"btrfs", "inspect-internal", "dump-super", "-s", std::to_string(mirror), img.dev()});
    ASSERT_TRUE(s.ok()) << s.err;
    EXPECT_NE(s.out.find(mos::uuid_text(test_uuid(6))), std::string::npos) << s.out;
    EXPECT_NE(s.out.find("[match]"), std::string::npos) << s.out;
  }
  exercise_with_kernel(img.dev(), {img.dev()}, {"Data, single", "Metadata, single", "System, single"});
}

TEST(BtrfsMkfsCrash, NoFilesystemIsVisibleBeforeThePrimarySuperblock) {
  MOS_REQUIRE_ROOT();
  LoopImage img(1 * GiB, 512);
  ForgetDevices forget{{img.dev()}};  // mkfs.btrfs registers what it formats
  auto old = run_tool({"mkfs.btrfs", "-q", "-f", "-L", "OLD", img.dev()});
  ASSERT_TRUE(old.ok()) << old.err;
  for (std::string step : {"wipe", "trees"}) {
    setenv("MOS_VOLMGR_CRASH_POINT", ("btrfs:after-" + step).c_str(), 1);
    auto r = run_sandboxed([&] {
      io::Fd fd = io::Fd::open(img.dev(), O_RDWR | O_CLOEXEC);
      auto plans = fsmake::btrfs::plan_mkfs({}, {{io::block_facts(fd).size_bytes, 512}});
      engine::apply_plan(fd, plans[0]);
      return std::string("completed");
    });
    unsetenv("MOS_VOLMGR_CRASH_POINT");
    EXPECT_FALSE(r.ok) << "crash point after " << step << " did not fire";
    EXPECT_TRUE(blkid_probe(img.dev()).empty()) << "half-made btrfs visible after " << step;
  }
}

void two_devices_mount_after_scan_dev(const std::string& data_profile, const std::vector<std::string>& expected_df) {
  LoopImage a(2 * GiB, 512), b(2 * GiB, 4096);
  ForgetDevices forget{{a.dev(), b.dev()}};
  BtrfsOptions o;
  o.label = "MOSRAID";
  o.data_profile = data_profile;
  o.fsid = test_uuid(3);
  o.dev_uuids = std::vector<std::array<uint8_t, 16>>{test_uuid(4), test_uuid(5)};
  format_in_sandbox({&a, &b}, o, false);

  expect_check_clean(a.dev(), true);
  for (auto [dev, sub] : {std::pair{&a, 4}, std::pair{&b, 5}}) {
    auto p = blkid_probe(dev->dev());
    EXPECT_EQ(p["TYPE"], "btrfs");
    EXPECT_EQ(p["LABEL"], "MOSRAID");
    EXPECT_EQ(p["UUID"], mos::uuid_text(test_uuid(3)));
    EXPECT_EQ(p["UUID_SUB"], mos::uuid_text(test_uuid(static_cast<uint8_t>(sub))));
  }

  // Forget whatever registered the members (udev rules, btrfs check): without SCAN_DEV the
  // kernel must refuse to assemble the filesystem from device 1 alone.
  run_tool({"btrfs", "device", "scan", "--forget", a.dev(), b.dev()});
  {
    TempDir mnt;
    auto m = run_tool({"mount", "-t", "btrfs", a.dev(), mnt.path()});
    if (m.ok()) umount2(mnt.path().c_str(), 0);
    EXPECT_FALSE(m.ok()) << "mounted a RAID1 member without device 2 registered";
  }
  auto r = run_sandboxed([&] {
    io::btrfs_scan_device(a.dev());
    io::btrfs_scan_device(b.dev());
    return std::string("ok");
  });
  ASSERT_TRUE(r.ok) << r.text;
  exercise_with_kernel(a.dev(), {a.dev(), b.dev()}, expected_df);
}

TEST(BtrfsMkfsRaid1, TwoLoopDevicesMountAfterScanDev) {
  MOS_REQUIRE_ROOT();
  two_devices_mount_after_scan_dev("raid1", {"Data, RAID1", "Metadata, RAID1", "System, RAID1"});
}

TEST(BtrfsMkfsRaid1, DefaultTwoDeviceProfilesAreSingleDataRaid1Metadata) {
  MOS_REQUIRE_ROOT();
  two_devices_mount_after_scan_dev("single", {"Data, single", "Metadata, RAID1", "System, RAID1"});
}

TEST(BtrfsMkfsRaid1, ScanOfANonBtrfsDeviceIsAnError) {
  MOS_REQUIRE_ROOT();
  LoopImage a(128 * MiB);
  EXPECT_THROW(io::btrfs_scan_device(a.dev()), mos::Error);
}

fsmake::btrfs::ReadFn file_reader(const io::Fd& fd) {
  return [&fd](uint64_t off, size_t len) {
    std::vector<uint8_t> v(len, 0);
    fd.pread_some(v.data(), len, off);
    return v;
  };
}

std::multiset<std::pair<uint64_t, int>> key_kinds(const fsmake::btrfs::Leaf& l, bool with_objectid) {
  std::multiset<std::pair<uint64_t, int>> out;
  for (auto& it : l.items) out.insert({with_objectid ? it.key.objectid : 0, it.key.type});
  return out;
}

// Same trees, items and superblock features as mkfs.btrfs on the same size (chunk placement
// and sizes may differ; see fsmake/README.md).
TEST(BtrfsMkfsVsMkfsBtrfs, SameTreesItemsAndFeatures) {
  TempDir dir;
  for (bool raid1 : {false, true}) {
    SCOPED_TRACE(raid1 ? "raid1" : "single");
    const size_t n = raid1 ? 2 : 1;
    std::vector<std::string> theirs, ours;
    std::vector<std::string> argv = {"mkfs.btrfs", "-q", "-f"};
    if (raid1) argv.insert(argv.end(), {"-d", "raid1", "-m", "raid1"});
    for (size_t i = 0; i < n; ++i) {
      theirs.push_back(dir / ("theirs" + std::to_string(i)));
      ours.push_back(dir / ("ours" + std::to_string(i)));
      for (auto& f : {theirs.back(), ours.back()}) {
        io::Fd fd = io::Fd::open(f, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_EQ(ftruncate(fd.get(), static_cast<off_t>(2 * GiB)), 0);
      }
      argv.push_back(theirs.back());
    }
    auto mk = run_tool(argv);
    ASSERT_TRUE(mk.ok()) << mk.err;
    auto r = run_sandboxed([&] {
      BtrfsOptions o;
      if (raid1) o.data_profile = "raid1";
      auto plans = fsmake::btrfs::plan_mkfs(o, std::vector<fsmake::BtrfsDevice>(n, {2 * GiB, 512}));
      for (size_t i = 0; i < n; ++i) engine::apply_plan(io::Fd::open(ours[i], O_RDWR | O_CLOEXEC), plans[i]);
      return std::string("ok");
    });
    ASSERT_TRUE(r.ok) << r.text;

    std::vector<io::Fd> fds;
    std::vector<fsmake::btrfs::ReadFn> t_read, o_read;
    for (size_t i = 0; i < n; ++i) {
      fds.push_back(io::Fd::open(theirs[i], O_RDONLY | O_CLOEXEC));
      fds.push_back(io::Fd::open(ours[i], O_RDONLY | O_CLOEXEC));
    }
    for (size_t i = 0; i < n; ++i) {
      t_read.push_back(file_reader(fds[2 * i]));
      o_read.push_back(file_reader(fds[2 * i + 1]));
    }
    auto t = fsmake::btrfs::inspect(t_read);
    auto o = fsmake::btrfs::inspect(o_read);
    EXPECT_TRUE(o.problems.empty());

    std::set<uint64_t> t_trees, o_trees;
    for (auto& [owner, _] : t.tree_roots) t_trees.insert(owner);
    for (auto& [owner, _] : o.tree_roots) o_trees.insert(owner);
    EXPECT_EQ(o_trees, t_trees);
    // Trees whose keys do not depend on addresses or UUIDs match key for key.
    for (uint64_t owner : std::vector<uint64_t>{1, 5, static_cast<uint64_t>(BTRFS_DATA_RELOC_TREE_OBJECTID), 7}) {
      std::vector<fsmake::btrfs::Key> tk, ok;
      for (auto& it : t.leaves.at(owner).items) tk.push_back(it.key);
      for (auto& it : o.leaves.at(owner).items) ok.push_back(it.key);
      EXPECT_TRUE(tk == ok) << "tree " << owner;
    }
    for (uint64_t owner : std::vector<uint64_t>{2, 3, 4, 9})
      EXPECT_EQ(key_kinds(o.leaves.at(owner), owner == 3), key_kinds(t.leaves.at(owner), owner == 3)) << "tree " << owner;
    std::multiset<uint64_t> t_types, o_types;
    for (auto& c : t.chunks) t_types.insert(c.type);
    for (auto& c : o.chunks) o_types.insert(c.type);
    EXPECT_EQ(o_types, t_types);

    EXPECT_EQ(o.super.incompat_flags.get(), t.super.incompat_flags.get());
    EXPECT_EQ(o.super.compat_ro_flags.get(), t.super.compat_ro_flags.get());
    EXPECT_EQ(o.super.compat_flags.get(), t.super.compat_flags.get());
    EXPECT_EQ(o.super.flags.get(), t.super.flags.get());
    EXPECT_EQ(o.super.nodesize.get(), t.super.nodesize.get());
    EXPECT_EQ(o.super.sectorsize.get(), t.super.sectorsize.get());
    EXPECT_EQ(o.super.stripesize.get(), t.super.stripesize.get());
    EXPECT_EQ(o.super.csum_type.get(), t.super.csum_type.get());
    EXPECT_EQ(o.super.root_dir_objectid.get(), t.super.root_dir_objectid.get());
    EXPECT_EQ(o.super.total_bytes.get(), t.super.total_bytes.get());
    EXPECT_EQ(o.super.bytes_used.get(), t.super.bytes_used.get());
    EXPECT_EQ(o.super.sys_chunk_array_size.get(), t.super.sys_chunk_array_size.get());
    EXPECT_EQ(o.super.dev_item.io_align.get(), t.super.dev_item.io_align.get());
    EXPECT_EQ(o.super.dev_item.sector_size.get(), t.super.dev_item.sector_size.get());
  }
}

// The reader our unit tests trust is itself checked on what mkfs.btrfs writes.
TEST(BtrfsRead, InspectsRealMkfsBtrfsOutputWithoutProblems) {
  TempDir dir;
  for (auto& args : std::vector<std::vector<std::string>>{{}, {"-d", "raid1", "-m", "raid1"}}) {
    std::vector<std::string> files = {dir / "a.img"};
    if (!args.empty()) files.push_back(dir / "b.img");
    std::vector<std::string> argv = {"mkfs.btrfs", "-q", "-f", "-L", "REAL"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<io::Fd> fds;
    for (auto& f : files) {
      io::Fd fd = io::Fd::open(f, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      ASSERT_EQ(ftruncate(fd.get(), static_cast<off_t>(2 * GiB)), 0);
      argv.push_back(f);
    }
    auto mk = run_tool(argv);
    ASSERT_TRUE(mk.ok()) << mk.err;
    std::vector<fsmake::btrfs::ReadFn> readers;
    for (auto& f : files) fds.push_back(io::Fd::open(f, O_RDONLY | O_CLOEXEC));
    for (auto& fd : fds)
      readers.push_back([&fd](uint64_t off, size_t len) {
        std::vector<uint8_t> v(len, 0);
        fd.pread_some(v.data(), len, off);
        return v;
      });
    auto fs = fsmake::btrfs::inspect(readers);
    std::string all;
    for (auto& p : fs.problems) all += p + "\n";
    EXPECT_TRUE(fs.problems.empty()) << all;
    EXPECT_EQ(std::string(fs.super.label), "REAL");
    EXPECT_EQ(fs.super.incompat_flags.get(), 0x341u);
    EXPECT_EQ(fs.chunks.size(), 3u);
  }
}

}  // namespace
}  // namespace mos::test
