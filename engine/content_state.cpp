#include "engine/content_state.hpp"

#include <algorithm>
#include <cerrno>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "fsmake/probe/copies.hpp"

namespace mos::engine {
namespace {

constexpr uint64_t kEdgeBytes = 1ull << 20;

// bytes must be what was asked for: a place that cannot be read is never taken for blank.
std::optional<uint64_t> first_nonzero_in(std::span<const uint8_t> bytes, uint64_t off, uint64_t len) {
  if (bytes.size() != len)
    throw Error(ErrorCode::storage_failed, "cannot read bytes " + std::to_string(off) + ".." + std::to_string(off + len) +
                                               " of the device to check it is blank", {}, EIO);
  if (all_zero(bytes)) return std::nullopt;
  auto hit = std::find_if(bytes.begin(), bytes.end(), [](uint8_t b) { return b != 0; });
  return off + static_cast<uint64_t>(hit - bytes.begin());
}

}  // namespace

std::optional<uint64_t> first_unnamed_nonzero(fsmake::ProbeSource& src) {
  const uint64_t size = src.size();
  const uint64_t window = std::min(kEdgeBytes, size);
  for (uint64_t off : {uint64_t{0}, size - window})
    if (auto hit = first_nonzero_in(src.get(off, window), off, window)) return hit;
  const std::vector<fsmake::probe::Place> places = fsmake::probe::copy_places(size);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& p : places) ranges.emplace_back(p.offset, p.length);
  src.read_ahead(ranges);
  for (const auto& p : places)
    if (auto hit = first_nonzero_in(src.get(p.offset, p.length), p.offset, p.length)) return hit;
  return std::nullopt;
}

std::string describe_content(const fsmake::ProbeResult& r) {
  const std::string& name = !r.type.empty() ? r.type : r.pttype;
  if (name.empty()) return {};
  std::string what = (std::string("aeiouxAEIOU").find(name[0]) != std::string::npos ? "an " : "a ") + name;
  what += r.type.empty() ? " partition table" : r.usage == "filesystem" ? " filesystem" : " signature";
  if (!r.label.empty()) what += " (LABEL=" + r.label + ")";
  return what;
}

std::string damaged_content_text(const fsmake::ProbeResult& r) {
  if (r.damaged.empty()) return {};
  const bool table = r.type.empty();
  return describe_content(r) + " whose primary " + (table ? "header" : "superblock") + " is damaged (" + r.damaged + ")";
}

std::string repair_command(const std::string& device) { return "mos-volmgr repair-superblock " + device; }

ContentVerdict classify_content(fsmake::ProbeSource& src, std::string_view expect_fstype, std::string_view expect_label) {
  ContentVerdict v;
  const std::string device = src.device() ? src.device()->path() : std::string("DEVICE");
  auto damaged = [&](std::string why) {
    v.state = ContentState::damaged;
    v.reason = std::move(why);
    return v;
  };
  try {
    const fsmake::ProbeResult r = fsmake::probe_device(src);
    v.fstype = r.type;
    v.label = r.label;
    if (!r.damaged.empty()) {
      if (r.copy_valid) v.repair = repair_command(device);
      return damaged(device + " carries " + damaged_content_text(r));
    }
    if (!r.type.empty() || !r.pttype.empty()) {
      const bool expected = r.type == expect_fstype && (expect_label.empty() || r.label == expect_label);
      if (expected) {
        v.state = ContentState::ours;
        return v;
      }
      // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict for " " + std::string.
      std::string want = expect_fstype.empty() ? std::string("nothing") : std::string(expect_fstype);
      if (!expect_fstype.empty() && !expect_label.empty()) want.append(" ").append(expect_label);
      return damaged(device + " carries " + describe_content(r) + " where " + want + " was expected");
    }
    if (auto off = first_unnamed_nonzero(src))
      return damaged(device + " carries data no prober names at offset " + std::to_string(*off) +
                     " (where a format keeps a superblock or a copy)");
  } catch (const Error& e) {
    return damaged(device + ": " + e.what());
  }
  return v;
}

}  // namespace mos::engine
