// WaitList and the helpers primitives use to park, hand over and cancel.
#include <spindle/detail/wait_list.hpp>
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
  w.object = this;
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

void throw_cancelled() { LoopCore::throw_cancelled(LoopCore::require().require_task("cancel")); }

#if !defined(NDEBUG) || defined(SPINDLE_ENABLE_ASSERTS)
namespace {
// Its address identifies the thread: one %fs-relative lea, cheaper than pthread_self().
constinit thread_local char tls_thread_marker __attribute__((tls_model("initial-exec"))) = 0;
}  // namespace
#endif

void ThreadCheck::check(const char* what) {
#if !defined(NDEBUG) || defined(SPINDLE_ENABLE_ASSERTS)
  const auto self = reinterpret_cast<unsigned long>(&tls_thread_marker);
  if (thread_ == 0) [[unlikely]] {
    thread_ = self;
  } else if (thread_ != self) [[unlikely]] {
    throw std::logic_error(
        std::string(what) +
        ": used from a thread other than its loop's; spindle primitives "
        "belong to one loop (reach its loop with call_on or Loop::call_soon_threadsafe)");
  }
#else
  (void)what;
#endif
}

}  // namespace spindle::detail
