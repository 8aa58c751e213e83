// Foreign formats: the prober names what it cannot write, as blkid does, so the
// safety gate can refuse it by name. Images are regular files in /var/tmp (no loop device, so no
// udev rule registers a bcache or md device behind the test's back), made by the real tools where
// Debian has them and otherwise from the documented on-disk layouts (the header bytes libblkid
// checks). The oracle is `blkid -p` on the same file: its TYPE must be the expected one (so the
// case proves something) and ours must equal it, USAGE too.
#include <fcntl.h>
#include <sys/stat.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "fsmake/probe/probe.hpp"
#include "base/bytes.hpp"
#include "ioctl/fd.hpp"
#include "tests/integration/probe_oracles.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

std::string native_type_usage(const std::string& path) {
  auto r = run_sandboxed([&] {
    io::Fd fd = io::Fd::open(path, O_RDONLY);
    struct stat st {};
    fstat(fd.get(), &st);
    auto p = fsmake::probe_device(fd, static_cast<uint64_t>(st.st_size), 512);
    return p.type + "|" + p.usage;
  });
  EXPECT_TRUE(r.ok) << r.text;
  return r.text;
}

// ---- headers built from the documented layouts ----
using Image = std::vector<uint8_t>;
void put(Image& img, uint64_t off, const void* bytes, size_t len) { std::memcpy(img.data() + off, bytes, len); }
void put(Image& img, uint64_t off, const char* text) { put(img, off, text, std::strlen(text)); }
void put_be32(Image& img, uint64_t off, uint32_t v) {
  uint8_t b[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
  put(img, off, b, 4);
}
uint64_t last_sectors(const Image& img, uint64_t n) { return img.size() - n * 512; }

void bitlocker(Image& img) {  // Windows 7+ header, FVE metadata block at 1 MiB
  put(img, 0, "\xeb\x58\x90-FVE-FS-");
  store_le64(img.data() + 176, 1 << 20);
  put(img, 1 << 20, "-FVE-FS-");
  store_le16(img.data() + (1 << 20) + 10, 2);
  store_le32(img.data() + (1 << 20) + 64, 64);  // metadata header size
  img[510] = 0x55, img[511] = 0xAA;
}
void refs(Image& img) { put(img, 0, "\0\0\0ReFS\0", 8); }
void bluestore(Image& img) { put(img, 0, "bluestore block device\n"); }
void vmfs_volume(Image& img) { put(img, 1 << 20, "\x0d\xd0\x01\xc0"); }
void apfs(Image& img) {
  store_le16(img.data() + 24, 1);  // object type: container superblock
  put(img, 32, "NXSB");
  store_le32(img.data() + 36, 4096);
  store_le64(img.data() + 40, img.size() / 4096);
  for (int i = 0; i < 16; ++i) img[72 + i] = uint8_t(0x10 + i);
  constexpr uint64_t kMod = 0xFFFFFFFF;
  uint64_t lo = 0, hi = 0;
  for (size_t i = 8; i < 4096; i += 4) lo = (lo + load_le32(img.data() + i)) % kMod, hi = (hi + lo) % kMod;
  uint64_t c1 = kMod - ((lo + hi) % kMod), c2 = kMod - ((lo + c1) % kMod);
  store_le64(img.data(), (c2 << 32) | c1);
}
void hfsplus(Image& img) {
  put(img, 1024, "H+");
  store_le16(img.data() + 1026, 0x0400);
  put_be32(img, 1024 + 40, 4096);  // block size
  put_be32(img, 1024 + 44, uint32_t(img.size() / 4096));
}
void hfs(Image& img) {
  put(img, 1024, "BD");
  put_be32(img, 1024 + 20, 4096);  // allocation block size
  img[1024 + 36] = 6;
  put(img, 1024 + 37, "MOSHFS");
}
void drbd(Image& img) { put_be32(img, img.size() - 4096 + 60, 0x8374026b); }
void isw(Image& img) { put(img, last_sectors(img, 2), "Intel Raid ISM Cfg Sig. 1.0.00"); }
void lsi(Image& img) { put(img, last_sectors(img, 1), "$XIDE$"); }
void nvidia(Image& img) {
  uint64_t o = last_sectors(img, 2);
  put(img, o, "NVIDIA  ");
  store_le32(img.data() + o + 8, 30);
  store_le16(img.data() + o + 16, 100);
  uint32_t sum = 0;
  for (int i = 0; i < 30; ++i) sum += load_le32(img.data() + o + 4 * i);
  store_le32(img.data() + o + 12, load_le32(img.data() + o + 12) - sum);
}
void promise(Image& img) { put(img, last_sectors(img, 63), "Promise Technology, Inc."); }
void silicon(Image& img) {
  uint64_t o = last_sectors(img, 1);
  store_le32(img.data() + o + 0x60, 0x2F000000);
  store_le16(img.data() + o + 0x10A, 2);
  uint16_t sum = 0;
  for (int i = 0; i < 0x13E / 2; ++i) sum = uint16_t(sum + load_le16(img.data() + o + 2 * i));
  store_le16(img.data() + o + 0x13E, uint16_t(-sum));
}
void via(Image& img) {
  uint64_t o = last_sectors(img, 1);
  store_le16(img.data() + o, 0xAA55);
  img[o + 2] = 1;
  uint8_t sum = 0;
  for (int i = 0; i < 50; ++i) sum = uint8_t(sum + img[o + i]);
  img[o + 50] = sum;
}
void adaptec(Image& img) {
  uint64_t o = last_sectors(img, 1);
  put_be32(img, o, 0x37FC4D1E);
  put(img, o + 256, "DPTM");
}
void jmicron(Image& img) {
  uint64_t o = last_sectors(img, 1);
  put(img, o, "JM");
  store_le16(img.data() + o + 2, 0x0100);
  uint16_t sum = 0;
  for (int i = 0; i < 63; ++i) sum = uint16_t(sum + load_le16(img.data() + o + 2 * i));
  store_le16(img.data() + o + 4, uint16_t(-sum));
}
void hpt45x(Image& img) { store_le32(img.data() + last_sectors(img, 11), 0x5a7816f3); }
void hpt37x(Image& img) { store_le32(img.data() + 4096 + 544, 0x5a7816f0); }
void ddf(Image& img) {  // anchor header in the last sector; CRC as libblkid's ul_crc32 (raw, seed 0)
  uint64_t o = last_sectors(img, 1);
  std::memset(img.data() + o, 0xff, 512);
  put_be32(img, o, 0xDE11DE11);
  put(img, o + 32, "01.02.00");
  std::memset(img.data() + o + 96, 0, 16);  // primary/secondary LBA 0: anchor only
  uint8_t hdr[512];
  std::memcpy(hdr, img.data() + o, 512);
  std::memset(hdr + 4, 0xff, 4);
  uint32_t raw = ~static_cast<uint32_t>(crc32(0xFFFFFFFFul, hdr, 512));
  put_be32(img, o + 4, raw);
}

struct Case {
  const char* name;
  uint64_t size_mib;
  const char* script;                  // real tool on $IMG, or nullptr
  std::function<void(Image&)> header;  // documented layout, when no tool
  const char* type, *usage;
};

const Case kCases[] = {
    {"ntfs", 32, "mkntfs -q -F -Q -L MOSNTFS $IMG", {}, "ntfs", "filesystem"},
    {"exfat", 32, "mkfs.exfat -L MOSEXFAT $IMG", {}, "exfat", "filesystem"},
    {"f2fs", 64, "mkfs.f2fs -q -l MOSF2FS $IMG", {}, "f2fs", "filesystem"},
    {"udf", 32, "mkudffs --label=MOSUDF $IMG", {}, "udf", "filesystem"},
    {"udf_4k_blocks", 32, "mkudffs --blocksize=4096 $IMG", {}, "udf", "filesystem"},
    {"nilfs2", 160, "mkfs.nilfs2 -q -f -L MOSNILFS $IMG", {}, "nilfs2", "filesystem"},
    {"jfs", 64, "mkfs.jfs -q -L MOSJFS $IMG", {}, "jfs", "filesystem"},
    {"reiserfs", 64, "mkreiserfs -q -f -l MOSREISER $IMG", {}, "reiserfs", "filesystem"},
    {"bcache_backing", 16, "make-bcache -B $IMG", {}, "bcache", "other"},
    {"bcache_cache", 80, "make-bcache -C $IMG", {}, "bcache", "other"},
    {"bitlocker", 8, nullptr, bitlocker, "BitLocker", "crypto"},
    {"refs", 8, nullptr, refs, "ReFS", "filesystem"},
    {"ceph_bluestore", 8, nullptr, bluestore, "ceph_bluestore", "other"},
    {"vmfs_volume", 8, nullptr, vmfs_volume, "VMFS_volume_member", "raid"},
    {"apfs", 8, nullptr, apfs, "apfs", "filesystem"},
    {"hfsplus", 8, nullptr, hfsplus, "hfsplus", "filesystem"},
    {"hfs", 8, nullptr, hfs, "hfs", "filesystem"},
    {"drbd", 8, nullptr, drbd, "drbd", "raid"},
    {"isw", 8, nullptr, isw, "isw_raid_member", "raid"},
    {"ddf", 8, nullptr, ddf, "ddf_raid_member", "raid"},
    {"lsi", 8, nullptr, lsi, "lsi_mega_raid_member", "raid"},
    {"nvidia", 8, nullptr, nvidia, "nvidia_raid_member", "raid"},
    {"promise", 8, nullptr, promise, "promise_fasttrack_raid_member", "raid"},
    {"silicon", 8, nullptr, silicon, "silicon_medley_raid_member", "raid"},
    {"via", 8, nullptr, via, "via_raid_member", "raid"},
    {"adaptec", 8, nullptr, adaptec, "adaptec_raid_member", "raid"},
    {"jmicron", 8, nullptr, jmicron, "jmicron_raid_member", "raid"},
    {"hpt45x", 8, nullptr, hpt45x, "hpt45x_raid_member", "raid"},
    {"hpt37x", 8, nullptr, hpt37x, "hpt37x_raid_member", "raid"},
};

class ProbeForeign : public ::testing::TestWithParam<int> {};

TEST_P(ProbeForeign, TypeAgreesWithBlkid) {
  const Case& c = kCases[GetParam()];
  TempDir tmp;
  std::string img = tmp.path() + "/" + c.name + ".img";
  if (c.script) {
    auto made = run_sh("truncate -s " + std::to_string(c.size_mib) + "M " + img + " && IMG=" + img +
                       "; " + c.script);
    ASSERT_TRUE(made.ok()) << c.name << ": " << made.err << made.out;
  } else {
    Image bytes(c.size_mib << 20, 0);
    c.header(bytes);
    io::Fd f = io::Fd::open(img, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    f.pwrite_exact(bytes.data(), bytes.size(), 0);
  }
  auto blkid = blkid_unescaped(img);
  ASSERT_EQ(blkid["TYPE"], c.type) << "the oracle does not see what the case made";
  EXPECT_EQ(native_type_usage(img), blkid["TYPE"] + "|" + blkid["USAGE"]);
}

INSTANTIATE_TEST_SUITE_P(Formats, ProbeForeign, ::testing::Range(0, int(std::size(kCases))),
                         [](const ::testing::TestParamInfo<int>& i) { return std::string(kCases[i.param].name); });

}  // namespace
}  // namespace mos::test

namespace mos::test {
namespace {

// A FAT32 label in an OEM code page (0x82 is 'é' in CP437 and CP850) is still vfat; the label
// comes out as UTF-8 through CP437 (blkid prints the raw byte, which JSON cannot carry).
TEST(ProbeForeignVfat, OemCodePageLabelIsStillVfat) {
  TempDir tmp;
  std::string img = tmp.path() + "/oem.img";
  auto made = run_sh("truncate -s 64M " + img + " && mkfs.vfat -F 32 -n CAFE " + img);
  ASSERT_TRUE(made.ok()) << made.err;
  {  // CAFE -> CAF\x82 in the boot sector and the root directory's volume-label entry
    io::Fd f = io::Fd::open(img, O_RDWR);
    std::vector<uint8_t> head(4 << 20);
    f.pread_exact(head.data(), head.size(), 0);
    int patched = 0;
    for (size_t i = 0; i + 11 <= head.size(); ++i)
      if (std::memcmp(head.data() + i, "CAFE       ", 11) == 0) {
        uint8_t e = 0x82;
        f.pwrite_exact(&e, 1, i + 3);
        ++patched;
      }
    ASSERT_GE(patched, 2) << "boot sector and root directory label";
  }
  auto blkid = blkid_unescaped(img);
  ASSERT_EQ(blkid["TYPE"], "vfat");
  ASSERT_EQ(blkid["LABEL"], "CAFM-^B") << "blkid shows the raw byte 0x82 (in its M-^ notation)";
  auto r = run_sandboxed([&] {
    io::Fd fd = io::Fd::open(img, O_RDONLY);
    auto p = fsmake::probe_device(fd, 64 << 20, 512);
    return p.type + "|" + p.label;
  });
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "vfat|CAF\xc3\xa9");
}

}  // namespace
}  // namespace mos::test
