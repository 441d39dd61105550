// Waiting on several tasks: the one routine behind gather(), gather_settled() and wait(),
// and the completion queue behind as_completed().
//
// Each unfinished task gets a DoneWaiter slot pointing at the waiting task's Waiter; the
// slots live in one allocation owned by the call and unlink themselves when it returns. A
// child's completion updates the counts and wakes the waiter once its condition holds; an
// optional deadline is a timer entry for the same Waiter. Nothing is woken twice: wakes
// happen only while the waiter is parked on this Waiter.
#include <memory>
#include <spindle/gather.hpp>
#include <spindle/wait.hpp>
#include <stdexcept>

#include "loop_core.hpp"

namespace spindle::detail {
namespace {

struct MultiWait;

struct Slot : DoneWaiter {
  MultiWait* mw = nullptr;
};

struct MultiWait : Waiter {
  WaitMode mode = WaitMode::All;
  std::size_t remaining = 0;
  TaskBase* first_failed = nullptr;     // error or cancellation
  TaskBase* first_exception = nullptr;  // error, not cancellation
  bool any_done = false;
  TimerEntry deadline;

  void count(TaskBase& t) noexcept {
    any_done = true;
    if (!first_failed && t.error_) first_failed = &t;
    if (!first_exception && t.error_ && !t.cancelled_) first_exception = &t;
  }
  bool satisfied() const noexcept {
    switch (mode) {
      case WaitMode::All:
        return remaining == 0;
      case WaitMode::AllOrFailure:
        return remaining == 0 || first_failed;
      case WaitMode::FirstCompleted:
        return any_done;
      case WaitMode::FirstException:
        return remaining == 0 || first_exception;
    }
    return true;
  }
};

void on_child_done(DoneWaiter& d, TaskBase& child) noexcept {
  MultiWait& mw = *static_cast<Slot&>(d).mw;
  --mw.remaining;
  mw.count(child);
  if (mw.satisfied() && mw.task->parked_on_ == &mw) {
    if (mw.deadline.queued()) mw.task->loop_->timers().remove(mw.deadline);
    mw.task->loop_->wake(mw, WakeReason::Granted);
  }
}

}  // namespace

bool wait_tasks(TaskBase* const* tasks, std::size_t n, WaitMode mode,
                const Clock::time_point* deadline, bool cancel_children_on_cancel, const char* what,
                SourceLocation where) {
  LoopCore& loop = LoopCore::require();
  TaskBase& self = loop.require_task(what);
  MultiWait mw;
  mw.mode = mode;
  for (std::size_t i = 0; i < n; ++i) {
    if (tasks[i]->done()) {
      mw.count(*tasks[i]);
    } else {
      ++mw.remaining;
    }
  }
  if (mw.satisfied()) return true;
  if (deadline && *deadline <= loop.now()) return false;

  auto slots = std::make_unique<Slot[]>(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (tasks[i]->done()) continue;
    slots[i].mw = &mw;
    slots[i].on_done = &on_child_done;
    tasks[i]->done_waiters_.push_back(slots[i]);
  }
  mw.detach = [](Waiter& w) noexcept {  // cancellation: the slots stay linked to keep counting
    auto& m = static_cast<MultiWait&>(w);
    if (m.deadline.queued()) m.task->loop_->timers().remove(m.deadline);
  };
  if (deadline) {
    mw.deadline.deadline = *deadline;
    mw.deadline.kind = TimerEntry::Kind::Wake;
    mw.deadline.target = static_cast<Waiter*>(&mw);
    loop.timers().push(mw.deadline);
  }
  const WakeReason r = loop.park(mw, what, where);
  if (mw.deadline.queued()) loop.timers().remove(mw.deadline);
  if (r == WakeReason::Cancelled || LoopCore::must_deliver(self)) {
    if (cancel_children_on_cancel) {
      const CancelledError why =
          loop.origin(CancelledError::Reason::Forwarded, self.cancel_error().message(), where);
      for (std::size_t i = 0; i < n; ++i) loop.cancel(*tasks[i], why);
      mw.mode = WaitMode::All;  // now wait for every child, uninterruptibly
      mw.interruptible = false;
      while (!mw.satisfied()) {
        if (loop.park(mw, what, where) == WakeReason::Cancelled) break;  // forced teardown
      }
    }
    LoopCore::throw_cancelled(self);
  }
  return r != WakeReason::Timeout;
}

void gather_wait(TaskBase* const* tasks, std::size_t n, bool settle, SourceLocation where) {
  // Children's failures are observed here, as asyncio's gather marks them retrieved.
  for (std::size_t i = 0; i < n; ++i) tasks[i]->retrieved_ = true;
  wait_tasks(tasks, n, settle ? WaitMode::All : WaitMode::AllOrFailure, nullptr, true, "gather",
             where);
  if (settle) return;
  // The first failure in completion order: a done task's error, earliest finished first.
  // Tasks that were already done count in argument order, before the ones that finished
  // while we waited; wait_tasks' own record is not kept, so find it again.
  TaskBase* first = nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    TaskBase* t = tasks[i];
    if (t->done() && t->error_ && (!first || t->finish_seq_ < first->finish_seq_)) {
      first = t;
    }
  }
  if (first) std::rethrow_exception(first->error_);
}

// --- as_completed ------------------------------------------------------------------------------

struct CompletionQueue::State : Waiter {
  struct Slot : DoneWaiter {
    State* st = nullptr;
  };
  std::vector<TaskBase*> order;  // finished tasks in completion order (capacity: all)
  std::unique_ptr<Slot[]> slots;
  TimerEntry deadline;
};

CompletionQueue::CompletionQueue(std::vector<TaskBase*> tasks,
                                 std::optional<Clock::time_point> deadline)
    : size_(tasks.size()), deadline_(deadline), s_(std::make_unique<State>()) {
  LoopCore::require();
  State& st = *s_;
  st.order.reserve(size_);
  st.slots = std::make_unique<State::Slot[]>(size_);
  for (std::size_t i = 0; i < size_; ++i) {
    TaskBase& t = *tasks[i];
    if (t.done()) {
      st.order.push_back(&t);
      continue;
    }
    st.slots[i].st = &st;
    st.slots[i].on_done = [](DoneWaiter& d, TaskBase& t) noexcept {
      State& s = *static_cast<State::Slot&>(d).st;
      s.order.push_back(&t);  // cannot reallocate: reserved for every task
      if (s.task && s.task->parked_on_ == &s) {
        if (s.deadline.queued()) s.task->loop_->timers().remove(s.deadline);
        s.task->loop_->wake(s, WakeReason::Granted);
      }
    };
    t.done_waiters_.push_back(st.slots[i]);
  }
  st.detach = [](Waiter& w) noexcept {
    auto& s = static_cast<State&>(w);
    if (s.deadline.queued()) s.task->loop_->timers().remove(s.deadline);
  };
}

CompletionQueue::CompletionQueue(CompletionQueue&&) noexcept = default;
CompletionQueue::~CompletionQueue() = default;

TaskBase& CompletionQueue::get(std::size_t i, SourceLocation where) {
  if (i >= size_) throw std::out_of_range("as_completed: iterated past the last task");
  State& st = *s_;
  while (st.order.size() <= i) {
    LoopCore& loop = LoopCore::require();
    TaskBase& self = loop.require_task("as_completed");
    if (deadline_ && *deadline_ <= loop.now()) throw TimeoutError("as_completed: timed out");
    if (deadline_) {
      st.deadline.deadline = *deadline_;
      st.deadline.kind = TimerEntry::Kind::Wake;
      st.deadline.target = static_cast<Waiter*>(&st);
      loop.timers().push(st.deadline);
    }
    loop.park(st, "as_completed", where);
    if (st.deadline.queued()) loop.timers().remove(st.deadline);
    LoopCore::deliver_pending(self);
  }
  return *st.order[i];
}

}  // namespace spindle::detail
