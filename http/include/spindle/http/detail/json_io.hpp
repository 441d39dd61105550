// JSON into typed values (request bodies), every part that does not fit reported as a
// FieldError with its place (["body", "items", 2, "price"]), and typed values out as JSON text.
// Described structs (Boost.Describe) are objects by member name, bases flattened; described
// enums are their enumerators' names; other types go through Boost.JSON's value_to and
// value_from. Not API.
#pragma once

#include <spindle/http/detail/convert.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace spindle::http::detail {

/// Where a JSON value sits, for error locations: ["body", "items", 2, ...].
using Loc = boost::json::array;

inline void add_error(std::vector<FieldError>& errors, const Loc& loc, const char* msg,
                      const char* type) {
  errors.push_back(FieldError{loc, msg, type});
}

template <class T>
bool from_json(const boost::json::value& v, T& out, Loc& loc, std::vector<FieldError>& errors);

template <class T>
bool integer_from_json(const boost::json::value& v, T& out, Loc& loc,
                       std::vector<FieldError>& errors) {
  FieldError e{loc, {}, {}};
  if (v.is_int64() || v.is_uint64()) {
    const bool neg = v.is_int64() && v.get_int64() < 0;
    const bool fits = neg ? std::in_range<T>(v.get_int64())
                          : std::in_range<T>(v.is_int64() ? static_cast<std::uint64_t>(v.get_int64())
                                                          : v.get_uint64());
    if (fits) {
      out = neg ? static_cast<T>(v.get_int64())
                : static_cast<T>(v.is_int64() ? static_cast<std::uint64_t>(v.get_int64())
                                              : v.get_uint64());
      return true;
    }
    range_error<T>(e, !neg);
  } else if (v.is_double() && v.get_double() == static_cast<double>(static_cast<std::int64_t>(
                                                     v.get_double()))) {
    // 3.0 is the integer 3 (as pydantic takes it); 3.5 is not an integer.
    boost::json::value as_int = static_cast<std::int64_t>(v.get_double());
    return integer_from_json(as_int, out, loc, errors);
  } else {
    set_error(e, "value is not a valid integer", "type_error.integer");
  }
  errors.push_back(std::move(e));
  return false;
}

template <Described T>
bool struct_from_json(const boost::json::value& v, T& out, Loc& loc,
                      std::vector<FieldError>& errors) {
  const boost::json::object* obj = v.if_object();
  if (!obj) {
    add_error(errors, loc, "value is not a valid dict", "type_error.dict");
    return false;
  }
  bool ok = true;
  boost::mp11::mp_for_each<members_of<T>>([&](auto d) {
    using M = std::remove_cvref_t<decltype(out.*d.pointer)>;
    loc.emplace_back(d.name);
    const auto it = obj->find(d.name);
    if (it == obj->end()) {
      if constexpr (!is_optional<M>::value) {
        add_error(errors, loc, "field required", "value_error.missing");
        ok = false;
      }
    } else if (!from_json(it->value(), out.*d.pointer, loc, errors)) {
      ok = false;
    }
    loc.pop_back();
  });
  return ok;
}

/// Binds v to out, appending a FieldError (at loc) for each part that does not fit.
/// Non-optional struct members are required; members not described are left alone; object
/// keys not described are ignored.
template <class T>
bool from_json(const boost::json::value& v, T& out, Loc& loc, std::vector<FieldError>& errors) {
  if constexpr (std::same_as<T, boost::json::value>) {
    out = v;
    return true;
  } else if constexpr (is_optional<T>::value) {
    if (v.is_null()) {
      out.reset();
      return true;
    }
    out.emplace();
    return from_json(v, *out, loc, errors);
  } else if (v.is_null()) {
    add_error(errors, loc, "none is not an allowed value", "type_error.none.not_allowed");
    return false;
  } else if constexpr (std::same_as<T, boost::json::object> || std::same_as<T, boost::json::array>) {
    constexpr bool is_obj = std::same_as<T, boost::json::object>;
    if (is_obj ? v.is_object() : v.is_array()) {
      out = is_obj ? T(v.as_object()) : T(v.as_array());
      return true;
    }
    add_error(errors, loc, is_obj ? "value is not a valid dict" : "value is not a valid list",
              is_obj ? "type_error.dict" : "type_error.list");
    return false;
  } else if constexpr (std::same_as<T, bool>) {
    if (v.is_bool()) return out = v.get_bool(), true;
    add_error(errors, loc, "value could not be parsed to a boolean", "type_error.bool");
    return false;
  } else if constexpr (std::is_integral_v<T>) {
    return integer_from_json(v, out, loc, errors);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (v.is_number()) return out = static_cast<T>(v.to_number<double>()), true;
    add_error(errors, loc, "value is not a valid float", "type_error.float");
    return false;
  } else if constexpr (std::same_as<T, std::string>) {
    if (const auto* s = v.if_string()) return out.assign(s->data(), s->size()), true;
    add_error(errors, loc, "str type expected", "type_error.str");
    return false;
  } else if constexpr (DescribedEnum<T>) {
    FieldError e{loc, "value is not a valid enumeration member; permitted: " + permitted<T>(),
                 "type_error.enum"};
    if (const auto* s = v.if_string(); s && from_text(std::string_view(*s), out, e)) return true;
    errors.push_back(std::move(e));
    return false;
  } else if constexpr (is_vector<T>::value) {
    const boost::json::array* a = v.if_array();
    if (!a) {
      add_error(errors, loc, "value is not a valid list", "type_error.list");
      return false;
    }
    out.clear();
    out.resize(a->size());
    bool ok = true;
    for (std::size_t i = 0; i < a->size(); ++i) {
      loc.emplace_back(i);
      ok = from_json((*a)[i], out[i], loc, errors) && ok;
      loc.pop_back();
    }
    return ok;
  } else if constexpr (is_string_map<T>::value) {
    const boost::json::object* o = v.if_object();
    if (!o) {
      add_error(errors, loc, "value is not a valid dict", "type_error.dict");
      return false;
    }
    bool ok = true;
    for (const auto& kv : *o) {
      loc.emplace_back(kv.key());
      ok = from_json(kv.value(), out[std::string(kv.key())], loc, errors) && ok;
      loc.pop_back();
    }
    return ok;
  } else if constexpr (Described<T>) {
    return struct_from_json(v, out, loc, errors);
  } else {
    static_assert(boost::json::has_value_to<T>::value,
                  "spindle::http: no way to read this type from JSON (describe it with "
                  "BOOST_DESCRIBE_STRUCT, or give it Boost.JSON's tag_invoke value_to)");
    auto r = boost::json::try_value_to<T>(v);
    if (r) return out = std::move(*r), true;
    errors.push_back(FieldError{loc, "value is not valid: " + r.error().message(), "type_error"});
    return false;
  }
}

/// Appends s as a JSON string literal.
inline void write_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain = 0;  // start of the run of bytes copied as they are
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

template <class T>
void write_json(std::string& out, const T& v);

template <class Range>
void write_json_array(std::string& out, const Range& r) {
  out += '[';
  bool first = true;
  for (const auto& x : r) {
    if (!first) out += ',';
    first = false;
    write_json(out, x);
  }
  out += ']';
}

/// Appends v as JSON: what Boost.JSON's value_from gives, serialized, except that described
/// bases are flattened into the object and non-finite numbers are null.
template <class T>
void write_json(std::string& out, const T& v) {
  if constexpr (std::same_as<T, bool>) {
    out += v ? "true" : "false";
  } else if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, char>) {
    if constexpr (std::is_floating_point_v<T>) {
      if (!(v == v) || v == std::numeric_limits<T>::infinity() ||
          v == -std::numeric_limits<T>::infinity()) {
        out += "null";
        return;
      }
    }
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    write_json_string(out, std::string_view(v));
  } else if constexpr (std::same_as<T, std::nullptr_t> || std::same_as<T, std::nullopt_t>) {
    out += "null";
  } else if constexpr (is_optional<T>::value) {
    if (v) {
      write_json(out, *v);
    } else {
      out += "null";
    }
  } else if constexpr (std::same_as<T, boost::json::value> || std::same_as<T, boost::json::object> ||
                       std::same_as<T, boost::json::array>) {
    out += boost::json::serialize(v);
  } else if constexpr (DescribedEnum<T>) {
    if (const char* name = boost::describe::enum_to_string(v, nullptr)) {
      write_json_string(out, name);
    } else {
      write_json(out, static_cast<std::underlying_type_t<T>>(v));
    }
  } else if constexpr (is_string_map<T>::value) {
    out += '{';
    bool first = true;
    for (const auto& [k, x] : v) {
      if (!first) out += ',';
      first = false;
      write_json_string(out, k);
      out += ':';
      write_json(out, x);
    }
    out += '}';
  } else if constexpr (Described<T>) {
    out += '{';
    bool first = true;
    boost::mp11::mp_for_each<members_of<T>>([&](auto d) {
      if (!first) out += ',';
      first = false;
      write_json_string(out, d.name);
      out += ':';
      write_json(out, v.*d.pointer);
    });
    out += '}';
  } else if constexpr (requires { v.begin(); v.end(); }) {
    write_json_array(out, v);
  } else {
    static_assert(boost::json::has_value_from<T>::value,
                  "spindle::http: no way to write this type as JSON (describe it with "
                  "BOOST_DESCRIBE_STRUCT, or give it Boost.JSON's tag_invoke value_from)");
    out += boost::json::serialize(boost::json::value_from(v));
  }
}

}  // namespace spindle::http::detail
