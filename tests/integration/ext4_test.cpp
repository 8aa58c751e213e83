// fsmake/ext4 judged by its oracles: the plan is built and applied under the no-exec sandbox,
// then e2fsck -fn, dumpe2fs -h beside a real mkfs.ext4 of the same device size, blkid, and the
// kernel (mount, write, remount, read back) decide.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "engine/apply_plan.hpp"
#include "fsmake/ext4.hpp"
#include "ioctl/blockdev.hpp"
#include "ioctl/fd.hpp"
#include "tests/support/fs_oracles.hpp"
#include "tests/support/harness.hpp"
#include "base/text.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20, GiB = 1ull << 30, TiB = 1ull << 40;
const char* kLabel = "mos-ext4-test";

std::array<uint8_t, 16> uuid_for(uint64_t salt) {
  std::array<uint8_t, 16> u{};
  for (int i = 0; i < 16; ++i) u[i] = static_cast<uint8_t>(0x40 + i * 7 + salt * 13);
  u[6] = (u[6] & 0x0F) | 0x40;  // version 4
  u[8] = (u[8] & 0x3F) | 0x80;  // RFC 4122 variant
  return u;
}

// Formats dev the way the engine will: block facts from the kernel, plan, apply — no exec.
SandboxResult format_sandboxed(const std::string& dev, const fsmake::ext4::Ext4Options& o,
                               std::optional<uint64_t> claimed_size = std::nullopt,
                               const char* crash_point = nullptr) {
  return run_sandboxed([&] {
    if (crash_point) setenv("MOS_VOLMGR_CRASH_POINT", crash_point, 1);
    io::Fd fd = io::Fd::open(dev, O_RDWR);
    io::BlockFacts f = io::block_facts(fd);
    mos::WritePlan plan = fsmake::ext4::plan_mkfs(o, claimed_size.value_or(f.size_bytes), f.logical_sector_size);
    engine::apply_plan(fd, plan);
    return std::to_string(plan.bytes_written());
  });
}

std::map<std::string, std::string> dumpe2fs_header(const std::string& dev) {
  ToolResult r = run_tool({"dumpe2fs", "-h", dev});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::string> kv;
  std::istringstream s(r.out);
  std::string line;
  while (std::getline(s, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    v.erase(v.find_last_not_of(" \t") + 1);
    kv[line.substr(0, colon)] = v;
  }
  return kv;
}

// The "sized like mke2fs" oracle: same geometry as mkfs.ext4 on a device of the same size.
void expect_geometry_like_mkfs(const std::string& ours, uint64_t size, uint32_t sector) {
  LoopImage ref(size, sector);
  ToolResult mk = run_tool({"mkfs.ext4", "-q", "-F", "-L", kLabel, "-E", "lazy_itable_init=1,lazy_journal_init=1", ref.dev()});
  ASSERT_EQ(mk.exit_code, 0) << mk.err;
  auto a = dumpe2fs_header(ours), b = dumpe2fs_header(ref.dev());
  for (const char* key : {"Filesystem features", "Block count", "Inode count", "Block size", "Blocks per group",
                          "Inodes per group", "Inode blocks per group", "Reserved GDT blocks", "Reserved block count",
                          "Overhead clusters", "Free blocks", "Free inodes", "First block", "Inode size",
                          "Flex block group size", "Total journal size", "Total journal blocks", "Journal features",
                          "Journal backup", "Default mount options", "Filesystem flags", "Checksum type",
                          "Required extra isize", "Default directory hash", "Maximum mount count", "Errors behavior"}) {
    ASSERT_TRUE(b.count(key)) << "mkfs.ext4's dumpe2fs lacks " << key;
    EXPECT_EQ(a[key], b[key]) << key;
  }
}

uint64_t rng_next(uint64_t& s) {  // xorshift64*: reproducible file contents
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 2685821657736338717ull;
}

std::string file_content(uint64_t seed, size_t size) {
  std::string out(size, '\0');
  uint64_t s = seed | 1;
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = rng_next(s);
    std::memcpy(out.data() + i, &v, std::min<size_t>(8, size - i));
  }
  return out;
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(f.good()) << path;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void mount_ext4(const std::string& dev, const std::string& dir) {
  // Above 64 GiB, keep the kernel's background inode-table zeroing from filling the host disk.
  io::Fd fd = io::Fd::open(dev, O_RDONLY);
  const char* data = io::block_facts(fd).size_bytes > 64 * GiB ? "noinit_itable" : nullptr;
  ASSERT_EQ(mount(dev.c_str(), dir.c_str(), "ext4", 0, data), 0) << dev << ": " << std::strerror(errno);
}

// Kernel oracle: mount, 1000 small files and one big file (100 MiB, or half the free space on
// small filesystems), unmount, mount again, compare every byte, unmount.
void expect_kernel_round_trip(const std::string& dev) {
  TempDir mnt;
  size_t big = 100 * MiB;
  {
    mount_ext4(dev, mnt.path());
    MountGuard guard(mnt.path());
    struct statvfs st{};
    ASSERT_EQ(statvfs(mnt.path().c_str(), &st), 0);
    big = std::min<size_t>(big, st.f_bavail * st.f_frsize / 2);
    for (int i = 0; i < 1000; ++i) write_file(mnt / ("small-" + std::to_string(i)), file_content(i, 100 + i));
    write_file(mnt / "big", file_content(4242, big));
  }
  {
    mount_ext4(dev, mnt.path());
    MountGuard guard(mnt.path());
    for (int i = 0; i < 1000; ++i)
      ASSERT_EQ(read_file(mnt / ("small-" + std::to_string(i))), file_content(i, 100 + i)) << i;
    EXPECT_TRUE(read_file(mnt / "big") == file_content(4242, big)) << "big file differs";
  }
}

struct Case {
  const char* name;
  uint64_t size;
  uint32_t sector;
  bool full_init;
};

class Ext4Oracle : public ::testing::TestWithParam<Case> {};

TEST_P(Ext4Oracle, FsckGeometryBlkidAndKernelAgree) {
  MOS_REQUIRE_ROOT();
  const Case& c = GetParam();
  LoopImage img(c.size, c.sector);
  fsmake::ext4::Ext4Options o;
  o.label = kLabel;
  o.uuid = uuid_for(c.size);
  o.full_init = c.full_init;
  SandboxResult r = format_sandboxed(img.dev(), o);
  ASSERT_TRUE(r.ok) << r.text;

  expect_e2fsck_clean(img.dev());
  expect_geometry_like_mkfs(img.dev(), c.size, c.sector);
  auto id = blkid_probe(img.dev());
  EXPECT_EQ(id["TYPE"], "ext4");
  EXPECT_EQ(id["LABEL"], kLabel);
  EXPECT_EQ(id["UUID"], mos::uuid_text(*o.uuid));
  if (c.full_init) {
    ToolResult d = run_tool({"dumpe2fs", img.dev()});
    std::regex group(R"(^Group \d+: .*)"), zeroed(R"(ITABLE_ZEROED)");
    std::istringstream s(d.out);
    std::string line;
    int groups = 0;
    while (std::getline(s, line))
      if (std::regex_match(line, group)) {
        ++groups;
        EXPECT_TRUE(std::regex_search(line, zeroed)) << line;
      }
    EXPECT_GT(groups, 0);
  }
  expect_kernel_round_trip(img.dev());
  expect_e2fsck_clean(img.dev());
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, Ext4Oracle,
    ::testing::Values(Case{"8MiB", 8 * MiB, 512, false}, Case{"64MiB", 64 * MiB, 512, false},
                      Case{"1GiB", 1 * GiB, 512, false}, Case{"1GiBOdd", 1 * GiB + 12345, 512, false},
                      Case{"16GiB", 16 * GiB, 512, false}, Case{"2TiB", 2 * TiB, 512, false},
                      Case{"Sector4K", 256 * MiB, 4096, false}, Case{"8MiBFull", 8 * MiB, 512, true},
                      Case{"64MiBFull", 64 * MiB, 512, true}, Case{"1GiBFull", 1 * GiB, 512, true},
                      Case{"1GiBOddFull", 1 * GiB + 12345, 512, true}, Case{"Sector4KFull", 256 * MiB, 4096, true}),
    [](const auto& info) { return std::string(info.param.name); });

// Fills the whole device with a pattern so leftovers of an "old filesystem" would show.
void fill_pattern(const std::string& dev, uint8_t byte) {
  io::Fd fd = io::Fd::open(dev, O_RDWR);
  uint64_t size = io::block_facts(fd).size_bytes;
  std::vector<uint8_t> buf(4 * MiB, byte);
  for (uint64_t off = 0; off < size; off += buf.size())
    fd.pwrite_exact(buf.data(), std::min<uint64_t>(buf.size(), size - off), off);
  fd.fsync();
}

// full_init on a dirty device: every inode table block (dumpe2fs's locations) reads back zero
// except the inodes mke2fs itself writes (1..11, first block of group 0's table).
TEST(Ext4DirtyDevice, FullInitZeroesInodeTables) {
  MOS_REQUIRE_ROOT();
  LoopImage img(64 * MiB, 512);
  fill_pattern(img.dev(), 0xA5);
  fsmake::ext4::Ext4Options o;
  o.full_init = true;
  ASSERT_TRUE(format_sandboxed(img.dev(), o).ok);
  expect_e2fsck_clean(img.dev());

  ToolResult d = run_tool({"dumpe2fs", img.dev()});
  auto h = dumpe2fs_header(img.dev());
  uint64_t bs = std::stoull(h["Block size"]);
  std::regex table(R"(Inode table at (\d+)-(\d+))");
  io::Fd fd = io::Fd::open(img.dev(), O_RDONLY);
  int tables = 0;
  for (std::sregex_iterator it(d.out.begin(), d.out.end(), table), end; it != end; ++it, ++tables) {
    uint64_t first = std::stoull((*it)[1]), last = std::stoull((*it)[2]);
    uint64_t skip = tables == 0 ? (11 * 256 + bs - 1) / bs : 0;  // blocks holding inodes 1..11
    uint64_t from = (first + skip) * bs;
    auto bytes = fd.pread_vec((last + 1) * bs - from, from);
    EXPECT_EQ(std::count(bytes.begin(), bytes.end(), 0), static_cast<long>(bytes.size())) << "table " << tables;
  }
  EXPECT_EQ(tables, 8);
  expect_kernel_round_trip(img.dev());
  expect_e2fsck_clean(img.dev());
}

// The default lazy format on a dirty device is still clean: unused inodes are never read.
TEST(Ext4DirtyDevice, LazyInitIsStillClean) {
  MOS_REQUIRE_ROOT();
  LoopImage img(64 * MiB, 512);
  fill_pattern(img.dev(), 0x5A);
  ASSERT_TRUE(format_sandboxed(img.dev(), {}).ok);
  expect_e2fsck_clean(img.dev());
  expect_kernel_round_trip(img.dev());
  expect_e2fsck_clean(img.dev());
}

bool all_zero(const std::string& dev) {
  io::Fd fd = io::Fd::open(dev, O_RDONLY);
  uint64_t size = io::block_facts(fd).size_bytes;
  std::vector<uint8_t> buf(4 * MiB);
  for (uint64_t off = 0; off < size; off += buf.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off));
    fd.pread_exact(buf.data(), n, off);
    if (std::count(buf.begin(), buf.begin() + static_cast<long>(n), 0) != static_cast<long>(n)) return false;
  }
  return true;
}

TEST(Ext4BadInput, RefusedWithPreciseErrorAndNothingWritten) {
  MOS_REQUIRE_ROOT();
  {
    LoopImage tiny(4 * MiB, 512);
    SandboxResult r = format_sandboxed(tiny.dev(), {});
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.text.find("at least 8 MiB"), std::string::npos) << r.text;
    EXPECT_TRUE(all_zero(tiny.dev()));
  }
  LoopImage img(64 * MiB, 512);
  fsmake::ext4::Ext4Options long_label;
  long_label.label = "this-label-is-too-long";
  SandboxResult r = format_sandboxed(img.dev(), long_label);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("at most 16 bytes"), std::string::npos) << r.text;
  EXPECT_TRUE(all_zero(img.dev()));
  // A device reported larger than 16 TiB (as a huge array would be) is refused before any write.
  r = format_sandboxed(img.dev(), {}, 17 * TiB);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("at most 16 TiB"), std::string::npos) << r.text;
  EXPECT_TRUE(all_zero(img.dev()));
  EXPECT_TRUE(blkid_probe(img.dev()).empty());
}

// A crash before the last step leaves no ext4 signature: the primary superblock comes last.
TEST(Ext4Crash, NoSuperblockBeforeTheLastStep) {
  MOS_REQUIRE_ROOT();
  LoopImage img(64 * MiB, 512);
  SandboxResult r = format_sandboxed(img.dev(), {}, std::nullopt, "ext4:after-metadata");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("injected crash"), std::string::npos) << r.text;
  EXPECT_EQ(blkid_probe(img.dev()).count("TYPE"), 0u);
  ASSERT_TRUE(format_sandboxed(img.dev(), {}).ok);
  expect_e2fsck_clean(img.dev());
  EXPECT_EQ(blkid_probe(img.dev())["TYPE"], "ext4");
}

}  // namespace
}  // namespace mos::test

namespace mos::test {
namespace {

uint32_t le32_at(const std::vector<uint8_t>& b, size_t off) {
  return b[off] | (uint32_t{b[off + 1]} << 8) | (uint32_t{b[off + 2]} << 16) | (uint32_t{b[off + 3]} << 24);
}

// Strongest oracle: give mkfs.ext4 our UUID, hash seed and clock, and every byte of the device
// must come out the same, except s_kbytes_written (mke2fs counts its own I/O) and the
// superblock checksum covering it, in each superblock copy.
class Ext4Identical : public ::testing::TestWithParam<Case> {};

TEST_P(Ext4Identical, ByteForByteLikeMkfsExt4) {
  MOS_REQUIRE_ROOT();
  const Case& c = GetParam();
  LoopImage ours(c.size, c.sector), ref(c.size, c.sector);
  fsmake::ext4::Ext4Options o;
  o.label = kLabel;
  o.uuid = uuid_for(c.size + 7);
  o.full_init = c.full_init;
  ASSERT_TRUE(format_sandboxed(ours.dev(), o).ok);

  io::Fd ofd = io::Fd::open(ours.dev(), O_RDONLY);
  auto sb = ofd.pread_vec(1024, 1024);
  uint32_t mkfs_time = le32_at(sb, 0x108);
  auto h = dumpe2fs_header(ours.dev());
  std::string lazy = c.full_init ? "0" : "1";
  ToolResult mk = run_sh("E2FSPROGS_FAKE_TIME=" + std::to_string(mkfs_time) + " mkfs.ext4 -q -F -L " + kLabel +
                         " -U " + mos::uuid_text(*o.uuid) + " -E hash_seed=" + h["Directory Hash Seed"] +
                         ",lazy_itable_init=" + lazy + ",lazy_journal_init=" + lazy + " " + ref.dev());
  ASSERT_EQ(mk.exit_code, 0) << mk.err;

  // Superblock copies: byte 1024, then the first byte of each backup group.
  ToolResult d = run_tool({"dumpe2fs", ours.dev()});
  uint64_t bs = std::stoull(h["Block size"]);
  std::vector<uint64_t> supers = {1024};
  std::regex backup(R"(Backup superblock at (\d+))");
  for (std::sregex_iterator it(d.out.begin(), d.out.end(), backup), end; it != end; ++it)
    supers.push_back(std::stoull((*it)[1]) * bs);
  auto allowed = [&](uint64_t off) {
    for (uint64_t s : supers)
      if (off >= s && off < s + 1024) {
        uint64_t rel = off - s;
        return (rel >= 0x178 && rel < 0x180) || rel >= 0x3FC;
      }
    return false;
  };

  io::Fd rfd = io::Fd::open(ref.dev(), O_RDONLY);
  std::vector<uint8_t> a(4 * MiB), b(4 * MiB);
  int reported = 0;
  for (uint64_t off = 0; off < c.size && reported < 10; off += a.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(a.size(), ofd.pread_some(a.data(), a.size(), off)));
    rfd.pread_exact(b.data(), n, off);
    if (std::memcmp(a.data(), b.data(), n) == 0) continue;
    for (size_t i = 0; i < n && reported < 10; ++i)
      if (a[i] != b[i] && !allowed(off + i)) {
        ADD_FAILURE() << "byte " << off + i << " (block " << (off + i) / bs << " +" << (off + i) % bs
                      << "): ours " << int(a[i]) << ", mkfs.ext4 " << int(b[i]);
        ++reported;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, Ext4Identical,
                         ::testing::Values(Case{"8MiB", 8 * MiB, 512, false}, Case{"64MiB", 64 * MiB, 512, false},
                                           Case{"1GiBOdd", 1 * GiB + 12345, 512, false},
                                           Case{"Sector4K", 256 * MiB, 4096, false},
                                           Case{"64MiBFull", 64 * MiB, 512, true}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace mos::test
