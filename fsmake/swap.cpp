// Swap v1 writer: one header page, the rest of the first MiB cleared.
#include "fsmake/swap.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/text.hpp"
#include "fsmake/label.hpp"
#include "fsmake/swap_disk.hpp"
#include "base/error.hpp"
#include "base/uuid.hpp"

namespace mos::fsmake::swap {

mos::WritePlan plan_mkswap(const SwapOptions& opts, uint64_t size) {
  fsmake::validate_label("swap", opts.label, kLabelBytes);
  const uint32_t page = opts.page_size ? opts.page_size : static_cast<uint32_t>(getpagesize());
  if (page < 4096 || page > 65536 || (page & (page - 1)))
    throw_validation("swap page size must be a power of two from 4096 to 65536, not " + std::to_string(page));
  const uint64_t pages = size / page;
  const std::string ps = " with " + std::to_string(page) + "-byte pages";
  if (pages < kMinPages)
    throw_validation("swap area needs at least " + std::to_string(kMinPages) + " pages" + ps + " (" +
                     mos::bytes_text(kMinPages * page) + "), this device has " + mos::bytes_text(size));
  if (pages > kMaxPages)
    throw_validation("swap area can hold at most " + std::to_string(kMaxPages) + " pages" + ps + " (" +
                     mos::bytes_text(kMaxPages * page) + "), this device has " + mos::bytes_text(size) +
                     " (use a partition of at most that size)");

  std::vector<uint8_t> first(page, 0);
  HeaderV1 h{};
  h.version = 1;
  h.last_page = static_cast<uint32_t>(pages - 1);
  h.nr_badpages = 0;
  const mos::Uuid uuid = opts.uuid ? *opts.uuid : mos::random_uuid();
  std::memcpy(h.uuid, uuid.data(), sizeof h.uuid);
  std::memcpy(h.volume_name, opts.label.data(), opts.label.size());
  std::memcpy(first.data(), &h, sizeof h);
  std::memcpy(&first[page - kMagicLen], kMagicV1, kMagicLen);

  mos::WritePlan plan{"swap", {}};
  auto& step = plan.step("header");
  const uint64_t wipe_end = std::min<uint64_t>(1ull << 20, pages * page);
  if (wipe_end > page) step.zeroes.push_back({page, wipe_end - page, "stale signatures in the first MiB"});
  step.writes.push_back({0, std::move(first), "swap v1 header page"});
  return plan;
}

}  // namespace mos::fsmake::swap
