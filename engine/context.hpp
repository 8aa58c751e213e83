// What every engine operation runs with: the device policy, the run directory, the job registry.
#pragma once
#include <string>
#include <vector>

namespace mos::engine {

class Jobs;

// --allow-devices: mutating operations only touch devices matching one of these globs.
struct Policy {
  std::vector<std::string> allow_devices;  // fnmatch(3) globs; empty = every device

  bool allowed(const std::string& device_path) const;
  // Throws -32001 naming the device and the globs when it is not allowed; for an md or dm
  // device also when one of the devices it stacks on (sysfs slaves) is not.
  void require_allowed(const std::string& device_path) const;
  // "a,b" -> {"a","b"}
  static Policy from_globs(const std::string& comma_separated);

 private:
  void require_allowed_stack(const std::string& device_path, int depth) const;
  void require_allowed_one(const std::string& device_path) const;
};

struct Context {
  Policy policy;
  std::string run_dir = "/run/mos_volmgrd";
  Jobs* jobs = nullptr;

  Jobs& job_registry() const;
};

}  // namespace mos::engine
