#include "engine/erased_table.hpp"

#include <algorithm>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "engine/content_state.hpp"
#include "engine/sysvol/layout.hpp"
#include "fsmake/probe/probe.hpp"
#include "ioctl/read_batch.hpp"

namespace mos::engine {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint32_t kHeadBytes = 8 * 1024;        // boot sectors, ext2/3/4, md 1.x, LVM, swap (4 KiB pages)
constexpr uint64_t kSecondOffset = 64 * 1024;    // btrfs's superblock
constexpr uint32_t kSecondBytes = 4 * 1024;
constexpr size_t kStartsPerBatch = 256;          // 3 MiB of buffers at a time

// Names what starts at `start` through a view of the device from there, or "" for nothing.
std::string name_at(const io::Fd& fd, uint64_t size, uint32_t sector_size, uint64_t start, uint64_t& magic_at) {
  fsmake::ProbeSource view(fd, size - start, sector_size, fsmake::ProbeSource::Read::lazy, start);
  fsmake::ProbeResult r = fsmake::probe_device(view);
  if (r.type.empty()) return {};
  magic_at = start;
  for (const auto& s : fsmake::find_signatures(view))
    if (s.type == r.type) {
      magic_at = start + s.offset;
      break;
    }
  return describe_content(r);
}

}  // namespace

std::string ErasedTableFinding::message() const {
  if (what.empty())
    return "holds data no prober names at " + std::to_string(at) + ", where a partition would start at " +
           std::to_string(start) + ": a partition table erased in front of partitions?";
  return "holds " + what + " at " + std::to_string(start) + " (superblock magic at " + std::to_string(at) +
         "): a partition table erased in front of intact partitions?";
}

std::optional<ErasedTableFinding> find_erased_partitions(const io::Fd& fd, uint64_t size, uint32_t sector_size,
                                                         std::span<const uint64_t> extra_starts) {
  std::vector<uint64_t> starts;
  for (uint64_t p = kMiB; p < std::min(size, kErasedTableScanBytes); p += kMiB) starts.push_back(p);
  starts.insert(starts.end(), extra_starts.begin(), extra_starts.end());
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  // Only starts whose places lie inside the device, outside the last MiB (checked by the caller).
  std::erase_if(starts, [&](uint64_t p) { return p < kMiB || p + kSecondOffset + kSecondBytes + kMiB > size; });

  std::optional<ErasedTableFinding> first_unnamed;
  unsigned probes = 0;
  std::vector<uint8_t> buf(kStartsPerBatch * (kHeadBytes + kSecondBytes));
  io::BatchReader reader(fd);
  for (size_t from = 0; from < starts.size(); from += kStartsPerBatch) {
    const size_t n = std::min(kStartsPerBatch, starts.size() - from);
    std::vector<io::BatchRead> reads;
    for (size_t i = 0; i < n; ++i) {
      uint8_t* slot = buf.data() + i * (kHeadBytes + kSecondBytes);
      reads.push_back({starts[from + i], kHeadBytes, slot, 0});
      reads.push_back({starts[from + i] + kSecondOffset, kSecondBytes, slot + kHeadBytes, 0});
    }
    reader.read(reads);
    for (size_t i = 0; i < n; ++i) {
      const uint64_t start = starts[from + i];
      const io::BatchRead &head = reads[2 * i], &second = reads[2 * i + 1];
      const bool readable = head.result == kHeadBytes && second.result == kSecondBytes;
      std::span<const uint8_t> bytes(head.into, kHeadBytes + kSecondBytes);
      if (readable && all_zero(bytes)) continue;
      if (probes++ >= kErasedTableMaxProbes) return first_unnamed;
      uint64_t magic_at = 0;
      std::string what = name_at(fd, size, sector_size, start, magic_at);
      if (!what.empty()) return ErasedTableFinding{start, what, magic_at};
      if (!first_unnamed) {
        auto hit = std::find_if(bytes.begin(), bytes.end(), [](uint8_t b) { return b != 0; });
        uint64_t at = start + static_cast<uint64_t>(hit - bytes.begin());
        if (hit - bytes.begin() >= static_cast<std::ptrdiff_t>(kHeadBytes)) at += kSecondOffset - kHeadBytes;
        first_unnamed = ErasedTableFinding{start, "", readable ? at : start};
      }
    }
  }
  return first_unnamed;
}

std::optional<ErasedTableFinding> find_erased_partitions(const io::Fd& fd, uint64_t size, uint32_t sector_size) {
  std::vector<uint64_t> starts;
  try {
    starts = sysvol::layout_partition_starts(sysvol::plan_layout(fd.path(), size, sector_size, sysvol::default_config()));
  } catch (const Error&) {
    // too small for our layout: the MiB boundaries alone
  }
  return find_erased_partitions(fd, size, sector_size, starts);
}

}  // namespace mos::engine
