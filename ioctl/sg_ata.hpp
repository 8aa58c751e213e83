// ATA commands through SG_IO with ATA PASS-THROUGH(16) (SAT, opcode 0x85), falling back to
// ATA PASS-THROUGH(12) (0xA1) where a translator refuses the 16-byte CDB: the SMART reads and
// CHECK POWER MODE, which spins nothing up. Plain ioctls (usable from the static mos_sysvol); the
// pages come back as raw bytes for the pure parsers in engine/health/.
#pragma once
#include <array>
#include <cstdint>
#include <optional>

#include "ioctl/fd.hpp"

namespace mos::io {

using AtaPage = std::array<uint8_t, 512>;

enum class AtaPowerMode { standby, idle, active, unknown };

// ATA CHECK POWER MODE (0xE5); nullopt when the device answers no ATA pass-through (not an ATA
// disk behind a SAT translator, or a driver that does not translate).
std::optional<AtaPowerMode> ata_check_power_mode(const Fd& fd);

// SMART READ DATA (0xB0/0xD0) and READ THRESHOLDS (0xB0/0xD1); nullopt when the command failed.
std::optional<AtaPage> ata_smart_read_data(const Fd& fd);
std::optional<AtaPage> ata_smart_read_thresholds(const Fd& fd);

// SMART RETURN STATUS (0xB0/0xDA): true = threshold exceeded (LBA mid/high 0xF4/0x2C), false =
// good (0x4F/0xC2); nullopt when the registers came back as neither or not at all.
std::optional<bool> ata_smart_threshold_exceeded(const Fd& fd);

}  // namespace mos::io
