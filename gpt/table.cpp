#include "gpt/table.hpp"

namespace mos::gpt {

const Entry* Table::find(uint32_t number) const {
  for (const auto& e : entries)
    if (e.number == number) return &e;
  return nullptr;
}

Entry* Table::find(uint32_t number) {
  for (auto& e : entries)
    if (e.number == number) return &e;
  return nullptr;
}

}  // namespace mos::gpt
