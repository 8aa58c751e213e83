#include "rpc/call.hpp"

namespace mos::rpc {
namespace {

thread_local const CallEnv* current = nullptr;
const CallEnv trusted{};

}  // namespace

const CallEnv& current_call() { return current ? *current : trusted; }

CallScope::CallScope(const CallEnv& env) : previous_(current) { current = &env; }

CallScope::~CallScope() { current = previous_; }

}  // namespace mos::rpc
