// Channel: parking tasks of any loop, and plain threads, beside a lock-free ring.
//
// A waiter lives on the parked task's (or thread's) stack and is linked on the channel's
// list for its side. Waking one unlinks it under the channel's lock and, for a task of
// another loop, posts the waiter's node to that loop (a message: no allocation; a loop that
// is awake takes it without a syscall, a sleeping one gets one eventfd write however many
// come). The woken task retries; if someone else took the item first, it parks again.
// Cancellation runs on the task's own loop: if the waiter is still listed it just leaves;
// if it was woken already, it takes its node back off its loop's inbox and passes the
// wake-up on, so no wake-up is lost and no item is ever taken on a cancelled task's behalf.
#include <condition_variable>
#include <spindle/channel.hpp>
#include <stdexcept>

#include "../loop_core.hpp"

namespace spindle::detail {

struct ChanWaiter : Waiter, ListHook<ChanTag> {
  ChannelCore* chan = nullptr;
  ChannelCore::Side side = ChannelCore::Getters;
  LoopCore* loop = nullptr;               // the parked task's loop; null for a thread
  RemoteNode node;                        // the wake-up message to that loop
  std::condition_variable* cv = nullptr;  // a blocked thread's
  bool notified = false;                  // (m_) a thread was woken
};

namespace {

ChanWaiter& waiter_of(RemoteNode& n) noexcept { return *static_cast<ChanWaiter*>(n.owner); }

// On the waiter's loop: the wake-up arrived.
void deliver(RemoteNode& n, bool) noexcept {
  ChanWaiter& w = waiter_of(n);
  if (w.task->parked_on_ == &w) w.loop->wake(w, WakeReason::Granted);
}

void detach(Waiter& base) noexcept {
  auto& w = static_cast<ChanWaiter&>(base);
  ChannelCore& ch = *w.chan;
  std::lock_guard<std::mutex> lk(ch.m_);
  if (w.ListHook<ChanTag>::linked()) {
    w.ListHook<ChanTag>::unlink();
    ch.waiting_[w.side].fetch_sub(1, std::memory_order_seq_cst);
    return;
  }
  // Woken already: take the wake-up back and pass it on (the next waiter retries; if there
  // is nothing for it, it parks again).
  unpost_node(*w.loop, w.node);
  ch.notify_one(w.side);
}

}  // namespace

ChannelCore::ChannelCore(std::size_t capacity)
    : cap_(capacity), lists_(new IntrusiveList<ChanWaiter, ChanTag>[2]) {
  if (capacity == 0) {
    delete[] lists_;
    throw std::invalid_argument("Channel: the capacity must be at least 1");
  }
}

ChannelCore::~ChannelCore() { delete[] lists_; }

void ChannelCore::deliver_pending() {
  if (TaskBase* t = LoopCore::running_task()) LoopCore::deliver_pending(*t);
}

bool ChannelCore::may_spin() noexcept {
  LoopCore* loop = LoopCore::current_or_null();
  return !loop || loop->ready_count() == 0;
}

void ChannelCore::notify_locked(Side side) noexcept {
  std::lock_guard<std::mutex> lk(m_);
  notify_one(side);
}

void ChannelCore::notify_one(Side side) noexcept {
  ChanWaiter* w = lists_[side].pop_front();
  if (!w) return;
  waiting_[side].fetch_sub(1, std::memory_order_seq_cst);
  if (!w->loop) {
    w->notified = true;
    w->cv->notify_one();
  } else if (w->loop == LoopCore::current_or_null() && w->task->parked_on_ == w) {
    w->loop->wake(*w, WakeReason::Granted);  // same loop: no message needed
  } else {
    w->loop->post_node(w->node);  // its loop runs while the task is parked: cannot fail
  }
}

void ChannelCore::notify_all() noexcept {
  while (!lists_[Getters].empty()) notify_one(Getters);
  while (!lists_[Putters].empty()) notify_one(Putters);
}

void ChannelCore::wait(std::unique_lock<std::mutex>& lk, Side side, const char* what,
                       SourceLocation where) {
  ChanWaiter w;
  w.chan = this;
  w.side = side;
  w.object = this;
  LoopCore* loop = LoopCore::current_or_null();
  if (!loop) {  // a plain thread: block it
    std::condition_variable cv;
    w.cv = &cv;
    lists_[side].push_back(w);
    cv.wait(lk, [&] { return w.notified; });
    return;
  }
  TaskBase& self = loop->require_task(what);
  w.task = &self;
  w.loop = loop;
  w.node.run = &deliver;
  w.node.owner = &w;
  w.detach = &detach;
  lists_[side].push_back(w);
  lk.unlock();
  ++loop->cross_waits_;
  const WakeReason r = loop->park(w, what, where);
  --loop->cross_waits_;
  if (r == WakeReason::Cancelled) LoopCore::throw_cancelled(self);  // detach cleaned up
  lk.lock();
}

}  // namespace spindle::detail
