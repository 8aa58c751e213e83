#include "tests/vm/write_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>

namespace mos::vmtest {
namespace {

constexpr uint64_t kMagic = 0x6A736677736872ULL;  // WRITE_LOG_MAGIC
constexpr uint64_t kVersion = 1;                  // WRITE_LOG_VERSION

uint64_t le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("write log " + path + ": " + what);
}

class File {
 public:
  File(const std::string& path, int flags) : path_(path), fd_(::open(path.c_str(), flags | O_CLOEXEC, 0600)) {
    if (fd_ < 0) fail(path, std::string("open: ") + std::strerror(errno));
  }
  ~File() { ::close(fd_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int fd() const { return fd_; }

  void read_at(void* buf, size_t n, uint64_t off) const {
    ssize_t r = ::pread(fd_, buf, n, static_cast<off_t>(off));
    if (r != static_cast<ssize_t>(n)) fail(path_, "short read at byte " + std::to_string(off));
  }
  uint64_t size() const { return static_cast<uint64_t>(::lseek(fd_, 0, SEEK_END)); }

  // True when [off, off + n) holds only zeros; holes are skipped without reading them.
  bool all_zero(uint64_t off, uint64_t n) const {
    std::vector<char> buf(1 << 20);
    for (uint64_t at = off; at < off + n;) {
      off_t data = ::lseek(fd_, static_cast<off_t>(at), SEEK_DATA);
      if (data < 0 || static_cast<uint64_t>(data) >= off + n) return true;
      at = static_cast<uint64_t>(data);
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(buf.size(), off + n - at));
      read_at(buf.data(), chunk, at);
      if (std::any_of(buf.begin(), buf.begin() + static_cast<long>(chunk), [](char c) { return c != 0; })) return false;
      at += chunk;
    }
    return true;
  }

 private:
  std::string path_;
  int fd_;
};

void punch_hole(const File& f, const std::string& path, uint64_t off, uint64_t n) {
  if (::fallocate(f.fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off), static_cast<off_t>(n)) != 0)
    fail(path, std::string("punch hole: ") + std::strerror(errno));
}

}  // namespace

WriteLog read_write_log(const std::string& path) {
  File f(path, O_RDONLY);
  WriteLog log;
  log.path = path;
  unsigned char super[32] = {};
  f.read_at(super, sizeof super, 0);
  if (le64(super) != kMagic) fail(path, "no dm-log-writes super block (was the device removed, which writes it?)");
  if (le64(super + 8) != kVersion) fail(path, "version " + std::to_string(le64(super + 8)) + ", not 1");
  const uint64_t count = le64(super + 16);
  log.sector_size = static_cast<uint32_t>(super[24] | super[25] << 8 | super[26] << 16 | super[27] << 24);
  if (log.sector_size < 512 || (log.sector_size & (log.sector_size - 1))) fail(path, "bad sector size");
  const uint64_t file_size = f.size();
  uint64_t at = log.sector_size;
  std::vector<unsigned char> block(log.sector_size);
  for (uint64_t i = 0; i < count; ++i) {
    if (at + log.sector_size > file_size) fail(path, "entry " + std::to_string(i) + " lies beyond the end of the log");
    f.read_at(block.data(), block.size(), at);
    LogEntry e;
    e.sector = le64(block.data());
    e.nr_sectors = le64(block.data() + 8);
    e.flags = le64(block.data() + 16);
    const uint64_t data_len = le64(block.data() + 24);
    at += log.sector_size;
    if (e.flags & kLogMark) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(data_len, log.sector_size - 32));
      e.mark.assign(reinterpret_cast<const char*>(block.data()) + 32, n);
      e.mark = e.mark.c_str();  // NUL-terminated inside the sector
    } else if (!(e.flags & kLogDiscard) && e.nr_sectors > 0) {
      e.data_at = at;
      at += e.bytes(log.sector_size);
      if (at > file_size) fail(path, "data of entry " + std::to_string(i) + " lies beyond the end of the log");
      e.zero = f.all_zero(e.data_at, e.bytes(log.sector_size));
    } else if (e.flags & kLogDiscard) {
      e.zero = true;
    }
    log.entries.push_back(std::move(e));
  }
  if (log.entries.empty() || log.entries.back().mark != kLogEndMark)
    fail(path, "the log does not end with the mark \"" + std::string(kLogEndMark) + "\" (incomplete)");
  return log;
}

std::string entry_data(const WriteLog& log, const LogEntry& e, uint64_t offset, uint64_t size) {
  const uint64_t total = e.bytes(log.sector_size);
  if (e.data_at == 0 || offset >= total) return {};
  size = std::min(size, total - offset);
  std::string out(size, '\0');
  if (!e.zero) File(log.path, O_RDONLY).read_at(out.data(), out.size(), e.data_at + offset);
  return out;
}

void replay_prefix(const WriteLog& log, size_t count, const std::vector<ReplayDisk>& disks, uint64_t torn) {
  std::vector<std::unique_ptr<File>> images;
  for (const auto& d : disks) {
    images.push_back(std::make_unique<File>(d.image, O_RDWR | O_CREAT | O_TRUNC));
    if (::ftruncate(images.back()->fd(), static_cast<off_t>(d.bytes)) != 0)
      fail(d.image, std::string("truncate: ") + std::strerror(errno));
  }
  File source(log.path, O_RDONLY);
  std::vector<char> buf;
  for (size_t i = 0; i < count + (torn ? 1 : 0) && i < log.entries.size(); ++i) {
    const LogEntry& e = log.entries[i];
    if (!e.writes()) continue;
    const uint64_t first = e.first_byte(log.sector_size);
    const uint64_t end = first + (i == count ? std::min(torn, e.nr_sectors) * log.sector_size : e.bytes(log.sector_size));
    for (size_t d = 0; d < disks.size(); ++d) {
      // The part of the write that lands on disk d (a write never spans two disks in practice).
      const uint64_t from = std::max(first, disks[d].first_byte);
      const uint64_t to = std::min(end, disks[d].first_byte + disks[d].bytes);
      if (from >= to) continue;
      const uint64_t at = from - disks[d].first_byte, n = to - from;
      if (e.zero) {
        punch_hole(*images[d], disks[d].image, at, n);
        continue;
      }
      buf.resize(n);
      source.read_at(buf.data(), n, e.data_at + (from - first));
      if (::pwrite(images[d]->fd(), buf.data(), n, static_cast<off_t>(at)) != static_cast<ssize_t>(n))
        fail(disks[d].image, std::string("write: ") + std::strerror(errno));
    }
  }
}

CutPlan plan_cuts(const WriteLog& log, size_t between, uint64_t seed) {
  CutPlan plan;
  std::map<size_t, Cut> by_writes;  // one cut per distinct state, the first one found wins
  std::vector<Cut> torn_cuts;       // each a distinct state of its own
  auto add = [&](size_t length, size_t writes, const char* kind) { by_writes.emplace(writes, Cut{length, writes, kind}); };
  const auto& es = log.entries;
  std::vector<size_t> candidates;  // lengths ending at a write that the next entry does not make durable
  size_t writes = 0;
  for (size_t i = 0; i < es.size(); ++i) {
    if (es[i].writes()) ++writes;
    if (es[i].durable_point()) {
      ++plan.durable_entries;
      add(i + 1, writes, "durable");
    } else if (es[i].writes() && i + 1 < es.size() && es[i + 1].writes()) {
      candidates.push_back(i + 1);
    }
  }
  add(0, 0, "blank");
  plan.between_candidates = candidates.size();
  std::mt19937_64 rng(seed);
  auto writes_before = [&](size_t length) {
    size_t n = 0;
    for (size_t i = 0; i < length; ++i) n += es[i].writes();
    return n;
  };
  const size_t m = candidates.size();
  for (size_t j = 0; j < std::min(between, m); ++j) {
    // Slice j of the candidates: [j*m/k, (j+1)*m/k), one point drawn from it.
    const size_t k = std::min(between, m), lo = j * m / k, hi = (j + 1) * m / k;
    const size_t length = candidates[lo + static_cast<size_t>(rng() % (hi - lo))];
    add(length, writes_before(length), "between");
  }
  // Fewer cut points than asked: writes cut in the middle, from equal slices of the multi-sector
  // writes (a drive persists sectors, not whole requests, when power fails).
  std::vector<size_t> multi;
  for (size_t i = 0; i < es.size(); ++i)
    if (es[i].writes() && !(es[i].flags & kLogDiscard) && es[i].nr_sectors > 1) multi.push_back(i);
  const size_t want_torn = std::min(multi.size(), between > m ? between - m : 0);
  for (size_t j = 0; j < want_torn; ++j) {
    const size_t lo = j * multi.size() / want_torn, hi = (j + 1) * multi.size() / want_torn;
    const size_t i = multi[lo + static_cast<size_t>(rng() % (hi - lo))];
    const uint64_t torn = 1 + rng() % (es[i].nr_sectors - 1);
    torn_cuts.push_back({i, writes_before(i), "torn", torn});
  }
  add(es.size(), writes, "complete");
  for (auto& [n, cut] : by_writes) plan.cuts.push_back(cut);
  plan.cuts.insert(plan.cuts.end(), torn_cuts.begin(), torn_cuts.end());
  std::stable_sort(plan.cuts.begin(), plan.cuts.end(), [](const Cut& a, const Cut& b) { return a.length < b.length; });
  return plan;
}

}  // namespace mos::vmtest
