// Queues between tasks: Queue (FIFO), LifoQueue, PriorityQueue.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <new>
#include <spindle/detail/config.hpp>
#include <spindle/detail/wait_list.hpp>
#include <spindle/errors.hpp>
#include <spindle/source_location.hpp>
#include <utility>
#include <vector>

namespace spindle {

namespace detail {

/// Element-type-independent part of every queue: waiting, reservations, task accounting.
/// A woken getter is reserved an item (it stays in the queue until that getter runs); a
/// woken putter is reserved a free slot. So waiters are served in order, newcomers cannot
/// take what was reserved, and a cancelled waiter only gives its reservation back.
class SPINDLE_API QueueCore {
 public:
  std::size_t maxsize() const noexcept { return maxsize_; }
  /// Marks one item taken with get() as processed. Throws std::logic_error if called more
  /// times than items were put. asyncio: queue.task_done()
  void task_done();
  /// Parks until every item put has been marked done with task_done().
  /// Cancellation: nothing is affected. asyncio: `await queue.join()`
  void join(SourceLocation where = SourceLocation::current());

 protected:
  explicit QueueCore(std::size_t maxsize) : maxsize_(maxsize) {}
  bool can_put_now(std::size_t size) const noexcept {
    return putters_.empty() && (maxsize_ == 0 || size + slots_reserved_ < maxsize_);
  }
  bool can_get_now(std::size_t size) const noexcept {
    return getters_.empty() && size > items_reserved_;
  }
  /// Parks until a free slot is reserved for the caller. Throws QueueShutDown,
  /// CancelledError, std::logic_error (queue destroyed, or outside a task).
  void wait_for_slot(SourceLocation where);
  /// Parks until an item is reserved for the caller. Throws as wait_for_slot.
  void wait_for_item(SourceLocation where);
  /// After an item was added: counts it and reserves it for a parked getter, if any.
  void inserted(std::size_t size) noexcept {
    ++unfinished_;
    if (!getters_.empty() && size > items_reserved_) reserve_for_getter();
  }
  /// After an item was removed: reserves the freed slot for a parked putter, if any.
  void removed(std::size_t size) noexcept {
    if (!putters_.empty() && (maxsize_ == 0 || size + slots_reserved_ < maxsize_)) {
      reserve_for_putter();
    }
  }
  /// Shuts down; `cleared` items were dropped by an immediate shutdown.
  void shut(bool immediate, std::size_t cleared) noexcept;
  void check(const char* what) { thread_.check(what); }
  void reserve_for_getter() noexcept;
  void reserve_for_putter() noexcept;
  /// Parks on `list` until a reservation counted in `reserved` is made for the caller.
  void wait_for_reservation(WaitList& list, std::size_t& reserved, bool for_put,
                            SourceLocation where);
  bool shutdown_ = false;

 private:
  std::size_t maxsize_;
  std::size_t unfinished_ = 0;
  std::size_t items_reserved_ = 0;
  std::size_t slots_reserved_ = 0;
  WaitList getters_, putters_, joiners_;
  ThreadCheck thread_;
};

/// A growable ring buffer: FIFO push/pop without std::deque's block bookkeeping.
template <class T>
class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() {
    clear();
    ::operator delete(slots_);
  }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  void push_back(T&& v) {
    if (size_ == cap_) grow();
    new (&slots_[(head_ + size_) & (cap_ - 1)]) T(std::move(v));
    ++size_;
  }
  T pop_front() {
    T& slot = slots_[head_];
    T v = std::move(slot);
    slot.~T();
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
    return v;
  }
  void clear() noexcept {
    while (size_ > 0) (void)pop_front();
  }

 private:
  void grow() {
    const std::size_t cap = cap_ ? cap_ * 2 : 8;
    T* fresh = static_cast<T*>(::operator new(cap * sizeof(T)));
    for (std::size_t i = 0; i < size_; ++i) {
      T& old = slots_[(head_ + i) & (cap_ - 1)];
      new (&fresh[i]) T(std::move(old));
      old.~T();
    }
    ::operator delete(slots_);
    slots_ = fresh;
    cap_ = cap;
    head_ = 0;
  }
  T* slots_ = nullptr;
  std::size_t cap_ = 0;  // a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

template <class T>
struct FifoStore {
  Ring<T> items;
  void push(T&& v) { items.push_back(std::move(v)); }
  T pop() { return items.pop_front(); }
};

template <class T>
struct LifoStore {
  std::vector<T> items;
  void push(T&& v) { items.push_back(std::move(v)); }
  T pop() {
    T v = std::move(items.back());
    items.pop_back();
    return v;
  }
};

template <class T, class Compare>
struct HeapStore {
  std::vector<T> items;
  Compare less;
  // std::*_heap build max-heaps; invert the order so the smallest comes out first (heapq).
  bool after(const T& a, const T& b) const { return less(b, a); }
  void push(T&& v) {
    items.push_back(std::move(v));
    std::push_heap(items.begin(), items.end(),
                   [this](const T& a, const T& b) { return after(a, b); });
  }
  T pop() {
    std::pop_heap(items.begin(), items.end(),
                  [this](const T& a, const T& b) { return after(a, b); });
    T v = std::move(items.back());
    items.pop_back();
    return v;
  }
};

/// A queue over a store (FIFO, LIFO or heap). The type behind Queue, LifoQueue,
/// PriorityQueue. Tasks of one loop only (checked in debug builds).
template <class T, class Store>
class BasicQueue : public QueueCore {
 public:
  /// A queue holding at most `maxsize` items; 0 means unbounded.
  explicit BasicQueue(std::size_t maxsize = 0) : QueueCore(maxsize) {}
  BasicQueue(const BasicQueue&) = delete;
  BasicQueue& operator=(const BasicQueue&) = delete;

  /// Adds an item, parking while the queue is full (waiting putters go first, in order).
  /// Cancellation: the item is not added. Throws: QueueShutDown; CancelledError.
  /// asyncio: `await queue.put(item)`
  void put(T item, SourceLocation where = SourceLocation::current()) {
    check("spindle::Queue::put");
    if (shutdown_) throw QueueShutDown();
    if (!can_put_now(store_.items.size())) wait_for_slot(where);
    store_.push(std::move(item));
    inserted(store_.items.size());
  }
  /// Adds an item or throws QueueFull (QueueShutDown after shutdown()); never parks.
  void put_nowait(T item) {
    check("spindle::Queue::put_nowait");
    if (shutdown_) throw QueueShutDown();
    if (!can_put_now(store_.items.size())) throw QueueFull();
    store_.push(std::move(item));
    inserted(store_.items.size());
  }
  /// Removes and returns an item, parking while the queue is empty (waiting getters go
  /// first, in order). Cancellation: nothing is removed; an item already reserved for this
  /// task stays in the queue for the next getter. Throws: QueueShutDown once the queue is
  /// shut down and empty; CancelledError. asyncio: `await queue.get()`
  T get(SourceLocation where = SourceLocation::current()) {
    check("spindle::Queue::get");
    if (!can_get_now(store_.items.size())) {
      if (shutdown_) throw QueueShutDown();
      wait_for_item(where);
      if (store_.items.empty()) throw QueueShutDown();  // emptied by shutdown(true)
    }
    T v = store_.pop();
    removed(store_.items.size());
    return v;
  }
  /// Removes and returns an item or throws QueueEmpty (QueueShutDown if shut down and
  /// empty); never parks.
  T get_nowait() {
    check("spindle::Queue::get_nowait");
    if (!can_get_now(store_.items.size())) {
      if (shutdown_) throw QueueShutDown();
      throw QueueEmpty();
    }
    T v = store_.pop();
    removed(store_.items.size());
    return v;
  }
  /// Items in the queue (including ones reserved for woken getters).
  std::size_t qsize() const noexcept { return store_.items.size(); }
  bool empty() const noexcept { return store_.items.empty(); }
  bool full() const noexcept { return maxsize() > 0 && qsize() >= maxsize(); }
  /// Stops the queue: put() throws QueueShutDown from now on, and so do parked putters;
  /// getters drain what is left, then get QueueShutDown. With immediate, the items are
  /// dropped (each counting as done for join()) and parked getters get QueueShutDown at
  /// once. asyncio: queue.shutdown(immediate) (Python 3.13)
  void shutdown(bool immediate = false) {
    check("spindle::Queue::shutdown");
    std::size_t cleared = 0;
    if (immediate) {
      cleared = store_.items.size();
      store_.items.clear();
    }
    shut(immediate, cleared);
  }

 private:
  Store store_;
};

}  // namespace detail

/// A first-in first-out queue of T (move-only types work). asyncio: asyncio.Queue
template <class T>
using Queue = detail::BasicQueue<T, detail::FifoStore<T>>;

/// A last-in first-out queue of T. asyncio: asyncio.LifoQueue
template <class T>
using LifoQueue = detail::BasicQueue<T, detail::LifoStore<T>>;

/// A queue that returns the smallest item first by Compare (heapq order, unlike
/// std::priority_queue). asyncio: asyncio.PriorityQueue
template <class T, class Compare = std::less<T>>
using PriorityQueue = detail::BasicQueue<T, detail::HeapStore<T, Compare>>;

}  // namespace spindle
