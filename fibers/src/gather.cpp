// gather_wait(): the one waiting routine behind gather() and gather_settled().
// Each unfinished child gets a DoneWaiter slot pointing at the gathering task's Waiter; the
// slots live in one allocation owned by the call and unlink themselves when it returns.
#include <spindle/gather.hpp>

#include <memory>

#include "loop_core.hpp"

namespace spindle::detail {
namespace {

struct GatherState;

struct GatherSlot : DoneWaiter {
  GatherState* g = nullptr;
};

struct GatherState : Waiter {
  std::size_t remaining = 0;
  TaskBase* first_failed = nullptr;
  bool settle = false;

  bool satisfied() const noexcept { return remaining == 0 || (!settle && first_failed); }
};

void on_child_done(DoneWaiter& d, TaskBase& child) noexcept {
  GatherState& g = *static_cast<GatherSlot&>(d).g;
  --g.remaining;
  if (!g.first_failed && child.error_) g.first_failed = &child;
  if (g.satisfied() && g.task->parked_on_ == &g) g.task->loop_->wake(g, WakeReason::Granted);
}

}  // namespace

void gather_wait(TaskBase* const* tasks, std::size_t n, bool settle, SourceLocation where) {
  LoopCore& loop = LoopCore::require();
  TaskBase& self = loop.require_task("gather");
  GatherState g;
  g.settle = settle;
  // Children's failures are observed here, as asyncio's gather marks them retrieved.
  for (std::size_t i = 0; i < n; ++i) {
    TaskBase& c = *tasks[i];
    c.retrieved_ = true;
    if (!c.done()) {
      ++g.remaining;
    } else if (!g.first_failed && c.error_) {
      g.first_failed = &c;
    }
  }
  if (!g.satisfied()) {
    auto slots = std::make_unique<GatherSlot[]>(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (tasks[i]->done()) continue;
      slots[i].g = &g;
      slots[i].on_done = &on_child_done;
      tasks[i]->done_waiters_.push_back(slots[i]);
    }
    g.detach = [](Waiter&) noexcept {};  // the slots stay linked to count children
    const WakeReason r = loop.park(g, "gather", where);
    if (r == WakeReason::Cancelled || self.cancel_pending_) {
      for (std::size_t i = 0; i < n; ++i) loop.cancel(*tasks[i], self.cancel_msg_);
      g.settle = true;  // now wait for every child, uninterruptibly
      g.interruptible = false;
      while (!g.satisfied()) {
        if (loop.park(g, "gather", where) == WakeReason::Cancelled) break;  // forced: deadlock teardown
      }
      LoopCore::throw_cancelled(self);
    }
  }
  if (!settle && g.first_failed) std::rethrow_exception(g.first_failed->error_);
}

}  // namespace spindle::detail
