// JSON forms of the partitioning results (missing values are null, never omitted).
#pragma once
#include <nlohmann/json.hpp>

#include "engine/partition/partition.hpp"

namespace mos::engine {

void to_json(nlohmann::json& j, const FreeSpan& f);
void to_json(nlohmann::json& j, const PartitionInfo& p);
void to_json(nlohmann::json& j, const KernelCall& c);
void to_json(nlohmann::json& j, const PartitionOpResult& r);
void to_json(nlohmann::json& j, const TableStatus& s);

}  // namespace mos::engine
