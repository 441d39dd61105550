// What the database clients share: the turnstile that lends at most `size` connections at
// once (waiters served in order), counts what is lent, and closes: acquirers turned away, the
// closer waiting until every lease is back; and the hold one task takes on a connection or
// database for a transaction, which other tasks' statements wait behind.
#pragma once

#include <spindle/event.hpp>
#include <spindle/lock.hpp>
#include <spindle/semaphore.hpp>
#include <spindle/task.hpp>
#include <spindle/source_location.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace spindle::db::detail {

class LendingGate {
 public:
  /// `who` names the pool in messages ("pg::Pool"). Throws std::invalid_argument for size 0.
  LendingGate(std::size_t size, const char* who) : who_(who), permits_(size) {
    if (size == 0) throw std::invalid_argument(std::string(who) + ": size must be at least 1");
    all_back_.set();
  }
  /// Parks until one more may be lent, and counts it. Throws std::logic_error once closed,
  /// CancelledError.
  void enter(SourceLocation where) {
    if (closed_) throw std::logic_error(std::string(who_) + "::acquire: the pool is closed");
    permits_.acquire(where);
    if (closed_) {
      permits_.release();  // (passed on: the next waiter finds the pool closed too)
      throw std::logic_error(std::string(who_) + "::acquire: the pool is closed");
    }
    ++lent_;
    all_back_.clear();
  }
  /// One lease is back (or an enter() was not followed by a lease).
  void leave() noexcept {
    permits_.release();
    if (--lent_ == 0) all_back_.set();
  }
  /// Turns acquirers away from now on and waits until every lease is back. Idempotent.
  void close(SourceLocation where) {
    closed_ = true;
    while (lent_ > 0) all_back_.wait(where);
  }
  bool closed() const noexcept { return closed_; }
  std::size_t lent() const noexcept { return lent_; }

 private:
  const char* who_;
  Semaphore permits_;
  Event all_back_;
  std::size_t lent_ = 0;
  bool closed_ = false;
};

/// One task's hold on a connection for a transaction: other tasks' statements wait for it to
/// end (the holder's own go straight through).
class TaskHold {
 public:
  /// Parks while another task holds it. Throws CancelledError.
  void wait_turn(SourceLocation where) {
    if (owner_ && !(owner_ == current_task())) {
      lock_.lock(where);
      lock_.unlock();
    }
  }
  /// Whether the calling task holds it.
  bool mine() const noexcept { return owner_ && owner_ == current_task(); }
  /// Takes it for the calling task, parking while another task holds it. Throws
  /// CancelledError.
  void take(SourceLocation where = SourceLocation::current()) {
    lock_.lock(where);
    owner_ = current_task();
  }
  /// Gives it back (by the task that took it).
  void give_back() noexcept {
    owner_ = AnyTask();
    lock_.unlock();
  }

 private:
  Lock lock_;
  AnyTask owner_;
};

}  // namespace spindle::db::detail
