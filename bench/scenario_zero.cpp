// zero: our bulk zeroing against dd (synchronous 1 MiB O_DIRECT writes) and fio (io_uring QD32,
// the device limit), on a loop device with direct I/O over a preallocated, written backing file.
#include <fcntl.h>

#include "bench/bench.hpp"
#include "engine/bulk.hpp"
#include "ioctl/fd.hpp"

namespace mos::bench {

namespace {

Contender ours_zero(std::string name, bool allow_offload, bool flush = true) {
  Contender c;
  c.name = std::move(name);
  c.run = [allow_offload, flush](Target& t) -> std::optional<double> {
    io::Fd fd = io::Fd::open(t.dev(), O_RDWR);
    engine::BulkOptions o;
    o.allow_offload = allow_offload;
    o.flush = flush;
    o.cancel = &interrupted();
    engine::zero(fd, 0, t.size(), o);
    return std::nullopt;
  };
  // Offload leaves unwritten extents in the backing file; the next writer would pay their
  // conversion, so put real data back before anyone else runs.
  if (allow_offload) c.cleanup = [](Target& t) { t.refill(); };
  return c;
}

}  // namespace

void add_zero_scenarios(std::vector<Scenario>& out, const Config& cfg) {
  Scenario s;
  s.name = "zero";
  s.description = "zero the whole device (loop, direct_io, preallocated written backing file)";
  s.target = TargetSpec{cfg.size, 512, true, true, true};
  s.bytes = cfg.size;
  s.ours.push_back(ours_zero("ours (offload)", true));
  s.ours.push_back(ours_zero("ours (data path)", false));
  // dd and fio end without a flush; this row does the same work as they do.
  s.ours.push_back(ours_zero("ours (data, no fdatasync)", false, false));
  s.peers.push_back(peer("dd oflag=direct bs=1M", "dd", [](const Target& t) {
    return std::vector<std::string>{"if=/dev/zero", "of=" + t.dev(), "oflag=direct", "bs=1M",
                                    "count=" + std::to_string(t.size() >> 20), "status=none"};
  }));
  s.peers.push_back(fio_peer("fio io_uring QD32 write", "write", 32));
  out.push_back(std::move(s));
}

}  // namespace mos::bench
