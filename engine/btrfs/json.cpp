#include "engine/btrfs/json.hpp"

namespace mos::engine::btrfs {

namespace {
template <class T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
}  // namespace

void to_json(nlohmann::json& j, const SubvolumeInfo& v) {
  j = {{"id", v.id},           {"parent_id", v.parent_id},     {"path", v.path},
       {"uuid", v.uuid},       {"parent_uuid", or_null(v.parent_uuid)}, {"read_only", v.read_only},
       {"generation", v.generation}, {"created_unix", v.created_unix}};
}

void to_json(nlohmann::json& j, const SubvolumeList& v) {
  j = {{"fsid", v.fsid}, {"top_level_path", v.top_level_path}, {"subvolumes", v.subvolumes}};
}

void to_json(nlohmann::json& j, const QuotaInfo& v) {
  j = {{"subvolume", v.subvolume},
       {"subvolume_id", v.subvolume_id},
       {"qgroupid", v.qgroupid},
       {"max_referenced_bytes", or_null(v.max_referenced_bytes)},
       {"max_exclusive_bytes", or_null(v.max_exclusive_bytes)},
       {"referenced_bytes", v.referenced_bytes},
       {"exclusive_bytes", v.exclusive_bytes},
       {"quota_enabled_now", v.quota_enabled_now}};
}

void to_json(nlohmann::json& j, const ScrubCounters& v) {
  j = {{"data_extents_scrubbed", v.data_extents_scrubbed},
       {"tree_extents_scrubbed", v.tree_extents_scrubbed},
       {"data_bytes_scrubbed", v.data_bytes_scrubbed},
       {"tree_bytes_scrubbed", v.tree_bytes_scrubbed},
       {"read_errors", v.read_errors},
       {"csum_errors", v.csum_errors},
       {"verify_errors", v.verify_errors},
       {"no_csum", v.no_csum},
       {"csum_discards", v.csum_discards},
       {"super_errors", v.super_errors},
       {"malloc_errors", v.malloc_errors},
       {"uncorrectable_errors", v.uncorrectable_errors},
       {"corrected_errors", v.corrected_errors},
       {"unverified_errors", v.unverified_errors},
       {"last_physical", v.last_physical}};
}

void to_json(nlohmann::json& j, const ScrubDevice& v) {
  j = {{"devid", v.devid}, {"path", v.path}, {"state", v.state}, {"error", or_null(v.error)}, {"counters", v.counters}};
}

void to_json(nlohmann::json& j, const ScrubReport& v) {
  j = {{"fsid", v.fsid},
       {"mount_point", v.mount_point},
       {"state", v.state},
       {"started_unix", or_null(v.started_unix)},
       {"finished_unix", or_null(v.finished_unix)},
       {"bytes_to_scrub", v.bytes_to_scrub},
       {"totals", v.totals},
       {"error_count", v.error_count},
       {"devices", v.devices}};
}

void to_json(nlohmann::json& j, const BalanceStatus& v) {
  j = {{"mount_point", v.mount_point},         {"state", v.state},
       {"expected_chunks", v.expected_chunks}, {"considered_chunks", v.considered_chunks},
       {"completed_chunks", v.completed_chunks}, {"convert", or_null(v.convert)}};
}

void to_json(nlohmann::json& j, const DefragResult& v) {
  j = {{"path", v.path},
       {"files_defragmented", v.files_defragmented},
       {"bytes", v.bytes},
       {"files_failed", v.files_failed},
       {"failures", v.failures}};
}

void to_json(nlohmann::json& j, const ResizedDevice& v) {
  j = {{"devid", v.devid}, {"path", v.path}, {"old_size_bytes", v.old_size_bytes}, {"new_size_bytes", v.new_size_bytes}};
}

void to_json(nlohmann::json& j, const DeviceChange& v) {
  j = {{"mount_point", v.mount_point}, {"device", v.device}, {"devid", or_null(v.devid)}, {"num_devices", v.num_devices}};
}

void to_json(nlohmann::json& j, const SpaceGroup& v) {
  j = {{"type", v.type}, {"profile", v.profile}, {"flags", v.flags}, {"total_bytes", v.total_bytes}, {"used_bytes", v.used_bytes}};
}

void to_json(nlohmann::json& j, const FsDf& v) {
  j = {{"fsid", v.fsid}, {"mount_point", v.mount_point}, {"groups", v.groups}};
}

void to_json(nlohmann::json& j, const DeviceBytes& v) {
  j = {{"devid", v.devid}, {"path", v.path}, {"bytes", v.bytes}};
}

void to_json(nlohmann::json& j, const UsageGroup& v) {
  j = {{"type", v.type}, {"profile", v.profile}, {"size_bytes", v.size_bytes}, {"used_bytes", v.used_bytes}, {"devices", v.devices}};
}

void to_json(nlohmann::json& j, const FsUsage& v) {
  j = {{"fsid", v.fsid},
       {"mount_point", v.mount_point},
       {"device_size", v.device_size},
       {"device_allocated", v.device_allocated},
       {"device_unallocated", v.device_unallocated},
       {"device_missing", v.device_missing},
       {"device_slack", v.device_slack},
       {"used", v.used},
       {"free_estimated", v.free_estimated},
       {"free_estimated_min", v.free_estimated_min},
       {"free_statfs", v.free_statfs},
       {"data_ratio", v.data_ratio},
       {"metadata_ratio", v.metadata_ratio},
       {"global_reserve", v.global_reserve},
       {"global_reserve_used", v.global_reserve_used},
       {"multiple_profiles", v.multiple_profiles},
       {"groups", v.groups},
       {"unallocated", v.unallocated}};
}

void to_json(nlohmann::json& j, const DeviceStats& v) {
  j = {{"devid", v.devid},
       {"path", v.path},
       {"write_io_errs", v.write_io_errs},
       {"read_io_errs", v.read_io_errs},
       {"flush_io_errs", v.flush_io_errs},
       {"corruption_errs", v.corruption_errs},
       {"generation_errs", v.generation_errs}};
}

}  // namespace mos::engine::btrfs
