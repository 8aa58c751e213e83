// Counters of answered calls by method and outcome, for storage.metrics. Bounded: one entry per
// registered method and error code; names the registry does not know are counted as "".
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mos::rpc {

struct RequestCount {
  std::string method;  // "" for an unknown or missing method name
  int code = 0;        // 0 = success, else the JSON-RPC error code answered
  uint64_t count = 0;
};

// Thread-safe.
void record_request(const std::string& method, int code);
std::vector<RequestCount> request_counts();

}  // namespace mos::rpc
