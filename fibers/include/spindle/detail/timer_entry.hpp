// A timer heap entry. Installed because deadline scopes (with_timeout) keep one on the
// caller's stack; not API.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace spindle::detail {

/// One entry of the loop's timer heap, ordered by (deadline, seq): equal deadlines fire in
/// insertion order. `index` is its heap position, so removal is O(log n).
struct TimerEntry {
  static constexpr std::size_t kNotQueued = static_cast<std::size_t>(-1);
  /// Wake: wakes a parked Waiter (target) with WakeReason::Timeout.
  /// Callback: queues a loop callback (target = CallbackNode).
  /// Deadline: expires a deadline scope (target = DeadlineScope).
  enum class Kind : std::uint8_t { Wake, Callback, Deadline };

  std::chrono::steady_clock::time_point deadline{};
  std::uint64_t seq = 0;
  std::size_t index = kNotQueued;
  Kind kind = Kind::Wake;
  void* target = nullptr;

  bool queued() const noexcept { return index != kNotQueued; }
};

}  // namespace spindle::detail
