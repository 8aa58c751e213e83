#include "bench/volume_bed.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <vector>

#include "base/error.hpp"
#include "ioctl/fd.hpp"

namespace mos::bench {

engine::Context volume_context(const Target& t, const VolumeBed& b) {
  engine::Context ctx;
  ctx.policy.allow_devices = {t.dev()};
  ctx.run_dir = b.mnt + "-run";
  return ctx;
}

engine::volumes::Store open_volume_store(const Target& t, const VolumeBed& b) {
  return engine::volumes::Store::open(b.mnt, "volumes", volume_context(t, b), true);
}

void write_whole(const std::string& path, uint64_t bytes) {
  constexpr size_t kBlock = 8u << 20;
  io::Fd f = io::Fd::open(path, O_WRONLY);
  std::vector<uint64_t> block(kBlock / sizeof(uint64_t));
  for (uint64_t off = 0; off < bytes; off += kBlock) {
    for (size_t i = 0; i < block.size(); ++i) block[i] = (off + i) * 0x9e3779b97f4a7c15ull;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, bytes - off));
    const ssize_t w = ::pwrite(f.get(), block.data(), n, static_cast<off_t>(off));
    if (w < 0) throw_sys("write", path, errno);
    if (static_cast<size_t>(w) != n) throw_sys("write (short: the filesystem is full)", path, ENOSPC);
  }
  f.fsync();
}

void fresh_volume_bed(const Target& t, const VolumeBed& b, uint64_t image_bytes) {
  enter_private_mount_namespace();
  run_peer({"mkfs.btrfs", "-q", "-f", "-K", t.dev()});
  if (::mkdir(b.mnt.c_str(), 0700) != 0 && errno != EEXIST) throw_sys("mkdir", b.mnt, errno);
  run_peer({"mount", t.dev(), b.mnt});
  engine::volumes::Store s = open_volume_store(t, b);
  if (image_bytes == 0) return;
  s.create({"img", engine::volumes::Kind::block, image_bytes});
  write_whole(b.image(), image_bytes);
}

SharedVolumeBed shared_volume_bed(const VolumeBed& b, uint64_t image_bytes) {
  auto begun = std::make_shared<bool>(false), made = std::make_shared<bool>(false);
  SharedVolumeBed shared;
  shared.make = [b, image_bytes, begun, made](Target& t) {
    if (*made) return;
    *begun = true;
    fresh_volume_bed(t, b, image_bytes);
    *made = true;
  };
  shared.teardown = [b, begun, made](Target&) {
    if (*begun) drop_volume_bed(b);
    *begun = *made = false;
  };
  return shared;
}

void drop_volume_bed(const VolumeBed& b) {
  // A loop device just detached can still hold the image while udev has it open: wait for it.
  for (int tries = 1;; ++tries) {
    try {
      run_peer({"umount", b.mnt});
      break;
    } catch (const std::exception&) {
      if (tries == 50) throw;
      ::usleep(100000);
    }
  }
  ::rmdir(b.mnt.c_str());
  for (const char* link : {"disk", "img"}) ::unlink((b.mnt + "-run/volumes/" + link).c_str());
  ::rmdir((b.mnt + "-run/volumes").c_str());
  ::rmdir((b.mnt + "-run").c_str());
}

void detach_loops_of(const std::string& file) {
  std::istringstream lines(peer_output({"losetup", "-j", file}));
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("/dev/loop", 0) == 0) run_peer({"losetup", "-d", line.substr(0, line.find(':'))});
}

Contender volume_contender(std::string name, const std::string& tool, std::function<void(Target&)> prepare,
                           std::function<void(Target&)> run, std::function<void(Target&)> cleanup) {
  Contender c;
  c.name = std::move(name);
  if (!tool.empty() && !have_tool(tool)) c.unavailable = tool + " not installed";
  c.prepare = std::move(prepare);
  c.run = [run = std::move(run)](Target& t) -> std::optional<double> {
    run(t);
    return std::nullopt;
  };
  c.cleanup = std::move(cleanup);
  return c;
}

}  // namespace mos::bench
