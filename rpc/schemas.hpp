// JSON Schemas of the result objects shared by several methods (for the OpenRPC document).
#pragma once
#include <nlohmann/json.hpp>

namespace mos::rpc {

nlohmann::json device_schema();
nlohmann::json filesystem_schema();
nlohmann::json mount_schema();
nlohmann::json job_schema();
// An md array (engine::RaidArray); defined with the RAID methods (rpc/methods_raid.cpp).
nlohmann::json raid_schema();

}  // namespace mos::rpc
