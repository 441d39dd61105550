// What the database pools share: the turnstile that lends at most `size` connections at once
// (waiters served in order), counts what is lent, and closes: acquirers turned away, the
// closer waiting until every lease is back.
#pragma once

#include <spindle/event.hpp>
#include <spindle/semaphore.hpp>
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

}  // namespace spindle::db::detail
