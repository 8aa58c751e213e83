#include "tests/vm/mos_oracles.hpp"

#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>

#include "tests/support/harness.hpp"
#include "tests/vm/sysvol_vm.hpp"

namespace mos::vmtest {
namespace {

constexpr uint64_t MiB = 1ull << 20;
const char* kNames[] = {"mosbios", "mosefi", "mosboot", "mosswap", "mosdata"};

std::string tool_text(const test::ToolResult& r) { return r.out + r.err; }

// fsck.fat -n exits 1 for a dirty bit alone (the ESP was mounted at power loss; it also makes the
// backup boot sector differ at byte 65). True when that is all it found.
bool only_fat_dirty_bit(const test::ToolResult& fat) {
  const std::string all = tool_text(fat);
  if (fat.exit_code != 1 || all.find("Dirty bit is set") == std::string::npos) return false;
  for (const char* bad : {"FATs differ", "Orphaned", "Cluster", "Free cluster summary", "cluster chain", "Invalid", "Bad",
                          "Wrong"})
    if (all.find(bad) != std::string::npos) return false;
  size_t diff = all.find("Differences: (offset:original/backup)");
  if (diff == std::string::npos) return true;
  std::istringstream lines(all.substr(all.find('\n', diff) + 1));
  std::string line;
  while (std::getline(lines, line) && line.rfind("  ", 0) == 0 && line.find(':') != std::string::npos &&
         line.find("Not automatically") == std::string::npos)
    if (line.find("65:") == std::string::npos) return false;
  return true;
}

// mdadm --examine of a member the kernel was rebuilding when its array stopped (v1.2: a recovery
// offset; v0.90: "this" device still a spare). md reads none of its data until it is in sync, so
// the filesystem inside it is not judged; the other member's is.
bool member_rebuilding(const std::string& examine) {
  if (examine.find("Recovery Offset :") != std::string::npos) return true;
  const size_t at = examine.find("\nthis ");
  return at != std::string::npos && examine.substr(at, examine.find('\n', at + 1) - at).find("spare") != std::string::npos;
}

void expect_label(const std::string& what, const std::string& dev, const std::string& type, const std::string& label,
                  std::vector<std::string>& out) {
  auto b = test::blkid_probe(dev);
  if (b["TYPE"] != type || b["LABEL"] != label)
    out.push_back(what + ": blkid says TYPE=" + b["TYPE"] + " LABEL=" + b["LABEL"] + ", not " + type + " " + label);
}

// The GPT of one disk (sgdisk -v) and its five MOS partitions by name: their sfdisk entries, or
// none (with the problem said).
json mos_partitions(const std::string& image, uint32_t sector, std::vector<std::string>& out) {
  // The whole image with its logical sector size (a 4Kn GPT is not readable as 512-byte sectors).
  PartitionLoop whole(image, 0, std::filesystem::file_size(image), sector);
  auto v = test::run_tool({"sgdisk", "-v", whole.dev()});
  if (!v.ok() || v.out.find("No problems found") == std::string::npos) out.push_back(image + ": sgdisk -v: " + tool_text(v));
  auto t = test::run_tool({"sfdisk", "--json", whole.dev()});
  json parsed = t.ok() ? json::parse(t.out, nullptr, false) : json();
  json parts = parsed.is_object() ? parsed["partitiontable"].value("partitions", json::array()) : json::array();
  if (parts.size() != 5) {
    out.push_back(image + ": " + std::to_string(parts.size()) + " partitions, not the five of the MOS layout: " + tool_text(t));
    return json::array();
  }
  for (int i = 0; i < 5; ++i)
    if (parts[i].value("name", "") != kNames[i])
      out.push_back(image + ": partition " + std::to_string(i + 1) + " is named " + parts[i].value("name", "?"));
  return parts;
}

std::string md_uuid(const std::string& examine) {
  for (const char* key : {"Array UUID : ", "UUID : "}) {
    size_t at = examine.find(key);
    if (at != std::string::npos) return examine.substr(at + std::strlen(key), 35);
  }
  return "";
}

}  // namespace

std::vector<std::string> single_disk_problems(const std::string& image, const MosImageExpect& expect) {
  std::vector<std::string> out;
  const uint32_t s = expect.sector;
  json parts = mos_partitions(image, s, out);
  if (parts.empty()) return out;
  auto bytes = [&](int i, const char* k) { return parts[i][k].get<uint64_t>() * s; };
  if (bytes(1, "size") != (s == 4096 ? 260 : 100) * MiB) out.push_back("mosefi has " + std::to_string(bytes(1, "size")) + " bytes");
  if (expect.swap_bytes && bytes(3, "size") != expect.swap_bytes)
    out.push_back("mosswap has " + std::to_string(bytes(3, "size")) + " bytes");
  if (expect.data_bytes && bytes(4, "size") != expect.data_bytes)
    out.push_back("mosdata has " + std::to_string(bytes(4, "size")) + " bytes");
  {
    PartitionLoop efi(image, bytes(1, "start"), bytes(1, "size"));
    auto fat = test::run_tool({"fsck.fat", "-n", efi.dev()});
    if (!fat.ok() && !(expect.allow_fat_dirty && only_fat_dirty_bit(fat))) out.push_back("mosefi: fsck.fat -n: " + tool_text(fat));
    expect_label("mosefi", efi.dev(), "vfat", "MOSEFI", out);
  }
  {
    PartitionLoop boot(image, bytes(2, "start"), bytes(2, "size"));
    auto e = test::run_tool({"e2fsck", "-fn", boot.dev()});
    if (!e.ok()) out.push_back("mosboot: e2fsck -fn: " + tool_text(e));
    expect_label("mosboot", boot.dev(), "ext4", "MOSBOOT", out);
  }
  {
    PartitionLoop swap(image, bytes(3, "start"), bytes(3, "size"));
    expect_label("mosswap", swap.dev(), "swap", "MOSSWAP", out);
  }
  {
    PartitionLoop data(image, bytes(4, "start"), bytes(4, "size"));
    auto c = test::run_btrfs_check({"btrfs", "check", "--readonly", data.dev()});
    if (!c.ok()) out.push_back("mosdata: btrfs check --readonly: " + tool_text(c));
    expect_label("mosdata", data.dev(), "btrfs", "MOSDATA", out);
  }
  return out;
}

std::vector<std::string> dual_disk_problems(const std::string& a, const std::string& b, const MosImageExpect& expect) {
  std::vector<std::string> out;
  const std::string images[2] = {a, b};
  json parts[2];
  for (int d = 0; d < 2; ++d) parts[d] = mos_partitions(images[d], 512, out);
  if (parts[0].empty() || parts[1].empty()) return out;
  auto loop = [&](int d, int i) {
    return std::make_unique<PartitionLoop>(images[d], parts[d][i]["start"].get<uint64_t>() * 512,
                                           parts[d][i]["size"].get<uint64_t>() * 512);
  };
  std::string uuids[2][2];  // [disk][mosefi, mosboot]
  bool rebuilding[2][2] = {};
  for (int d = 0; d < 2; ++d) {
    const std::string& img = images[d];
    auto efi = loop(d, 1), boot = loop(d, 2), swap = loop(d, 3);
    const std::string efi_md = test::run_tool({"mdadm", "--examine", efi->dev()}).out;
    const std::string boot_md = test::run_tool({"mdadm", "--examine", boot->dev()}).out;
    if (efi_md.find("Version : 0.90") == std::string::npos || efi_md.find("Raid Level : raid1") == std::string::npos)
      out.push_back(img + " mosefi: not an md v0.90 RAID1 member:\n" + efi_md);
    if (boot_md.find("Version : 1.2") == std::string::npos || boot_md.find("Raid Level : raid1") == std::string::npos)
      out.push_back(img + " mosboot: not an md v1.2 RAID1 member:\n" + boot_md);
    uuids[d][0] = md_uuid(efi_md);
    uuids[d][1] = md_uuid(boot_md);
    rebuilding[d][0] = member_rebuilding(efi_md);
    rebuilding[d][1] = member_rebuilding(boot_md);
    // v0.90 keeps the array's data at the member's start; v1.2 at its data offset.
    auto fat = test::run_tool({"fsck.fat", "-n", efi->dev()});
    if (!fat.ok() && !(expect.allow_fat_dirty && only_fat_dirty_bit(fat)) && !rebuilding[d][0])
      out.push_back(img + " mosefi member: fsck.fat -n: " + tool_text(fat));
    const size_t at = boot_md.find("Data Offset : ");
    if (rebuilding[d][1]) {
    } else if (at == std::string::npos) {
      out.push_back(img + " mosboot: no md data offset");
    } else {
      const uint64_t offset = parts[d][2]["start"].get<uint64_t>() * 512 + std::stoull(boot_md.substr(at + 14)) * 512;
      auto e = test::run_tool({"e2fsck", "-fn", img + "?offset=" + std::to_string(offset)});
      if (!e.ok()) out.push_back(img + " mosboot member: e2fsck -fn: " + tool_text(e));
    }
    expect_label(img + " mosswap", swap->dev(), "swap", "MOSSWAP", out);
  }
  for (int k = 0; k < 2; ++k)
    if (rebuilding[0][k] && rebuilding[1][k])
      out.push_back(std::string(k ? "mosboot" : "mosefi") + ": both members are being rebuilt: no member holds the data");
  for (int k = 0; k < 2; ++k)
    if (uuids[0][k].empty() || uuids[0][k] != uuids[1][k])
      out.push_back(std::string(k ? "mosboot" : "mosefi") + ": the members are of different arrays (" + uuids[0][k] +
                    " / " + uuids[1][k] + ")");
  auto da = loop(0, 4), db = loop(1, 4);
  test::run_tool({"btrfs", "device", "scan", da->dev(), db->dev()});
  auto c = test::run_btrfs_check({"btrfs", "check", "--readonly", da->dev()});
  if (!c.ok()) out.push_back("mosdata (both members): btrfs check --readonly: " + tool_text(c));
  auto super = test::run_tool({"btrfs", "inspect-internal", "dump-super", da->dev()});
  if (super.out.find("num_devices\t\t2") == std::string::npos) out.push_back("mosdata: not a two-device btrfs:\n" + super.out);
  expect_label(a + " mosdata", da->dev(), "btrfs", "MOSDATA", out);
  // Our loops leave the host's btrfs registry before they are detached.
  test::run_tool({"btrfs", "device", "scan", "-u", da->dev(), db->dev()});
  return out;
}

}  // namespace mos::vmtest
