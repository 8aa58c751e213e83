#include "base/error.hpp"

#include <cerrno>
#include <cstring>

namespace mos {

void throw_sys(const std::string& call, const std::string& path, int err) {
  std::string msg = call;
  if (!path.empty()) msg += " " + path;
  msg += ": ";
  msg += std::strerror(err);
  ErrorCode code = (err == ENOENT || err == ENODEV || err == ENXIO) ? ErrorCode::not_found
                                                                     : ErrorCode::storage_failed;
  throw Error(code, msg, path, err);
}

void throw_validation(const std::string& message, const std::string& path) {
  throw Error(ErrorCode::validation, message, path);
}

}  // namespace mos
