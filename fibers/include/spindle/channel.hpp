// Channel<T>: a bounded queue between loops and threads.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <spindle/detail/config.hpp>
#include <spindle/detail/intrusive.hpp>
#include <spindle/errors.hpp>
#include <spindle/source_location.hpp>
#include <utility>

namespace spindle {

namespace detail {
struct ChanTag;
struct ChanWaiter;

/// The type-independent part of Channel: the lock, the counts, the parked tasks and threads.
class SPINDLE_API ChannelCore {
 public:
  enum Side { Getters = 0, Putters = 1 };
  /// Throws std::invalid_argument if capacity is 0.
  explicit ChannelCore(std::size_t capacity);
  ~ChannelCore();
  ChannelCore(const ChannelCore&) = delete;
  ChannelCore& operator=(const ChannelCore&) = delete;

  /// Parks the calling task (or blocks the calling thread, outside any loop) until a waiter
  /// of `side` is woken; `lk` holds m_ on entry and on return. Throws CancelledError (with
  /// nothing taken: the wake-up passes to the next waiter); std::logic_error in a loop
  /// callback.
  void wait(std::unique_lock<std::mutex>& lk, Side side, const char* what, SourceLocation where);
  /// Wakes the first waiter of `side`, if any (m_ held).
  void notify_one(Side side) noexcept;
  /// Wakes every waiter (m_ held).
  void notify_all() noexcept;
  /// Passes a wake-up that a cancelled waiter of `side` will not use to the next one (m_ held).
  void pass_on(Side side) noexcept;

  mutable std::mutex m_;
  const std::size_t cap_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  bool closed_ = false;
  std::size_t waiting_[2] = {0, 0};

 private:
  IntrusiveList<ChanWaiter, ChanTag>* lists_;  // [2], allocated with the core
};
}  // namespace detail

/// A bounded multi-producer multi-consumer queue of T between loops and threads: tasks of any
/// loop and plain threads may put and get. A task parks (its thread runs on); a thread
/// outside any loop blocks. Items come out in the order they went in (FIFO per producer and
/// overall). A burst wakes each loop once: wake-ups are messages to the loop, and a loop
/// already awake takes them without a syscall. Must outlive every task and thread using it.
/// Go: a buffered chan T; Seastar: a cross-shard queue.
template <class T>
class Channel {
 public:
  /// A channel holding at most `capacity` items. Throws std::invalid_argument if 0.
  explicit Channel(std::size_t capacity)
      : core_(capacity), slots_(std::allocator<T>().allocate(core_.cap_)) {}
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  /// Destroys the items still in the channel.
  ~Channel() {
    while (core_.size_ > 0) (void)pop();
    std::allocator<T>().deallocate(slots_, core_.cap_);
  }

  /// Adds an item, parking while the channel is full (putters are woken in order).
  /// Cancellation: the item is not added. Throws ChannelClosed; CancelledError.
  void put(T item, SourceLocation where = SourceLocation::current()) {
    std::unique_lock<std::mutex> lk(core_.m_);
    while (!core_.closed_ && core_.size_ == core_.cap_) {
      core_.wait(lk, detail::ChannelCore::Putters, "Channel::put", where);
    }
    if (core_.closed_) throw ChannelClosed();
    push(std::move(item));
  }
  /// Adds an item if there is room now; false (item untouched) if full. Never parks.
  /// Throws ChannelClosed.
  bool try_put(T& item) {
    std::unique_lock<std::mutex> lk(core_.m_);
    if (core_.closed_) throw ChannelClosed();
    if (core_.size_ == core_.cap_) return false;
    push(std::move(item));
    return true;
  }
  /// Removes and returns the oldest item, parking while the channel is empty. After close():
  /// the items left, then ChannelClosed. Cancellation: nothing is removed.
  /// Throws ChannelClosed; CancelledError.
  T get(SourceLocation where = SourceLocation::current()) {
    std::unique_lock<std::mutex> lk(core_.m_);
    while (core_.size_ == 0 && !core_.closed_) {
      core_.wait(lk, detail::ChannelCore::Getters, "Channel::get", where);
    }
    if (core_.size_ == 0) throw ChannelClosed();
    T v = pop();
    if (core_.waiting_[detail::ChannelCore::Putters]) core_.notify_one(detail::ChannelCore::Putters);
    return v;
  }
  /// Removes the oldest item into `out` if there is one now; false if empty. Never parks.
  /// Throws ChannelClosed once closed and empty.
  bool try_get(T& out) {
    std::unique_lock<std::mutex> lk(core_.m_);
    if (core_.size_ == 0) {
      if (core_.closed_) throw ChannelClosed();
      return false;
    }
    out = pop();
    if (core_.waiting_[detail::ChannelCore::Putters]) core_.notify_one(detail::ChannelCore::Putters);
    return true;
  }
  /// Closes the channel: put() throws ChannelClosed from now on (parked putters too);
  /// getters take what is left, then get ChannelClosed. Idempotent; any thread.
  void close() {
    std::lock_guard<std::mutex> lk(core_.m_);
    core_.closed_ = true;
    core_.notify_all();
  }
  /// True once close() was called.
  bool closed() const {
    std::lock_guard<std::mutex> lk(core_.m_);
    return core_.closed_;
  }
  /// Items in the channel now (a snapshot).
  std::size_t size() const {
    std::lock_guard<std::mutex> lk(core_.m_);
    return core_.size_;
  }
  /// The capacity given at construction.
  std::size_t capacity() const noexcept { return core_.cap_; }

 private:
  // m_ held.
  void push(T&& item) {
    std::size_t i = core_.head_ + core_.size_;
    if (i >= core_.cap_) i -= core_.cap_;
    ::new (static_cast<void*>(slots_ + i)) T(std::move(item));
    ++core_.size_;
    if (core_.waiting_[detail::ChannelCore::Getters]) core_.notify_one(detail::ChannelCore::Getters);
  }
  T pop() {
    T& slot = slots_[core_.head_];
    T v = std::move(slot);
    slot.~T();
    if (++core_.head_ == core_.cap_) core_.head_ = 0;
    --core_.size_;
    return v;
  }

  detail::ChannelCore core_;
  T* slots_;
};

}  // namespace spindle
