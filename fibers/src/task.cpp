// Task lifecycle: start (stack + fiber), finish (result, done-waiters), cancellation
// requests, join, done callbacks, and the unretrieved-exception report.
//
// A task is Scheduled on the ready queue until its first switch-in, Running while its fiber
// runs, Parked on a Waiter, Ready once woken, Done after its body returned or threw. Its
// done-waiters are notified in registration order, synchronously, from the finishing fiber.
#include <memory>
#include <spindle/detail/introspect.hpp>
#include <spindle/task.hpp>
#include <stdexcept>

#include "context.hpp"
#include "loop_core.hpp"


namespace spindle {
namespace detail {

// --- TaskBase --------------------------------------------------------------------------------

namespace {
thread_local std::size_t tls_task_states = 0;
}

std::size_t live_task_states() noexcept { return tls_task_states; }

StackCounts stack_counts() noexcept {
  LoopCore* loop = LoopCore::current_or_null();
  const StackPool& p = loop ? loop->pool() : StackPool::local();
  return {p.carved(StackPool::GuardMode::GuardInstall), p.carved(StackPool::GuardMode::Mprotect),
          p.carved(StackPool::GuardMode::Canary)};
}

TaskBase::TaskBase() noexcept : ReadyNode(Kind::Task) {
  ctx_.task = this;
  ++tls_task_states;
}

TaskBase::~TaskBase() {
  ContextData::release(context_);
  --tls_task_states;
}

const CancelledError& TaskBase::cancel_error() const noexcept {
  static const CancelledError bare;
  return cancel_error_ ? *cancel_error_ : bare;
}

std::string TaskBase::name() const { return name_.empty() ? "Task-" + std::to_string(id_) : name_; }

void TaskBase::last_reference_gone() noexcept {
  if (error_ && !retrieved_ && !cancelled_) {
    const char* msg = "Task exception was never retrieved";
    if (loop_) {
      loop_->report(msg, error_, this);
    } else {
      Loop::default_exception_handler({msg, error_, name()});
    }
  }
  delete this;
}

// --- start / finish ----------------------------------------------------------------------------

void LoopCore::start(TaskBase& t, TaskStartOptions opts) {
  const Stack s =
      pool_.allocate(opts.stack_size ? opts.stack_size : default_stack_size_, track_stack_);
  t.loop_ = this;
  t.context_ = ContextData::acquire(current_context());  // a copy of the parent's values
  t.id_ = next_task_id_++;
  t.name_ = std::move(opts.name);
  t.ctx_.stack_lo = s.lo;
  t.ctx_.stack_size = s.size;
  t.ctx_.canary = s.canary;
#if defined(SPINDLE_TSAN)
  t.ctx_.tsan_fiber = __tsan_create_fiber(0);
#endif
  t.ctx_.asan_bottom = s.lo;
  t.ctx_.asan_size = s.size;
  // No fctx yet: the context is made on the task's first switch-in (switch_to), so spawning
  // does not touch the stack. A stack page first written when its task runs is written once;
  // written at spawn, it may need a second costly touch if the pool grows in between (on PVM
  // guests every guard installation drops the host's mappings of the pages touched so far).
  t.ctx_.fctx = nullptr;
  t.add_ref();  // the loop's reference, dropped when the stack is back in the pool
  live_.push_back(t);
  ++live_count_;
  t.state_ = TaskBase::State::Scheduled;
  push_ready(&t);
}

void LoopCore::finish(TaskBase& t, std::exception_ptr error, bool cancelled) noexcept {
  if (!error && (cancelled || t.cancel_pending_)) {
    // Cancelled before it started, or cancelled while running and returned before its next
    // blocking call: asyncio marks both cancelled.
    error = std::make_exception_ptr(t.cancel_error());
    cancelled = true;
  } else if (!error && t.cancel_delivered_ && t.cancels_requested_ > 0 && debug_) {
    // It caught a CancelledError and returned normally without uncancel(): usually a bug
    // (a cancelled wait_for or TaskGroup then never learns it was cancelled).
    const auto& at = t.delivered_at_;
    report("Task swallowed a cancellation: CancelledError was thrown at " +
               std::string(at.file_name()) + ":" + std::to_string(at.line()) +
               " but the task finished normally without uncancel()",
           std::make_exception_ptr(t.cancel_error()), &t);
  }
  t.cancel_pending_ = false;
  t.error_ = std::move(error);
  t.cancelled_ = cancelled;
  t.state_ = TaskBase::State::Done;
  t.finish_seq_ = ++finish_count_;
  IntrusiveList<TaskBase, RegistryTag>::erase(t);
  finished_.push_back(t);
  --live_count_;
  if (shutting_down_ && t.error_ && !cancelled && !t.retrieved_) {
    t.retrieved_ = true;
    report("unhandled exception during spindle::run() shutdown", t.error_, &t);
  }
  while (DoneWaiter* w = t.done_waiters_.pop_front()) w->on_done(*w, t);
  if (&t == main_) {
    main_ = nullptr;
    cancel_all_live(CancelledError::Reason::Shutdown, false);
  }
}

void LoopCore::cancel_all_live(CancelledError::Reason reason, bool force) noexcept {
  shutting_down_ = true;
  const CancelledError why(reason,
                           reason == CancelledError::Reason::Deadlock
                               ? "spindle::run() is unwinding deadlocked tasks"
                               : "spindle::run() is shutting down",
                           "", {});
  // Youngest first: children usually borrow from their parents' frames, so they should
  // unwind before the parents do (this order also decides who runs first).
  live_.for_each_reverse([&](TaskBase& t) { cancel(t, why, force); });
}

CancelledError LoopCore::origin(CancelledError::Reason reason, std::string message,
                                SourceLocation where) const {
  return CancelledError(reason, std::move(message), current_ ? current_->name() : "", where);
}

bool LoopCore::cancel(TaskBase& t, const CancelledError& why, bool force) noexcept {
  if (t.done()) return false;
  ++t.cancels_requested_;
  if (force) t.force_cancel_ = true;
  if (!t.cancel_pending_) {  // several requests before delivery: the first one is thrown
    t.cancel_pending_ = true;
    try {
      if (t.cancel_error_) {
        *t.cancel_error_ = why;
      } else {
        t.cancel_error_ = std::make_unique<CancelledError>(why);
      }
    } catch (...) {  // out of memory copying the text: deliver a bare cancellation
      t.cancel_error_.reset();
    }
  }
  if (t.state_ == TaskBase::State::Parked && t.parked_on_ && interrupts(*t.parked_on_)) {
    Waiter& w = *t.parked_on_;
    w.detach(w);
    wake(w, WakeReason::Cancelled);
  }
  return true;
}

void start_task(TaskBase* t, TaskStartOptions opts) {
  LoopCore::require().start(*t, std::move(opts));
}

// --- join ------------------------------------------------------------------------------------

namespace {
struct JoinWaiter : DoneWaiter, Waiter {
  explicit JoinWaiter(TaskBase* t) : target(t) {
    held_by = &target;
    joins = true;
    on_done = [](DoneWaiter& d, TaskBase&) noexcept {
      auto& j = static_cast<JoinWaiter&>(d);
      j.task->loop_->wake(j, WakeReason::Granted);
    };
    detach = [](Waiter& w) noexcept { static_cast<JoinWaiter&>(w).ListHook<DoneTag>::unlink(); };
  }
  TaskBase* target;
};
}  // namespace

void wait_task(TaskBase& t, SourceLocation where, bool forward) {
  LoopCore& loop = LoopCore::require();
  const char* what = forward ? "Task::join" : "shield";
  TaskBase& self = loop.require_task(what);
  if (&t == &self) throw std::logic_error(std::string(what) + ": a task cannot wait for itself");
  if (t.done()) return;
  const AnyTask keep(&t);  // the caller's handle may go away while we wait
  JoinWaiter j(&t);
  t.done_waiters_.push_back(j);
  if (loop.park(j, what, where) == WakeReason::Granted && !LoopCore::must_deliver(self)) return;
  // Cancelled while waiting: join forwards the cancellation, waits (uninterruptibly) for t
  // to finish, then raises CancelledError in the caller; shield raises it at once.
  if (forward && !t.done()) {
    loop.cancel(
        t, loop.origin(CancelledError::Reason::Forwarded, self.cancel_error().message(), where));
    j.interruptible = false;
    t.done_waiters_.push_back(j);
    loop.park(j, what, where);  // returns early only when forced (deadlock teardown)
  }
  LoopCore::throw_cancelled(self);
}

void check_result(TaskBase& t) {
  if (!t.done()) throw InvalidStateError("result(): " + t.name() + " is not done");
  if (t.error_) {
    t.retrieved_ = true;
    std::rethrow_exception(t.error_);
  }
}

void take_result(TaskBase& t) {
  if (t.result_taken_) {
    throw InvalidStateError("result(): the move-only result of " + t.name() +
                            " was already moved out");
  }
  t.result_taken_ = true;
}

// --- done callbacks ----------------------------------------------------------------------------

namespace {
struct DoneCallback final : CallbackNode, DoneWaiter {
  DoneCallback(LoopCore* l, UniqueFunction<void()> f) : CallbackNode(l, std::move(f)) {
    on_done = [](DoneWaiter& d, TaskBase&) noexcept {
      auto& cb = static_cast<DoneCallback&>(d);
      cb.loop->schedule_callback(&cb);
    };
  }
};
}  // namespace

}  // namespace detail

// --- AnyTask ---------------------------------------------------------------------------------

std::exception_ptr AnyTask::exception() const {
  if (!t_->done()) throw InvalidStateError("exception(): " + t_->name() + " is not done");
  t_->retrieved_ = true;
  if (t_->cancelled_) std::rethrow_exception(t_->error_);
  return t_->error_;
}

bool AnyTask::cancel(std::string msg, SourceLocation where) {
  if (t_->done() || !t_->loop_) return false;
  detail::LoopCore& loop = *t_->loop_;
  return loop.cancel(*t_, loop.origin(CancelledError::Reason::Requested, std::move(msg), where));
}

std::size_t AnyTask::stack_used() const noexcept {
  if (t_->done() || !t_->loop_ || !t_->ctx_.stack_lo) return t_->stack_used_;
  return t_->loop_->pool().used(detail::LoopCore::stack_of(*t_));
}

int AnyTask::uncancel() noexcept { return static_cast<int>(detail::LoopCore::uncancel(*t_)); }

void AnyTask::add_done_callback(detail::UniqueFunction<void(const AnyTask&)> fn) {
  detail::LoopCore* loop = t_->loop_;
  if (!loop) throw std::logic_error("add_done_callback: the task's loop has ended");
  auto call = [fn = std::move(fn), self = *this]() mutable { fn(self); };
  if (t_->done()) {
    loop->call_soon(std::move(call));
    return;
  }
  auto* cb = new detail::DoneCallback(loop, std::move(call));
  t_->done_waiters_.push_back(*cb);
}

AnyTask current_task() noexcept {
  detail::LoopCore* loop = detail::LoopCore::current_or_null();
  return AnyTask(loop ? loop->current_ : nullptr);
}

std::vector<AnyTask> all_tasks() {
  detail::LoopCore& loop = detail::LoopCore::require();
  std::vector<AnyTask> out;
  out.reserve(loop.live_count_);
  loop.live_.for_each([&](detail::TaskBase& t) { out.emplace_back(&t); });
  return out;
}

}  // namespace spindle
