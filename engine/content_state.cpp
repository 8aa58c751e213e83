// STAND-IN until branch i18copies lands (its engine/content_state.cpp replaces this file at the
// merge): the same API over today's prober, which does not look at copies yet. Damage is still
// never taken for blank: a primary the prober cannot name over non-zero bytes where superblocks
// and their copies live is `damaged` (without a repair command: no copy is validated here).
#include "engine/content_state.hpp"

#include <algorithm>
#include <cerrno>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "fsmake/btrfs_chunks.hpp"

namespace mos::engine {
namespace {

constexpr uint64_t kEdgeBytes = 1ull << 20;
constexpr uint64_t kMirrorBytes = 4096;

std::optional<uint64_t> first_nonzero_in(std::span<const uint8_t> bytes, uint64_t off, uint64_t len) {
  if (bytes.size() != len)
    throw Error(ErrorCode::storage_failed, "cannot read bytes " + std::to_string(off) + ".." + std::to_string(off + len) +
                                               " of the device to check it is blank", {}, EIO);
  auto hit = std::find_if(bytes.begin(), bytes.end(), [](uint8_t b) { return b != 0; });
  if (hit == bytes.end()) return std::nullopt;
  return off + static_cast<uint64_t>(hit - bytes.begin());
}

}  // namespace

std::optional<uint64_t> first_unnamed_nonzero(fsmake::ProbeSource& src) {
  const uint64_t size = src.size();
  const uint64_t window = std::min(kEdgeBytes, size);
  for (uint64_t off : {uint64_t{0}, size - window})
    if (auto hit = first_nonzero_in(src.get(off, window), off, window)) return hit;
  for (uint64_t mirror : fsmake::btrfs::super_mirrors_for(size))
    if (mirror >= kEdgeBytes && mirror + kMirrorBytes <= size - window)
      if (auto hit = first_nonzero_in(src.get(mirror, kMirrorBytes), mirror, kMirrorBytes)) return hit;
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

std::string damaged_content_text(const fsmake::ProbeResult&) { return {}; }

std::string repair_command(const std::string& device) { return "mos-volmgr repair-superblock " + device; }

ContentVerdict classify_content(fsmake::ProbeSource& src, std::string_view expect_fstype, std::string_view expect_label) {
  ContentVerdict v;
  auto damaged = [&](std::string why) {
    v.state = ContentState::damaged;
    v.reason = std::move(why);
    return v;
  };
  try {
    const fsmake::ProbeResult r = fsmake::probe_device(src);
    v.fstype = r.type;
    v.label = r.label;
    if (!r.type.empty() || !r.pttype.empty()) {
      if (r.type == expect_fstype && (expect_label.empty() || r.label == expect_label)) {
        v.state = ContentState::ours;
        return v;
      }
      std::string want = expect_fstype.empty() ? std::string("nothing")
                                               : std::string(expect_fstype) + (expect_label.empty() ? "" : " " + std::string(expect_label));
      return damaged("carries " + describe_content(r) + " where " + want + " was expected");
    }
    if (auto off = first_unnamed_nonzero(src))
      return damaged("carries data no prober names at offset " + std::to_string(*off) +
                     " (where a format keeps a superblock or a copy)");
  } catch (const Error& e) {
    return damaged(e.what());
  }
  return v;
}

}  // namespace mos::engine
