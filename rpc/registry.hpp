// The method registry: one entry per RPC method (name, schemas, description, handler).
// The OpenRPC document and parameter validation are both generated from these entries.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/context.hpp"
#include "engine/json.hpp"
#include "base/error.hpp"

namespace mos::rpc {

using json = nlohmann::json;

// The answer to one call, given later and from any thread (a long operation answers when its job
// ends, while the request path is already free). Copies share one slot: the first result() or
// fail() is delivered, later ones are ignored; a Reply dropped unanswered delivers an internal error.
class Reply {
 public:
  using Deliver = std::function<void(json result, const Error* error)>;
  explicit Reply(Deliver deliver);
  void result(json r) const;
  void fail(const Error& e) const;

 private:
  struct Slot;
  std::shared_ptr<Slot> slot_;
};

// Where the server may run a call. `worker` (the default): on its worker pool, free to block on
// disks, sysfs or jobs. `memory`: answers from in-memory state without blocking (no I/O, only
// short locks), so the server answers it on its I/O thread. `model`: like memory, from the
// inventory model, inline only while the model is known fresh (else a worker refreshes it first).
enum class Path { worker, memory, model };

struct Method {
  std::string name;         // "storage.create_partition"
  std::string summary;      // one line
  std::string description;  // longer text (may be empty)
  json params;              // JSON Schema: {"type":"object","properties":{...},"required":[...]}
  json result;              // JSON Schema of the result
  bool mutating = false;
  std::function<json(const json& params, engine::Context& ctx)> handler;
  // Set instead of handler by methods that may answer later (e.g. waiting for a job): the
  // handler must call reply.result() or reply.fail() exactly once, now or from another thread.
  std::function<void(const json& params, engine::Context& ctx, Reply reply)> deferred = {};
  // Set instead of handler by methods answering from a model that keeps its answers serialized
  // (the inventory): the result as JSON text, spliced into the response without re-encoding.
  std::function<std::shared_ptr<const std::string>(const json& params, engine::Context& ctx)> serialized = {};
  Path path = Path::worker;  // memory/model: handler or serialized only, never deferred
  // Reads device contents (data bytes or digests of them) or starts a job, though it changes
  // nothing: like a mutating method, only for uid 0 and the admin group. Other reads are metadata.
  bool reads_contents = false;

  // Who may call it: uid 0 and members of --admin-group only (else anyone who can connect).
  bool admin_only() const { return mutating || reads_contents; }
};

class Registry {
 public:
  void add(Method m);
  const Method* find(const std::string& name) const;
  const std::vector<Method>& methods() const { return methods_; }

 private:
  std::vector<Method> methods_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in methods_ (every request looks up)
};

// Every method of the daemon (rpc.discover included).
Registry make_registry();

// Per-area registration; one file each (rpc/methods_<area>.cpp).
void register_inventory_methods(Registry& r);
void register_discover_method(Registry& r);
void register_jobs_methods(Registry& r);
void register_partition_methods(Registry& r);
void register_fs_methods(Registry& r);
void register_bulk_methods(Registry& r);
void register_btrfs_methods(Registry& r);
void register_raid_methods(Registry& r);
void register_topology_methods(Registry& r);
void register_events_methods(Registry& r);
void register_metrics_methods(Registry& r);
void register_health_methods(Registry& r);
void register_volume_methods(Registry& r);
void register_replace_methods(Registry& r);

// Schema helpers for registry entries.
json obj_schema(json properties, std::vector<std::string> required = {});
json str_schema(const std::string& description);
// Every integer parameter states its real range; rpc/params.cpp refuses anything outside it
// (-32602) before a handler runs, and handlers read it with engine::json_integer (no narrowing).
json int_schema(const std::string& description, int64_t minimum, int64_t maximum);
constexpr int64_t kMaxByteCount = INT64_MAX;          // sizes and offsets: the kernel's loff_t
constexpr int64_t kMaxPartitionNumber = UINT32_MAX;   // a GPT entry index (uint32 on disk)
constexpr int64_t kMaxJobId = INT64_MAX;
json bool_schema(const std::string& description);

}  // namespace mos::rpc
