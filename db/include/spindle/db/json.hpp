// JSON columns as boost::json::value, for spindle::pg and spindle::sqlite: include this header
// to read json/jsonb cells with get<boost::json::value>() (or as a struct member of that type)
// and to pass a boost::json::value as a statement parameter. Needs Boost.JSON (1.81), which
// the spindle-pg and spindle-sqlite dependencies bring along when it is installed.
#pragma once

#include <spindle/db/detail/binary.hpp>
#include <spindle/db/detail/text.hpp>
#include <spindle/db/value.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace spindle::db::detail {

/// A json or jsonb cell (or any text holding one JSON document) as boost::json::value.
template <>
struct Codec<boost::json::value> {
  static std::string name() { return "boost::json::value"; }
  static boost::json::value decode(std::string_view s, Dialect) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(s, ec);
    if (ec) bad(quoted(s) + " is not JSON (" + ec.message() + ")");
    return v;
  }
};

/// A json cell in binary is its text; jsonb's is a version byte (1), then its text.
template <>
struct Binary<boost::json::value> {
  static bool accepts(unsigned type) noexcept { return type == oid::kJson || type == oid::kJsonb; }
  static boost::json::value decode(std::string_view s, unsigned type) {
    if (type == oid::kJsonb) {
      if (s.empty() || s[0] != 1) bad("jsonb in an unknown binary version");
      s.remove_prefix(1);
    }
    return Codec<boost::json::value>::decode(s, Dialect::postgres);
  }
};

}  // namespace spindle::db::detail
