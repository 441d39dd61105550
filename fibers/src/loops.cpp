// Several loops: run_threads() and call_on().
//
// A group's threads meet twice. At the start, every loop is created before any main runs,
// so loops() is complete and every loop takes messages from the first instant. At the end,
// every loop has stopped taking messages (LoopCore::close) before any is destroyed, so a
// late post from a neighbour fails cleanly instead of touching freed memory.
//
// call_on: the caller posts the call's `start` node to the target, which spawns the remote
// task; the task's done notification posts `done` back, waking the caller. Cancelling the
// caller posts `cancel`, which cancels the remote task; the caller waits (uninterruptibly)
// for `done` all the same, so the answer never reaches a frame that is gone. Each queued
// node holds a reference to the call.
#include <pthread.h>
#include <sched.h>

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <spindle/loops.hpp>
#include <spindle/task.hpp>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "loop_core.hpp"

namespace spindle {
namespace detail {
namespace {

template <class T>
T& owner_of(RemoteNode& n) noexcept {
  return *static_cast<T*>(n.owner);
}

// --- call_on --------------------------------------------------------------------------------

struct CallWaiter : Waiter {
  RemoteCall* call;
};

// Target loop: the remote task finished (in its own context). Posts the answer back.
void remote_finished(DoneWaiter& d, TaskBase& t) noexcept {
  RemoteCall& c = *static_cast<RemoteCall::Finished&>(d).call;
  if (t.cancelled_) {
    c.cancelled = true;
    if (!c.error) c.error = t.error_;
  }
  c.remote = nullptr;
  t.release();  // the call's reference (the loop still holds its own)
  if (!post_node(*c.caller, c.done)) c.release();  // the caller's loop cannot have closed
  // The start node's reference now travels with `done`.
}

void start_call(RemoteNode& n, bool dropped) noexcept {
  RemoteCall& c = owner_of<RemoteCall>(n);
  if (!dropped) {
    try {
      auto task = spawn(TaskOptions{"call_on"}, [&c] {
        try {
          c.invoke();
        } catch (const CancelledError&) {
          c.cancelled = true;
          c.error = std::current_exception();
          throw;  // the task ends cancelled, as it was
        } catch (...) {
          c.error = std::current_exception();
        }
      });
      c.finished.call = &c;
      c.finished.on_done = &remote_finished;
      c.remote = task.state();
      c.remote->add_ref();
      task.state()->done_waiters_.push_back(c.finished);
      return;
    } catch (...) {
      c.error = std::current_exception();
    }
  } else {
    c.error = std::make_exception_ptr(
        std::runtime_error("call_on: the target loop stopped before running the call"));
  }
  if (!post_node(*c.caller, c.done)) c.release();
}

void cancel_call(RemoteNode& n, bool dropped) noexcept {
  RemoteCall& c = owner_of<RemoteCall>(n);
  if (!dropped && c.remote && !c.remote->done()) {
    LoopCore& loop = *c.remote->loop_;
    loop.cancel(*c.remote, CancelledError(CancelledError::Reason::Forwarded,
                                          "the task that called call_on was cancelled", "", {}));
  }
  c.release();
}

void call_done(RemoteNode& n, bool) noexcept {
  RemoteCall& c = owner_of<RemoteCall>(n);
  c.completed = true;
  if (Waiter* w = c.waiter; w && w->task->parked_on_ == w) {
    c.waiter = nullptr;
    w->task->loop_->wake(*w, WakeReason::Granted);
  }
  c.release();
}

// Caller's loop, when its task is cancelled while waiting: forward the cancellation.
void forward_cancel(Waiter& w) noexcept {
  RemoteCall& c = *static_cast<CallWaiter&>(w).call;
  if (c.cancel_posted || c.completed) return;
  c.cancel_posted = true;
  c.add_ref();
  if (!post_node(*c.target, c.cancel)) c.release();  // stopped: the call is over or dropped
}

}  // namespace

RemoteCall::RemoteCall() noexcept {
  start.owner = cancel.owner = done.owner = this;
  start.run = &start_call;
  cancel.run = &cancel_call;
  done.run = &call_done;
}

RemoteCall::~RemoteCall() = default;

void call_remote(Loop& target, RemoteCall& c, SourceLocation where) {
  LoopCore& loop = LoopCore::require();
  TaskBase& self = loop.require_task("call_on");
  LoopCore::deliver_pending(self);
  c.caller = &loop;
  c.target = &target;
  c.add_ref();  // the start node's
  if (!post_node(target, c.start)) {
    c.release();
    throw std::runtime_error("call_on: the target loop has stopped");
  }
  CallWaiter w;
  w.call = &c;
  w.detach = &forward_cancel;
  c.waiter = &w;
  ++loop.cross_waits_;
  struct Leave {
    LoopCore& loop;
    RemoteCall& c;
    ~Leave() {
      --loop.cross_waits_;
      c.waiter = nullptr;
    }
  } leave{loop, c};
  if (loop.park(w, "call_on", where) == WakeReason::Granted && !LoopCore::must_deliver(self)) {
    return;
  }
  // Cancelled: the remote task was told (forward_cancel); wait for it to finish.
  forward_cancel(w);
  while (!c.completed) {
    w.interruptible = false;
    c.waiter = &w;
    if (loop.park(w, "call_on", where) == WakeReason::Cancelled && !c.completed) {
      break;  // forced (deadlock teardown): leave; the call's references keep it valid
    }
  }
  LoopCore::throw_cancelled(self);
}

// --- groups ------------------------------------------------------------------------------------

namespace {

struct LoopGroup;

/// One loop's part of a group.
struct PerLoop {
  LoopGroup* group = nullptr;
  unsigned index = 0;
  TaskBase* main = nullptr;   // (its thread) the main task, set before it starts
  bool counted = false;       // (its thread) its main's return was counted
  Waiter* waiting = nullptr;  // (its thread) parked until every main returned
  bool all_done = false;      // (its thread)
  RemoteNode cancel_main;     // posted when another main failed
  RemoteNode mains_done;      // posted when the last main returned
};

/// One run_threads() call.
struct LoopGroup {
  explicit LoopGroup(unsigned n) : refs(n), loops(n), per(n), mains_left(n) {
    for (unsigned i = 0; i < n; ++i) {
      per[i].group = this;
      per[i].index = i;
    }
  }

  std::vector<LoopRef> refs;
  std::vector<LoopCore*> loops;
  std::vector<PerLoop> per;
  std::mutex m;
  std::condition_variable cv;
  unsigned mains_left;
  unsigned arrived = 0;  // threads past creating their loop (or failing to)
  bool failed_start = false;
  unsigned closed = 0;
  std::exception_ptr first_error;

  /// Records e (the first one wins) and cancels the other mains.
  void fail(std::exception_ptr e, unsigned from) {
    std::lock_guard<std::mutex> lk(m);
    if (first_error) return;
    first_error = std::move(e);
    for (unsigned j = 0; j < loops.size(); ++j) {
      if (j != from && loops[j]) post_node(*loops[j], per[j].cancel_main);
    }
  }
  /// Loop i's main is over; the last one releases every loop.
  void main_returned(unsigned i) {
    if (per[i].counted) return;
    per[i].counted = true;
    std::lock_guard<std::mutex> lk(m);
    if (--mains_left > 0) return;
    for (unsigned j = 0; j < loops.size(); ++j) {
      if (loops[j]) post_node(*loops[j], per[j].mains_done);
    }
  }
};

void cancel_main(RemoteNode& n, bool dropped) noexcept {
  auto& p = owner_of<PerLoop>(n);
  // Before main returned (even before it started: then it never runs), never after.
  if (dropped || p.counted || !p.main || p.main->done()) return;
  p.main->loop_->cancel(*p.main, CancelledError(CancelledError::Reason::Requested,
                                                "run_threads: another loop's main failed", "", {}));
}

void mains_done(RemoteNode& n, bool dropped) noexcept {
  auto& p = owner_of<PerLoop>(n);
  if (dropped) return;
  p.all_done = true;
  if (Waiter* w = p.waiting; w && w->task->parked_on_ == w) {
    p.waiting = nullptr;
    w->task->loop_->wake(*w, WakeReason::Granted);
  }
}

struct GroupWaiter : Waiter {
  PerLoop* p;
};

// The first task of loop i: main(i), then wait for the other mains.
void group_main(LoopGroup& g, unsigned i, const std::function<void(unsigned)>& main) {
  LoopCore& loop = LoopCore::require();
  PerLoop& p = g.per[i];
  try {
    main(i);
  } catch (const CancelledError& e) {
    // A deadlock's teardown: the DeadlockError that follows is the error to report.
    if (e.reason() != CancelledError::Reason::Deadlock) g.fail(std::current_exception(), i);
  } catch (...) {
    g.fail(std::current_exception(), i);
  }
  g.main_returned(i);
  // Stay: this loop's other tasks run on and call_on() reaches it until every main returned.
  GroupWaiter w;
  w.p = &p;
  w.interruptible = false;
  w.detach = [](Waiter& x) noexcept { static_cast<GroupWaiter&>(x).p->waiting = nullptr; };
  ++loop.cross_waits_;
  while (!p.all_done) {
    p.waiting = &w;
    if (loop.park(w, "run_threads", SourceLocation::current()) == WakeReason::Cancelled) break;
  }
  p.waiting = nullptr;
  --loop.cross_waits_;
}

void run_group_loop(LoopGroup& g, unsigned i, const std::function<void(unsigned)>& main,
                    const RunOptions& opts) {
  std::optional<RunScope> scope;
  try {
    scope.emplace(opts);
  } catch (...) {
    std::unique_lock<std::mutex> lk(g.m);
    if (!g.first_error) g.first_error = std::current_exception();
    g.failed_start = true;
    ++g.arrived;
    ++g.closed;
    g.cv.notify_all();
    return;
  }
  g.per[i].cancel_main.run = &cancel_main;
  g.per[i].mains_done.run = &mains_done;
  g.per[i].cancel_main.owner = g.per[i].mains_done.owner = &g.per[i];
  LoopCore& loop = *LoopCore::current_or_null();
  loop.group_ = &g;
  loop.index_ = i;
  bool start;
  {
    std::unique_lock<std::mutex> lk(g.m);
    g.loops[i] = &loop;
    g.refs[i] = LoopRef(loop, i);
    ++g.arrived;
    g.cv.notify_all();
    g.cv.wait(lk, [&] { return g.arrived == g.loops.size(); });
    start = !g.failed_start;
  }
  if (start) {
    try {
      auto task = spawn(TaskOptions{"main-" + std::to_string(i)},
                        [&g, i, &main] { group_main(g, i, main); });
      g.per[i].main = task.state();
      scope->run_until_done(*task.state());
    } catch (...) {  // DeadlockError, or no memory for the first task
      g.fail(std::current_exception(), i);
    }
    g.main_returned(i);
  }
  loop.stop_taking_messages();
  std::unique_lock<std::mutex> lk(g.m);
  ++g.closed;
  g.cv.notify_all();
  g.cv.wait(lk, [&] { return g.closed == g.loops.size(); });
  lk.unlock();
  scope.reset();
}

std::vector<int> usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

void pin_to(pthread_t thread, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int rc = ::pthread_setaffinity_np(thread, sizeof set, &set);
  if (rc != 0) throw std::system_error(rc, std::system_category(), "run_threads: pinning a loop");
}

}  // namespace
}  // namespace detail

void run_threads(unsigned n, std::function<void(unsigned)> main, ThreadsOptions opts) {
  if (!main) throw std::invalid_argument("run_threads: main is empty");
  if (detail::LoopCore::current_or_null()) {
    throw std::logic_error("spindle::run_threads: a loop is already running on this thread");
  }
  const std::vector<int> cpus = detail::usable_cpus();
  if (n == 0) n = static_cast<unsigned>(cpus.size());
  detail::LoopGroup g(n);
  // Pinning the calling thread lasts for the call only.
  std::optional<cpu_set_t> saved;
  if (opts.pin) {
    cpu_set_t set;
    if (::pthread_getaffinity_np(::pthread_self(), sizeof set, &set) == 0) saved = set;
    detail::pin_to(::pthread_self(), cpus[0]);
  }
  std::vector<std::thread> threads;
  threads.reserve(n - 1);
  std::exception_ptr start_error;
  for (unsigned i = 1; i < n; ++i) {
    try {
      threads.emplace_back([&g, i, &main, &opts] { detail::run_group_loop(g, i, main, opts.run); });
      if (opts.pin) detail::pin_to(threads.back().native_handle(), cpus[i % cpus.size()]);
    } catch (...) {
      start_error = std::current_exception();
      std::lock_guard<std::mutex> lk(g.m);
      g.failed_start = true;
      // The loops never started count as arrived and closed, so the others do not wait.
      const unsigned missing = n - static_cast<unsigned>(threads.size()) - 1;
      g.arrived += missing;
      g.closed += missing;
      g.cv.notify_all();
      break;
    }
  }
  detail::run_group_loop(g, 0, main, opts.run);
  for (auto& t : threads) t.join();
  if (saved) ::pthread_setaffinity_np(::pthread_self(), sizeof *saved, &*saved);
  if (start_error) std::rethrow_exception(start_error);
  if (g.first_error) std::rethrow_exception(g.first_error);
}

std::span<const LoopRef> loops() {
  detail::LoopCore& loop = detail::LoopCore::require();
  if (loop.group_) return static_cast<detail::LoopGroup*>(loop.group_)->refs;
  static thread_local LoopRef alone;
  alone = LoopRef(loop, 0);
  return {&alone, 1};
}

unsigned current_loop_index() { return detail::LoopCore::require().index_; }

}  // namespace spindle
