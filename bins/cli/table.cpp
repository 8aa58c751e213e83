// Values come from disks and the kernel: every cell leaves through printable_text.
#include "bins/cli/table.hpp"

#include <algorithm>
#include <cstdio>

#include "base/safe_text.hpp"
#include "engine/json.hpp"

namespace mos::cli {

std::string human_size(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::string s;
    for (auto& x : v) {  // appended piece by piece: GCC 12 -O3 reports a false -Wrestrict for "," + string
      if (!s.empty()) s += ',';
      s += cell(x);
    }
    return s.empty() ? "-" : s;
  }
  return engine::json_text(v);
}

std::string shown(const json& v) { return printable_text(cell(v)); }

std::string table_text(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  auto printable_row = [&](const std::vector<std::string>& r) {
    std::vector<std::string> out(headers.size());
    for (size_t i = 0; i < r.size() && i < out.size(); ++i) out[i] = printable_text(r[i]);
    return out;
  };
  std::vector<std::vector<std::string>> shown_rows;
  shown_rows.reserve(rows.size() + 1);
  shown_rows.push_back(printable_row(headers));
  for (const auto& r : rows) shown_rows.push_back(printable_row(r));
  std::vector<size_t> w(headers.size());
  for (const auto& r : shown_rows)
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  std::string text;
  for (const auto& r : shown_rows) {
    std::string s;
    for (size_t i = 0; i < w.size(); ++i) {
      s += r[i];
      if (i + 1 < w.size()) s += std::string(w[i] - r[i].size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    text += s;
    text += '\n';
  }
  return text;
}

void print_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  std::fputs(table_text(headers, rows).c_str(), stdout);
}

}  // namespace mos::cli
