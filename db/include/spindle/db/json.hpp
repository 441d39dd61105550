// JSON columns as boost::json::value, for spindle::pg and spindle::sqlite: include this header
// to read json/jsonb cells with get<boost::json::value>() (or as a struct member of that type)
// and to pass a boost::json::value as a statement parameter. Needs Boost.JSON (1.81), which
// the spindle-pg and spindle-sqlite dependencies bring along when it is installed.
#pragma once

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

}  // namespace spindle::db::detail
