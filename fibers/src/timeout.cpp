// Deadline scopes (with_timeout/with_deadline/wait_for) and CancelShield.
//
// A scope's timer entry lives in the scope, on the task's stack; it is removed when the
// scope exits, so it never fires for a scope that is gone. Expiry cancels the task with
// Reason::Timeout; exit uncancels if the scope expired, and converts CancelledError into
// TimeoutError only when cancelling() is back to its value at entry (no other request):
// asyncio.timeout's rule, which makes nesting and external cancel() come out right.
#include <spindle/cancel.hpp>
#include <spindle/timeout.hpp>

#include "loop_core.hpp"

namespace spindle {
namespace detail {

void expire_deadline(void* scope) noexcept { static_cast<DeadlineScope*>(scope)->expire(); }

DeadlineScope::DeadlineScope(Clock::time_point deadline, SourceLocation where)
    : task_(&LoopCore::require().require_task("with_timeout")),
      where_(where),
      cancelling_at_entry_(task_->cancels_requested_) {
  entry_.deadline = deadline;
  entry_.kind = TimerEntry::Kind::Deadline;
  entry_.target = this;
  task_->loop_->timers().push(entry_);
}

DeadlineScope::DeadlineScope(Clock::duration timeout, SourceLocation where)
    : DeadlineScope(LoopCore::require().now() + timeout, where) {}

DeadlineScope::~DeadlineScope() {
  if (!exited_) exit();
}

void DeadlineScope::expire() noexcept {
  expired_ = true;
  LoopCore& loop = *task_->loop_;
  loop.cancel(*task_, CancelledError(CancelledError::Reason::Timeout, "", "", where_));
}

void DeadlineScope::exit() noexcept {
  exited_ = true;
  if (entry_.queued()) task_->loop_->timers().remove(entry_);
  if (expired_) LoopCore::uncancel(*task_);
}

bool DeadlineScope::exit_cancelled() noexcept {
  exited_ = true;
  if (entry_.queued()) task_->loop_->timers().remove(entry_);
  if (!expired_) return false;
  return LoopCore::uncancel(*task_) <= cancelling_at_entry_;
}

void DeadlineScope::throw_timeout() const {
  throw TimeoutError(std::string("timeout: the deadline of the scope opened at ") +
                     where_.file_name() + ":" + std::to_string(where_.line()) + " expired");
}

}  // namespace detail

CancelShield::CancelShield() noexcept {
  detail::LoopCore* loop = detail::LoopCore::current_or_null();
  task_ = loop ? loop->current_ : nullptr;
  if (task_) ++task_->shield_depth_;
}

CancelShield::~CancelShield() {
  if (task_) --task_->shield_depth_;
}

}  // namespace spindle
