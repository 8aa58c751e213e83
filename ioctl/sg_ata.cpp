#include "ioctl/sg_ata.hpp"

#include <scsi/sg.h>
#include <sys/ioctl.h>

#include <cstring>

namespace mos::io {
namespace {

constexpr uint8_t kAtaSmart = 0xB0;
constexpr uint8_t kAtaCheckPowerMode = 0xE5;
constexpr uint8_t kSmartReadData = 0xD0;
constexpr uint8_t kSmartReadThresholds = 0xD1;
constexpr uint8_t kSmartReturnStatus = 0xDA;
constexpr uint8_t kSmartLbaMid = 0x4F, kSmartLbaHigh = 0xC2;
constexpr unsigned kTimeoutMs = 10000;

struct AtaCommand {
  uint8_t command = 0, features = 0, count = 0, lba_low = 0, lba_mid = 0, lba_high = 0;
  bool data_in = false;  // PIO data-in of one 512-byte sector, else non-data with the registers back
};

// The registers the device returned (from the sense data, CK_COND set).
struct AtaRegisters {
  uint8_t count = 0, lba_mid = 0, lba_high = 0;
};

// The ATA Status Return descriptor (code 0x09) of descriptor-format sense, or the fixed-format
// fields libata fills the same way; bounds-checked against what the driver says it wrote.
std::optional<AtaRegisters> registers_from_sense(const uint8_t* sense, size_t len) {
  if (len < 8) return std::nullopt;
  uint8_t response = sense[0] & 0x7f;
  if (response == 0x72 || response == 0x73) {
    size_t end = std::min(len, size_t{8} + sense[7]);
    for (size_t at = 8; at + 2 <= end; at += 2 + sense[at + 1]) {
      if (sense[at] == 0x09 && at + 14 <= end) return AtaRegisters{sense[at + 5], sense[at + 9], sense[at + 11]};
    }
    return std::nullopt;
  }
  if ((response == 0x70 || response == 0x71) && len >= 12) return AtaRegisters{sense[6], sense[10], sense[11]};
  return std::nullopt;
}

// One command, 16-byte CDB first then the 12-byte one. Returns the registers (non-data) or an
// empty set (data-in, filled into `page`); nullopt when neither CDB worked.
std::optional<AtaRegisters> run(const Fd& fd, const AtaCommand& c, uint8_t* page) {
  for (int cdb_len : {16, 12}) {
    uint8_t cdb[16] = {};
    // Protocol: 4 = PIO data-in, 3 = non-data. Flags: data-in reads one sector of 512 bytes
    // (T_DIR, BYTE_BLOCK, T_LENGTH = count); non-data asks for the registers (CK_COND).
    uint8_t protocol = c.data_in ? (4 << 1) : (3 << 1);
    uint8_t flags = c.data_in ? 0x0E : 0x20;
    if (cdb_len == 16) {
      cdb[0] = 0x85; cdb[1] = protocol; cdb[2] = flags; cdb[4] = c.features; cdb[6] = c.count;
      cdb[8] = c.lba_low; cdb[10] = c.lba_mid; cdb[12] = c.lba_high; cdb[14] = c.command;
    } else {
      cdb[0] = 0xA1; cdb[1] = protocol; cdb[2] = flags; cdb[3] = c.features; cdb[4] = c.count;
      cdb[5] = c.lba_low; cdb[6] = c.lba_mid; cdb[7] = c.lba_high; cdb[9] = c.command;
    }
    uint8_t sense[64] = {};
    sg_io_hdr_t io{};
    io.interface_id = 'S';
    io.cmd_len = static_cast<unsigned char>(cdb_len);
    io.cmdp = cdb;
    io.mx_sb_len = sizeof(sense);
    io.sbp = sense;
    io.timeout = kTimeoutMs;
    if (c.data_in) {
      io.dxfer_direction = SG_DXFER_FROM_DEV;
      io.dxfer_len = 512;
      io.dxferp = page;
    } else {
      io.dxfer_direction = SG_DXFER_NONE;
    }
    if (ioctl(fd.get(), SG_IO, &io) != 0) return std::nullopt;  // not a SCSI-command device at all
    size_t sense_len = std::min<size_t>(io.sb_len_wr, sizeof(sense));
    if (c.data_in) {
      bool ok = io.status == 0 && io.host_status == 0 && (io.driver_status & 0x0f) == 0;
      if (ok && io.resid == 0) return AtaRegisters{};
      continue;
    }
    if (io.host_status != 0) continue;
    if (auto regs = registers_from_sense(sense, sense_len)) return regs;
  }
  return std::nullopt;
}

std::optional<AtaPage> smart_page(const Fd& fd, uint8_t feature, uint8_t lba_low) {
  AtaPage page{};
  AtaCommand c{kAtaSmart, feature, 1, lba_low, kSmartLbaMid, kSmartLbaHigh, true};
  if (!run(fd, c, page.data())) return std::nullopt;
  return page;
}

}  // namespace

std::optional<AtaPowerMode> ata_check_power_mode(const Fd& fd) {
  auto regs = run(fd, AtaCommand{kAtaCheckPowerMode, 0, 0, 0, 0, 0, false}, nullptr);
  if (!regs) return std::nullopt;
  switch (regs->count) {
    case 0x00: case 0x01: return AtaPowerMode::standby;
    case 0x80: case 0x81: case 0x82: case 0x83: return AtaPowerMode::idle;
    case 0xFF: return AtaPowerMode::active;
    default: return AtaPowerMode::unknown;
  }
}

std::optional<AtaPage> ata_smart_read_data(const Fd& fd) { return smart_page(fd, kSmartReadData, 0); }
std::optional<AtaPage> ata_smart_read_thresholds(const Fd& fd) { return smart_page(fd, kSmartReadThresholds, 1); }

std::optional<bool> ata_smart_threshold_exceeded(const Fd& fd) {
  auto regs = run(fd, AtaCommand{kAtaSmart, kSmartReturnStatus, 0, 0, kSmartLbaMid, kSmartLbaHigh, false}, nullptr);
  if (!regs) return std::nullopt;
  if (regs->lba_mid == 0x4F && regs->lba_high == 0xC2) return false;
  if (regs->lba_mid == 0xF4 && regs->lba_high == 0x2C) return true;
  return std::nullopt;
}

}  // namespace mos::io
