// A small modprobe: resolves module names and aliases over a modules directory (modules.dep,
// modules.softdep, modules.alias, modules.builtin, modules.builtin.modinfo) and loads them with
// finit_module. Debian ships no static libkmod, and mos_sysvol runs where no modprobe exists.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ioctl/kmod.hpp"

namespace mos::engine {

struct ModuleLoadResult {
  std::string name;    // the name as requested
  std::string status;  // loaded|already|builtin|missing|failed
  std::string detail;  // file loaded or the error text
};

// Loads each named module (and its deps/softdeps) like modprobe; never throws for a missing
// or failing module (status tells); modules_dir empty = /lib/modules/$(uname -r).
// One result per requested name, in the order given.
std::vector<ModuleLoadResult> load_modules(const std::vector<std::string>& names,
                                           const std::string& modules_dir = {});

// The resolution alone (for tests and --dry-run): module files in load order (absolute paths),
// every alias candidate included. Throws -32002 when a requested name is neither a module, a
// built-in nor an alias; missing soft dependencies are skipped like modprobe does.
std::vector<std::string> resolve_modules(const std::vector<std::string>& names,
                                         const std::string& modules_dir = {});

// '-' and '_' are the same in module names; the kernel spells them '_'.
std::string normalize_module_name(std::string name);
// "kernel/fs/btrfs/btrfs.ko.xz" -> "btrfs"
std::string module_name_from_path(const std::string& path);
// /lib/modules/$(uname -r)
std::string default_modules_dir();

// The parsed modules directory. modules.dep, modules.builtin and modules.softdep are read at
// construction (small); modules.alias and modules.builtin.modinfo only at the first alias lookup.
class ModuleIndex {
 public:
  explicit ModuleIndex(const std::string& modules_dir);
  ~ModuleIndex();
  ModuleIndex(const ModuleIndex&) = delete;
  ModuleIndex& operator=(const ModuleIndex&) = delete;

  const std::string& dir() const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// The loader with its two side effects injected, so tests can drive it without touching the
// kernel: `loaded` = modules already in the kernel (normalized names), `insert` = finit_module.
using ModuleInserter = std::function<io::ModuleInsert(const std::string& path)>;
std::vector<ModuleLoadResult> load_modules_with(const ModuleIndex& index,
                                                const std::vector<std::string>& names,
                                                const std::vector<std::string>& loaded,
                                                const ModuleInserter& insert);
std::vector<std::string> resolve_modules_with(const ModuleIndex& index,
                                              const std::vector<std::string>& names);

}  // namespace mos::engine
