// Thread interop: the idle reactor, callbacks posted from other threads, KeepAlive, and
// to_thread's trip through the thread pool.
//
// Posting: another thread appends a ready-made CallbackNode under remote_mutex_, sets
// remote_pending_ and wakes the reactor; the loop moves the batch onto its ready queue at
// the start of a round (the fast path checks the flag too, so busy tasks cannot starve it).
// A to_thread job counts in jobs_ from submission until its completion callback runs on the
// loop, so an idle loop knows to wait for it instead of reporting a deadlock.
#include <condition_variable>
#include <mutex>
#include <spindle/detail/introspect.hpp>
#include <spindle/thread.hpp>
#include <stdexcept>

#include "context.hpp"
#include "loop_core.hpp"

namespace spindle {

Reactor::~Reactor() = default;

namespace detail {

namespace {
std::atomic<std::size_t> g_reactor_wakeups{0};
}  // namespace

std::size_t reactor_wakeups() noexcept { return g_reactor_wakeups.load(std::memory_order_relaxed); }
void count_reactor_wakeup() noexcept { g_reactor_wakeups.fetch_add(1, std::memory_order_relaxed); }

namespace {

/// A reactor without I/O: poll() sleeps until the deadline or wake().
class SleepReactor final : public Reactor {
 public:
  void poll(std::optional<Clock::time_point> deadline) override {
    std::unique_lock<std::mutex> lk(mutex_);
    if (deadline) {
      cv_.wait_until(lk, *deadline, [this] { return woken_; });
    } else {
      cv_.wait(lk, [this] { return woken_; });
    }
    woken_ = false;
  }
  Backend backend() const noexcept override { return Backend::Auto; }
  void wake() noexcept override {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      if (woken_) return;  // a wake-up is pending
      woken_ = true;
    }
    count_reactor_wakeup();
    cv_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false;
};

}  // namespace

// Weak: io/ links in an epoll reactor that replaces this one. A static build without any
// use of spindle::io keeps the sleeping reactor, which is all it needs.
__attribute__((weak)) std::unique_ptr<Reactor> make_reactor(Backend, bool) {
  return std::make_unique<SleepReactor>();
}

void LoopCore::post(UniqueFunction<void()> f) {
  auto* n = new CallbackNode(this, std::move(f));
  {
    std::lock_guard<std::mutex> lk(remote_mutex_);
    if (closed_) {  // the loop has stopped: dropped, as callbacks pending at close are
      n->release();
      return;
    }
    try {
      remote_.push_back(n);
    } catch (...) {
      delete n;
      throw;
    }
    remote_pending_.store(true, std::memory_order_seq_cst);
  }
  wake_if_sleeping();
}

ThreadPool& LoopCore::workers() {
  if (!workers_) workers_ = std::make_unique<ThreadPool>(ThreadPool::default_size());
  return *workers_;
}

ThreadJob::~ThreadJob() = default;

void run_in_thread(std::shared_ptr<ThreadJob> job, SourceLocation where) {
  LoopCore& loop = LoopCore::require();
  TaskBase& self = loop.require_task("to_thread");
  LoopCore::deliver_pending(self);
  ContextData* ctx = ContextData::acquire(current_context());
  LoopCore* lp = &loop;
  try {
    loop.workers().submit([job, ctx, lp]() mutable {
      {
        ContextScope scope(ctx);  // the caller's ContextVar values
        job->run();
      }
      ContextData::release(ctx);
      // Back on the loop: wake the task if it still waits (it may have been cancelled). The
      // worker hands its reference over, so the job (and the result or exception in it) is
      // always destroyed on the loop's thread, never by a worker racing with the task.
      lp->post([job = std::move(job), lp] {
        --lp->jobs_;
        if (Waiter* w = job->waiter) {
          job->waiter = nullptr;
          lp->wake(*w, WakeReason::Granted);
        }
      });
    });
  } catch (...) {
    ContextData::release(ctx);
    throw;
  }
  ++loop.jobs_;
  struct JobWaiter : Waiter {
    ThreadJob* job;
  } w;
  w.job = job.get();
  w.detach = [](Waiter& x) noexcept { static_cast<JobWaiter&>(x).job->waiter = nullptr; };
  job->waiter = &w;
  if (loop.park(w, "to_thread", where) == WakeReason::Cancelled || LoopCore::must_deliver(self)) {
    job->waiter = nullptr;
    LoopCore::throw_cancelled(self);
  }
}

}  // namespace detail

void Loop::call_soon_threadsafe(detail::UniqueFunction<void()> f) {
  static_cast<detail::LoopCore*>(this)->post(std::move(f));
}

KeepAlive::KeepAlive(Loop* loop) noexcept : loop_(loop) {
  if (loop_) static_cast<detail::LoopCore*>(loop_)->holds_.fetch_add(1);
}

KeepAlive& KeepAlive::operator=(KeepAlive&& o) noexcept {
  if (this != &o) {
    KeepAlive dropped(std::move(*this));
    loop_ = o.loop_;
    o.loop_ = nullptr;
  }
  return *this;
}

KeepAlive::~KeepAlive() {
  if (!loop_) return;
  auto* core = static_cast<detail::LoopCore*>(loop_);
  core->holds_.fetch_sub(1);
  core->reactor_->wake();  // an idle loop re-checks whether anything can still wake a task
}

}  // namespace spindle
