#include "base/uuid.hpp"

#include <uuid/uuid.h>

namespace mos {

Uuid random_uuid() {
  Uuid u{};
  uuid_generate_random(u.data());
  return u;
}

}  // namespace mos
