// LoopCore: the loop's state and the scheduling primitives every blocking call is built on.
//
// Invariants:
//  - Exactly one context runs: the root (the thread inside run()) or one task's fiber.
//    `running_` is it; `current_` is its task, or null in the root and in loop callbacks.
//  - The ready queue is FIFO. A task is on it at most once (state Scheduled or Ready).
//  - A parked task has `parked_on_` pointing at a Waiter on its own stack, linked into one
//    wait structure. wake() and cancellation both detach it in O(1) before queueing the task.
//  - The loop holds one reference to each task from start_task() until its stack is back
//    in the pool; `live_` lists the unfinished tasks, `finished_` the finished ones that
//    handles still reference.
//  - Scheduling works in rounds, as asyncio's _run_once: due timers are queued at the start
//    of a round, then exactly the entries queued at that moment run, so a busy yield loop
//    cannot starve timers.
#pragma once

#include <time.h>

#include <atomic>
#include <boost/context/detail/fcontext.hpp>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <spindle/detail/remote.hpp>
#include <spindle/detail/task_state.hpp>
#include <spindle/errors.hpp>
#include <spindle/loop.hpp>
#include <spindle/reactor.hpp>
#include <spindle/run.hpp>
#include <spindle/source_location.hpp>
#include <spindle/stats.hpp>
#include <string>
#include <vector>

#include "sanitizer.hpp"
#include "stack_pool.hpp"
#include "thread_pool.hpp"
#include "timer_heap.hpp"

namespace spindle::detail {

/// A loop callback (call_soon/call_later/done callback). Reference counted: the loop holds a
/// reference while it is scheduled, each Handle another.
class BlockSampler;

struct CallbackNode : ReadyNode {
  CallbackNode(LoopCore* l, UniqueFunction<void()> f)
      : ReadyNode(Kind::Callback), loop(l), fn(std::move(f)) {}
  virtual ~CallbackNode() = default;  // done callbacks derive from it
  void release() noexcept {
    if (--refs == 0) delete this;
  }
  LoopCore* loop;  // null once the loop is gone
  UniqueFunction<void()> fn;
  TimerEntry entry;  // queued for call_later/call_at until due
  std::uint32_t refs = 1;
  bool cancelled = false;
};

/// "250 ms", "12.5 s": a duration for humans.
std::string format_duration(Clock::duration d);

/// Expires the deadline scope `scope` (a DeadlineScope): cancels its task. In timeout.cpp.
void expire_deadline(void* scope) noexcept;

/// The reactor a new loop uses: io/ provides epoll and io_uring (`requested` as
/// RunOptions::backend; `debug` says which was taken on stderr); the weak default in
/// thread.cpp only sleeps and wakes. Throws std::system_error if the backend cannot start.
std::unique_ptr<Reactor> make_reactor(Backend requested, bool debug);

class LoopCore final : public Loop {
 public:
  explicit LoopCore(RunOptions opts);
  ~LoopCore();

  /// The loop running on this thread, or null.
  static LoopCore* current_or_null() noexcept { return tls_current_; }
  /// The running task of this thread's loop, or null (no loop, or a loop callback).
  static TaskBase* running_task() noexcept {
    return tls_current_ ? tls_current_->current_ : nullptr;
  }
  /// The running loop. Throws std::logic_error("no running loop").
  static LoopCore& require() {
    if (!tls_current_) [[unlikely]]
      throw_no_loop();
    return *tls_current_;
  }
  /// The running task. Throws std::logic_error outside a task (a loop callback).
  TaskBase& require_task(const char* what) {
    if (!current_) [[unlikely]]
      throw_not_in_task(what);
    return *current_;
  }
  [[noreturn]] static void throw_no_loop();
  [[noreturn]] static void throw_not_in_task(const char* what);

  // --- ready queue -------------------------------------------------------------------------
  void push_ready(ReadyNode* n) noexcept {
    n->next_ready = nullptr;
    if (tail_) {
      tail_->next_ready = n;
    } else {
      head_ = n;
    }
    tail_ = n;
    ++ready_size_;
  }
  std::size_t ready_count() const noexcept { return ready_size_; }
  ReadyNode* pop_ready() noexcept {
    ReadyNode* n = head_;
    head_ = n->next_ready;
    if (!head_) tail_ = nullptr;
    --ready_size_;
    return n;
  }

  // --- parking -----------------------------------------------------------------------------
  /// Queues w's task with reason r. The caller has already detached w from its structure.
  /// True if t has a cancellation to deliver now (pending and not held back by CancelShield).
  static bool must_deliver(const TaskBase& t) noexcept {
    return t.cancel_pending_ && t.shield_depth_ == 0;
  }
  /// True if cancelling w's task now should interrupt w. CancelShield holds back even a
  /// forced cancellation: throwing inside a shielded destructor would terminate.
  static bool interrupts(const Waiter& w) noexcept {
    const TaskBase& t = *w.task;
    return w.detach && t.shield_depth_ == 0 && (w.interruptible || t.force_cancel_);
  }
  void wake(Waiter& w, WakeReason r) noexcept {
    w.reason = r;
    w.task->parked_on_ = nullptr;
    w.task->state_ = TaskBase::State::Ready;
    push_ready(w.task);
  }
  /// Parks the current task on w (which the caller linked into its wait structure) and
  /// returns the reason it was woken. `what` names the blocking call (a static string). With a
  /// cancellation pending and a w that cancellation may interrupt, detaches w and returns Cancelled
  /// at once without switching.
  WakeReason park(Waiter& w, const char* what, SourceLocation where) noexcept {
    TaskBase& self = *current_;
    w.task = &self;
    if (self.cancel_pending_ && interrupts(w)) [[unlikely]] {
      w.detach(w);
      w.reason = WakeReason::Cancelled;
      return w.reason;
    }
    w.reason = WakeReason::None;
    self.parked_on_ = &w;
    self.parked_at_ = where;
    self.parked_in_ = what;
    self.parked_since_ = park_time();
    self.state_ = TaskBase::State::Parked;
    suspend();
    return w.reason;
  }
  /// True if the running task must take its pending cancellation now.
  static bool running_cancel_wins() noexcept {
    TaskBase* t = running_task();
    return t && must_deliver(*t);
  }
  /// Switches away from the current task (already queued or parked) until it is resumed.
  void suspend() noexcept {
    ExecContext& self = *running_;
    if (debug_) [[unlikely]]
      check_slow(*self.task);
    ExecContext* next = pick_next();
    if (next == &self) [[unlikely]] {
      current_ = self.task;
      current_->state_ = TaskBase::State::Running;
      if (debug_) [[unlikely]]
        note_resumed();
      return;
    }
    switch_to(self, *next);
  }
  /// Delivers the pending cancellation of t: clears it and throws its CancelledError.
  [[noreturn]] static void throw_cancelled(TaskBase& t);
  /// Throws t's pending cancellation if it must be delivered now.
  static void deliver_pending(TaskBase& t) {
    if (must_deliver(t)) [[unlikely]]
      throw_cancelled(t);
  }

  // --- tasks ---------------------------------------------------------------------------------
  void start(TaskBase& t, TaskStartOptions opts);
  /// Requests cancellation of t (see AnyTask::cancel); `why` is what it will throw. `force`
  /// also interrupts waits that are not interruptible (used to unwind deadlocked tasks).
  bool cancel(TaskBase& t, const CancelledError& why, bool force = false) noexcept;
  /// Takes back one cancellation request of t; at zero, an undelivered one is withdrawn.
  /// Returns the remaining count. asyncio: Task.uncancel()
  static std::uint32_t uncancel(TaskBase& t) noexcept {
    if (t.cancels_requested_ > 0 && --t.cancels_requested_ == 0) t.cancel_pending_ = false;
    return t.cancels_requested_;
  }
  /// A CancelledError naming the current task (if any) as the requester.
  CancelledError origin(CancelledError::Reason reason, std::string message,
                        SourceLocation where) const;
  /// Entry point of every task fiber.
  static void task_entry(boost::context::detail::transfer_t t) noexcept;
  /// A fresh fiber context at the top of c's stack that starts in task_entry.
  [[gnu::noinline]] static void* make_task_context(const ExecContext& c) noexcept {
    return boost::context::detail::make_fcontext(static_cast<char*>(c.stack_lo) + c.stack_size,
                                                 c.stack_size, &task_entry);
  }

  // --- driving (root context) ---------------------------------------------------------------
  /// Runs tasks and callbacks until nothing is runnable, then returns to the root.
  void drive() noexcept;
  void run_until_done(TaskBase& main);

  // --- timers --------------------------------------------------------------------------------
  TimerHeap& timers() noexcept { return timers_; }
  /// Queues e to wake w (parked, or about to park) with WakeReason::Timeout at `when`.
  void wake_at(TimerEntry& e, Waiter& w, Clock::time_point when) {
    e.deadline = when;
    e.kind = TimerEntry::Kind::Wake;
    e.target = &w;
    timers_.push(e);
  }
  /// When a task parks: the coarse clock (a 4 ms tick, read in about 4 ns), or virtual time.
  Clock::time_point park_time() const noexcept {
    if (virtual_time_) return virtual_now_;
    timespec c;
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &c);
    return Clock::time_point{std::chrono::seconds(c.tv_sec) + std::chrono::nanoseconds(c.tv_nsec)};
  }
  /// The loop's clock: real, or virtual (RunOptions::virtual_time: moves only when every
  /// task is parked, straight to the next deadline).
  Clock::time_point now() const noexcept { return virtual_time_ ? virtual_now_ : Clock::now(); }

  void report(const std::string& message, std::exception_ptr e, const TaskBase* t) noexcept;

  // --- other threads -------------------------------------------------------------------------
  /// Queues a callback from any thread and wakes the loop. Throws std::bad_alloc.
  void post(UniqueFunction<void()> f);
  /// Queues a message node from any thread (see detail/remote.hpp); false once closed.
  bool post_node(RemoteNode& n) noexcept;
  /// Takes n off the inbox if still queued (loop thread only); true if it was.
  bool unpost_node(RemoteNode& n) noexcept;
  /// Stops taking messages from other threads: later posts fail, and what is still queued
  /// is dropped (nodes hear run(node, true)). Called once the loop has no task left.
  void close() noexcept;
  /// Waits for the thread pool's work, then close().
  void stop_taking_messages() noexcept;
  /// Tasks of this loop parked until another loop or thread answers (call_on, Channel):
  /// they count as outside work (no deadlock report) and make an idle loop spin first.
  std::size_t cross_waits_ = 0;
  /// The run_threads() group this loop belongs to, and its index there (0 without one).
  void* group_ = nullptr;
  unsigned index_ = 0;
  /// Asks the loop to write dump_tasks() to stderr at its next switch. Async-signal-safe
  /// (the dump signal's handler calls it): atomics and an eventfd write.
  void request_dump() noexcept {
    dump_requested_.store(true);
    remote_pending_.store(true, std::memory_order_release);
    reactor_->wake();
  }
  /// The thread pool, started on first use.
  ThreadPool& workers();
  std::size_t jobs_ = 0;               // to_thread calls in flight (loop thread only)
  std::size_t io_waiters_ = 0;         // tasks parked in the reactor for I/O (kept by io/)
  std::atomic<std::size_t> holds_{0};  // KeepAlive tokens
  std::unique_ptr<Reactor> reactor_;
  void schedule_callback(CallbackNode* n) noexcept { push_ready(n); }

  TaskBase* current_ = nullptr;
  std::size_t default_stack_size_;
  bool debug_;
  bool track_stack_;                         // exact stack high-water marks (fresh stacks)
  Clock::duration slow_callback_;            // debug mode: report runs longer than this
  Clock::duration timer_slack_;              // an idle loop may sleep this much past a deadline
  Clock::time_point run_started_;            // debug mode: when the running context resumed
  const char* resumed_in_ = "";              // debug mode: the blocking call it resumed from
  SourceLocation resumed_at_;                // and that call's site
  std::atomic<bool> dump_requested_{false};  // set by the dump signal's handler
  std::function<void(const ExceptionContext&)> handler_;
  IntrusiveList<TaskBase, RegistryTag> live_;
  IntrusiveList<TaskBase, RegistryTag> finished_;
  std::size_t live_count_ = 0;

 private:
  friend class ::spindle::Loop;
  /// The next context to run. Fast path: the head of the queue is a task of this round.
  ExecContext* pick_next() noexcept {
    current_ = nullptr;  // loop callbacks run outside any task
    if (round_left_ == 0 && timers_.empty() && io_waiters_ == 0 &&
        !remote_pending_.load(std::memory_order_relaxed)) {
      round_left_ = ready_size_;  // a new round with no timers and nothing from other threads
    }
    if (round_left_ != 0 && head_->kind == ReadyNode::Kind::Task) [[likely]] {
      --round_left_;
      return &static_cast<TaskBase*>(pop_ready())->ctx_;
    }
    return pick_next_slow();
  }
  ExecContext* pick_next_slow() noexcept;
  void fire_due_timers() noexcept;
  void drain_remote() noexcept;
  /// Runs the queued messages (`dropped`: the loop has closed; they hear run(node, true)).
  void run_nodes(bool dropped) noexcept;
  bool idle_wait() noexcept;
  /// Polls for messages from other threads until `until`; true if one came (or a task
  /// became ready through I/O).
  bool spin_for_remote(Clock::time_point until) noexcept;
  /// Wakes the reactor if the loop sleeps (or is about to); called after publishing work.
  /// The poster stored remote_pending_ with seq_cst: with idle_wait's seq_cst store of
  /// sleeping_ and load of remote_pending_, either side sees the other (no fences: TSan
  /// does not model them).
  void wake_if_sleeping() noexcept {
    if (sleeping_.load(std::memory_order_seq_cst)) reactor_->wake();
  }
  void run_callback(CallbackNode* n) noexcept;
  [[gnu::always_inline]] void switch_to(ExecContext& from, ExecContext& to) noexcept {
    if (from.canary && *from.canary != kStackCanary) [[unlikely]]
      canary_overwritten(from);
    // A task's first switch-in starts its fiber. Before the sanitizer annotations: no
    // instrumented code may run between __tsan_switch_to_fiber and the jump.
    if (!to.fctx) [[unlikely]]
      to.fctx = make_task_context(to);
    running_ = &to;
    ++switches_;
    // The C++ runtime keeps the caught-exception stack and std::uncaught_exceptions() per
    // thread; each fiber needs its own, or a task parked inside a catch block would
    // rethrow another task's exception.
    from.eh_caught = eh_globals_->caught;
    from.eh_uncaught = eh_globals_->uncaught;
    eh_globals_->caught = to.eh_caught;
    eh_globals_->uncaught = to.eh_uncaught;
#if defined(SPINDLE_ASAN)
    __sanitizer_start_switch_fiber(from.exiting ? nullptr : &from.asan_fake_stack, to.asan_bottom,
                                   to.asan_size);
#endif
#if defined(SPINDLE_TSAN)
    __tsan_switch_to_fiber(to.tsan_fiber, 0);  // the last call before the jump (MESON.md)
#endif
    after_switch(boost::context::detail::jump_fcontext(to.fctx, &from));
  }
  /// Runs in the context just resumed: records where the previous one stopped (or returns
  /// its stack if it finished) and makes the resumed task current.
  [[gnu::always_inline]] void after_switch(boost::context::detail::transfer_t t) noexcept {
    auto* prev = static_cast<ExecContext*>(t.data);
    ExecContext& self = *running_;
#if defined(SPINDLE_ASAN)
    __sanitizer_finish_switch_fiber(self.asan_fake_stack, &prev->asan_bottom, &prev->asan_size);
#endif
    if (prev->exiting) [[unlikely]] {
      release_finished(*prev->task);
    } else {
      prev->fctx = t.fctx;
    }
    current_ = self.task;
    if (current_) current_->state_ = TaskBase::State::Running;
    if (debug_) [[unlikely]]
      note_resumed();
  }
  /// Debug mode: the running context starts its slice now; remembers where it resumed from.
  /// Out of line so that the switch path stays small.
  [[gnu::cold, gnu::noinline]] void note_resumed() noexcept;
  void finish(TaskBase& t, std::exception_ptr error, bool cancelled) noexcept;
  [[noreturn]] void exit_current() noexcept;
  void release_finished(TaskBase& t) noexcept;
  void cancel_all_live(CancelledError::Reason reason, bool force) noexcept;
  std::string describe_parked() const;

 public:
  /// One line about t for dump_tasks(): state, blocking call, site, time parked, stack.
  void describe(std::ostream& out, const TaskBase& t) const;
  /// Where t is parked: "parked in Lock::lock at f.cpp:41, held by Task-7".
  static void describe_wait(std::ostream& out, const TaskBase& t);
  /// Writes dump_tasks() to stderr in one piece (the dump signal's work).
  void dump_to_stderr() noexcept;
  /// The stack t runs on.
  static Stack stack_of(const TaskBase& t) noexcept {
    return {t.ctx_.stack_lo, t.ctx_.stack_size, t.ctx_.canary};
  }
  StackPool& pool() noexcept { return pool_; }
  /// The registry of live loops gdb's extension walks (debug_layout.cpp): the newest first.
  void debug_register() noexcept;
  void debug_unregister() noexcept;
  LoopCore* debug_next_ = nullptr;
  LoopCore* debug_prev_ = nullptr;
  std::int32_t debug_tid_ = 0;  // the thread the loop runs on
  /// stats() of this loop (loop thread only).
  LoopStats stats();

 private:
  /// Gives t's stack back to the pool (recording its high-water mark when tracked).
  void return_stack(TaskBase& t) noexcept;
  /// Debug mode: reports t if it ran longer than slow_callback_ since it resumed.
  void check_slow(const TaskBase& t) noexcept;
  [[noreturn]] static void canary_overwritten(const ExecContext& c) noexcept;

  // initial-exec: a plain %fs-relative load instead of a __tls_get_addr call per switch.
  // constinit: no TLS init wrapper call from other translation units.
  /// The Itanium C++ ABI's per-thread exception globals (__cxa_eh_globals), shared by
  /// libstdc++ and libc++abi on x86-64 and AArch64.
  struct EhGlobals {
    void* caught;
    unsigned int uncaught;
  };
  std::unique_ptr<StackPool> own_pool_;  // RunOptions asked for a pool of its own
  StackPool& pool_;
  EhGlobals* eh_globals_;
  void* altstack_ = nullptr;  // the overflow handler's alternate stack, if this loop set it
  int dump_slot_ = -1;        // this loop's entry in the dump signal's registry
  std::unique_ptr<BlockSampler> sampler_;  // debug mode: samples the stack of slow tasks
  unsigned rounds_since_poll_ = 0;
  bool virtual_time_;
  Clock::time_point virtual_now_;
  Clock::duration coarse_slack_;

  static constinit thread_local LoopCore* tls_current_ __attribute__((tls_model("initial-exec")));

  ReadyNode* head_ = nullptr;
  ReadyNode* tail_ = nullptr;
  std::size_t ready_size_ = 0;
  std::size_t round_left_ = 0;
  ExecContext root_;
  ExecContext* running_ = &root_;
  TimerHeap timers_;
  TaskBase* main_ = nullptr;
  bool shutting_down_ = false;
  std::uint64_t next_task_id_ = 1;
  std::mutex remote_mutex_;
  std::vector<CallbackNode*> remote_;           // callbacks posted from other threads
  IntrusiveList<RemoteNode, RemoteTag> nodes_;  // messages from other loops (remote_mutex_)
  bool closed_ = false;                         // (remote_mutex_) no more posts
  std::atomic<bool> remote_pending_{false};
  // Set while the loop sleeps in the reactor: posters wake it only then, so a busy or
  // spinning loop takes messages without a syscall on either side.
  std::atomic<bool> sleeping_{false};
  Clock::duration spin_;            // RunOptions::cross_loop_spin
  Clock::time_point spin_until_{};  // messages came lately: spin when idle until then
  std::unique_ptr<ThreadPool> workers_;
  std::uint64_t finish_count_ = 0;
  std::uint64_t switches_ = 0;
};

}  // namespace spindle::detail
