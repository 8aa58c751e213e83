#include "rpc/registry.hpp"

#include <mutex>
#include <stdexcept>
#include <utility>

namespace mos::rpc {

struct Reply::Slot {
  std::mutex mu;
  Deliver deliver;
  ~Slot() {
    if (deliver) {
      Error e(ErrorCode::internal, "method ended without an answer");
      deliver(nullptr, &e);
    }
  }
  Deliver take() {
    std::lock_guard lock(mu);
    return std::exchange(deliver, nullptr);
  }
};

Reply::Reply(Deliver deliver) : slot_(std::make_shared<Slot>()) { slot_->deliver = std::move(deliver); }

void Reply::result(json r) const {
  if (auto d = slot_->take()) d(std::move(r), nullptr);
}

void Reply::fail(const Error& e) const {
  if (auto d = slot_->take()) d(nullptr, &e);
}

void Registry::add(Method m) {
  if (find(m.name)) throw std::logic_error("duplicate RPC method " + m.name);
  if (m.params.is_null()) m.params = obj_schema(json::object());
  if (static_cast<int>(static_cast<bool>(m.handler)) + static_cast<bool>(m.deferred) + static_cast<bool>(m.serialized) != 1)
    throw std::logic_error("RPC method " + m.name + " needs exactly one of handler, deferred and serialized");
  if (m.path != Path::worker && (m.deferred || m.admin_only()))  // inline answers are synchronous metadata reads
    throw std::logic_error("RPC method " + m.name + " answers later or mutates: it runs on a worker");
  index_.emplace(m.name, methods_.size());
  methods_.push_back(std::move(m));
}

const Method* Registry::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &methods_[it->second];
}

json obj_schema(json properties, std::vector<std::string> required) {
  json s = {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) s["required"] = required;
  return s;
}

json str_schema(const std::string& description) { return {{"type", "string"}, {"description", description}}; }

json int_schema(const std::string& description, int64_t minimum, int64_t maximum) {
  return {{"type", "integer"}, {"minimum", minimum}, {"maximum", maximum}, {"description", description}};
}

json bool_schema(const std::string& description) { return {{"type", "boolean"}, {"description", description}}; }

}  // namespace mos::rpc
