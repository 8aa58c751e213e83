// fuzz_make_seed IMAGE OUT [--budget BYTES] [--sector 4096]: writes a fuzz seed in the sparse
// image format (fuzz_image.hpp) holding IMAGE's non-zero 512-byte blocks, merged into runs and
// taken alternately from the start and the end of the image until the budget (default 64 KiB)
// is spent, so the seed keeps both the head superblocks and the tail metadata (GPT backup, md
// 0.90) of a large image. Each run is cut at 32 KiB so one large structure (a journal, a log)
// cannot eat the budget of the small ones after it.
//
// fuzz_make_seed --md-member 1.2|0.90 SIZE IMAGE writes IMAGE as the first member of a fresh
// two-member RAID1 (our writer's plan_member; mdadm --create cannot run on this host's kernel).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "ioctl/fd.hpp"
#include "mdraid/superblock.hpp"
#include "base/uuid.hpp"

namespace {

int write_md_member(const char* metadata, uint64_t size, const char* path) {
  mos::mdraid::ArraySpec spec;
  spec.metadata = mos::mdraid::parse_metadata(metadata);
  spec.uuid = mos::random_uuid();
  spec.name = "fuzzseed";
  spec.ctime = 1700000000;
  spec.bitmap = size >= (64ull << 20);
  std::vector<mos::mdraid::MemberSpec> members(2);
  for (uint32_t i = 0; i < 2; ++i) {
    members[i].size_bytes = size;
    members[i].role = i;
    members[i].device_uuid = mos::random_uuid();
    members[i].minor = i;
  }
  auto geometry = mos::mdraid::plan_geometry(spec, members);
  auto plan = mos::mdraid::plan_member(spec, geometry, members, 0);
  auto out = mos::io::Fd::open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (ftruncate(out.get(), static_cast<off_t>(size)) != 0) return 1;
  std::vector<uint8_t> zero;
  for (const auto& step : plan.steps) {
    for (const auto& z : step.zeroes) {
      zero.assign(z.length, 0);
      out.pwrite_exact(zero.data(), zero.size(), z.offset);
    }
    for (const auto& w : step.writes) out.pwrite_exact(w.data.data(), w.data.size(), w.offset);
  }
  return 0;
}

constexpr uint64_t kMaxRun = 32 * 1024;

struct Run {
  uint64_t offset = 0, len = 0;
};

std::deque<Run> nonzero_runs(const mos::io::Fd& fd, uint64_t size) {
  std::deque<Run> runs;
  std::vector<uint8_t> block(512);
  static const std::vector<uint8_t> zero(512, 0);
  for (uint64_t off = 0; off < size; off += 512) {
    size_t n = fd.pread_some(block.data(), 512, off);
    if (n == 0) break;
    if (std::memcmp(block.data(), zero.data(), n) == 0) continue;
    if (!runs.empty() && runs.back().offset + runs.back().len == off)
      runs.back().len += n;
    else
      runs.push_back({off, n});
  }
  return runs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && !std::strcmp(argv[1], "--md-member")) {
    try {
      return write_md_member(argv[2], std::stoull(argv[3]), argv[4]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fuzz_make_seed: %s\n", e.what());
      return 1;
    }
  }
  if (argc < 3) {
    std::fprintf(stderr, "usage: fuzz_make_seed IMAGE OUT [--budget BYTES] [--sector 4096]\n");
    return 2;
  }
  uint64_t budget = 64 * 1024;
  uint32_t flags = 0;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--budget")) budget = std::stoull(argv[i + 1]);
    if (!std::strcmp(argv[i], "--sector") && std::stoul(argv[i + 1]) == 4096) flags |= 1;
  }
  try {
    auto in = mos::io::Fd::open(argv[1], O_RDONLY);
    uint64_t size = static_cast<uint64_t>(lseek(in.get(), 0, SEEK_END));
    auto runs = nonzero_runs(in, size);
    std::vector<uint8_t> out(12);
    mos::store_le64(out.data(), size);
    mos::store_le32(out.data() + 8, flags);
    bool from_front = true;
    while (!runs.empty() && budget > 0) {
      Run r = from_front ? runs.front() : runs.back();
      from_front ? runs.pop_front() : runs.pop_back();
      from_front = !from_front;
      r.len = std::min({r.len, budget, kMaxRun});
      budget -= r.len;
      size_t at = out.size();
      out.resize(at + 12 + r.len);
      mos::store_le64(out.data() + at, r.offset);
      mos::store_le32(out.data() + at + 8, static_cast<uint32_t>(r.len));
      in.pread_exact(out.data() + at + 12, r.len, r.offset);
    }
    auto o = mos::io::Fd::open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    o.pwrite_exact(out.data(), out.size(), 0);
    std::printf("%s: %zu bytes from %s (%llu bytes)\n", argv[2], out.size(), argv[1],
                static_cast<unsigned long long>(size));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seed: %s\n", e.what());
    return 1;
  }
  return 0;
}
