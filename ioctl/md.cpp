#include "ioctl/md.hpp"

#include <linux/major.h>
#include <linux/raid/md_u.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <charconv>

#include "base/error.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::io::md {
namespace {

const std::string kSysBlock = "/sys/block/";
const std::string kNewArray = "/sys/module/md_mod/parameters/new_array";

// The md ioctls that take a device number want the kernel's dev_t encoding (new_encode_dev),
// which is what glibc's makedev produces for 32-bit numbers.
unsigned long dev_arg(unsigned major_no, unsigned minor_no) {
  return static_cast<unsigned long>(makedev(major_no, minor_no));
}

void call(const Fd& md, unsigned long request, unsigned long arg, const char* name) {
  if (::ioctl(md.get(), request, arg) != 0) throw_sys(name, md.path(), errno);
}

std::optional<uint64_t> parse_u64(const std::string& s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<DiskInfo> get_disk_info(const Fd& md, int number) {
  mdu_disk_info_t d{};
  d.number = number;
  if (::ioctl(md.get(), GET_DISK_INFO, &d) != 0) throw_sys("GET_DISK_INFO", md.path(), errno);
  if (d.major == 0 && d.minor == 0) return std::nullopt;
  return DiskInfo{d.number, static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor), d.raid_disk, d.state};
}

void set_array_version(const Fd& md, int major_version, int minor_version) {
  mdu_array_info_t a{};  // raid_disks == 0: the kernel only records the superblock version
  a.major_version = major_version;
  a.minor_version = minor_version;
  if (::ioctl(md.get(), SET_ARRAY_INFO, &a) != 0) throw_sys("SET_ARRAY_INFO", md.path(), errno);
}

void add_new_disk(const Fd& md, unsigned major_no, unsigned minor_no) {
  mdu_disk_info_t d{};
  d.major = static_cast<int>(major_no);
  d.minor = static_cast<int>(minor_no);
  if (::ioctl(md.get(), ADD_NEW_DISK, &d) != 0)
    throw_sys("ADD_NEW_DISK " + std::to_string(major_no) + ":" + std::to_string(minor_no), md.path(), errno);
}

void run_array(const Fd& md) { call(md, RUN_ARRAY, 0, "RUN_ARRAY"); }

void run_array_read_only(const std::string& block_name) {
  sysfs_write(kSysBlock + block_name + "/md/array_state", "readonly");
}

void restart_array_rw(const Fd& md) { call(md, RESTART_ARRAY_RW, 0, "RESTART_ARRAY_RW"); }

void stop_array(const Fd& md) { call(md, STOP_ARRAY, 0, "STOP_ARRAY"); }

void set_disk_faulty(const Fd& md, unsigned major_no, unsigned minor_no) {
  call(md, SET_DISK_FAULTY, dev_arg(major_no, minor_no), "SET_DISK_FAULTY");
}

void hot_remove_disk(const Fd& md, unsigned major_no, unsigned minor_no) {
  call(md, HOT_REMOVE_DISK, dev_arg(major_no, minor_no), "HOT_REMOVE_DISK");
}

bool driver_present() { return sysfs_exists("/sys/module/md_mod"); }

void create_named_array(const std::string& block_name) {
  if (!sysfs_exists(kNewArray))
    throw Error(ErrorCode::storage_failed,
                "the md driver is not loaded (no " + kNewArray + "); load md-mod and raid1 first", block_name);
  sysfs_write(kNewArray, block_name);
}

bool md_device_exists(const std::string& block_name) { return sysfs_exists(kSysBlock + block_name + "/md"); }

std::optional<std::string> attribute(const std::string& block_name, const std::string& attr) {
  return sysfs_string(kSysBlock + block_name + "/md/" + attr);
}

std::vector<SysfsMember> sysfs_members(const std::string& block_name) {
  std::vector<SysfsMember> out;
  const std::string dir = kSysBlock + block_name + "/md/";
  for (const auto& entry : list_dir(dir)) {
    if (entry.rfind("dev-", 0) != 0) continue;
    SysfsMember m;
    m.block_name = entry.substr(4);
    m.state = sysfs_string(dir + entry + "/state").value_or("");
    if (auto slot = sysfs_string(dir + entry + "/slot"); slot && *slot != "none")
      if (auto v = parse_u64(*slot)) m.slot = static_cast<int>(*v);
    m.offset_sectors = sysfs_u64(dir + entry + "/offset");
    m.size_kib = sysfs_u64(dir + entry + "/size");
    out.push_back(std::move(m));
  }
  return out;
}

std::optional<SyncProgress> sync_completed(const std::string& block_name) {
  auto text = attribute(block_name, "sync_completed");
  if (!text) return std::nullopt;
  auto slash = text->find(" / ");
  if (slash == std::string::npos) return std::nullopt;  // "none", "delayed"
  auto done = parse_u64(text->substr(0, slash));
  auto total = parse_u64(text->substr(slash + 3));
  if (!done || !total) return std::nullopt;
  return SyncProgress{*done, *total};
}

std::vector<std::string> list_md_devices() {
  std::vector<std::string> out;
  for (const auto& name : list_dir(kSysBlock))
    if (md_device_exists(name)) out.push_back(name);
  return out;
}

}  // namespace mos::io::md
