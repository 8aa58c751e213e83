// checksum: our xxh3 of the whole device against xxhsum -H3 (buffered reads) and fio read
// (io_uring QD32, the device limit), every run from a cold cache.
#include <fcntl.h>

#include "bench/bench.hpp"
#include "engine/bulk.hpp"
#include "ioctl/fd.hpp"

namespace mos::bench {

void add_checksum_scenarios(std::vector<Scenario>& out, const Config& cfg) {
  auto cold = [](Target& t) { t.drop_caches(); };
  Scenario s;
  s.name = "checksum";
  s.description = "xxh3 of the whole device, cold cache (loop, direct_io, written backing file)";
  s.target = TargetSpec{cfg.size, 512, true, true, true};
  s.bytes = cfg.size;
  Contender ours;
  ours.name = "ours (xxh3)";
  ours.prepare = cold;
  ours.run = [](Target& t) -> std::optional<double> {
    io::Fd fd = io::Fd::open(t.dev(), O_RDONLY);
    engine::BulkOptions o;
    o.cancel = &interrupted();
    engine::checksum(fd, 0, t.size(), engine::Algo::xxh3, o);
    return std::nullopt;
  };
  s.ours.push_back(std::move(ours));
  s.peers.push_back(peer("xxhsum -H3", "xxhsum", [](const Target& t) {
    return std::vector<std::string>{"-H3", t.dev()};
  }, cold));
  s.peers.push_back(fio_peer("fio io_uring QD32 read", "read", 32, cold));
  out.push_back(std::move(s));
}

}  // namespace mos::bench
