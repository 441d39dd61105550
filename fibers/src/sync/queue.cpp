// QueueCore: the reservation protocol behind every queue (see queue.hpp). Invariants:
// items_reserved_ <= items in the store; a getter parks only when every stored item is
// reserved; a putter parks only when stored + reserved slots reach maxsize.
#include <spindle/queue.hpp>
#include <stdexcept>

#include "../loop_core.hpp"

namespace spindle::detail {

void QueueCore::wait_for_slot(SourceLocation where) {
  QueuedWaiter w;
  const auto r = putters_.park(w, "Queue::put", where);
  if (r == WakeReason::Error) throw std::logic_error("Queue::put: the queue was destroyed");
  if (r == WakeReason::Shutdown) throw QueueShutDown();
  if (r == WakeReason::Cancelled) throw_cancelled();
  if (slots_reserved_ > 0) --slots_reserved_;
  if (shutdown_) throw QueueShutDown();
  if (LoopCore::running_cancel_wins()) {  // give the slot to the next putter
    if (!putters_.empty()) {
      ++slots_reserved_;
      putters_.wake_one();
    }
    throw_cancelled();
  }
}

void QueueCore::wait_for_item(SourceLocation where) {
  QueuedWaiter w;
  const auto r = getters_.park(w, "Queue::get", where);
  if (r == WakeReason::Error) throw std::logic_error("Queue::get: the queue was destroyed");
  if (r == WakeReason::Shutdown) throw QueueShutDown();
  if (r == WakeReason::Cancelled) throw_cancelled();
  if (items_reserved_ > 0) --items_reserved_;  // zero after shutdown(true) emptied the queue
  if (LoopCore::running_cancel_wins()) {  // the item stays in the queue; it goes to the next getter
    if (!getters_.empty()) {
      ++items_reserved_;
      getters_.wake_one();
    }
    throw_cancelled();
  }
}

void QueueCore::reserve_for_getter() noexcept {
  ++items_reserved_;
  getters_.wake_one();
}

void QueueCore::reserve_for_putter() noexcept {
  ++slots_reserved_;
  putters_.wake_one();
}

void QueueCore::shut(bool immediate, std::size_t cleared) noexcept {
  shutdown_ = true;
  if (immediate) {
    unfinished_ = cleared > unfinished_ ? 0 : unfinished_ - cleared;
    items_reserved_ = 0;
    if (unfinished_ == 0) joiners_.wake_all(WakeReason::Granted);
  }
  getters_.wake_all(WakeReason::Shutdown);
  putters_.wake_all(WakeReason::Shutdown);
}

void QueueCore::task_done() {
  thread_.check("spindle::Queue::task_done");
  if (unfinished_ == 0) {
    throw std::logic_error("Queue::task_done: called more times than items were put");
  }
  if (--unfinished_ == 0) joiners_.wake_all(WakeReason::Granted);
}

void QueueCore::join(SourceLocation where) {
  thread_.check("spindle::Queue::join");
  if (unfinished_ == 0) return;
  QueuedWaiter w;
  const auto r = joiners_.park(w, "Queue::join", where);
  if (r == WakeReason::Error) throw std::logic_error("Queue::join: the queue was destroyed");
  if (r == WakeReason::Cancelled || cancel_wins()) throw_cancelled();
}

}  // namespace spindle::detail
