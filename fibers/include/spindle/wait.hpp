// Waiting for some of several tasks: wait() and as_completed().
#pragma once

#include <chrono>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <spindle/detail/config.hpp>
#include <spindle/loop.hpp>
#include <spindle/source_location.hpp>
#include <spindle/task.hpp>
#include <stdexcept>
#include <vector>

namespace spindle {

namespace detail {

enum class WaitMode : std::uint8_t { All, AllOrFailure, FirstCompleted, FirstException };

/// Parks until the mode's condition holds for tasks[0..n) or the deadline passes (returns
/// false then). If the caller is cancelled: with cancel_children_on_cancel, cancels every
/// task and waits for all of them; then throws CancelledError.
SPINDLE_API bool wait_tasks(TaskBase* const* tasks, std::size_t n, WaitMode mode,
                            const Clock::time_point* deadline, bool cancel_children_on_cancel,
                            const char* what, SourceLocation where);

/// Records tasks as they finish, for as_completed().
class SPINDLE_API CompletionQueue {
 public:
  CompletionQueue(std::vector<TaskBase*> tasks, std::optional<Clock::time_point> deadline);
  CompletionQueue(CompletionQueue&&) noexcept;
  ~CompletionQueue();
  /// The i-th task to finish, parking until it has. Throws TimeoutError past the deadline.
  TaskBase& get(std::size_t i, SourceLocation where);
  std::size_t size() const noexcept { return size_; }

 private:
  struct State;
  std::size_t size_;
  std::optional<Clock::time_point> deadline_;
  std::unique_ptr<State> s_;
};

template <class R>
std::vector<TaskBase*> states(const std::vector<Task<R>>& v) {
  std::vector<TaskBase*> out;
  out.reserve(v.size());
  for (const auto& t : v) out.push_back(t.state());
  return out;
}

}  // namespace detail

/// When wait() returns. asyncio: FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED
enum class ReturnWhen { FirstCompleted, FirstException, AllCompleted };

/// What wait() returns: the tasks that are done and those still pending, each in input order.
template <class R>
struct WaitResult {
  std::vector<Task<R>> done;
  std::vector<Task<R>> pending;
};

namespace detail {
template <class R>
WaitResult<R> wait_impl(const std::vector<Task<R>>& tasks, ReturnWhen when,
                        const Clock::time_point* deadline, SourceLocation where) {
  if (tasks.empty()) throw std::invalid_argument("spindle::wait: the set of tasks is empty");
  const auto ptrs = states(tasks);
  const WaitMode mode = when == ReturnWhen::FirstCompleted   ? WaitMode::FirstCompleted
                        : when == ReturnWhen::FirstException ? WaitMode::FirstException
                                                             : WaitMode::All;
  wait_tasks(ptrs.data(), ptrs.size(), mode, deadline, false, "wait", where);
  WaitResult<R> r;
  for (const auto& t : tasks) (t.done() ? r.done : r.pending).push_back(t);
  return r;
}
}  // namespace detail

/// Parks until `when` holds: any task done (FirstCompleted), any task failed with an
/// exception other than CancelledError, or all done (FirstException), all done
/// (AllCompleted). Never cancels a task and never throws a task's exception.
/// Cancellation: throws CancelledError; the tasks keep running.
/// Throws: std::invalid_argument for an empty set. asyncio: asyncio.wait(aws, return_when=)
template <class R>
WaitResult<R> wait(const std::vector<Task<R>>& tasks, ReturnWhen when = ReturnWhen::AllCompleted,
                   SourceLocation where = SourceLocation::current()) {
  return detail::wait_impl(tasks, when, nullptr, where);
}

/// As wait(tasks, when), but returns after `timeout` at the latest, with whatever is done
/// (no TimeoutError). asyncio: asyncio.wait(aws, timeout=, return_when=)
template <class R, class Rep, class Period>
WaitResult<R> wait(const std::vector<Task<R>>& tasks, ReturnWhen when,
                   std::chrono::duration<Rep, Period> timeout,
                   SourceLocation where = SourceLocation::current()) {
  const Clock::time_point deadline =
      Loop::current().time() + std::chrono::ceil<Clock::duration>(timeout);
  return detail::wait_impl(tasks, when, &deadline, where);
}

/// A range over tasks in the order they finish; see as_completed().
template <class R>
class AsCompleted {
 public:
  AsCompleted(const std::vector<Task<R>>& tasks, std::optional<Clock::time_point> deadline)
      : q_(detail::states(tasks), deadline) {}

  /// Input iterator: dereferencing parks until the next task has finished.
  class iterator {
   public:
    using value_type = Task<R>;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    /// The next finished task (the same one until ++). Throws TimeoutError, CancelledError.
    Task<R> operator*() const {
      return Task<R>(static_cast<detail::TaskResult<R>*>(&q_->get(i_, SourceLocation::current())));
    }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    void operator++(int) { ++i_; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return it.i_ == it.q_->size();
    }

   private:
    friend class AsCompleted;
    explicit iterator(detail::CompletionQueue* q) : q_(q) {}
    detail::CompletionQueue* q_ = nullptr;
    std::size_t i_ = 0;
  };

  iterator begin() { return iterator(&q_); }
  std::default_sentinel_t end() const { return {}; }

 private:
  detail::CompletionQueue q_;
};

/// The tasks in the order they finish (already finished ones first, in input order):
/// `for (auto t : as_completed(tasks)) use(t.result());`. Each step parks until the next
/// task is done. Cancellation: throws CancelledError; the tasks keep running.
/// asyncio: asyncio.as_completed(aws)
template <class R>
AsCompleted<R> as_completed(const std::vector<Task<R>>& tasks) {
  return AsCompleted<R>(tasks, std::nullopt);
}

/// As as_completed(tasks), but a step that would finish after `timeout` (counted from this
/// call) throws TimeoutError instead. asyncio: asyncio.as_completed(aws, timeout=)
template <class R, class Rep, class Period>
AsCompleted<R> as_completed(const std::vector<Task<R>>& tasks,
                            std::chrono::duration<Rep, Period> timeout) {
  return AsCompleted<R>(tasks,
                        Loop::current().time() + std::chrono::ceil<Clock::duration>(timeout));
}

}  // namespace spindle
