#include "engine/partition/json.hpp"

namespace mos::engine {

namespace {
template <typename T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
}  // namespace

void to_json(nlohmann::json& j, const FreeSpan& f) {
  j = {{"start_bytes", f.start_bytes}, {"end_bytes", f.end_bytes}, {"size_bytes", f.size_bytes}};
}

void to_json(nlohmann::json& j, const PartitionInfo& p) {
  j = {{"path", p.path},
       {"name", p.name},
       {"kind", "partition"},
       {"parent", p.disk},
       {"partnum", p.number},
       {"start_bytes", p.start_bytes},
       {"size_bytes", p.size_bytes},
       {"first_lba", p.first_lba},
       {"last_lba", p.last_lba},
       {"logical_sector_size", p.logical_sector_size},
       {"partlabel", p.partlabel},
       {"partuuid", p.partuuid},
       {"parttype", p.parttype},
       {"parttype_name", or_null(p.parttype_name)},
       {"attributes", p.attributes}};
}

void to_json(nlohmann::json& j, const KernelCall& c) {
  j = {{"op", c.op}, {"number", c.number}, {"start_bytes", c.start_bytes}, {"length_bytes", c.length_bytes}};
}

void to_json(nlohmann::json& j, const PartitionOpResult& r) {
  j = {{"device", r.device},
       {"dry_run", r.dry_run},
       {"plan", r.plan},
       {"kernel_calls", r.kernel_calls},
       {"partition", or_null(r.partition)},
       {"partitions", r.partitions},
       {"notes", r.notes}};
}

void to_json(nlohmann::json& j, const TableStatus& s) {
  auto text_or_null = [](const std::string& t) { return t.empty() ? nlohmann::json(nullptr) : nlohmann::json(t); };
  j = {{"disk", s.disk},
       {"has_gpt", s.has_gpt},
       {"primary_ok", s.primary_ok},
       {"backup_ok", s.backup_ok},
       {"primary_error", text_or_null(s.primary_error)},
       {"backup_error", text_or_null(s.backup_error)},
       {"mbr_kind", text_or_null(s.mbr_kind)},
       {"disk_guid", text_or_null(s.disk_guid)},
       {"first_usable_bytes", s.has_gpt ? nlohmann::json(s.first_usable_bytes) : nlohmann::json(nullptr)},
       {"last_usable_bytes", s.has_gpt ? nlohmann::json(s.last_usable_bytes) : nlohmann::json(nullptr)},
       {"entry_count", s.has_gpt ? nlohmann::json(s.entry_count) : nlohmann::json(nullptr)},
       {"partitions", s.partitions},
       {"warnings", s.warnings}};
}

}  // namespace mos::engine
