// The epoll backend: edge-triggered, each fd registered once for its lifetime, an eventfd for
// wake-ups from other threads. Tasks park on an FdWatch's reader/writer slot.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "backend.hpp"

namespace spindle::io::detail {

class EpollReactor final : public IoBackend {
 public:
  /// Throws std::system_error if epoll or the eventfd cannot be created.
  EpollReactor();
  ~EpollReactor() override;

  void poll(std::optional<Clock::time_point> deadline) override;
  void wake() noexcept override;
  Backend backend() const noexcept override { return Backend::Epoll; }

  /// Registers w.fd once, edge-triggered for input and output.
  void add(FdWatch& w) override;
  /// Level-triggered, armed per direction; a direction stays armed while tasks keep waiting
  /// on it, so the usual request-answer loop costs no epoll_ctl; poll() disarms a direction
  /// that reports with nobody waiting.
  void add_level(FdWatch& w, Interest interest) override;
  void arm(FdWatch& w, bool for_write) override;
  void remove(FdWatch& w) noexcept override;
  using IoBackend::wait;
  spindle::detail::WakeReason wait(FdWatch& w, Interest interest, const Clock::time_point* deadline,
                                   const char* what, SourceLocation where) override;

 private:
  /// Asks for exactly `events` on a level watch (one-shot nothing when 0).
  void set_armed(FdWatch& w, std::uint32_t events);
  int epfd_ = -1;
  int eventfd_ = -1;
  std::atomic<bool> woken_{false};
};

}  // namespace spindle::io::detail
