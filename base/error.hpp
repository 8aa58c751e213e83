// One error type for the whole project: a JSON-RPC error code, a message a human can act on,
// the device or path it concerns, and the errno when a syscall failed.
#pragma once
#include <stdexcept>
#include <string>

namespace mos {

enum class ErrorCode : int {
  parse_error = -32700,
  invalid_request = -32600,
  method_not_found = -32601,
  invalid_params = -32602,
  internal = -32603,
  storage_failed = -32000,
  validation = -32001,
  not_found = -32002,
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, std::string path = {}, int sys_errno = 0)
      : std::runtime_error(message), code_(code), path_(std::move(path)), errno_(sys_errno) {}

  ErrorCode code() const { return code_; }
  const std::string& path() const { return path_; }
  int sys_errno() const { return errno_; }

 private:
  ErrorCode code_;
  std::string path_;
  int errno_;
};

// "<call> <path>: <strerror>"; ENOENT/ENODEV/ENXIO map to not_found, the rest to storage_failed.
[[noreturn]] void throw_sys(const std::string& call, const std::string& path, int err);
[[noreturn]] void throw_validation(const std::string& message, const std::string& path = {});

}  // namespace mos
