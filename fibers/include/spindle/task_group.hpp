// Structured concurrency: task_group() and TaskGroup.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <spindle/detail/config.hpp>
#include <spindle/errors.hpp>
#include <spindle/source_location.hpp>
#include <spindle/task.hpp>
#include <type_traits>
#include <utility>

namespace spindle {

/// The group handed to task_group()'s body; tasks spawned into it are waited for before
/// task_group() returns. A cheap handle: copies refer to the same group, and a copy kept
/// after task_group() returned refuses to spawn (std::logic_error) instead of dangling.
/// asyncio: asyncio.TaskGroup
class SPINDLE_API TaskGroup {
 public:
  /// Spawns f(args...) as a task of this group. Throws std::logic_error if the group has
  /// finished or is shutting down after a failure. asyncio: TaskGroup.create_task()
  template <class F, class... Args>
  requires(!std::is_same_v<std::decay_t<F>, TaskOptions>)
      Task<detail::spawn_result_t<F, Args...>> spawn(F&& f, Args&&... args) {
    return spawn(TaskOptions{}, std::forward<F>(f), std::forward<Args>(args)...);
  }
  /// As spawn(f, args...), with a name and/or stack size.
  template <class F, class... Args>
  Task<detail::spawn_result_t<F, Args...>> spawn(TaskOptions opts, F&& f, Args&&... args) {
    check_open();
    auto t = spindle::spawn(std::move(opts), std::forward<F>(f), std::forward<Args>(args)...);
    adopt(*t.state());
    return t;
  }

  // Used by task_group().
  explicit TaskGroup(SourceLocation where);
  ~TaskGroup();
  /// Waits for every task, then throws what asyncio's TaskGroup.__aexit__ raises.
  void finish(std::exception_ptr body_error, bool body_cancelled);

 private:
  void check_open() const;
  void adopt(detail::TaskBase& t);

  struct State;
  std::shared_ptr<State> s_;
};

/// Runs body(group) in the current task, then waits until every task spawned into the group
/// has finished. The first failure (of a task or of the body) cancels the body (at its next
/// blocking call) and every other task of the group; once all have finished, ExceptionGroup
/// is thrown holding every failure other than CancelledError: the tasks' in the order they
/// failed, then the body's. If the current task is cancelled from outside, the group's tasks
/// are cancelled and awaited and CancelledError propagates. Returns the body's value.
/// Throws: ExceptionGroup; CancelledError; std::logic_error outside a task.
/// asyncio: `async with asyncio.TaskGroup() as g: ...`
template <class F>
auto task_group(F&& body, SourceLocation where = SourceLocation::current())
    -> std::invoke_result_t<F&, TaskGroup&> {
  using R = std::invoke_result_t<F&, TaskGroup&>;
  TaskGroup group(where);
  std::exception_ptr error;
  bool cancelled = false;
  std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> result{};
  try {
    if constexpr (std::is_void_v<R>) {
      std::invoke(body, group);
    } else {
      result.emplace(std::invoke(body, group));
    }
  } catch (const CancelledError&) {
    error = std::current_exception();
    cancelled = true;
  } catch (...) {
    error = std::current_exception();
  }
  group.finish(std::move(error), cancelled);
  if constexpr (!std::is_void_v<R>) return std::move(*result);
}

}  // namespace spindle
