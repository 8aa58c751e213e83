// Who may do what: the peer credentials of a connection (SO_PEERCRED, SO_PEERGROUPS) decide
// whether its caller is an admin (uid 0 or a member of --admin-group); see rpc/call.hpp.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>

#include "rpc/call.hpp"

namespace mos::rpc {

// The gid of a group name or number; throws mos::Error(validation) naming it when unknown.
gid_t group_id(const std::string& name);

// The caller behind a connected Unix socket, admin when uid 0 or when admin_gid is its primary
// or one of its supplementary groups (as the peer held them at connect time).
Caller peer_caller(int fd, std::optional<gid_t> admin_gid);

}  // namespace mos::rpc
