// sleep_until() and yield_now(): the simplest parking calls.
// A sleeping task's timer entry lives on its own stack next to its Waiter; cancellation
// removes the entry from the heap in O(log n).
#include <spindle/sleep.hpp>

#include "loop_core.hpp"

namespace spindle {
namespace {

struct TimedWaiter : detail::Waiter {
  detail::TimerEntry entry;
};

}  // namespace

void yield_now(SourceLocation where) {
  auto& loop = detail::LoopCore::require();
  detail::TaskBase& self = loop.require_task("yield_now");
  detail::LoopCore::deliver_pending(self);
  self.parked_at_ = where;
  self.parked_in_ = "yield_now";
  self.state_ = detail::TaskBase::State::Ready;
  loop.push_ready(&self);
  loop.suspend();
  detail::LoopCore::deliver_pending(self);
}

void sleep_until(Clock::time_point t, SourceLocation where) {
  auto& loop = detail::LoopCore::require();
  detail::TaskBase& self = loop.require_task("sleep");
  if (t <= loop.now()) {
    yield_now(where);
    return;
  }
  TimedWaiter w;
  w.entry.deadline = t;
  w.entry.kind = detail::TimerEntry::Kind::Wake;
  w.entry.target = static_cast<detail::Waiter*>(&w);
  w.detach = [](detail::Waiter& x) noexcept {
    auto& tw = static_cast<TimedWaiter&>(x);
    if (tw.entry.queued()) tw.task->loop_->timers().remove(tw.entry);
  };
  self.parked_at_ = where;
  detail::LoopCore::deliver_pending(self);
  loop.timers().push(w.entry);
  loop.park(w, "sleep", where);
  detail::LoopCore::deliver_pending(self);
}

}  // namespace spindle
