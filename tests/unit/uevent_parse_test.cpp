// The monitor's uevent parser over kernel-format datagrams and hostile ones.
#include <gtest/gtest.h>

#include <string>

#include "engine/inventory/monitor.hpp"

namespace mos::engine {
namespace {

std::optional<Uevent> parse(const std::string& s) { return parse_uevent(s.data(), s.size()); }

TEST(UeventParse, KernelBlockChange) {
  std::string msg("change@/devices/virtual/block/loop3\0ACTION=change\0DEVPATH=/devices/virtual/block/loop3\0"
                  "SUBSYSTEM=block\0MAJOR=7\0MINOR=3\0DEVNAME=loop3\0DEVTYPE=disk\0SEQNUM=4711", 157);
  auto ev = parse(msg);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->action, "change");
  EXPECT_EQ(ev->subsystem, "block");
  EXPECT_EQ(ev->devname, "loop3");
}

TEST(UeventParse, PartitionAddWithTrailingNul) {
  std::string msg("add@/devices/virtual/block/loop3/loop3p1\0ACTION=add\0SUBSYSTEM=block\0DEVNAME=loop3p1\0", 84);
  auto ev = parse(msg);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->action, "add");
  EXPECT_EQ(ev->devname, "loop3p1");
}

TEST(UeventParse, RefusesNonUeventsAndHostileNames) {
  EXPECT_FALSE(parse(""));
  EXPECT_FALSE(parse(std::string("libudev\0\xfe\xed\xca\xfe", 12)));  // udev's binary header: no '@'
  EXPECT_FALSE(parse(std::string("add@/x\0SUBSYSTEM=block", 22)));   // no ACTION
  auto ev = parse(std::string("add@/x\0ACTION=add\0SUBSYSTEM=block\0DEVNAME=../../etc/passwd", 58));
  ASSERT_TRUE(ev);
  EXPECT_TRUE(ev->devname.empty());  // never used as a name
  ev = parse(std::string("add@/x\0ACTION=add\0SUBSYSTEM=block\0DEVNAME=mapper/vg-lv", 54));
  ASSERT_TRUE(ev);
  EXPECT_TRUE(ev->devname.empty());
  ev = parse(std::string("add@/x\0ACTION=add\0SUBSYSTEM=block\0DEVNAME", 41));  // no '=': ignored
  ASSERT_TRUE(ev);
  EXPECT_TRUE(ev->devname.empty());
}

}  // namespace
}  // namespace mos::engine
