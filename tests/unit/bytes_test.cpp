#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "base/bytes.hpp"
#include "ioctl/mountinfo.hpp"

namespace mos {

TEST(Crc32c, KnownCheckValue) {
  // The published CRC-32C check value for "123456789" (RFC 3720, iSCSI).
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
}

TEST(Crc32c, Rfc3720Vectors) {
  uint8_t zeros[32] = {};
  EXPECT_EQ(crc32c(zeros, 32), 0x8A9136AAu);
  uint8_t ones[32];
  std::memset(ones, 0xff, 32);
  EXPECT_EQ(crc32c(ones, 32), 0x62A8AB43u);
  uint8_t inc[32];
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(crc32c(inc, 32), 0x46DD794Eu);
}

TEST(Crc32c, IncrementalEqualsOneShot) {
  std::string s(1000, 'x');
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(i * 7);
  uint32_t a = crc32c_update(~0u, s.data(), 333);
  a = crc32c_update(a, s.data() + 333, s.size() - 333);
  EXPECT_EQ(~a, crc32c(s.data(), s.size()));
}

TEST(Endian, LeAndBeFields) {
  le32 a;
  a = 0x11223344u;
  EXPECT_EQ(a.b[0], 0x44);
  EXPECT_EQ(a.get(), 0x11223344u);
  be32 b;
  b = 0x11223344u;
  EXPECT_EQ(b.b[0], 0x11);
  EXPECT_EQ(b.get(), 0x11223344u);
}

TEST(Mountinfo, ParsesOptionalFieldsAndEscapes) {
  std::string text =
      "36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"
      "40 36 0:45 /sub /var/cache/system rw,relatime shared:5 - btrfs /dev/loop3 rw,space_cache=v2,subvolid=256,subvol=/sub\n";
  auto m = io::parse_mountinfo(text);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].mount_point, "/mnt/with space");
  EXPECT_EQ(m[0].fstype, "ext3");
  EXPECT_EQ(m[0].source, "/dev/root");
  EXPECT_EQ(m[0].major, 98u);
  EXPECT_EQ(m[1].root, "/sub");
  EXPECT_EQ(m[1].super_options, "rw,space_cache=v2,subvolid=256,subvol=/sub");
}

}  // namespace mos
