// The scheduler: direct switches between fibers, rounds, timers, loop callbacks.
//
// A parking task calls suspend(), which picks the next ready entry itself (running due
// timers and loop callbacks on the way) and jumps straight to that task's fiber; there is
// no scheduler fiber in between. When nothing is ready the same code sleeps until the next
// timer. The root context (the thread inside run()) is resumed only when nothing can run.
// Invariants are listed in loop_core.hpp.
#include <cxxabi.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>

#include "loop_core.hpp"
#include "sampler.hpp"
#include "signals.hpp"

namespace ctx = boost::context::detail;

namespace spindle {
namespace detail {

constinit thread_local LoopCore* LoopCore::tls_current_ __attribute__((tls_model("initial-exec"))) =
    nullptr;

namespace {
constexpr std::size_t kDefaultStack = 128 * 1024;

// Twice the coarse clock's resolution (a tick). Without a coarse clock, a slack so large
// that the shortcut never applies (no deadline lies 100 years past the coarse time).
Clock::duration coarse_slack() noexcept {
  timespec r;
  if (::clock_getres(CLOCK_MONOTONIC_COARSE, &r) != 0) return std::chrono::hours(24 * 365 * 100);
  return 2 * (std::chrono::seconds(r.tv_sec) + std::chrono::nanoseconds(r.tv_nsec));
}

bool env_debug() noexcept {
  const char* v = std::getenv("SPINDLE_DEBUG");
  return v && *v && *v != '0';
}

std::unique_ptr<StackPool> own_pool_for(const RunOptions& opts) {
  if (opts.stack_guard == StackGuard::Auto && opts.max_map_count == 0) return nullptr;
  return std::make_unique<StackPool>(opts.stack_guard, opts.max_map_count);
}
}  // namespace

LoopCore::LoopCore(RunOptions opts)
    : default_stack_size_(opts.stack_size ? opts.stack_size : kDefaultStack),
      debug_(opts.debug || env_debug()),
      track_stack_(opts.track_stack_use || debug_),
      slow_callback_(std::chrono::duration_cast<Clock::duration>(opts.slow_callback)),
      timer_slack_(std::chrono::duration_cast<Clock::duration>(opts.timer_slack)),
      handler_(std::move(opts.exception_handler)),
      own_pool_(own_pool_for(opts)),
      pool_(own_pool_ ? *own_pool_ : StackPool::local()),
      eh_globals_(reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals())),
      virtual_time_(opts.virtual_time),
      virtual_now_(Clock::now()),
      coarse_slack_(coarse_slack()),
      spin_(std::chrono::duration_cast<Clock::duration>(opts.cross_loop_spin)) {
  if (opts.timer_slack.count() < 0) {
    throw std::invalid_argument("RunOptions::timer_slack must not be negative");
  }
  if (opts.cross_loop_spin.count() < 0) {
    throw std::invalid_argument("RunOptions::cross_loop_spin must not be negative");
  }
  if (opts.slow_callback.count() < 0) {
    throw std::invalid_argument("RunOptions::slow_callback must not be negative");
  }
  if (tls_current_) {
    throw std::logic_error("spindle::run: a loop is already running on this thread");
  }
  reactor_ = make_reactor(opts.backend, debug_);
  if (opts.dump_signal != 0) dump_slot_ = register_dump_signal(this, opts.dump_signal);
  altstack_ = prepare_overflow_handler();
#if defined(SPINDLE_TSAN)
  root_.tsan_fiber = __tsan_get_current_fiber();
#endif
  tls_current_ = this;
  if (debug_ && slow_callback_ > Clock::duration::zero()) {
    sampler_ = std::make_unique<BlockSampler>(slow_callback_);
  }
  debug_register();  // last: a constructor that throws leaves nothing registered
}

LoopCore::~LoopCore() {
  debug_unregister();
  sampler_.reset();
  stop_taking_messages();
  // Callbacks that never ran (ready, or timers still pending) are dropped, as asyncio
  // drops them when run() closes the loop.
  while (head_) {
    ReadyNode* n = pop_ready();
    if (n->kind == ReadyNode::Kind::Callback) static_cast<CallbackNode*>(n)->release();
  }
  while (!timers_.empty()) {
    TimerEntry* e = timers_.pop();
    if (e->kind == TimerEntry::Kind::Callback) {
      auto* n = static_cast<CallbackNode*>(e->target);
      n->loop = nullptr;
      n->release();
    }
  }
  // Handles may outlive the loop: they must not reach back into it.
  finished_.for_each([](TaskBase& t) {
    t.loop_ = nullptr;
    IntrusiveList<TaskBase, RegistryTag>::erase(t);
  });
  unregister_dump_signal(dump_slot_);
  free_altstack(altstack_);
  tls_current_ = nullptr;
}

void LoopCore::throw_no_loop() {
  throw std::logic_error("no running loop (call this inside spindle::run)");
}

void LoopCore::throw_not_in_task(const char* what) {
  throw std::logic_error(std::string(what) + ": not inside a task (loop callbacks must not block)");
}

// --- switching ---------------------------------------------------------------------------

void LoopCore::task_entry(ctx::transfer_t t) noexcept {
  LoopCore& loop = *tls_current_;
  loop.after_switch(t);
  TaskBase& self = *loop.current_;
  std::exception_ptr error;
  bool cancelled = self.cancel_pending_;  // cancelled before it ever ran: skip the body
  if (cancelled) {
    self.drop_body();
  } else {
    try {
      self.run_body();
    } catch (const CancelledError&) {
      error = std::current_exception();
      cancelled = true;
    } catch (...) {
      error = std::current_exception();
    }
  }
  loop.finish(self, std::move(error), cancelled);
  loop.exit_current();
}

void LoopCore::exit_current() noexcept {
  TaskBase& self = *current_;
  self.ctx_.exiting = true;
  if (debug_) [[unlikely]]
    check_slow(self);
  ExecContext* next = pick_next();
  switch_to(self.ctx_, *next);
  std::abort();  // a finished task is never resumed
}

void LoopCore::return_stack(TaskBase& t) noexcept {
  const Stack s = stack_of(t);
  if (track_stack_) t.stack_used_ = pool_.used(s);
#if defined(SPINDLE_TSAN)
  __tsan_destroy_fiber(t.ctx_.tsan_fiber);
  t.ctx_.tsan_fiber = nullptr;
#endif
  pool_.release(s);
}

void LoopCore::release_finished(TaskBase& t) noexcept {
  return_stack(t);
  t.ctx_.fctx = nullptr;
  t.ctx_.exiting = false;
  t.release();  // the loop's reference; may report an unretrieved exception
}

// --- scheduling --------------------------------------------------------------------------

ExecContext* LoopCore::pick_next_slow() noexcept {
  for (;;) {
    if (round_left_ == 0) {
      drain_remote();
      // Tasks wait for I/O while others keep the loop busy: look at the reactor every 32
      // rounds (asyncio polls every iteration; this bounds the syscalls).
      if (io_waiters_ > 0 && ready_size_ > 0 && ++rounds_since_poll_ >= 32) {
        rounds_since_poll_ = 0;
        reactor_->poll(Clock::time_point::min());
      }
      fire_due_timers();
      round_left_ = ready_size_;
      if (round_left_ == 0) {
        // Nothing ready: with no task left the loop is finished (pending timer callbacks
        // are dropped, as asyncio.run does); otherwise wait for the next timer.
        if (live_count_ == 0 || !idle_wait()) return &root_;
        continue;
      }
    }
    ReadyNode* n = pop_ready();
    --round_left_;
    if (n->kind == ReadyNode::Kind::Task) return &static_cast<TaskBase*>(n)->ctx_;
    run_callback(static_cast<CallbackNode*>(n));
  }
}

void LoopCore::drive() noexcept {
  ExecContext* next = pick_next();
  if (next != &root_) switch_to(root_, *next);
  current_ = nullptr;
}

void LoopCore::fire_due_timers() noexcept {
  if (timers_.empty()) return;
  if (!virtual_time_) {
    // The coarse clock (a kernel tick variable, 4 ns to read) trails the precise one by at
    // most about a tick: a first deadline beyond coarse + slack cannot be due yet, and the
    // precise read (16 ns here) is skipped. Timers never fire early either way.
    timespec c;
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &c);
    const Clock::time_point coarse{std::chrono::seconds(c.tv_sec) +
                                   std::chrono::nanoseconds(c.tv_nsec)};
    if (timers_.top_deadline() > coarse + coarse_slack_) return;
  }
  const Clock::time_point t = now();
  while (!timers_.empty() && timers_.top_deadline() <= t) {
    TimerEntry* e = timers_.pop();
    switch (e->kind) {
      case TimerEntry::Kind::Wake: {
        auto& w = *static_cast<Waiter*>(e->target);
        if (w.task->parked_on_ == &w) {
          if (w.detach) w.detach(w);  // leave every wait structure, as cancellation does
          wake(w, WakeReason::Timeout);
        }
        break;
      }
      case TimerEntry::Kind::Callback:
        push_ready(static_cast<CallbackNode*>(e->target));
        break;
      case TimerEntry::Kind::Deadline:
        expire_deadline(e->target);
        break;
    }
  }
}

bool LoopCore::idle_wait() noexcept {
  if (remote_pending_.load(std::memory_order_acquire)) return true;
  // Work outside the loop that can still wake a task: thread-pool jobs, threads holding a
  // KeepAlive, tasks waiting for I/O or for another loop.
  const bool external = jobs_ > 0 || holds_.load(std::memory_order_acquire) > 0 ||
                        io_waiters_ > 0 || cross_waits_ > 0;
  if (timers_.empty() && !external) return false;  // nothing can ever wake a task
  if (virtual_time_ && !external) {
    virtual_now_ = std::max(virtual_now_, timers_.top_deadline());
    return true;
  }
  std::optional<Clock::time_point> deadline;
  if (!timers_.empty() && !virtual_time_) deadline = timers_.top_deadline() + timer_slack_;
  if (spin_.count() > 0 && (cross_waits_ > 0 || spin_until_ != Clock::time_point{})) {
    // A message from another loop is expected or came lately: poll for a while first.
    const Clock::time_point now = Clock::now();
    Clock::time_point until = cross_waits_ > 0 ? now + spin_ : spin_until_;
    if (deadline && *deadline < until) until = *deadline;
    if (until > now && spin_for_remote(until)) return true;
    if (cross_waits_ == 0) spin_until_ = {};
  }
  // Sleeping: posters that see the flag write the eventfd. Both sides use seq_cst (see
  // wake_if_sleeping()): either they see the flag or this sees their message.
  sleeping_.store(true, std::memory_order_seq_cst);
  if (remote_pending_.load(std::memory_order_seq_cst)) {
    sleeping_.store(false, std::memory_order_relaxed);
    return true;
  }
  reactor_->poll(deadline);
  sleeping_.store(false, std::memory_order_relaxed);
  return true;
}

bool LoopCore::spin_for_remote(Clock::time_point until) noexcept {
  for (unsigned i = 1;; ++i) {
    if (remote_pending_.load(std::memory_order_relaxed)) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
    if ((i & 63) == 0) {
      if (Clock::now() >= until) return false;
      if ((i & 255) == 0 && io_waiters_ > 0) {
        reactor_->poll(Clock::time_point::min());  // I/O readiness while spinning
        if (ready_size_ > 0) return true;
      }
    }
  }
}

void LoopCore::drain_remote() noexcept {
  if (!remote_pending_.load(std::memory_order_relaxed)) return;
  if (dump_requested_.exchange(false)) [[unlikely]]
    dump_to_stderr();
  std::vector<CallbackNode*> batch;
  bool nodes;
  {
    std::lock_guard<std::mutex> lk(remote_mutex_);
    batch.swap(remote_);
    remote_pending_.store(false, std::memory_order_relaxed);
    nodes = !nodes_.empty();
  }
  for (CallbackNode* n : batch) push_ready(n);
  if (nodes) run_nodes(false);
}

void LoopCore::run_nodes(bool dropped) noexcept {
  // One node at a time under the lock, so a node's run() may take another one back off the
  // inbox (unpost_node) before it runs: a cancelled waiter does that.
  for (;;) {
    RemoteNode* n;
    {
      std::lock_guard<std::mutex> lk(remote_mutex_);
      n = nodes_.pop_front();
    }
    if (!n) break;
    n->run(*n, dropped);
  }
  if (!dropped && spin_.count() > 0) spin_until_ = Clock::now() + spin_;
}

bool LoopCore::post_node(RemoteNode& n) noexcept {
  {
    std::lock_guard<std::mutex> lk(remote_mutex_);
    if (closed_) return false;
    if (!n.linked()) nodes_.push_back(n);
    remote_pending_.store(true, std::memory_order_seq_cst);
  }
  wake_if_sleeping();
  return true;
}

bool LoopCore::unpost_node(RemoteNode& n) noexcept {
  std::lock_guard<std::mutex> lk(remote_mutex_);
  if (!n.linked()) return false;
  n.unlink();
  return true;
}

void LoopCore::stop_taking_messages() noexcept {
  // Let to_thread work still running finish (asyncio's run() waits for its executor too);
  // the completions it posts are dropped with the other pending messages.
  workers_.reset();
  close();
}

void LoopCore::close() noexcept {
  std::vector<CallbackNode*> callbacks;
  {
    std::lock_guard<std::mutex> lk(remote_mutex_);
    if (closed_) return;
    closed_ = true;
    callbacks.swap(remote_);
  }
  for (CallbackNode* n : callbacks) n->release();
  run_nodes(true);
}

void LoopCore::run_callback(CallbackNode* n) noexcept {
  if (!n->cancelled) {
    const Clock::time_point start = debug_ ? Clock::now() : Clock::time_point{};
    try {
      n->fn();
    } catch (...) {
      report("Exception in callback", std::current_exception(), nullptr);
    }
    if (debug_) [[unlikely]] {
      const auto took = Clock::now() - start;
      if (took > slow_callback_) {
        report("a loop callback ran " + format_duration(took) + " without returning", nullptr,
               nullptr);
      }
    }
  }
  n->release();
}

// --- parking -----------------------------------------------------------------------------

void LoopCore::throw_cancelled(TaskBase& t) {
  t.cancel_pending_ = false;
  t.cancel_delivered_ = true;
  t.delivered_at_ = t.parked_at_;
  throw CancelledError(t.cancel_error());
}

// --- reporting -----------------------------------------------------------------------------

void LoopCore::report(const std::string& message, std::exception_ptr e,
                      const TaskBase* t) noexcept {
  TaskBase* saved = current_;
  current_ = nullptr;  // the handler must not block
  call_exception_handler({message, std::move(e), t ? t->name() : std::string()});
  current_ = saved;
}

}  // namespace detail

// --- Loop: the public face of LoopCore ------------------------------------------------------

namespace {
detail::LoopCore& core(Loop* l) noexcept { return *static_cast<detail::LoopCore*>(l); }
const detail::LoopCore& core(const Loop* l) noexcept {
  return *static_cast<const detail::LoopCore*>(l);
}

std::string describe(const std::exception_ptr& e) {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (const CancelledError& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}
}  // namespace

Loop& Loop::current() { return detail::LoopCore::require(); }

bool detail::post_node(Loop& loop, RemoteNode& n) noexcept { return core(&loop).post_node(n); }

bool detail::unpost_node(Loop& loop, RemoteNode& n) noexcept { return core(&loop).unpost_node(n); }

Clock::time_point Loop::time() const noexcept { return core(this).now(); }

Backend Loop::backend() const noexcept { return core(this).reactor_->backend(); }

const char* to_string(Backend b) noexcept {
  switch (b) {
    case Backend::Epoll: return "epoll";
    case Backend::IoUring: return "io_uring";
    case Backend::Auto: break;
  }
  return "auto";
}

bool Loop::debug() const noexcept { return core(this).debug_; }

Handle Loop::call_soon(detail::UniqueFunction<void()> f) {
  auto* n = new detail::CallbackNode(&core(this), std::move(f));
  core(this).push_ready(n);
  return Handle(n);
}

TimerHandle Loop::call_at(Clock::time_point t, detail::UniqueFunction<void()> f) {
  auto n = std::make_unique<detail::CallbackNode>(&core(this), std::move(f));
  n->entry.deadline = t;
  n->entry.kind = detail::TimerEntry::Kind::Callback;
  n->entry.target = n.get();
  core(this).timers().push(n->entry);
  return TimerHandle(n.release());
}

void Loop::set_exception_handler(std::function<void(const ExceptionContext&)> handler) {
  core(this).handler_ = std::move(handler);
}

void Loop::call_exception_handler(const ExceptionContext& ctx) noexcept {
  try {
    if (core(this).handler_) {
      core(this).handler_(ctx);
    } else {
      default_exception_handler(ctx);
    }
  } catch (...) {
    std::fprintf(stderr, "spindle: the exception handler threw: %s\n",
                 describe(std::current_exception()).c_str());
  }
}

void Loop::default_exception_handler(const ExceptionContext& ctx) {
  std::string line = "spindle: " + ctx.message;
  if (!ctx.task_name.empty()) line += " (task " + ctx.task_name + ")";
  if (ctx.exception) line += ": " + describe(ctx.exception);
  std::fprintf(stderr, "%s\n", line.c_str());
}

// --- handles ---------------------------------------------------------------------------------

Handle::Handle(detail::CallbackNode* n) noexcept : n_(n) {
  if (n_) ++n_->refs;
}
Handle::Handle(const Handle& o) noexcept : Handle(o.n_) {}
Handle& Handle::operator=(Handle o) noexcept {
  std::swap(n_, o.n_);
  return *this;
}
Handle::~Handle() {
  if (n_) n_->release();
}

void Handle::cancel() noexcept {
  if (!n_ || n_->cancelled) return;
  n_->cancelled = true;
  if (n_->entry.queued() && n_->loop) {
    // Still in the timer heap: remove it now rather than leaving a tombstone.
    n_->loop->timers().remove(n_->entry);
    n_->release();  // the loop's reference
  }
}

bool Handle::cancelled() const noexcept { return n_ && n_->cancelled; }

Clock::time_point TimerHandle::when() const noexcept { return n_->entry.deadline; }

}  // namespace spindle
