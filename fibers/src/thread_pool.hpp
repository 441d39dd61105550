// The loop's thread pool for to_thread(): grows on demand up to a limit, one job queue.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <spindle/detail/unique_function.hpp>
#include <thread>
#include <utility>
#include <vector>

namespace spindle::detail {

class ThreadPool {
 public:
  /// min(32, hardware threads + 4), asyncio's default executor size.
  static std::size_t default_size() noexcept;

  explicit ThreadPool(std::size_t max_threads) : max_threads_(max_threads) {}
  /// Lets the workers finish every queued job, then joins them.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Queues job; starts a worker if none is idle and the limit allows.
  /// Throws std::system_error if no thread can be started and none exists.
  void submit(UniqueFunction<void()> job);
  /// Worker threads started, and how many of them wait for a job.
  std::pair<std::size_t, std::size_t> threads_and_idle() {
    std::lock_guard lock(mutex_);
    return {threads_.size(), idle_};
  }

 private:
  void work();

  std::size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<UniqueFunction<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace spindle::detail
