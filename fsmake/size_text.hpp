// Human-readable byte counts for error messages ("34095104 bytes (32.5 MiB)").
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace mos::fsmake {

inline std::string bytes_text(uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  char buf[64];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%llu bytes (%.4g %s)", static_cast<unsigned long long>(bytes), v, units[u]);
  return buf;
}

}  // namespace mos::fsmake
