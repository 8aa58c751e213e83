// A subscribed connection to the daemon whose notifications a thread of its own collects.
// Its destructor joins that thread, which ends when the daemon closes the connection: stop the
// daemon first (declare the daemon's stop guard after the Subscriber).
#pragma once

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "rpc/client.hpp"

namespace mos::test {

class Subscriber {
 public:
  Subscriber(const std::string& socket, const nlohmann::json& topics) : client_(socket) {
    client_.call("storage.subscribe", {{"topics", topics}});
    reader_ = std::thread([this] {
      try {
        for (;;) {
          nlohmann::json n = client_.next_notification();
          std::lock_guard lock(mu_);
          events_.push_back(std::move(n));
        }
      } catch (const std::exception&) {  // the daemon closed the connection
      }
    });
  }
  ~Subscriber() {
    if (reader_.joinable()) reader_.join();
  }
  // Waits until an event satisfies pred, poking the daemon with a query meanwhile.
  template <class Pred>
  bool wait_for(rpc::Client& poke, Pred pred, std::chrono::seconds bound = std::chrono::seconds(10)) {
    auto end = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < end) {
      {
        std::lock_guard lock(mu_);
        for (const auto& e : events_)
          if (e.value("method", "") == "storage.event" && pred(e["params"])) return true;
      }
      poke.call("storage.list_disks");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  std::vector<nlohmann::json> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::string seen() {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& e : events_) out += e.dump().substr(0, 200) + "\n";
    return out;
  }

 private:
  rpc::Client client_;
  std::thread reader_;
  std::mutex mu_;
  std::vector<nlohmann::json> events_;
};

}  // namespace mos::test
