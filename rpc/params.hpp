// Validates JSON-RPC params against a method's JSON Schema (the subset our registry uses):
// type (incl. type lists), properties, required, additionalProperties, enum, minimum, maximum,
// minLength, maxLength, pattern, items, minItems, maxItems.
#pragma once
#include <nlohmann/json.hpp>

namespace mos::rpc {

// Throws mos::Error(invalid_params) whose message names the offending parameter,
// e.g. "invalid params: 'size_bytes' must be an integer >= 1".
void validate_params(const nlohmann::json& schema, const nlohmann::json& value);

}  // namespace mos::rpc
