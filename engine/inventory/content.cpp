#include "engine/inventory/content.hpp"

#include <fcntl.h>

#include <map>

#include "fsmake/probe/probe.hpp"
#include "gpt/read.hpp"
#include "gpt/types.hpp"
#include "ioctl/blockdev.hpp"
#include "base/error.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/block_open.hpp"

namespace mos::engine {
namespace {

std::optional<std::string> non_empty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

void apply_probe(Device& d, const fsmake::ProbeResult& r) {
  d.fstype = d.usage = d.label = d.uuid = d.fsversion = d.damaged = std::nullopt;
  if (!r.type.empty()) {
    d.fstype = r.type;
    d.usage = r.usage;
    d.label = non_empty(r.label);
    d.uuid = non_empty(r.uuid);
    d.fsversion = non_empty(r.version);
  }
  d.pttype = non_empty(r.pttype);
  d.ptuuid = non_empty(r.ptuuid);
  d.damaged = non_empty(r.damaged);
}

void fill_signature(Device& d) {
  io::Fd fd = io::open_block(d.path, O_RDONLY);
  apply_probe(d, fsmake::probe_device(fd, d.size_bytes, d.logical_sector_size));
}

// The GPT of a whole disk, read once however many of its partitions ask.
const std::optional<gpt::Table>& disk_table(std::map<std::string, std::optional<gpt::Table>>& cache,
                                            const std::string& disk) {
  auto [it, inserted] = cache.try_emplace(disk);
  if (inserted) {
    try {
      io::Fd fd = io::open_block(disk, O_RDONLY);
      auto facts = io::block_facts(fd);
      it->second = gpt::read_table(fd, facts.size_bytes, facts.logical_sector_size).table;
    } catch (const Error&) {
      // unreadable disk: its partitions keep null names and types
    }
  }
  return it->second;
}

void fill_gpt_entry(Device& d, const gpt::Table& t) {
  const gpt::Entry* e = t.find(*d.partnum);
  if (!e) return;
  d.partlabel = non_empty(e->name);
  d.partuuid = e->unique.to_string();
  d.parttype = e->type.to_string();
  d.parttype_name = gpt::type_name(e->type);
}

}  // namespace

// Unreadable devices (no medium, no permission) keep null content facts: discovery still
// reports everything else about them instead of failing as a whole.
void fill_content(std::vector<Device>& devices) {
  std::map<std::string, std::optional<gpt::Table>> tables;
  for (auto& d : devices) {
    if (d.size_bytes == 0) continue;
    try {
      fill_signature(d);
    } catch (const Error&) {
      continue;
    }
    if (d.kind != "partition" || !d.parent || !d.partnum) continue;
    if (const auto& t = disk_table(tables, *d.parent)) fill_gpt_entry(d, *t);
  }
}

fsmake::ProbeResult probe_result_of(const Device& d) {
  fsmake::ProbeResult r;
  r.type = d.fstype.value_or("");
  r.usage = d.usage.value_or("");
  r.label = d.label.value_or("");
  r.uuid = d.uuid.value_or("");
  r.version = d.fsversion.value_or("");
  r.pttype = d.pttype.value_or("");
  r.ptuuid = d.ptuuid.value_or("");
  r.damaged = d.damaged.value_or("");
  return r;
}

void fill_content_from(Device& d, const fsmake::ProbeResult& r) {
  apply_probe(d, r);
  if (d.kind != "partition" || !d.parent || !d.partnum) return;
  std::map<std::string, std::optional<gpt::Table>> tables;
  if (const auto& t = disk_table(tables, *d.parent)) fill_gpt_entry(d, *t);
}

}  // namespace mos::engine
