// JSON Schemas of the result objects shared by several methods (for the OpenRPC document), and
// the small pieces every method's schemas are written with.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace mos::rpc {

// {"type": T}; {"type": [T, "null"]} for a value that may be null; an array of strings.
nlohmann::json plain(const std::string& type);
nlohmann::json nullable(const std::string& type);
nlohmann::json strings();
// A filesystem path parameter (1 to 4096 characters).
nlohmann::json path_schema(const std::string& description);

// What a write plan writes (engine::PlanSummary): every method that writes reports it.
nlohmann::json plan_schema();
nlohmann::json device_schema();
nlohmann::json filesystem_schema();
nlohmann::json mount_schema();
nlohmann::json job_schema();
// An md array (engine::RaidArray); defined with the RAID methods (rpc/methods_raid.cpp).
nlohmann::json raid_schema();
// A disk's health (engine::health::DiskHealth); defined with storage.disk_health (rpc/methods_health.cpp).
nlohmann::json health_schema();

}  // namespace mos::rpc
