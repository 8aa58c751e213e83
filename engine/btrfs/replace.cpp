#include "engine/btrfs/replace.hpp"

#include "base/error.hpp"

namespace mos::engine::btrfs {

namespace {
[[noreturn]] void not_yet() { throw Error(ErrorCode::storage_failed, "btrfs replace is not implemented yet"); }
}  // namespace

std::vector<MemberInfo> members_of(const std::string&, const Context&) { not_yet(); }
void replace_check_can_start(const ReplaceRequest&, const Context&) { not_yet(); }
ReplaceStatus replace_run(const ReplaceRequest&, const Context&, const ProgressFn&, CancelFlag) { not_yet(); }
ReplaceStatus replace_status(const std::string&, const Context&) { not_yet(); }
ReplaceStatus replace_cancel(const std::string&, const Context&) { not_yet(); }
std::map<std::string, std::set<std::string>> chunk_profiles(const std::string&, const Context&) { not_yet(); }

}  // namespace mos::engine::btrfs
