// mos_sysvol configuration: TOML file (toml++, header-only) and kernel command line.
#define TOML_HEADER_ONLY 1
#include "engine/sysvol/config.hpp"

#include <toml++/toml.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/btrfs/fs.hpp"
#include "base/error.hpp"
#include "ioctl/mount.hpp"

namespace mos::engine::sysvol {
namespace {

constexpr uint64_t kMaxGib = 1ull << 20;  // 1 PiB: anything above is a typo

// A problem in the file: where, which key, why. Caught once at the top: the file is then ignored.
struct Invalid {
  uint32_t line;
  std::string key;
  std::string why;
};

uint32_t line_of(const toml::node& n) { return n.source().begin.line; }

void require_known_keys(const toml::table& t, const std::string& prefix, const std::set<std::string>& known) {
  for (const auto& [k, v] : t)
    if (!known.count(std::string(k.str()))) throw Invalid{line_of(v), prefix + std::string(k.str()), "unknown key"};
}

uint64_t gib_value(const toml::node& n, const std::string& key, uint64_t min) {
  auto v = n.value<int64_t>();
  if (!n.is_integer() || !v) throw Invalid{line_of(n), key, "must be an integer (GiB)"};
  if (*v < static_cast<int64_t>(min) || static_cast<uint64_t>(*v) > kMaxGib)
    throw Invalid{line_of(n), key, "must be between " + std::to_string(min) + " and " + std::to_string(kMaxGib)};
  return static_cast<uint64_t>(*v);
}

std::string string_value(const toml::node& n, const std::string& key) {
  if (!n.is_string()) throw Invalid{line_of(n), key, "must be a string"};
  return *n.value<std::string>();
}

// Absolute, no "." / ".." / empty components, no control characters.
std::string mount_path_value(const toml::node& n, const std::string& key, bool may_be_off) {
  std::string p = string_value(n, key);
  if (may_be_off && (p.empty() || p == "off")) return {};
  if (p.empty() || p[0] != '/') throw Invalid{line_of(n), key, "must be an absolute path" + std::string(may_be_off ? " or \"off\"" : "")};
  std::stringstream ss(p.substr(1));
  for (std::string part; std::getline(ss, part, '/');)
    if (part.empty() || part == "." || part == "..")
      throw Invalid{line_of(n), key, "must not contain empty, '.' or '..' components"};
  for (unsigned char c : p)
    if (c < 0x20 || c == 0x7f) throw Invalid{line_of(n), key, "contains a control character"};
  return p;
}

std::string options_value(const toml::node& n, const std::string& key) {
  std::string o = string_value(n, key);
  try {
    io::split_mount_options(o);
  } catch (const Error& e) {
    throw Invalid{line_of(n), key, e.what()};
  }
  return o;
}

// A btrfs fsid as blkid prints it: 36 characters, lowercase hex and dashes at 8-4-4-4-12.
bool is_fsid_text(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::string lowercase(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

void parse_storage(const toml::table& t, Config& c) {
  require_known_keys(t, "storage.", {"data_size_gb", "swap_size_gb", "data_fsid", "allow_removable"});
  if (auto* n = t.get("allow_removable")) {
    auto v = n->value<bool>();
    if (!v || !n->is_boolean()) throw Invalid{line_of(*n), "storage.allow_removable", "must be true or false"};
    c.allow_removable = *v;
  }
  if (auto* n = t.get("data_fsid")) {
    std::string v = string_value(*n, "storage.data_fsid");
    if (!is_fsid_text(v)) throw Invalid{line_of(*n), "storage.data_fsid", "must be a btrfs fsid like 01234567-89ab-cdef-0123-456789abcdef"};
    c.data_fsid = lowercase(v);
  }
  if (auto* n = t.get("data_size_gb")) {
    uint64_t v = gib_value(*n, "storage.data_size_gb", 0);
    c.data_size_gib = v ? std::optional<uint64_t>(v) : std::nullopt;  // 0 = the rest of the disk
  }
  if (auto* n = t.get("swap_size_gb")) c.swap_size_gib = gib_value(*n, "storage.swap_size_gb", 1);
}

void parse_mount(const toml::table& t, Config& c) {
  require_known_keys(t, "mount.", {"btrfs_options", "boot", "efi"});
  if (auto* n = t.get("btrfs_options")) c.btrfs_options = options_value(*n, "mount.btrfs_options");
  if (auto* n = t.get("boot")) c.boot_mount = mount_path_value(*n, "mount.boot", true);
  if (auto* n = t.get("efi")) c.efi_mount = mount_path_value(*n, "mount.efi", true);
}

bool is_recovery_mode(const std::string& v) { return v == "repair" || v == "report"; }

void parse_recovery(const toml::table& t, Config& c) {
  require_known_keys(t, "recovery.", {"superblocks"});
  if (auto* n = t.get("superblocks")) {
    std::string v = string_value(*n, "recovery.superblocks");
    if (!is_recovery_mode(v)) throw Invalid{line_of(*n), "recovery.superblocks", "must be \"repair\" or \"report\""};
    c.superblocks = v;
  }
}

const toml::array& array_of_tables(const toml::node& n, const std::string& key) {
  if (!n.is_array_of_tables()) throw Invalid{line_of(n), key, "must be an array of tables ([[" + key + "]])"};
  return *n.as_array();
}

void parse_subvolumes(const toml::node& node, Config& c) {
  c.subvolumes.clear();
  std::set<std::string> names, points;
  for (const auto& item : array_of_tables(node, "subvolumes")) {
    const auto& t = *item.as_table();
    require_known_keys(t, "subvolumes.", {"name", "mount_point", "options"});
    const auto* name = t.get("name");
    if (!name) throw Invalid{line_of(item), "subvolumes.name", "missing"};
    SubvolumeSpec s;
    s.name = string_value(*name, "subvolumes.name");
    try {
      btrfs::validate_subvolume_name(s.name);
    } catch (const Error& e) {
      throw Invalid{line_of(*name), "subvolumes.name", e.what()};
    }
    s.mount_point = "/var/cache/" + s.name;
    if (auto* n = t.get("mount_point")) s.mount_point = mount_path_value(*n, "subvolumes.mount_point", false);
    if (auto* n = t.get("options")) s.options = options_value(*n, "subvolumes.options");
    if (!names.insert(s.name).second) throw Invalid{line_of(*name), "subvolumes.name", "duplicate subvolume " + s.name};
    if (!points.insert(s.mount_point).second)
      throw Invalid{line_of(item), "subvolumes.mount_point", "duplicate mount point " + s.mount_point};
    c.subvolumes.push_back(std::move(s));
  }
}

void parse_dirs(const toml::node& node, Config& c) {
  for (const auto& item : array_of_tables(node, "dirs")) {
    const auto& t = *item.as_table();
    require_known_keys(t, "dirs.", {"path", "mode"});
    const auto* path = t.get("path");
    if (!path) throw Invalid{line_of(item), "dirs.path", "missing"};
    DirSpec d;
    d.path = mount_path_value(*path, "dirs.path", false);
    if (auto* n = t.get("mode")) {
      auto m = n->value<int64_t>();
      if (!n->is_integer() || !m || *m < 0 || *m > 07777) throw Invalid{line_of(*n), "dirs.mode", "must be an integer 0..0o7777 (e.g. 0o755)"};
      d.mode = static_cast<uint32_t>(*m);
    }
    c.dirs.push_back(std::move(d));
  }
}

// "mossize=40" -> 40; nullopt plus a warning for anything else.
std::optional<uint64_t> cmdline_gib(const std::string& key, const std::string& value, uint64_t min,
                                    std::vector<std::string>& warnings) {
  bool digits = !value.empty() && value.size() <= 8 && value.find_first_not_of("0123456789") == std::string::npos;
  uint64_t v = digits ? std::stoull(value) : 0;
  if (!digits || v < min || v > kMaxGib) {
    warnings.push_back("kernel command line: " + key + "=" + value + " ignored: expected whole GiB between " +
                       std::to_string(min) + " and " + std::to_string(kMaxGib));
    return std::nullopt;
  }
  return v;
}

}  // namespace

Config default_config() {
  Config c;
  for (const char* n : {"system", "etc", "modules", "vm-meta", "mos-bin"})
    c.subvolumes.push_back({n, std::string("/var/cache/") + n, {}});
  c.sources.push_back("defaults");
  return c;
}

Config config_from_toml(const std::string& text, const std::string& origin) {
  Config c = default_config();
  try {
    toml::table root = toml::parse(text, origin);
    require_known_keys(root, "", {"storage", "mount", "recovery", "subvolumes", "dirs"});
    if (auto* n = root.get("storage")) {
      if (!n->is_table()) throw Invalid{line_of(*n), "storage", "must be a table ([storage])"};
      parse_storage(*n->as_table(), c);
    }
    if (auto* n = root.get("mount")) {
      if (!n->is_table()) throw Invalid{line_of(*n), "mount", "must be a table ([mount])"};
      parse_mount(*n->as_table(), c);
    }
    if (auto* n = root.get("recovery")) {
      if (!n->is_table()) throw Invalid{line_of(*n), "recovery", "must be a table ([recovery])"};
      parse_recovery(*n->as_table(), c);
    }
    if (auto* n = root.get("subvolumes")) parse_subvolumes(*n, c);
    if (auto* n = root.get("dirs")) parse_dirs(*n, c);
  } catch (const toml::parse_error& e) {
    Config d = default_config();
    d.warnings.push_back(origin + " line " + std::to_string(e.source().begin.line) +
                         ": not valid TOML (" + std::string(e.description()) + "); using the compiled defaults");
    return d;
  } catch (const Invalid& e) {
    Config d = default_config();
    d.warnings.push_back(origin + " line " + std::to_string(e.line) + ": key " + e.key + ": " + e.why +
                         "; using the compiled defaults");
    return d;
  }
  c.sources.push_back("file " + origin);
  return c;
}

Config load_config_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return default_config();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Config c = default_config();
    c.warnings.push_back(path + ": cannot be read; using the compiled defaults");
    return c;
  }
  constexpr size_t kMaxBytes = 1 << 20;  // a config is a few hundred bytes; bound what we read
  std::string text(kMaxBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxBytes) {
    Config c = default_config();
    c.warnings.push_back(path + ": larger than 1 MiB; using the compiled defaults");
    return c;
  }
  return config_from_toml(text, path);
}

void apply_cmdline(Config& cfg, const std::string& cmdline) {
  std::stringstream ss(cmdline);
  for (std::string word; ss >> word;) {
    size_t eq = word.find('=');
    if (eq == std::string::npos) continue;
    std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    if (key == "mossize") {
      if (auto v = cmdline_gib(key, value, 1, cfg.warnings)) {
        cfg.data_size_gib = v;
        cfg.sources.push_back("cmdline " + word);
      }
    } else if (key == "mosrecovery") {
      if (is_recovery_mode(value)) {
        cfg.superblocks = value;
        cfg.sources.push_back("cmdline " + word);
      } else {
        cfg.warnings.push_back("kernel command line: " + word + " ignored: expected mosrecovery=repair or mosrecovery=report");
      }
    } else if (key == "mosremovable") {
      if (value == "0" || value == "1") {
        cfg.allow_removable = value == "1";
        cfg.sources.push_back("cmdline " + word);
      } else {
        cfg.warnings.push_back("kernel command line: " + word + " ignored: expected mosremovable=0 or mosremovable=1");
      }
    } else if (key == "mosswap") {
      if (auto v = cmdline_gib(key, value, 1, cfg.warnings)) {
        cfg.swap_size_gib = v;
        cfg.sources.push_back("cmdline " + word);
      }
    }
  }
}

Config load_config(const std::string& config_path, const std::string& cmdline_path) {
  Config c = load_config_file(config_path);
  std::ifstream in(cmdline_path);
  if (in) {
    std::string line(4096, '\0');  // the kernel's COMMAND_LINE_SIZE is at most a few KiB
    in.read(line.data(), static_cast<std::streamsize>(line.size()));
    line.resize(static_cast<size_t>(in.gcount()));
    apply_cmdline(c, line);
  }
  return c;
}

}  // namespace mos::engine::sysvol
