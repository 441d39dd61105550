// TaskGroup: asyncio.TaskGroup's rules (Python 3.12 order: the parent's own cancellation is
// taken back after every task has finished).
//
// Each task of the group has a Child entry (stable address in a deque) whose DoneWaiter
// records failures as they happen. The first failure aborts: every unfinished task is
// cancelled, and so is the parent (the body) unless it is already exiting or being
// cancelled; finish() waits for all tasks, consuming any cancellation of the parent that
// arrives meanwhile, then decides between CancelledError and ExceptionGroup.
#include <deque>
#include <spindle/task_group.hpp>
#include <stdexcept>
#include <vector>

#include "loop_core.hpp"

namespace spindle {

struct TaskGroup::State : detail::Waiter {
  struct Child : detail::DoneWaiter {
    State* st = nullptr;
    AnyTask task;
  };

  detail::TaskBase* parent = nullptr;
  SourceLocation where;
  std::deque<Child> children;
  std::size_t active = 0;
  std::vector<std::exception_ptr> errors;  // capacity kept >= number of children
  bool aborting = false;
  bool parent_cancel_requested = false;
  bool exiting = false;
  bool finished = false;

  detail::LoopCore& loop() const noexcept { return *parent->loop_; }

  /// Cancels every unfinished task of the group, naming `cause` as the requester.
  void abort(const std::string& cause, const std::string& why) noexcept {
    aborting = true;
    const CancelledError err(CancelledError::Reason::TaskGroup, why, cause, where);
    for (Child& c : children) {
      if (!c.task.done()) loop().cancel(*c.task.state(), err);
    }
  }

  static void on_child_done(detail::DoneWaiter& d, detail::TaskBase& t) noexcept {
    State& st = *static_cast<Child&>(d).st;
    --st.active;
    if (st.active == 0 && st.exiting && st.task && st.parent->parked_on_ == &st) {
      st.loop().wake(st, detail::WakeReason::Granted);
    }
    if (t.cancelled_ || !t.error_) return;
    t.retrieved_ = true;
    st.errors.push_back(t.error_);  // cannot reallocate: reserved in adopt()
    if (!st.aborting && !st.parent_cancel_requested) {
      std::string why;
      try {
        std::rethrow_exception(t.error_);
      } catch (const std::exception& e) {
        why = e.what();
      } catch (...) {
        why = "unknown exception";
      }
      const std::string name = t.name();
      st.abort(name, why);
      st.parent_cancel_requested = true;
      st.loop().cancel(*st.parent,
                       CancelledError(CancelledError::Reason::TaskGroup, why, name, st.where));
    }
  }
};

TaskGroup::TaskGroup(SourceLocation where) : s_(std::make_shared<State>()) {
  s_->parent = &detail::LoopCore::require().require_task("task_group");
  s_->where = where;
  s_->detach = [](detail::Waiter&) noexcept {};  // cancellable; consumed in finish()
}

TaskGroup::~TaskGroup() = default;  // the last handle frees the state; no task is left

void TaskGroup::check_open() const {
  if (s_->finished) throw std::logic_error("TaskGroup::spawn: the group has finished");
  if (s_->aborting) throw std::logic_error("TaskGroup::spawn: the group is shutting down");
}

void TaskGroup::adopt(detail::TaskBase& t) {
  State& st = *s_;
  try {
    st.errors.reserve(st.children.size() + 1);
    State::Child& c = st.children.emplace_back();
    c.st = &st;
    c.task = AnyTask(&t);
    c.on_done = &State::on_child_done;
    t.done_waiters_.push_back(c);
    ++st.active;
  } catch (...) {
    // Out of memory recording it: the task must not run outside the group.
    st.loop().cancel(t, CancelledError(CancelledError::Reason::TaskGroup,
                                       "could not join the TaskGroup", "", st.where));
    throw;
  }
}

void TaskGroup::finish(std::exception_ptr body_error, bool body_cancelled) {
  State& st = *s_;
  detail::LoopCore& loop = st.loop();
  detail::TaskBase& parent = *st.parent;
  st.exiting = true;
  std::exception_ptr propagate = body_cancelled ? body_error : nullptr;
  if (body_error && !st.aborting) {
    st.abort(parent.name(),
             body_cancelled ? "the TaskGroup's task was cancelled" : "the TaskGroup body failed");
  }
  while (st.active > 0) {
    const auto r = loop.park(st, "task_group", st.where);
    if (r == detail::WakeReason::Cancelled || detail::LoopCore::must_deliver(parent)) {
      // Consume the cancellation, as asyncio catches the CancelledError here.
      parent.cancel_pending_ = false;
      if (!st.aborting) {
        propagate = std::make_exception_ptr(parent.cancel_error());
        st.abort(parent.name(), "the TaskGroup's task was cancelled");
      }
    }
  }
  st.finished = true;
  if (st.parent_cancel_requested && detail::LoopCore::uncancel(parent) == 0) propagate = nullptr;
  if (propagate && st.errors.empty()) std::rethrow_exception(propagate);
  if (body_error && !body_cancelled) st.errors.push_back(body_error);
  if (!st.errors.empty()) throw ExceptionGroup("unhandled errors in a TaskGroup", st.errors);
}

}  // namespace spindle
