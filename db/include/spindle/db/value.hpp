// spindle::db::Value: one statement parameter, as the database clients (pg, sqlite) take them.
#pragma once

#include <array>
#include <charconv>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <functional>
#include <type_traits>
#include <variant>
#include <vector>

#if __has_include(<boost/json/fwd.hpp>)
#include <boost/json/fwd.hpp>
#define SPINDLE_DB_HAS_JSON 1
#endif

namespace spindle::db {

/// Binary data: PostgreSQL's bytea, SQLite's blob.
using Bytes = std::vector<std::byte>;

/// A parameter value: NULL, an integer, a floating-point number, a boolean, text or bytes.
/// PostgreSQL receives its text form (true/false for booleans, bytea's hex form for bytes);
/// SQLite binds it with its own type (bytes as a blob).
using Value = std::variant<std::monostate, std::int64_t, double, bool, std::string, Bytes>;

/// The Value of a statement argument: std::nullopt and empty optionals are NULL; integers
/// (except bool and char types), floating-point numbers, bool, strings, string views and
/// C strings (a null pointer is NULL) convert as their type says; Bytes as bytes;
/// std::chrono::system_clock::time_point as "YYYY-MM-DD HH:MM:SS.ffffff+00:00" (UTC, to the
/// microsecond; max() and min() as infinity and -infinity); std::chrono::sys_days as
/// "YYYY-MM-DD"; a std::vector of any of these as PostgreSQL's array form ("{...}", every
/// element quoted, NULL for an empty optional); boost::json::value as its serialized text
/// (include <spindle/db/json.hpp>). Other types do not compile.
/// Throws std::out_of_range for an unsigned value above INT64_MAX.
inline Value to_value(std::nullopt_t) { return {}; }
inline Value to_value(bool b) { return b; }
inline Value to_value(std::string_view s) { return std::string(s); }
inline Value to_value(const std::string& s) { return s; }
inline Value to_value(std::string&& s) { return std::move(s); }
inline Value to_value(const char* s) { return s ? Value(std::string(s)) : Value(); }
inline Value to_value(const Bytes& b) { return b; }
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
#ifdef SPINDLE_DB_HAS_JSON
template <class J>
  requires std::same_as<J, boost::json::value>
Value to_value(const J& v) {
  return std::string(serialize(v));  // (Boost.JSON's, found through v: <spindle/db/json.hpp>)
}
#endif
inline Value to_value(std::chrono::sys_days day) {
  if (day == std::chrono::sys_days::max()) return std::string("infinity");
  if (day == std::chrono::sys_days::min()) return std::string("-infinity");
  const std::chrono::year_month_day ymd(day);
  const int y = static_cast<int>(ymd.year());
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02u%s", y > 0 ? y : 1 - y,
                              static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                              y > 0 ? "" : " BC");
  return std::string(buf, static_cast<std::size_t>(n));
}
inline Value to_value(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  using time_point = system_clock::time_point;
  if (t == time_point::max()) return std::string("infinity");
  if (t == time_point::min()) return std::string("-infinity");
  const auto micros = floor<microseconds>(t);
  const auto day = floor<days>(micros);
  const hh_mm_ss<microseconds> hms(micros - day);
  std::string s = std::get<std::string>(to_value(sys_days(day)));
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, " %02d:%02d:%02d.%06lld+00:00",
                              static_cast<int>(hms.hours().count()),
                              static_cast<int>(hms.minutes().count()),
                              static_cast<int>(hms.seconds().count()),
                              static_cast<long long>(hms.subseconds().count()));
  return s.insert(s.ends_with(" BC") ? s.size() - 3 : s.size(), buf, static_cast<std::size_t>(n));
}

inline std::optional<std::string> to_text(const Value& v);

namespace detail {
template <class T>
void append_array_element(std::string& out, const T& e);
}  // namespace detail

template <class T>
  requires(!std::same_as<T, std::byte>)
Value to_value(const std::vector<T>& elements) {
  std::string out = "{";
  for (const auto& e : elements) {
    if (out.size() > 1) out += ',';
    detail::append_array_element(out, e);
  }
  return out + "}";
}

namespace detail {

template <class T>
inline constexpr bool is_nested_array = false;
template <class T>
  requires(!std::same_as<T, std::byte>)
inline constexpr bool is_nested_array<std::vector<T>> = true;

/// One element of an array's text form: NULL, a nested array as it is, anything else quoted.
template <class T>
void append_array_element(std::string& out, const T& e) {
  if constexpr (requires { e.has_value(); *e; }) {
    if (!e) {
      out += "NULL";
    } else {
      append_array_element(out, *e);
    }
  } else if constexpr (is_nested_array<T>) {
    out += std::get<std::string>(to_value(e));
  } else {
    const std::optional<std::string> text = to_text(to_value(e));
    out += '"';
    for (char c : *text) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
}

}  // namespace detail

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
/// spells them), true/false, bytea's hex form ("\\x00ff").
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
    std::optional<std::string> operator()(const Bytes& b) const {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string s = "\\x";
      s.reserve(2 + 2 * b.size());
      for (std::byte x : b) {
        s += kHex[std::to_integer<unsigned>(x) >> 4];
        s += kHex[std::to_integer<unsigned>(x) & 15];
      }
      return s;
    }
  };
  return std::visit(Visit{}, v);
}

}  // namespace spindle::db
