#include "ioctl/kmod.hpp"

#include <fcntl.h>
#include <linux/module.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "base/error.hpp"
#include "ioctl/fd.hpp"

namespace mos::io {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The errno of finit_module says why; the messages tell the operator what to check.
std::string explain_finit_errno(int err, bool compressed) {
  switch (err) {
    case ENOEXEC: return "not a valid module for this kernel (wrong version or corrupt file)";
    case ENOENT: return "unknown symbol: a dependency is not loaded (see dmesg)";
    case ENODEV: return "no such device or CPU feature for this module";
    case EKEYREJECTED: return "module signature rejected by the kernel";
    case ENOSYS: return "this kernel has no loadable module support";
    case EPERM: return "module loading is not permitted (not root, or modules disabled)";
    case EOPNOTSUPP:
      return compressed ? "this kernel cannot decompress modules (CONFIG_MODULE_DECOMPRESS is off): ship it "
                          "uncompressed"
                        : std::strerror(err);
    case EINVAL:
      return compressed ? "the kernel refused the compressed module (no in-kernel decompression "
                          "for this format, or bad parameters): ship it uncompressed"
                        : "the kernel refused the module or its parameters (see dmesg)";
    default: return std::strerror(err);
  }
}

}  // namespace

bool is_compressed_module(std::string_view path) {
  return ends_with(path, ".ko.xz") || ends_with(path, ".ko.zst") || ends_with(path, ".ko.gz");
}

ModuleInsert insert_module_file(const std::string& path, const std::string& params) {
  Fd fd = Fd::open(path, O_RDONLY);
  const bool compressed = is_compressed_module(path);
  const int flags = compressed ? MODULE_INIT_COMPRESSED_FILE : 0;
  for (int attempt = 0;; ++attempt) {
    if (::syscall(SYS_finit_module, fd.get(), params.c_str(), flags) == 0)
      return ModuleInsert::inserted;
    const int err = errno;
    if (err == EINTR && attempt < 8) continue;
    if (err == EEXIST) return ModuleInsert::already_loaded;
    throw Error(err == ENODEV ? ErrorCode::not_found : ErrorCode::storage_failed,
                "finit_module " + path + ": " + explain_finit_errno(err, compressed), path, err);
  }
}

std::vector<std::string> parse_proc_modules(std::string_view text) {
  std::vector<std::string> names;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::string name = line.substr(0, line.find(' '));  // "name size refcount deps state address"
    std::replace(name.begin(), name.end(), '-', '_');
    if (!name.empty()) names.push_back(std::move(name));
  }
  return names;
}

std::vector<std::string> read_loaded_modules(const std::string& proc_modules) {
  if (::access(proc_modules.c_str(), F_OK) != 0) return {};
  return parse_proc_modules(read_text_file(proc_modules));
}

}  // namespace mos::io
