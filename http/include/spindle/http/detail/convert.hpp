// Text into typed values (path, query and header parameters), each failure described as a
// FieldError in pydantic's words; and the type traits the JSON side (json_io.hpp) and the
// schemas (schema.hpp) share. Not API.
#pragma once

#include <spindle/http/errors.hpp>

#include <boost/describe/enum_from_string.hpp>
#include <boost/describe/enum_to_string.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/describe/modifiers.hpp>
#include <boost/mp11/algorithm.hpp>

#include <array>
#include <charconv>
#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace spindle::http::detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class T, class C, class A>
struct is_string_map<std::map<std::string, T, C, A>> : std::true_type {};
template <class T, class H, class E, class A>
struct is_string_map<std::unordered_map<std::string, T, H, E, A>> : std::true_type {};

/// A struct described with BOOST_DESCRIBE_STRUCT (public members, bases included).
template <class T>
concept Described = std::is_class_v<T> && boost::describe::has_describe_members<T>::value;
/// An enum described with BOOST_DESCRIBE_ENUM.
template <class T>
concept DescribedEnum = std::is_enum_v<T> && boost::describe::has_describe_enumerators<T>::value;
/// What a path, query or header parameter may be.
template <class T>
concept TextValue = std::same_as<T, std::string> || std::is_arithmetic_v<T> || DescribedEnum<T>;

template <class T>
using members_of = boost::describe::describe_members<
    T, boost::describe::mod_public | boost::describe::mod_inherited>;

/// "'a', 'b', 'c'": the names an enum accepts.
template <DescribedEnum E>
std::string permitted(const char* quote = "'") {
  std::string out;
  boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
    out += (out.empty() ? "" : ", ");
    out += quote;
    out += d.name;
    out += quote;
  });
  return out;
}

inline void set_error(FieldError& e, const char* msg, const char* type) {
  e.msg = msg;
  e.type = type;
}

/// The pydantic-style complaint for an integer outside T's range.
template <class T>
void range_error(FieldError& e, bool too_big) {
  if (too_big) {
    e.msg = "ensure this value is less than or equal to " +
            std::to_string(std::numeric_limits<T>::max());
    e.type = "value_error.number.not_le";
  } else {
    e.msg = "ensure this value is greater than or equal to " +
            std::to_string(std::numeric_limits<T>::min());
    e.type = "value_error.number.not_ge";
  }
}

/// Parses text as T (a TextValue). False, with e's msg and type set, if it is not one.
template <TextValue T>
bool from_text(std::string_view s, T& out, FieldError& e) {
  if constexpr (std::same_as<T, std::string>) {
    out.assign(s);
    return true;
  } else if constexpr (std::same_as<T, bool>) {
    static constexpr std::array<std::string_view, 6> yes{"1", "on", "t", "true", "y", "yes"};
    static constexpr std::array<std::string_view, 6> no{"0", "off", "f", "false", "n", "no"};
    std::string lower(s.substr(0, 8));
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (s.size() <= 5) {
      for (auto y : yes)
        if (lower == y) return out = true, true;
      for (auto n : no)
        if (lower == n) return out = false, true;
    }
    set_error(e, "value could not be parsed to a boolean", "type_error.bool");
    return false;
  } else if constexpr (std::is_integral_v<T>) {
    std::string_view digits = s;
    if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
    const bool negative = !digits.empty() && digits.front() == '-';
    if constexpr (std::is_unsigned_v<T>) {
      if (negative && digits.size() > 1 && digits[1] >= '0' && digits[1] <= '9') {
        range_error<T>(e, false);
        return false;
      }
    }
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    if (r.ec == std::errc::result_out_of_range && r.ptr == digits.data() + digits.size()) {
      range_error<T>(e, !negative);
      return false;
    }
    if (r.ec != std::errc{} || r.ptr != digits.data() + digits.size() || digits.empty()) {
      set_error(e, "value is not a valid integer", "type_error.integer");
      return false;
    }
    return true;
  } else if constexpr (std::is_floating_point_v<T>) {
    std::string_view digits = s;
    if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    if (r.ec != std::errc{} || r.ptr != digits.data() + digits.size() || digits.empty()) {
      set_error(e, "value is not a valid float", "type_error.float");
      return false;
    }
    return true;
  } else {  // a described enum, by name
    if (boost::describe::enum_from_string(std::string(s).c_str(), out)) return true;
    e.msg = "value is not a valid enumeration member; permitted: " + permitted<T>();
    e.type = "type_error.enum";
    return false;
  }
}

}  // namespace spindle::http::detail
