// WaitList and the helpers primitives use to park, hand over and cancel.
#include <spindle/detail/wait_list.hpp>

#include <pthread.h>

#include <stdexcept>
#include <string>

#include "../loop_core.hpp"

namespace spindle::detail {

WaitList::~WaitList() { wake_all(WakeReason::Error); }

void WaitList::detach(Waiter& w) noexcept {
  auto& q = static_cast<QueuedWaiter&>(w);
  q.ListHook<WaitListTag>::unlink();
  --q.list->size_;
}

WakeReason WaitList::park(QueuedWaiter& w, const char* what, SourceLocation where) {
  LoopCore& loop = LoopCore::require();
  loop.require_task(what);
  w.list = this;
  w.detach = &WaitList::detach;
  list_.push_back(w);
  ++size_;
  return loop.park(w, what, where);
}

QueuedWaiter* WaitList::wake_one(WakeReason r) noexcept {
  QueuedWaiter* w = list_.pop_front();
  if (!w) return nullptr;
  --size_;
  w->task->loop_->wake(*w, r);
  return w;
}

void WaitList::wake_all(WakeReason r) noexcept {
  while (wake_one(r)) {
  }
}

bool cancel_wins() noexcept {
  LoopCore* loop = LoopCore::current_or_null();
  return loop && loop->current_ && LoopCore::must_deliver(*loop->current_);
}

void throw_cancelled() { LoopCore::throw_cancelled(LoopCore::require().require_task("cancel")); }

TaskBase* running_task() noexcept {
  LoopCore* loop = LoopCore::current_or_null();
  return loop ? loop->current_ : nullptr;
}

void ThreadCheck::check(const char* what) {
#if !defined(NDEBUG) || defined(SPINDLE_ENABLE_ASSERTS)
  const auto self = static_cast<unsigned long>(::pthread_self());
  if (thread_ == 0) {
    thread_ = self;
  } else if (thread_ != self) {
    throw std::logic_error(std::string(what) +
                           ": used from a thread other than its loop's; spindle primitives "
                           "belong to one loop (use Loop::call_soon_threadsafe to reach it)");
  }
#else
  (void)what;
#endif
}

}  // namespace spindle::detail
