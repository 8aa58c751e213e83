#include "tests/vm/replay_pairs.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <tuple>

namespace mos::vmtest {
namespace {

using Key = std::tuple<uint64_t, uint64_t, size_t>;  // sector, nr_sectors, hash of the data

// Non-zero data writes only: zeroing and discards are done disk by disk (wipes), not mirrored.
std::vector<std::pair<Key, size_t>> data_writes(const WriteLog& log) {
  std::vector<std::pair<Key, size_t>> out;
  for (size_t i = 0; i < log.entries.size(); ++i) {
    const LogEntry& e = log.entries[i];
    if (!e.writes() || e.zero || (e.flags & kLogDiscard)) continue;
    out.emplace_back(Key{e.sector, e.nr_sectors, std::hash<std::string>{}(entry_data(log, e))}, i);
  }
  return out;
}

std::vector<size_t> durable_lengths(const WriteLog& log) {
  std::vector<size_t> out{0};
  for (size_t i = 0; i < log.entries.size(); ++i)
    if (log.entries[i].durable_point()) out.push_back(i + 1);
  out.push_back(log.entries.size());
  return out;
}

size_t writes_before(const WriteLog& log, size_t length) {
  size_t n = 0;
  for (size_t i = 0; i < length && i < log.entries.size(); ++i) n += log.entries[i].writes();
  return n;
}

}  // namespace

LogAlignment::LogAlignment(const WriteLog& a, const WriteLog& b) {
  std::multimap<Key, size_t> in_b;
  for (const auto& kv : data_writes(b)) in_b.insert(kv);
  size_t next_b = 0;  // matches keep the order of both logs
  for (const auto& [key, i] : data_writes(a)) {
    auto [lo, hi] = in_b.equal_range(key);
    size_t best = SIZE_MAX;
    for (auto it = lo; it != hi; ++it)
      if (it->second >= next_b) best = std::min(best, it->second);
    if (best == SIZE_MAX) continue;
    pairs_.push_back({i, best});
    next_b = best + 1;
  }
  const WriteLog* logs[2] = {&a, &b};
  for (int s = 0; s < 2; ++s) {
    const auto& es = logs[s]->entries;
    size_t last = SIZE_MAX;
    for (size_t i = 0; i < es.size(); ++i) {
      if (es[i].writes() && !es[i].durable_point()) last = i;
      last_plain_write_[s].push_back(last);
    }
  }
  auto first_flush_after = [](const WriteLog& log, size_t i) {
    for (size_t j = i + 1; j < log.entries.size(); ++j)
      if (log.entries[j].flags & kLogFlush) return j;
    return SIZE_MAX;
  };
  for (const auto& [ia, ib] : pairs_) next_flush_.push_back({first_flush_after(a, ia), first_flush_after(b, ib)});
}

size_t LogAlignment::other_floor(int side, size_t length) const {
  if (length == 0) return 0;
  const size_t last_plain = last_plain_write_[side][std::min(length, last_plain_write_[side].size()) - 1];
  size_t floor = 0;
  for (size_t k = 0; k < pairs_.size(); ++k) {
    const auto [fa, fb] = next_flush_[k];
    const size_t mine = side == 0 ? fa : fb, theirs = side == 0 ? fb : fa;
    // A plain write after my flush (and that flush in my prefix): the other's flush had completed.
    if (mine == SIZE_MAX || last_plain == SIZE_MAX || last_plain <= mine) continue;
    floor = std::max(floor, theirs == SIZE_MAX ? (side == 0 ? pairs_[k].second : pairs_[k].first) + 1 : theirs + 1);
  }
  return floor;
}

size_t LogAlignment::other_at(int side, size_t length) const {
  size_t at = 0;
  for (const auto& p : pairs_) {
    const size_t mine = side == 0 ? p.first : p.second, theirs = side == 0 ? p.second : p.first;
    if (mine < length) at = theirs + 1;
  }
  return at;
}

PairPlan plan_pair_cuts(const WriteLog& a, const WriteLog& b, size_t between, size_t durable_per_log, uint64_t seed) {
  const WriteLog* logs[2] = {&a, &b};
  const LogAlignment align(a, b);
  PairPlan plan;
  std::set<std::pair<size_t, size_t>> seen;
  auto add = [&](size_t la, size_t lb, const std::string& kind) {
    PairCut c;
    c.length[0] = la;
    c.length[1] = lb;
    c.writes[0] = writes_before(a, la);
    c.writes[1] = writes_before(b, lb);
    c.kind = kind;
    if (!seen.insert({c.writes[0], c.writes[1]}).second) {
      ++plan.duplicates;
      return;
    }
    plan.cuts.push_back(c);
  };
  // A drawn pair (mine on log `side`): the other prefix at least at its causal floor; a pair the
  // raised other prefix makes impossible for mine is dropped (nullopt).
  auto pair_of = [&](int side, size_t mine, size_t theirs) -> std::optional<std::pair<size_t, size_t>> {
    const size_t floor = align.other_floor(side, mine);
    if (theirs < floor) {
      theirs = floor;
      ++plan.raised;
    }
    if (mine < align.other_floor(1 - side, theirs)) {
      ++plan.impossible;
      return std::nullopt;
    }
    return side == 0 ? std::pair{mine, theirs} : std::pair{theirs, mine};
  };
  add(0, 0, "blank");
  std::vector<size_t> candidates[2], durable[2];
  std::mt19937_64 rng(seed);
  // One drawn from each of k equal slices of `from` (all of it when k is 0 or not smaller).
  auto draw = [&](const std::vector<size_t>& from, size_t k) {
    if (k == 0 || k >= from.size()) return from;
    std::vector<size_t> out;
    for (size_t j = 0; j < k; ++j) {
      const size_t lo = j * from.size() / k, hi = (j + 1) * from.size() / k;
      out.push_back(from[lo + static_cast<size_t>(rng() % (hi - lo))]);
    }
    return out;
  };
  for (int s = 0; s < 2; ++s) {
    const auto& es = logs[s]->entries;
    durable[s] = durable_lengths(*logs[s]);
    std::vector<size_t> flushes;
    for (size_t i = 0; i < es.size(); ++i) {
      if (es[i].durable_point()) {
        flushes.push_back(i + 1);
      } else if (es[i].writes() && i + 1 < es.size() && es[i + 1].writes()) {
        candidates[s].push_back(i + 1);
      }
    }
    plan.durable_entries[s] = flushes.size();
    plan.between_candidates[s] = candidates[s].size();
    for (size_t length : draw(flushes, durable_per_log)) {
      ++plan.durable_drawn[s];
      if (auto cut = pair_of(s, length, align.other_at(s, length))) add(cut->first, cut->second, s ? "durable B" : "durable A");
    }
  }
  // Between the FLUSH/FUA entries: a seeded write boundary of one log, the other log anywhere
  // between its own FLUSH/FUA entries around the matching point (its cache held those writes).
  for (int s = 0; s < 2; ++s) {
    const size_t want = (between + 1 - s) / 2, m = candidates[s].size(), k = std::min(want, m);
    for (size_t j = 0; j < k; ++j) {
      const size_t lo = j * m / k, hi = (j + 1) * m / k;
      const size_t mine = candidates[s][lo + static_cast<size_t>(rng() % (hi - lo))];
      const auto& other = durable[1 - s];
      const size_t match = align.other_at(s, mine);
      auto next = std::lower_bound(other.begin(), other.end(), match);
      const size_t upper = next == other.end() ? other.back() : *next;
      const size_t lower = next == other.begin() ? 0 : *std::prev(next);
      const size_t theirs = lower + static_cast<size_t>(rng() % (upper - lower + 1));
      ++plan.between_drawn;
      if (auto cut = pair_of(s, mine, theirs)) add(cut->first, cut->second, s ? "between B" : "between A");
    }
  }
  add(a.entries.size(), b.entries.size(), "complete");
  add(a.entries.size(), 0, "one disk");
  add(0, b.entries.size(), "one disk");
  std::stable_sort(plan.cuts.begin(), plan.cuts.end(), [](const PairCut& x, const PairCut& y) {
    return std::pair{x.length[0], x.length[1]} < std::pair{y.length[0], y.length[1]};
  });
  return plan;
}

}  // namespace mos::vmtest
