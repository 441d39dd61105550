// ContextVar: values that belong to the current task (asyncio's contextvars).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <spindle/detail/config.hpp>
#include <stdexcept>
#include <string>
#include <utility>

namespace spindle {

namespace detail {
/// The current context's value for `key` (null if unset). The pointer stays valid until
/// the current context changes (a set() or reset() in this task).
SPINDLE_API const void* context_find(std::uint64_t key) noexcept;
/// Sets `key` to `value` (null: unset) in the current context, copy-on-write; returns the
/// previous value and an identity of the context it was set in.
SPINDLE_API std::shared_ptr<const void> context_set(std::uint64_t key,
                                                    std::shared_ptr<const void> value,
                                                    const void** owner);
/// An identity of the current context (the running task, or this thread outside tasks).
SPINDLE_API const void* context_owner() noexcept;
SPINDLE_API std::uint64_t context_new_key() noexcept;
}  // namespace detail

/// A variable with a value per task: set() changes it for the current task only; a spawned
/// task starts with a copy of its parent's values at spawn time, and to_thread() work sees
/// the caller's values. Outside tasks the thread has a context of its own.
/// asyncio: contextvars.ContextVar
template <class T>
class ContextVar {
 public:
  /// What set() returns; reset(token) restores the value from before that set().
  /// asyncio: contextvars.Token
  class Token {
   public:
    /// The value before the set(), if there was one.
    std::optional<T> old_value() const {
      if (!old_) return std::nullopt;
      return *static_cast<const T*>(old_.get());
    }

   private:
    friend class ContextVar;
    Token(std::uint64_t key, std::shared_ptr<const void> old, const void* owner)
        : key_(key), old_(std::move(old)), owner_(owner) {}
    std::uint64_t key_;
    std::shared_ptr<const void> old_;
    const void* owner_;
    bool used_ = false;
  };

  /// A variable without a default: get() throws until it is set.
  explicit ContextVar(std::string name) : name_(std::move(name)) {}
  /// A variable whose get() returns `fallback` until it is set.
  ContextVar(std::string name, T fallback)
      : name_(std::move(name)), default_(std::move(fallback)) {}
  ContextVar(const ContextVar&) = delete;
  ContextVar& operator=(const ContextVar&) = delete;

  const std::string& name() const noexcept { return name_; }

  /// The current task's value, else the default. Throws std::out_of_range (naming the
  /// variable) if there is neither. asyncio: var.get()
  T get() const {
    if (const void* v = detail::context_find(key_)) return *static_cast<const T*>(v);
    if (default_) return *default_;
    throw std::out_of_range("ContextVar '" + name_ + "' has no value and no default");
  }
  /// The current task's value, else `fallback`. asyncio: var.get(default)
  T get(T fallback) const {
    if (const void* v = detail::context_find(key_)) return *static_cast<const T*>(v);
    return fallback;
  }
  /// Sets the value for the current task (and the tasks it spawns from now on).
  /// asyncio: var.set(value)
  Token set(T value) {
    const void* owner = nullptr;
    auto old = detail::context_set(key_, std::make_shared<const T>(std::move(value)), &owner);
    return Token(key_, std::move(old), owner);
  }
  /// Restores the value from before set() returned `token`. Throws std::invalid_argument if
  /// the token was already used, belongs to another variable, or was made in another task.
  /// asyncio: var.reset(token)
  void reset(Token& token) {
    if (token.used_) throw std::invalid_argument("ContextVar::reset: the token was already used");
    if (token.key_ != key_) {
      throw std::invalid_argument("ContextVar::reset: the token belongs to another variable");
    }
    if (token.owner_ != detail::context_owner()) {
      throw std::invalid_argument("ContextVar::reset: the token was created in another context");
    }
    const void* owner = nullptr;
    detail::context_set(key_, token.old_, &owner);
    token.used_ = true;
  }

 private:
  std::string name_;
  std::optional<T> default_;
  std::uint64_t key_ = detail::context_new_key();
};

}  // namespace spindle
