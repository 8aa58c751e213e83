// storage.subscribe / storage.unsubscribe: the calling connection receives engine events of the
// chosen topics as "storage.event" notifications (see rpc/server.hpp for the bound).
#include "base/error.hpp"
#include "rpc/call.hpp"
#include "rpc/registry.hpp"

namespace mos::rpc {
namespace {

json topics_schema(size_t min_items) {
  return {{"type", "array"},
          {"minItems", min_items},
          {"maxItems", 8},
          {"items", {{"type", "string"}, {"enum", {"devices", "mounts", "jobs", "raid", "health"}}}},
          {"description", "event topics: devices, mounts, jobs, raid, health"}};
}

json held_schema() {
  return {{"type", "object"}, {"properties", {{"topics", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}};
}

json change(const json& p, bool subscribe) {
  Subscriptions* subs = current_call().subscriptions;
  if (!subs)
    throw Error(ErrorCode::validation, "events are delivered on a daemon connection only (call through mos_volmgrd's socket)");
  std::vector<std::string> topics = p.value("topics", std::vector<std::string>{});
  return {{"topics", subs->change(topics, subscribe)}};
}

}  // namespace

void register_events_methods(Registry& r) {
  r.add(Method{"storage.subscribe", "Receive change events of the given topics on this connection",
               "Events arrive as notifications {\"method\":\"storage.event\",\"params\":{topic,kind,data}}. A "
               "connection that leaves more than --max-connection-output bytes unread loses its subscription and "
               "gets one notification with topic \"subscription\", kind \"dropped\". Returns the topics now held.",
               obj_schema({{"topics", topics_schema(1)}}, {"topics"}), held_schema(), false,
               [](const json& p, engine::Context&) { return change(p, true); }});
  r.add(Method{"storage.unsubscribe", "Stop receiving events of the given topics (all without topics)", "",
               obj_schema({{"topics", topics_schema(0)}}), held_schema(), false,
               [](const json& p, engine::Context&) { return change(p, false); }});
}

}  // namespace mos::rpc
