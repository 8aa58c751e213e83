// mos_sysvol configuration: compiled defaults < /etc/mos_sysvol.toml < kernel command line
// (mossize=N data GiB, mosswap=N swap GiB, mosrecovery=repair|report). A bad file or value never stops a boot: it falls
// back to the defaults (file) or is ignored (cmdline value) and leaves a warning naming it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mos::engine::sysvol {

struct SubvolumeSpec {
  std::string name;         // btrfs subvolume below the top level of MOSDATA
  std::string mount_point;  // absolute; default /var/cache/<name>
  std::string options;      // empty: [mount] btrfs_options
};

struct DirSpec {
  std::string path;  // absolute; created (with parents) after mounting
  uint32_t mode = 0755;
};

struct Config {
  std::optional<uint64_t> data_size_gib;  // nullopt: the rest of the disk
  std::optional<uint64_t> swap_size_gib;  // nullopt: the compiled rule (default_swap_gib)
  std::string btrfs_options = "noatime,compress=zstd";
  std::string boot_mount = "/boot";     // empty: do not mount MOSBOOT
  std::string efi_mount = "/boot/efi";  // empty: do not mount MOSEFI
  // Two MOS installations visible at once are refused unless this names the MOSDATA btrfs fsid
  // (as blkid prints UUID) of the one to bring up.
  std::optional<std::string> data_fsid;
  // Removable media (sysfs removable = 1: USB sticks, card readers) serve no MOS role at boot
  // unless [storage] allow_removable = true or the cmdline says mosremovable=1: a stick labelled
  // MOSSWAP or MOSDATA must not become the node's swap or data by being plugged in.
  bool allow_removable = false;
  // [recovery] superblocks: "report" (default) or "repair" (a damaged btrfs primary superblock
  // or GPT copy is rewritten from a valid checksummed copy, nothing else; README "Recovery").
  std::string superblocks = "report";
  std::vector<SubvolumeSpec> subvolumes;
  std::vector<DirSpec> dirs;
  std::vector<std::string> warnings;  // every ignored file or value, with line and key
  std::vector<std::string> sources;   // what was applied: "defaults", "file PATH", "cmdline mossize=N"
};

// system, etc, modules, vm-meta, mos-bin at /var/cache/<name>.
Config default_config();

// Parses TOML text (origin names the file in warnings). Any error returns the defaults plus a
// warning "PATH line L: key K: why".
Config config_from_toml(const std::string& text, const std::string& origin);
// Missing file: defaults, no warning. Unreadable or invalid: defaults + warning.
Config load_config_file(const std::string& path);
// Applies mossize= / mosswap= / mosrecovery= / mosremovable= from a kernel command line; bad values become warnings.
void apply_cmdline(Config& cfg, const std::string& cmdline);
// The whole chain: file then the command line read from cmdline_path (missing: nothing applied).
Config load_config(const std::string& config_path, const std::string& cmdline_path);

}  // namespace mos::engine::sysvol
