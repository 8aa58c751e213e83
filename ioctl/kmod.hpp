// Kernel module insertion (finit_module(2)) and the list of loaded modules (/proc/modules).
// Resolution of names, aliases and dependencies is the engine's (engine/modules.hpp).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace mos::io {

enum class ModuleInsert { inserted, already_loaded };

// Inserts the module file with finit_module. EEXIST is "already loaded", not an error.
// .ko.xz/.ko.zst/.ko.gz are handed to the kernel with MODULE_INIT_COMPRESSED_FILE; a kernel that
// cannot decompress them gets a clear error. Throws mos::Error naming the file otherwise.
ModuleInsert insert_module_file(const std::string& path, const std::string& params = {});

// True for names ending in .ko.xz, .ko.zst or .ko.gz.
bool is_compressed_module(std::string_view path);

// Module names as the kernel spells them ('-' already '_'), from /proc/modules text.
std::vector<std::string> parse_proc_modules(std::string_view text);
// The loaded modules; empty when the file does not exist (kernel built without module support).
std::vector<std::string> read_loaded_modules(const std::string& proc_modules = "/proc/modules");

}  // namespace mos::io
