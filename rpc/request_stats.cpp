#include "rpc/request_stats.hpp"

#include <map>
#include <mutex>
#include <utility>

namespace mos::rpc {
namespace {

std::mutex g_mu;
std::map<std::pair<std::string, int>, uint64_t> g_counts;

}  // namespace

void record_request(const std::string& method, int code) {
  std::lock_guard lock(g_mu);
  ++g_counts[{method, code}];
}

std::vector<RequestCount> request_counts() {
  std::lock_guard lock(g_mu);
  std::vector<RequestCount> out;
  out.reserve(g_counts.size());
  for (const auto& [key, n] : g_counts) out.push_back({key.first, key.second, n});
  return out;
}

}  // namespace mos::rpc
