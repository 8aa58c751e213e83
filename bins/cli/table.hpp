// The CLI's human output: sizes, cells and aligned tables (bins/cli/table.cpp).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mos::cli {

using json = nlohmann::json;

std::string human_size(uint64_t bytes);
// Aligned table; columns wider than their data are trimmed to it. Every cell is shown printable
// (base/safe_text.hpp): labels, models and paths come from disks and the kernel.
void print_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows);
// The same table as text (what print_table writes).
std::string table_text(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows);
// json value -> cell text ("-" for null), as received (print_table makes it printable).
std::string cell(const json& v);
// cell() made printable, for values printed outside a table.
std::string shown(const json& v);

}  // namespace mos::cli
