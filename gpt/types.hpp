// Partition type GUIDs by short name (the names our RPC and CLI accept), and back.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gpt/guid.hpp"

namespace mos::gpt {

struct PartType {
  const char* name;   // e.g. "esp"
  const char* guid;   // uppercase text form, as the UEFI spec and sgdisk print it
  const char* what;   // human description
};

// All named types, for help texts and the OpenRPC enum.
const std::vector<PartType>& known_types();
// Type GUID for a name ("linux", "esp", ...) or a raw GUID string; throws a validation error
// listing the known names otherwise.
Guid parse_type(std::string_view name_or_guid);
// Short name of a type GUID, or nullopt for a type we have no name for.
std::optional<std::string> type_name(const Guid& type);

}  // namespace mos::gpt
