// JSON forms of the btrfs management results (missing values are null, never omitted).
#pragma once
#include <nlohmann/json.hpp>

#include "engine/btrfs/balance.hpp"
#include "engine/btrfs/devices.hpp"
#include "engine/btrfs/quota.hpp"
#include "engine/btrfs/scrub.hpp"
#include "engine/btrfs/subvolumes.hpp"
#include "engine/btrfs/usage.hpp"

namespace mos::engine::btrfs {

void to_json(nlohmann::json& j, const SubvolumeInfo& v);
void to_json(nlohmann::json& j, const SubvolumeList& v);
void to_json(nlohmann::json& j, const QuotaInfo& v);
void to_json(nlohmann::json& j, const ScrubCounters& v);
void to_json(nlohmann::json& j, const ScrubDevice& v);
void to_json(nlohmann::json& j, const ScrubReport& v);
void to_json(nlohmann::json& j, const BalanceStatus& v);
void to_json(nlohmann::json& j, const DefragResult& v);
void to_json(nlohmann::json& j, const ResizedDevice& v);
void to_json(nlohmann::json& j, const DeviceChange& v);
void to_json(nlohmann::json& j, const SpaceGroup& v);
void to_json(nlohmann::json& j, const FsDf& v);
void to_json(nlohmann::json& j, const DeviceBytes& v);
void to_json(nlohmann::json& j, const UsageGroup& v);
void to_json(nlohmann::json& j, const FsUsage& v);
void to_json(nlohmann::json& j, const DeviceStats& v);

}  // namespace mos::engine::btrfs
