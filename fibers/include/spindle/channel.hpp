// Channel<T>: a bounded queue between loops and threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <spindle/detail/config.hpp>
#include <spindle/detail/intrusive.hpp>
#include <spindle/errors.hpp>
#include <spindle/source_location.hpp>
#include <type_traits>
#include <utility>

namespace spindle {

namespace detail {
struct ChanTag;
struct ChanWaiter;

/// The type-independent part of Channel: parked tasks and threads, and the lock that
/// guards their lists (items never need it).
class SPINDLE_API ChannelCore {
 public:
  enum Side { Getters = 0, Putters = 1 };
  /// Throws std::invalid_argument if capacity is 0.
  explicit ChannelCore(std::size_t capacity);
  ~ChannelCore();
  ChannelCore(const ChannelCore&) = delete;
  ChannelCore& operator=(const ChannelCore&) = delete;

  /// In a task with a cancellation to deliver: throws its CancelledError.
  static void deliver_pending();
  /// True outside a loop, or when no other task or callback of this loop is ready: then
  /// polling the ring briefly before parking starves nobody.
  static bool may_spin() noexcept;
  /// A CPU hint for spin loops.
  static void relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
  /// Parks the calling task (or blocks the calling thread, outside any loop) on `side`'s
  /// list until woken; `lk` holds m_ on entry (with waiting_[side] already counting this
  /// waiter) and on return. Throws CancelledError (the wake-up, if one came, passes to the
  /// next waiter); std::logic_error in a loop callback.
  void wait(std::unique_lock<std::mutex>& lk, Side side, const char* what, SourceLocation where);
  /// Wakes the first waiter of `side`, if any; `locked`: the caller holds m_.
  void notify(Side side, bool locked) noexcept {
    if (waiting_[side].load(std::memory_order_seq_cst) == 0) return;
    if (locked) {
      notify_one(side);
    } else {
      notify_locked(side);
    }
  }
  /// Wakes every waiter.
  void notify_all() noexcept;
  /// (m_ held) Wakes the first waiter of `side`.
  void notify_one(Side side) noexcept;

  std::mutex m_;
  const std::size_t cap_;
  // Waiters per side, counted before they look at the ring a last time (seq_cst, as the
  // ring's publishing stores): a producer either sees a getter counted or the getter sees
  // its item.
  alignas(64) std::atomic<std::size_t> waiting_[2] = {0, 0};

 private:
  void notify_locked(Side side) noexcept;
  IntrusiveList<ChanWaiter, ChanTag>* lists_;  // [2], allocated with the core
};

/// Positions in the ring: the top bit of the enqueue position marks a closed channel.
inline constexpr std::size_t kChannelClosed = std::size_t(1) << (sizeof(std::size_t) * 8 - 1);
}  // namespace detail

/// A bounded multi-producer multi-consumer queue of T between loops and threads: tasks of any
/// loop and plain threads may put and get. A task parks (its thread runs on); a thread
/// outside any loop blocks. Items come out in the order they went in (FIFO per producer and
/// overall). Items move through a lock-free ring (Vyukov's bounded MPMC queue); only
/// parking takes a lock. A burst wakes each loop once: wake-ups are messages to the loop, and
/// a loop already awake takes them without a syscall. T's move constructor must not throw.
/// The channel must outlive every task and thread using it.
/// Go: a buffered chan T; Seastar: a cross-shard queue.
template <class T>
class Channel {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "Channel<T> needs a T whose move constructor does not throw");

 public:
  /// A channel holding at most `capacity` items. Throws std::invalid_argument if 0.
  explicit Channel(std::size_t capacity)
      : core_(capacity), cap_(capacity), slots_(new Slot[capacity]) {
    for (std::size_t i = 0; i < cap_; ++i) {
      slots_[i].seq.store(2 * i, std::memory_order_relaxed);
    }
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  /// Destroys the items still in the channel.
  ~Channel() {
    std::optional<T> v;
    while (pop(v, false) == Got) v.reset();
  }

  /// Adds an item, parking while the channel is full (parked putters are woken in order).
  /// Unlike Queue::put, a pending cancellation is delivered even when there is room: a
  /// producer feeding another thread may never find the channel full.
  /// Cancellation: the item is not added. Throws ChannelClosed; CancelledError.
  void put(T item, SourceLocation where = SourceLocation::current()) {
    detail::ChannelCore::deliver_pending();
    for (;;) {
      Status r = push(item, false);
      for (unsigned i = 0; r == Full && i < kSpin && detail::ChannelCore::may_spin(); ++i) {
        detail::ChannelCore::relax();
        r = push(item, false);
      }
      if (r == Done) return;
      if (r == Closed) throw ChannelClosed();
      std::unique_lock<std::mutex> lk(core_.m_);
      core_.waiting_[detail::ChannelCore::Putters].fetch_add(1, std::memory_order_seq_cst);
      const Status again = push(item, true);  // a getter may have made room meanwhile
      if (again != Full) {
        core_.waiting_[detail::ChannelCore::Putters].fetch_sub(1, std::memory_order_seq_cst);
        lk.unlock();
        if (again == Closed) throw ChannelClosed();
        return;
      }
      core_.wait(lk, detail::ChannelCore::Putters, "Channel::put", where);
    }
  }
  /// Adds an item if there is room now; false (item untouched) if full. Never parks.
  /// Throws ChannelClosed.
  bool try_put(T& item) {
    const Status r = push(item, false);
    if (r == Closed) throw ChannelClosed();
    return r == Done;
  }
  /// Removes and returns the oldest item, parking while the channel is empty. After close():
  /// the items left, then ChannelClosed. A pending cancellation is delivered even when an
  /// item is there. Cancellation: nothing is removed. Throws ChannelClosed; CancelledError.
  T get(SourceLocation where = SourceLocation::current()) {
    detail::ChannelCore::deliver_pending();
    std::optional<T> v;
    for (;;) {
      Status r = pop(v, false);
      for (unsigned i = 0; r == Empty && i < kSpin && detail::ChannelCore::may_spin(); ++i) {
        detail::ChannelCore::relax();
        r = pop(v, false);
      }
      if (r == Got) return std::move(*v);
      if (r == Closed) throw ChannelClosed();
      std::unique_lock<std::mutex> lk(core_.m_);
      core_.waiting_[detail::ChannelCore::Getters].fetch_add(1, std::memory_order_seq_cst);
      const Status again = pop(v, true);  // a putter may have added one meanwhile
      if (again != Empty) {
        core_.waiting_[detail::ChannelCore::Getters].fetch_sub(1, std::memory_order_seq_cst);
        lk.unlock();
        if (again == Closed) throw ChannelClosed();
        return std::move(*v);
      }
      core_.wait(lk, detail::ChannelCore::Getters, "Channel::get", where);
    }
  }
  /// Moves the oldest item into `out` if there is one now; false if empty. Never parks.
  /// Throws ChannelClosed once closed and empty.
  bool try_get(T& out) {
    std::optional<T> v;
    const Status r = pop(v, false);
    if (r == Closed) throw ChannelClosed();
    if (r == Got) out = std::move(*v);
    return r == Got;
  }
  /// Closes the channel: put() throws ChannelClosed from now on (parked putters too);
  /// getters take what is left, then get ChannelClosed. Idempotent; any thread.
  void close() {
    enq_.fetch_or(detail::kChannelClosed, std::memory_order_seq_cst);
    std::lock_guard<std::mutex> lk(core_.m_);
    core_.notify_all();
  }
  /// True once close() was called.
  bool closed() const noexcept {
    return (enq_.load(std::memory_order_acquire) & detail::kChannelClosed) != 0;
  }
  /// Items in the channel now (a snapshot; items being put or taken may count or not).
  std::size_t size() const noexcept {
    const std::size_t e = enq_.load(std::memory_order_acquire) & ~detail::kChannelClosed;
    const std::size_t d = deq_.load(std::memory_order_acquire);
    return e > d ? std::min(e - d, cap_) : 0;
  }
  /// The capacity given at construction.
  std::size_t capacity() const noexcept { return cap_; }

 private:
  enum Status { Done, Got, Full, Empty, Closed };
  // Before parking, a task with nothing else to run on its loop (or a thread) polls the
  // ring this many times: the other side is often a few hundred nanoseconds away, and
  // parking and waking cost more.
  static constexpr unsigned kSpin = 1024;
  // Slots are packed: a consumer right behind its producer gets several items per cache
  // line it pulls (a line per slot measured 45% fewer items/s at 1:1 across two cores).
  struct Slot {
    // 2 * position: free for the item of that position; 2 * position + 1: holds it. (Twice,
    // so that a channel of capacity 1 can tell "holds item p" from "free for item p + 1".)
    std::atomic<std::size_t> seq{0};
    alignas(T) unsigned char storage[sizeof(T)];
    T* item() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };

  std::size_t index(std::size_t pos) const noexcept {
    return (cap_ & (cap_ - 1)) == 0 ? pos & (cap_ - 1) : pos % cap_;  // no division if 2^n
  }
  // `locked`: the caller holds core_.m_.
  Status push(T& item, bool locked) noexcept {
    std::size_t pos = enq_.load(std::memory_order_relaxed);
    Slot* s;
    for (;;) {
      if (pos & detail::kChannelClosed) return Closed;
      s = &slots_[index(pos)];
      const std::size_t seq = s->seq.load(std::memory_order_seq_cst);
      const auto dif = static_cast<std::ptrdiff_t>(seq - 2 * pos);
      if (dif == 0) {
        if (enq_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (dif < 0) {
        return Full;
      } else {
        pos = enq_.load(std::memory_order_relaxed);
      }
    }
    ::new (static_cast<void*>(s->storage)) T(std::move(item));
    s->seq.store(2 * pos + 1, std::memory_order_seq_cst);
    core_.notify(detail::ChannelCore::Getters, locked);
    return Done;
  }
  Status pop(std::optional<T>& out, bool locked) noexcept {
    std::size_t pos = deq_.load(std::memory_order_relaxed);
    Slot* s;
    for (;;) {
      s = &slots_[index(pos)];
      const std::size_t seq = s->seq.load(std::memory_order_seq_cst);
      const auto dif = static_cast<std::ptrdiff_t>(seq - (2 * pos + 1));
      if (dif == 0) {
        if (deq_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (dif < 0) {
        const std::size_t e = enq_.load(std::memory_order_seq_cst);
        if ((e & ~detail::kChannelClosed) == pos) {
          return (e & detail::kChannelClosed) ? Closed : Empty;
        }
        // A putter has taken this slot and is moving its item in: a few instructions.
        pos = deq_.load(std::memory_order_relaxed);
      } else {
        pos = deq_.load(std::memory_order_relaxed);
      }
    }
    T* p = s->item();
    out.emplace(std::move(*p));
    p->~T();
    s->seq.store(2 * (pos + cap_), std::memory_order_seq_cst);
    core_.notify(detail::ChannelCore::Putters, locked);
    return Got;
  }

  detail::ChannelCore core_;
  const std::size_t cap_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<std::size_t> enq_{0};
  alignas(64) std::atomic<std::size_t> deq_{0};
};

}  // namespace spindle
