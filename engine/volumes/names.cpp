#include "engine/volumes/names.hpp"

#include <unistd.h>

#include <atomic>

#include "base/error.hpp"

namespace mos::engine::volumes {

bool is_volume_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength || name.front() == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void require_volume_name(const std::string& name) {
  if (!is_volume_name(name))
    throw Error(ErrorCode::invalid_params,
                "invalid volume name: 1 to 64 characters of A-Z a-z 0-9 _ . -, not starting with '.'");
}

std::string in_progress_name(const std::string& name) {
  static std::atomic<unsigned> counter{0};
  return std::string(kInProgressPrefix) + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + name;
}

}  // namespace mos::engine::volumes
