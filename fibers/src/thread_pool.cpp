// ThreadPool: see thread_pool.hpp. Workers block signals-free on one condition variable;
// a job is whatever to_thread() packaged (it never throws: results travel in the job).
#include "thread_pool.hpp"

#include <algorithm>

namespace spindle::detail {

std::size_t ThreadPool::default_size() noexcept {
  return std::min<std::size_t>(32, std::thread::hardware_concurrency() + 4);
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::submit(UniqueFunction<void()> job) {
  std::unique_lock<std::mutex> lk(mutex_);
  jobs_.push_back(std::move(job));
  if (idle_ == 0 && threads_.size() < max_threads_) {
    try {
      threads_.emplace_back([this] { work(); });
    } catch (...) {
      if (threads_.empty()) {
        jobs_.pop_back();
        throw;
      }
      // Some workers exist: they will get to the job.
    }
  }
  lk.unlock();
  cv_.notify_one();
}

void ThreadPool::work() {
  std::unique_lock<std::mutex> lk(mutex_);
  for (;;) {
    ++idle_;
    cv_.wait(lk, [this] { return stopping_ || !jobs_.empty(); });
    --idle_;
    if (jobs_.empty()) return;  // stopping, nothing left
    UniqueFunction<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lk.unlock();
    job();
    job = {};  // release the job's captures outside the lock
    lk.lock();
  }
}

}  // namespace spindle::detail
