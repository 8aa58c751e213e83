// A write plan: the bytes a format writer wants on a device, in crash-safe order.
// Format code (gpt/, fsmake/, mdraid/) builds plans and never writes; the engine applies them
// (or, with dry_run, shows them). Steps apply in order: zero ranges, then writes, then a flush,
// so "backup copy, flush, primary copy, flush" is expressed as two steps.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace mos {

// The immutable bytes of a planned write: owned, or a view into a buffer other writes share
// (ext4 writes one group descriptor table to up to 25 backup places; at 16 TiB it is 8 MiB).
// Reads like a const std::vector<uint8_t> (data, size, empty, [], begin/end), and converts
// implicitly from one, so `{offset, std::move(bytes), "what"}` keeps working.
class SharedBytes {
 public:
  SharedBytes() = default;
  SharedBytes(std::vector<uint8_t> bytes)  // implicit on purpose: plain vectors are the common case
      : SharedBytes(std::make_shared<const std::vector<uint8_t>>(std::move(bytes))) {}
  SharedBytes(std::initializer_list<uint8_t> bytes) : SharedBytes(std::vector<uint8_t>(bytes)) {}
  // All of buf, or [offset, offset + length) of it.
  SharedBytes(std::shared_ptr<const std::vector<uint8_t>> buf) : buf_(std::move(buf)) {
    if (buf_) {
      ptr_ = buf_->data();
      size_ = buf_->size();
    }
  }
  SharedBytes(std::shared_ptr<const std::vector<uint8_t>> buf, size_t offset, size_t length)
      : buf_(std::move(buf)), ptr_(buf_->data() + offset), size_(length) {}

  const uint8_t* data() const { return ptr_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const uint8_t& operator[](size_t i) const { return ptr_[i]; }
  const uint8_t* begin() const { return ptr_; }
  const uint8_t* end() const { return ptr_ + size_; }
  std::vector<uint8_t> to_vector() const { return {begin(), end()}; }
  const std::shared_ptr<const std::vector<uint8_t>>& buffer() const { return buf_; }

 private:
  std::shared_ptr<const std::vector<uint8_t>> buf_;
  const uint8_t* ptr_ = nullptr;
  size_t size_ = 0;
};

struct PlannedWrite {
  uint64_t offset = 0;
  SharedBytes data;
  std::string what;  // e.g. "GPT backup header (LBA 2097151)"
};

struct PlannedZero {
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string what;
};

struct PlanStep {
  std::string name;  // stable; crash point "<plan>:after-<step>" fires after this step's flush
  std::vector<PlannedZero> zeroes;
  std::vector<PlannedWrite> writes;
};

struct WritePlan {
  std::string name;  // e.g. "gpt", "ext4"
  std::vector<PlanStep> steps;

  PlanStep& step(std::string step_name) {
    steps.push_back(PlanStep{std::move(step_name), {}, {}});
    return steps.back();
  }
  uint64_t bytes_written() const {
    uint64_t n = 0;
    for (auto& s : steps)
      for (auto& w : s.writes) n += w.data.size();
    return n;
  }
  uint64_t bytes_zeroed() const {
    uint64_t n = 0;
    for (auto& s : steps)
      for (auto& z : s.zeroes) n += z.length;
    return n;
  }
};

}  // namespace mos
