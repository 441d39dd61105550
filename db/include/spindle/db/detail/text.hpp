// The text forms of typed values, both ways: what PostgreSQL prints (and reads) for
// integers, floating point, booleans, bytea, timestamps, dates and arrays, and what SQLite
// stores. Decoders throw BadCell with the reason; db::Row and the results wrap it into a
// ConversionError naming the column and both types.
#pragma once

#include <spindle/db/value.hpp>

#include <charconv>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace spindle::db::detail {

/// Why a cell's text does not convert (caught and wrapped by the caller).
struct BadCell {
  std::string why;
};

[[noreturn]] inline void bad(std::string why) { throw BadCell{std::move(why)}; }

/// The text, quoted and shortened for a message.
inline std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out = "\"";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

/// Which database's text a cell holds (they differ for bytea and booleans).
enum class Dialect { postgres, sqlite };

template <class T>
struct Codec;  // decode(text, dialect) -> T; name() for messages

template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

template <class T>
  requires std::integral<T> && (!std::same_as<T, bool>) && (!std::same_as<T, char>)
struct Codec<T> {
  static std::string name() {
    return (std::is_signed_v<T> ? "int" : "uint") + std::to_string(sizeof(T) * 8);
  }
  static T decode(std::string_view s, Dialect) {
    T v{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) bad(quoted(s) + " is out of its range");
    if (ec != std::errc() || end != s.data() + s.size()) bad(quoted(s) + " is not an integer");
    return v;
  }
};

template <std::floating_point T>
struct Codec<T> {
  static std::string name() { return sizeof(T) == sizeof(float) ? "float" : "double"; }
  static T decode(std::string_view s, Dialect) {
    T v{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) bad(quoted(s) + " is out of its range");
    if (ec != std::errc() || end != s.data() + s.size()) bad(quoted(s) + " is not a number");
    return v;
  }
};

template <>
struct Codec<bool> {
  static std::string name() { return "bool"; }
  static bool decode(std::string_view s, Dialect) {
    if (s == "t" || s == "true" || s == "1") return true;
    if (s == "f" || s == "false" || s == "0") return false;
    bad(quoted(s) + " is not a boolean");
  }
};

template <>
struct Codec<std::string> {
  static std::string name() { return "std::string"; }
  static std::string decode(std::string_view s, Dialect) { return std::string(s); }
};

inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <>
struct Codec<Bytes> {
  static std::string name() { return "std::vector<std::byte>"; }
  static Bytes decode(std::string_view s, Dialect d) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    if (d == Dialect::sqlite) return Bytes(p, p + s.size());  // a blob's own bytes
    if (s.size() < 2 || s[0] != '\\' || s[1] != 'x' || s.size() % 2 != 0) {
      bad(quoted(s) + " is not bytea in hex form (bytea_output = hex)");
    }
    Bytes out;
    out.reserve((s.size() - 2) / 2);
    for (std::size_t i = 2; i < s.size(); i += 2) {
      const int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
      if (hi < 0 || lo < 0) bad(quoted(s) + " is not bytea in hex form");
      out.push_back(static_cast<std::byte>(hi * 16 + lo));
    }
    return out;
  }
};

/// Reads the digits at s[i...] (at least min, at most max) as a number; advances i.
inline bool read_number(std::string_view s, std::size_t& i, std::size_t min, std::size_t max,
                        std::int64_t& out) {
  std::size_t n = 0;
  out = 0;
  while (i < s.size() && n < max && s[i] >= '0' && s[i] <= '9') {
    out = out * 10 + (s[i] - '0');
    ++i;
    ++n;
  }
  return n >= min;
}

/// A date "YYYY-MM-DD" (or more digits of year) at the start of s, with PostgreSQL's " BC"
/// looked for at the very end; advances i past the date.
inline std::chrono::sys_days read_date(std::string_view s, std::size_t& i) {
  std::int64_t y = 0, m = 0, d = 0;
  const bool ok = read_number(s, i, 4, 7, y) && i < s.size() && s[i++] == '-' &&
                  read_number(s, i, 2, 2, m) && i < s.size() && s[i++] == '-' &&
                  read_number(s, i, 2, 2, d);
  if (!ok) bad(quoted(s) + " is not a date (YYYY-MM-DD)");
  if (s.ends_with(" BC")) y = 1 - y;  // 1 BC is year 0
  const std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(y)),
                                        std::chrono::month(static_cast<unsigned>(m)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) bad(quoted(s) + " is not a valid date");
  return std::chrono::sys_days(ymd);
}

template <>
struct Codec<std::chrono::sys_days> {
  static std::string name() { return "std::chrono::sys_days"; }
  static std::chrono::sys_days decode(std::string_view s, Dialect) {
    if (s == "infinity") return std::chrono::sys_days::max();
    if (s == "-infinity") return std::chrono::sys_days::min();
    std::size_t i = 0;
    const auto day = read_date(s, i);
    if (i != s.size() && s.substr(i) != " BC") bad(quoted(s) + " is not a date (YYYY-MM-DD)");
    return day;
  }
};

template <>
struct Codec<std::chrono::system_clock::time_point> {
  using time_point = std::chrono::system_clock::time_point;
  static std::string name() { return "std::chrono::system_clock::time_point"; }
  // "YYYY-MM-DD[ T]HH:MM:SS[.ffffff][Z|+HH[:MM[:SS]]|-...][ BC]"; no offset is UTC.
  static time_point decode(std::string_view s, Dialect) {
    using namespace std::chrono;
    if (s == "infinity") return time_point::max();
    if (s == "-infinity") return time_point::min();
    std::size_t i = 0;
    const sys_days day = read_date(s, i);
    std::int64_t hh = 0, mm = 0, ss = 0;
    const bool ok = i < s.size() && (s[i] == ' ' || s[i] == 'T') && read_number(s, ++i, 2, 2, hh) &&
                    i < s.size() && s[i++] == ':' && read_number(s, i, 2, 2, mm) && i < s.size() &&
                    s[i++] == ':' && read_number(s, i, 2, 2, ss);
    if (!ok || hh > 24 || mm > 59 || ss > 60) bad(quoted(s) + " is not a timestamp");
    std::int64_t nanos = 0;
    if (i < s.size() && s[i] == '.') {
      std::int64_t scale = 100'000'000;
      for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10) {
        nanos += (s[i] - '0') * scale;
      }
    }
    std::int64_t offset = 0;  // seconds east of UTC
    if (i < s.size() && s[i] == 'Z') {
      ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      const int sign = s[i++] == '-' ? -1 : 1;
      std::int64_t oh = 0, om = 0, os = 0;
      if (!read_number(s, i, 2, 2, oh)) bad(quoted(s) + " has a malformed UTC offset");
      if (i < s.size() && s[i] == ':' && !read_number(s, ++i, 2, 2, om)) bad(quoted(s) + " has a malformed UTC offset");
      if (i < s.size() && s[i] == ':' && !read_number(s, ++i, 2, 2, os)) bad(quoted(s) + " has a malformed UTC offset");
      offset = sign * (oh * 3600 + om * 60 + os);
    }
    if (i != s.size() && s.substr(i) != " BC") bad(quoted(s) + " is not a timestamp");
    // In microseconds first: every date PostgreSQL stores fits; the clock's nanoseconds
    // reach only 1677 to 2262.
    const std::int64_t secs = std::int64_t{day.time_since_epoch().count()} * 86400 + hh * 3600 +
                              mm * 60 + ss - offset;
    constexpr std::int64_t kLimit = duration_cast<seconds>(time_point::duration::max()).count() - 1;
    if (secs > kLimit || secs < -kLimit) {
      bad(quoted(s) + " is outside the clock's range (years 1678 to 2261)");
    }
    return time_point(duration_cast<time_point::duration>(seconds(secs) + nanoseconds(nanos)));
  }
};

/// The elements of a PostgreSQL array's text form "{a,"b c",NULL,{nested}}" at s[i...]:
/// calls each(text, is_null) with the element's unescaped text (a nested array's own
/// braces included, for the element type to read); advances i past the closing brace.
template <class Each>
void read_array(std::string_view s, std::size_t& i, Each each) {
  if (i < s.size() && s[i] == '[') {  // "[0:2]={...}": bounds other than 1..n
    const auto eq = s.find('=', i);
    if (eq == std::string_view::npos) bad(quoted(s) + " is not an array");
    i = eq + 1;
  }
  if (i >= s.size() || s[i] != '{') bad(quoted(s) + " is not an array");
  ++i;
  if (i < s.size() && s[i] == '}') {
    ++i;
    return;
  }
  for (;;) {
    if (i >= s.size()) bad(quoted(s) + " is an unterminated array");
    if (s[i] == '{') {  // a nested array: hand its text over whole
      const std::size_t start = i;
      int depth = 0;
      bool in_quotes = false;
      for (; i < s.size(); ++i) {
        if (in_quotes) {
          if (s[i] == '\\') ++i;
          else if (s[i] == '"') in_quotes = false;
        } else if (s[i] == '"') {
          in_quotes = true;
        } else if (s[i] == '{') {
          ++depth;
        } else if (s[i] == '}' && --depth == 0) {
          ++i;
          break;
        }
      }
      if (depth != 0) bad(quoted(s) + " is an unterminated array");
      each(s.substr(start, i - start), false);
    } else if (s[i] == '"') {
      std::string text;
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        text += s[i];
      }
      if (i >= s.size()) bad(quoted(s) + " is an unterminated array");
      ++i;
      each(std::string_view(text), false);
    } else {
      const std::size_t start = i;
      while (i < s.size() && s[i] != ',' && s[i] != '}') ++i;
      const std::string_view text = s.substr(start, i - start);
      const bool null = text.size() == 4 && (text[0] | 0x20) == 'n' && (text[1] | 0x20) == 'u' &&
                        (text[2] | 0x20) == 'l' && (text[3] | 0x20) == 'l';
      each(text, null);
    }
    if (i < s.size() && s[i] == ',') {
      ++i;
    } else if (i < s.size() && s[i] == '}') {
      ++i;
      return;
    } else {
      bad(quoted(s) + " is not an array");
    }
  }
}

template <class T>
std::string type_name() {
  if constexpr (is_optional<T>) {
    return "std::optional<" + Codec<typename T::value_type>::name() + ">";
  } else {
    return Codec<T>::name();
  }
}

template <class T>
struct Codec<std::vector<T>> {
  static std::string name() { return "std::vector<" + type_name<T>() + ">"; }
  static std::vector<T> decode(std::string_view s, Dialect d) {
    std::vector<T> out;
    std::size_t i = 0;
    read_array(s, i, [&](std::string_view text, bool null) {
      if constexpr (is_optional<T>) {
        if (null) {
          out.emplace_back();
        } else {
          out.emplace_back(Codec<typename T::value_type>::decode(text, d));
        }
      } else {
        if (null) bad("an element of " + quoted(s) + " is NULL (use std::optional elements)");
        out.push_back(Codec<T>::decode(text, d));
      }
    });
    if (i != s.size()) bad(quoted(s) + " has text after the array");
    return out;
  }
};

/// T from a cell's text (nullopt for NULL): std::optional<U> takes NULL; any other T
/// rejects it.
template <class T>
T decode(std::optional<std::string_view> text, Dialect d) {
  if constexpr (is_optional<T>) {
    if (!text) return std::nullopt;
    return Codec<typename T::value_type>::decode(*text, d);
  } else {
    if (!text) bad("it is NULL (read it as std::optional)");
    return Codec<T>::decode(*text, d);
  }
}

}  // namespace spindle::db::detail
