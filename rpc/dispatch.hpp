// JSON-RPC 2.0 message handling (spec section 4-6): single requests, batches, notifications,
// id echo, standard and storage error codes. Transport-independent.
#pragma once
#include <optional>
#include <string>

#include "rpc/registry.hpp"

namespace mos::rpc {

// Handles one newline-delimited message; returns the serialized response, or nullopt when
// nothing must be sent (a notification, or a batch of notifications only).
std::optional<std::string> handle_message(const std::string& text, const Registry& registry,
                                          engine::Context& ctx);

json make_error(int code, const std::string& message, const json& id, const json& data = nullptr);

}  // namespace mos::rpc
