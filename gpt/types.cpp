#include "gpt/types.hpp"

#include "base/error.hpp"

namespace mos::gpt {

// Sources: UEFI spec (esp), Discoverable Partitions Specification (linux_*, xbootldr),
// GRUB (bios_boot), Microsoft (basic data, msr).
const std::vector<PartType>& known_types() {
  static const std::vector<PartType> types = {
      {"linux", "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "Linux filesystem data"},
      {"esp", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI System Partition"},
      {"swap", "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap"},
      {"bios_boot", "21686148-6449-6E6F-744E-656564454649", "BIOS boot (GRUB core image)"},
      {"linux_raid", "A19D880F-05FC-4D3B-A006-743F0F84911E", "Linux RAID member"},
      {"linux_lvm", "E6D6D379-F507-44C2-A23C-238F2A3DF928", "Linux LVM physical volume"},
      {"linux_home", "933AC7E1-2EB4-4F13-B844-0E14E2AEF915", "Linux /home"},
      {"linux_srv", "3B8F8425-20E0-4F3B-907F-1A25A76F98E8", "Linux /srv"},
      {"linux_var", "4D21B016-B534-45C2-A9FB-5C16E091FD2D", "Linux /var"},
      {"linux_tmp", "7EC6F557-3BC5-4ACA-B293-16EF5DF639D1", "Linux /var/tmp"},
      {"linux_luks", "CA7D7CCB-63ED-4C53-861C-1742536059CC", "Linux LUKS"},
      {"linux_reserved", "8DA63339-0007-60C0-C436-083AC8230908", "Linux reserved"},
      {"linux_root_x86_64", "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", "Linux root (x86-64)"},
      {"linux_root_arm64", "B921B045-1DF0-41C3-AF44-4C6F280D3FAE", "Linux root (ARM64)"},
      {"linux_usr_x86_64", "8484680C-9521-48C6-9C11-B0720656F69E", "Linux /usr (x86-64)"},
      {"xbootldr", "BC13C2FF-59E6-4262-A352-B275FD6F7172", "Extended boot loader (/boot)"},
      {"microsoft_basic_data", "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "Microsoft basic data"},
      {"microsoft_reserved", "E3C9E316-0B5C-4DB8-817D-F92DF00215AE", "Microsoft reserved"},
  };
  return types;
}

Guid parse_type(std::string_view s) {
  for (const auto& t : known_types())
    if (s == t.name) return *Guid::parse(t.guid);
  if (auto g = Guid::parse(s)) {
    if (g->is_zero()) throw_validation("partition type GUID must not be all zeros (that marks an unused entry)");
    return *g;
  }
  std::string names;
  for (const auto& t : known_types()) names += std::string(names.empty() ? "" : ", ") + t.name;
  throw_validation("unknown partition type '" + std::string(s) + "': use one of " + names +
                   " or a type GUID");
}

std::optional<std::string> type_name(const Guid& type) {
  for (const auto& t : known_types())
    if (*Guid::parse(t.guid) == type) return std::string(t.name);
  return std::nullopt;
}

}  // namespace mos::gpt
