// The node a disk replacement works on, read from the disks: the survivor (the MOS disk that
// stays), the new disk, the disk replaced (--failed OLD) when present, the md mirrors and the
// mounted MOSDATA; every refusal, found before anything is written; and the facts the resume
// judge (judge.hpp) decides each step from.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/partition/partition.hpp"
#include "engine/replace/judge.hpp"
#include "engine/sysvol/record.hpp"

namespace mos::engine::replace {

struct ReplaceRequest {
  std::string new_disk;
  std::string failed = "missing";  // "missing" or the path of a present member to replace
  bool dry_run = false;
};

struct Node {
  Device new_device;                      // the new disk, as discovered
  std::optional<sysvol::MosDisk> new_mos;  // its table when it carries our layout and record (resume)
  std::optional<sysvol::MosDisk> survivor;
  std::optional<sysvol::MosDisk> old;     // --failed OLD
  std::string data_mount;                 // a mount point of MOSDATA
  std::string data_fsid;
  std::vector<LayoutPartition> layout;    // what the new disk's GPT gets (the survivor's partitions)
  std::vector<uint64_t> starts;           // the survivor's partition starts, in bytes
  std::vector<std::string> refusals;      // why it must not start; empty = it may
  std::vector<std::string> notes;         // e.g. a larger new disk's free space
  ReplaceFacts facts;

  // "/dev/<new disk>p<n>" (the kernel's partition name) and the same for the survivor and OLD.
  std::string new_partition(uint32_t number) const;
  std::string old_partition(uint32_t number) const;
};

// Reads everything; refusals are collected, never thrown (a dry run lists them). Throws only for
// a request that names no device.
Node read_node(const ReplaceRequest& req, const Context& ctx);

// The mirrors: array name and layout partition number.
struct Mirror {
  const char* step;   // md-esp | md-boot
  const char* array;  // mosefi | mosboot
  uint32_t number;    // 2 | 3
};
inline constexpr Mirror kMirrors[] = {{"md-esp", "mosefi", 2}, {"md-boot", "mosboot", 3}};
inline constexpr uint32_t kSwapNumber = 4, kDataNumber = 5;

}  // namespace mos::engine::replace
