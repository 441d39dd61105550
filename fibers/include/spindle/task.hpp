// Tasks: spawn(), Task<R> handles, current_task(), all_tasks().
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <spindle/detail/config.hpp>
#include <spindle/detail/task_state.hpp>
#include <spindle/detail/unique_function.hpp>
#include <spindle/errors.hpp>
#include <spindle/source_location.hpp>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace spindle {

/// Options for spawn(TaskOptions{...}, f, args...).
struct TaskOptions {
  /// The task's name; empty means "Task-<n>" (n counts tasks per loop from 1).
  std::string name{};
  /// Usable stack bytes; 0 means the loop's default (RunOptions::stack_size).
  std::size_t stack_size = 0;
};

/// An untyped, cheap, copyable handle to a task (what asyncio.current_task() returns).
/// Copies refer to the same task. The loop keeps a task alive until it finishes, whatever
/// handles exist. Handles belong to the loop's thread. A default-constructed handle is empty.
class SPINDLE_API AnyTask {
 public:
  AnyTask() noexcept = default;
  explicit AnyTask(detail::TaskBase* t) noexcept : t_(t) {
    if (t_) t_->add_ref();
  }
  AnyTask(const AnyTask& o) noexcept : AnyTask(o.t_) {}
  AnyTask(AnyTask&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  AnyTask& operator=(AnyTask o) noexcept {
    std::swap(t_, o.t_);
    return *this;
  }
  ~AnyTask() {
    if (t_) t_->release();
  }

  /// True unless the handle is empty.
  explicit operator bool() const noexcept { return t_ != nullptr; }
  /// True once the task finished: returned, threw or was cancelled. asyncio: Task.done()
  bool done() const noexcept { return t_->done(); }
  /// True if the task finished by CancelledError. asyncio: Task.cancelled()
  bool cancelled() const noexcept { return t_->done() && t_->cancelled_; }
  /// The exception the task finished with (null if it returned a value); marks it retrieved.
  /// Throws InvalidStateError if not done, CancelledError if it was cancelled.
  /// asyncio: Task.exception()
  std::exception_ptr exception() const;
  /// The task's name ("Task-<n>" unless set). asyncio: Task.get_name()
  std::string name() const { return t_->name(); }
  /// Renames the task. asyncio: Task.set_name()
  void set_name(std::string name) { t_->name_ = std::move(name); }
  /// A number unique among this loop's tasks (the n of "Task-<n>").
  std::uint64_t id() const noexcept { return t_->id_; }
  /// The task's usable stack size in bytes (0 before it was started).
  std::size_t stack_size() const noexcept { return t_->ctx_.stack_size; }
  /// How deep the task's stack has been used, in bytes, to the page. Exact when stack use is
  /// tracked (RunOptions::track_stack_use or debug mode); otherwise an upper bound (pages
  /// touched by this task or by earlier tasks on the same stack). After the task finished:
  /// its final high-water mark if tracked, else 0.
  std::size_t stack_used() const noexcept;

  /// Requests cancellation: a CancelledError(msg) is thrown at the task's current or next
  /// blocking call (held back inside a CancelShield); a task that never started never runs
  /// its body. Returns false if the task is already done. Several calls before delivery
  /// deliver one CancelledError (the first request's). The error records the calling task
  /// and `where`. asyncio: Task.cancel(msg)
  bool cancel(std::string msg = {}, SourceLocation where = SourceLocation::current());
  /// How many cancel() requests are outstanding (not undone by uncancel()).
  /// asyncio: Task.cancelling()
  int cancelling() const noexcept { return static_cast<int>(t_->cancels_requested_); }
  /// Decrements cancelling(); at zero a not-yet-delivered cancellation is withdrawn.
  /// Returns the new count. asyncio: Task.uncancel()
  int uncancel() noexcept;

  /// Calls fn(task) soon after the task finishes (at once-scheduled if already done), in
  /// registration order, as a loop callback (it must not block). asyncio: add_done_callback
  void add_done_callback(detail::UniqueFunction<void(const AnyTask&)> fn);

  friend bool operator==(const AnyTask& a, const AnyTask& b) noexcept { return a.t_ == b.t_; }

  /// The shared state (internal use).
  detail::TaskBase* state() const noexcept { return t_; }

 protected:
  detail::TaskBase* t_ = nullptr;
};

/// A handle to a task returning R (void, a move-only type or a value type).
/// asyncio: asyncio.Task
template <class R>
class Task : public AnyTask {
  static_assert(!std::is_reference_v<R>, "tasks return values, not references");

 public:
  using result_type = R;
  Task() noexcept = default;
  explicit Task(detail::TaskResult<R>* t) noexcept : AnyTask(t) {}

  /// Parks the current task until this task is done, then returns its result.
  /// Throws: the task's exception; CancelledError if it was cancelled, or if the caller is
  /// cancelled while waiting (the cancellation is forwarded to this task first, and join
  /// returns only after it finished); InvalidStateError if a move-only result was already
  /// moved out; std::logic_error outside a task. asyncio: `await task`
  R join(SourceLocation where = SourceLocation::current()) {
    detail::wait_task(*t_, where);
    return result();
  }

  /// The result of a finished task (copied, or moved out once for move-only R).
  /// Throws InvalidStateError if not done; rethrows the task's exception; CancelledError if
  /// it was cancelled. asyncio: Task.result()
  R result() const {
    detail::check_result(*t_);
    if constexpr (!std::is_void_v<R>) {
      auto* s = static_cast<detail::TaskResult<R>*>(t_);
      if constexpr (std::is_copy_constructible_v<R>) {
        return *s->value_;
      } else {
        detail::take_result(*t_);
        return std::move(*s->value_);
      }
    }
  }

  /// Calls fn(task) after the task finishes; see AnyTask::add_done_callback.
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&, const Task&>>>
  void add_done_callback(F fn) {
    AnyTask::add_done_callback(
        [fn = std::move(fn)](const AnyTask& t) mutable { fn(static_cast<const Task&>(t)); });
  }
};

namespace detail {
template <class F, class... Args>
using spawn_result_t = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
}  // namespace detail

/// Creates a task running f(args...) (arguments are decay-copied), scheduled to start soon in
/// FIFO order and never run eagerly. Throws std::logic_error when no loop runs on this thread.
/// asyncio: asyncio.create_task()
template <class F, class... Args>
requires(!std::is_same_v<std::decay_t<F>, TaskOptions>)
    Task<detail::spawn_result_t<F, Args...>> spawn(F&& f, Args&&... args) {
  return spawn(TaskOptions{}, std::forward<F>(f), std::forward<Args>(args)...);
}

/// As spawn(f, args...), with a name and/or a stack size.
template <class F, class... Args>
Task<detail::spawn_result_t<F, Args...>> spawn(TaskOptions opts, F&& f, Args&&... args) {
  using R = detail::spawn_result_t<F, Args...>;
  auto bound = [fn = std::forward<F>(f), ... as = std::forward<Args>(args)]() mutable -> R {
    return std::invoke(std::move(fn), std::move(as)...);
  };
  auto* t = new detail::TaskImpl<R, decltype(bound)>(std::move(bound));
  Task<R> handle(t);  // holds a reference even if start_task fails
  detail::start_task(t, {std::move(opts.name), opts.stack_size});
  return handle;
}

/// The task running now; an empty handle outside any task (e.g. in a loop callback).
/// asyncio: asyncio.current_task()
SPINDLE_API AnyTask current_task() noexcept;

/// Every task of the running loop that has not finished yet, in creation order.
/// Throws std::logic_error when no loop runs on this thread. asyncio: asyncio.all_tasks()
SPINDLE_API std::vector<AnyTask> all_tasks();

}  // namespace spindle
