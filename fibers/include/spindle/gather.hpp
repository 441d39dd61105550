// Waiting for several tasks: gather(), gather_settled(), Outcome<T>.
#pragma once

#include <array>
#include <cstddef>
#include <exception>
#include <spindle/detail/config.hpp>
#include <spindle/source_location.hpp>
#include <spindle/task.hpp>
#include <spindle/wait.hpp>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace spindle {

/// The settled state of a task: its value or its exception (asyncio's
/// gather(..., return_exceptions=True) element). A void task's value is std::monostate.
template <class T>
class Outcome {
 public:
  explicit Outcome(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  explicit Outcome(std::exception_ptr error) : v_(std::in_place_index<1>, std::move(error)) {}

  /// True if the task returned a value.
  bool has_value() const noexcept { return v_.index() == 0; }
  /// The value. Rethrows the task's exception if it has none.
  T& value() & { return get(); }
  const T& value() const& { return const_cast<Outcome*>(this)->get(); }
  T&& value() && { return std::move(get()); }
  /// The exception (a CancelledError for a cancelled task), or null if there is a value.
  std::exception_ptr error() const noexcept { return has_value() ? nullptr : std::get<1>(v_); }

 private:
  T& get() {
    if (!has_value()) std::rethrow_exception(std::get<1>(v_));
    return std::get<0>(v_);
  }
  std::variant<T, std::exception_ptr> v_;
};

namespace detail {

template <class T>
struct is_task : std::false_type {};
template <class R>
struct is_task<Task<R>> : std::true_type {};

/// What gather() accepts: a Task<R>, or a callable to spawn.
template <class X>
concept Gatherable = is_task<std::decay_t<X>>::value || std::is_invocable_v<std::decay_t<X>>;

/// A task argument is used as is; a callable is spawned.
template <class X>
auto as_task(X&& x) {
  if constexpr (is_task<std::decay_t<X>>::value) {
    return std::decay_t<X>(std::forward<X>(x));
  } else {
    return spawn(std::forward<X>(x));
  }
}

/// The arguments as tasks, callables spawned left to right (a braced list fixes the order;
/// function arguments such as make_tuple's would be evaluated in any order).
template <class... Xs>
auto spawn_in_order(Xs&&... xs) {
  return std::tuple<decltype(as_task(std::forward<Xs>(xs)))...>{as_task(std::forward<Xs>(xs))...};
}

template <class R>
using value_t = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

template <class R>
value_t<R> take_value(const Task<R>& t) {
  if constexpr (std::is_void_v<R>) {
    t.result();
    return {};
  } else {
    return t.result();
  }
}

template <class R>
Outcome<value_t<R>> settle(const Task<R>& t) {
  if (auto e = t.state()->error_) {
    t.state()->retrieved_ = true;
    return Outcome<value_t<R>>(std::move(e));
  }
  return Outcome<value_t<R>>(take_value(t));
}

/// Parks until every task in [tasks, tasks+n) is done, or (settle == false) until the first
/// one fails, whose exception is then rethrown. If the caller is cancelled, every unfinished
/// task is cancelled, awaited, and CancelledError is thrown.
SPINDLE_API void gather_wait(TaskBase* const* tasks, std::size_t n, bool settle,
                             SourceLocation where);

}  // namespace detail

/// Waits for every task (callables are spawned first, in argument order) and returns their
/// results as a tuple in argument order (void → std::monostate). The first exception
/// propagates at once; the other tasks keep running (asyncio semantics).
/// Cancellation: cancelling the caller cancels every child, waits for them, throws
/// CancelledError. asyncio: asyncio.gather(*aws)
template <detail::Gatherable... Xs>
requires(sizeof...(Xs) > 0) auto gather(Xs&&... xs) {
  auto tasks = detail::spawn_in_order(std::forward<Xs>(xs)...);
  std::apply(
      [](const auto&... t) {
        std::array<detail::TaskBase*, sizeof...(Xs)> ptrs{t.state()...};
        detail::gather_wait(ptrs.data(), ptrs.size(), false, SourceLocation::current());
      },
      tasks);
  return std::apply(
      [](const auto&... t) {
        return std::tuple<detail::value_t<typename std::decay_t<decltype(t)>::result_type>...>(
            detail::take_value(t)...);
      },
      tasks);
}

/// Waits for every task in v; returns their results in order (nothing for Task<void>).
/// Semantics as the variadic gather().
template <class R>
auto gather(const std::vector<Task<R>>& v, SourceLocation where = SourceLocation::current()) {
  const auto ptrs = detail::states(v);
  detail::gather_wait(ptrs.data(), ptrs.size(), false, where);
  if constexpr (std::is_void_v<R>) {
    for (const auto& t : v) t.result();
  } else {
    std::vector<R> out;
    out.reserve(v.size());
    for (const auto& t : v) out.push_back(t.result());
    return out;
  }
}

/// Waits for every task (callables are spawned) and returns a tuple of Outcome, one per
/// argument; never throws a task's exception. Cancellation as gather().
/// asyncio: asyncio.gather(*aws, return_exceptions=True)
template <detail::Gatherable... Xs>
requires(sizeof...(Xs) > 0) auto gather_settled(Xs&&... xs) {
  auto tasks = detail::spawn_in_order(std::forward<Xs>(xs)...);
  return std::apply(
      [](const auto&... t) {
        std::array<detail::TaskBase*, sizeof...(Xs)> ptrs{t.state()...};
        detail::gather_wait(ptrs.data(), ptrs.size(), true, SourceLocation::current());
        return std::tuple{detail::settle(t)...};
      },
      tasks);
}

/// Waits for every task in v and returns their Outcomes in order.
template <class R>
std::vector<Outcome<detail::value_t<R>>> gather_settled(
    const std::vector<Task<R>>& v, SourceLocation where = SourceLocation::current()) {
  const auto ptrs = detail::states(v);
  detail::gather_wait(ptrs.data(), ptrs.size(), true, where);
  std::vector<Outcome<detail::value_t<R>>> out;
  out.reserve(v.size());
  for (const auto& t : v) out.push_back(detail::settle(t));
  return out;
}

}  // namespace spindle
