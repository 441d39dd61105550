// A move-only type-erased callable (std::move_only_function is C++23). Not API.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace spindle::detail {

template <class Sig>
class UniqueFunction;

/// Holds any callable matching R(Args...), including move-only lambdas.
template <class R, class... Args>
class UniqueFunction<R(Args...)> {
  struct Base {
    virtual ~Base() = default;
    virtual R call(Args... args) = 0;
  };
  template <class F>
  struct Impl final : Base {
    explicit Impl(F&& f) : fn(std::move(f)) {}
    explicit Impl(const F& f) : fn(f) {}
    R call(Args... args) override { return fn(std::forward<Args>(args)...); }
    F fn;
  };

 public:
  UniqueFunction() = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, UniqueFunction> &&
                                              std::is_invocable_r_v<R, std::decay_t<F>&, Args...>>>
  UniqueFunction(F&& f)  // NOLINT: implicit by design, like std::function
      : impl_(std::make_unique<Impl<std::decay_t<F>>>(std::forward<F>(f))) {}

  explicit operator bool() const noexcept { return impl_ != nullptr; }
  R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }

 private:
  std::unique_ptr<Base> impl_;
};

}  // namespace spindle::detail
