// spindle::db::Value: one statement parameter, as the database clients (pg, sqlite) take them.
#pragma once

#include <array>
#include <charconv>
#include <concepts>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <functional>
#include <type_traits>
#include <variant>

namespace spindle::db {

/// A parameter value: NULL, an integer, a floating-point number, a boolean or text. PostgreSQL
/// receives its text form (true/false for booleans); SQLite binds it with its own type.
using Value = std::variant<std::monostate, std::int64_t, double, bool, std::string>;

/// The Value of a statement argument: std::nullopt and empty optionals are NULL; integers
/// (except bool and char types), floating-point numbers, bool, strings, string views and
/// C strings (a null pointer is NULL) convert as their type says. Other types do not compile.
/// Throws std::out_of_range for an unsigned value above INT64_MAX.
inline Value to_value(std::nullopt_t) { return {}; }
inline Value to_value(bool b) { return b; }
inline Value to_value(std::string_view s) { return std::string(s); }
inline Value to_value(const std::string& s) { return s; }
inline Value to_value(std::string&& s) { return std::move(s); }
inline Value to_value(const char* s) { return s ? Value(std::string(s)) : Value(); }
template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, char>)
Value to_value(T v) {
  if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
    if (v > static_cast<T>(INT64_MAX)) {
      throw std::out_of_range("db::to_value: " + std::to_string(v) +
                              " does not fit a 64-bit signed integer");
    }
  }
  return static_cast<std::int64_t>(v);
}
template <std::floating_point T>
Value to_value(T v) {
  return static_cast<double>(v);
}
template <class T>
Value to_value(const std::optional<T>& v) {
  return v ? to_value(*v) : Value();
}

/// The Values of a statement's arguments, in order.
template <class... P>
std::array<Value, sizeof...(P)> values(const P&... params) {
  return {to_value(params)...};
}

/// Runs fn(self) between a transaction's start (already made by the caller) and commit();
/// when fn or commit() throws, calls rollback() (which must not throw) and rethrows.
/// Returns what fn returns. The shape of pg's and sqlite's transaction().
template <class Self, class F, class Commit, class Rollback>
auto transact(Self& self, F& fn, Commit commit, Rollback rollback)
    -> std::invoke_result_t<F&, Self&> {
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<F&, Self&>>) {
      fn(self);
      commit();
    } else {
      auto r = fn(self);
      commit();
      return r;
    }
  } catch (...) {
    rollback();
    throw;
  }
}

/// The text PostgreSQL reads for v (empty optional for NULL): decimal integers, the shortest
/// round-tripping decimal form of doubles (Infinity, -Infinity, NaN spelled as PostgreSQL
/// spells them), true/false.
inline std::optional<std::string> to_text(const Value& v) {
  struct Visit {
    std::optional<std::string> operator()(std::monostate) const { return std::nullopt; }
    std::optional<std::string> operator()(bool b) const { return b ? "true" : "false"; }
    std::optional<std::string> operator()(const std::string& s) const { return s; }
    std::optional<std::string> operator()(std::int64_t i) const { return std::to_string(i); }
    std::optional<std::string> operator()(double d) const {
      if (d != d) return "NaN";
      if (d == 1.0 / 0.0) return "Infinity";
      if (d == -1.0 / 0.0) return "-Infinity";
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, d);
      return std::string(buf, r.ptr);
    }
  };
  return std::visit(Visit{}, v);
}

}  // namespace spindle::db
