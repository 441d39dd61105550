// Reactor: the seam between the loop (fibers/) and an I/O backend (io/).
#pragma once

#include <optional>
#include <spindle/detail/config.hpp>
#include <spindle/loop.hpp>

namespace spindle {

/// What the loop needs from an I/O backend. The loop calls poll() when no task is ready;
/// other threads call wake() to make it look at the cross-thread queue. io/ implements it
/// with epoll; without io the loop uses a backend that only sleeps until woken.
class SPINDLE_API Reactor {
 public:
  virtual ~Reactor();
  /// Waits until I/O is ready, wake() is called, or `deadline` passes (nullopt: no
  /// deadline; a past deadline: do not wait), and makes the tasks whose I/O is ready
  /// runnable. Called on the loop's thread only.
  virtual void poll(std::optional<Clock::time_point> deadline) = 0;
  /// Makes the current or next poll() return promptly. Thread-safe.
  virtual void wake() noexcept = 0;
  /// Which backend this is (Backend::Auto for the sleeping reactor used without io/).
  virtual Backend backend() const noexcept = 0;
};

}  // namespace spindle
