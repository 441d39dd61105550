// Debug mode's blocking-call sampler: a watchdog thread that, when the loop's thread has run
// one task for longer than the slow-task threshold without parking, interrupts that thread
// with a signal whose handler records the stack (backtrace(3)); the slow-task report then
// prints the top frames, naming the call that blocked. One per loop, only in debug mode.
#pragma once

#include <spindle/loop.hpp>

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace spindle::detail {

class BlockSampler {
 public:
  /// Starts the watchdog for the calling thread (the loop's), sampling runs longer than
  /// `threshold`. Throws std::system_error if the thread cannot start.
  explicit BlockSampler(Clock::duration threshold);
  ~BlockSampler();
  BlockSampler(const BlockSampler&) = delete;
  BlockSampler& operator=(const BlockSampler&) = delete;

  /// The loop's thread switched: to a task (a new run starts), or to the loop itself (none).
  void resumed(bool task) noexcept {
    const std::uint64_t r = run_.load(std::memory_order_relaxed);
    if (!task) {
      if (r & 1) run_.store(r + 1, std::memory_order_release);
      return;
    }
    started_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    run_.store((r | 1) + 2, std::memory_order_release);  // odd: a task runs
  }
  /// The running task stops (parks, finishes). Returns the frames sampled during its run, one
  /// per line, indented (empty if none was taken).
  std::string parked();

 private:
  static void on_signal(int) noexcept;
  void watch();

  static constexpr int kFrames = 24;
  const Clock::duration threshold_;
  const pthread_t loop_thread_;
  std::atomic<std::uint64_t> run_{0};  // odd while a task runs
  std::atomic<Clock::rep> started_{0};
  // Written by the signal handler on the loop's thread, read there after the run.
  void* frames_[kFrames] = {};
  volatile int frame_count_ = 0;
  std::atomic<std::uint64_t> sampled_run_{0};
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread watchdog_;
};

}  // namespace spindle::detail
