// spindle::db typed access, shared by pg and sqlite: a cell read as a C++ type, rows as a
// range, a row bound to a Boost.Describe'd struct (by column name) or a std::tuple (by
// position), and the query_as / query_one / query_optional / query_value shortcuts.
#pragma once

#include <spindle/db/detail/binary.hpp>
#include <spindle/db/detail/text.hpp>
#include <spindle/detail/config.hpp>

#include <boost/core/demangle.hpp>
#include <boost/describe/members.hpp>
#include <boost/describe/modifiers.hpp>
#include <boost/mp11/algorithm.hpp>

#include <array>
#include <cstddef>
#include <iterator>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <typeinfo>
#include <utility>
#include <vector>

namespace spindle::db {

/// A value that does not convert to the C++ type asked for (or a struct member with no column
/// of its name): names the column, the database's type and the C++ type.
/// asyncio: asyncpg.DataError
class SPINDLE_API ConversionError : public std::runtime_error {
 public:
  ConversionError(const char* client, std::string column, std::string db_type,
                  std::string cpp_type, const std::string& why)
      : std::runtime_error(std::string(client) + ": column \"" + column + "\" (" + db_type +
                           ") as " + cpp_type + ": " + why),
        column_(std::move(column)),
        db_type_(std::move(db_type)),
        cpp_type_(std::move(cpp_type)) {}
  /// The column's name.
  const std::string& column() const noexcept { return column_; }
  /// The database's type of the column ("int8", "text[]", SQLite's declared type, ...).
  const std::string& db_type() const noexcept { return db_type_; }
  /// The C++ type asked for.
  const std::string& cpp_type() const noexcept { return cpp_type_; }

 private:
  std::string column_, db_type_, cpp_type_;
};

/// query_one() or query_value() of a statement that returned no rows.
class SPINDLE_API NoRowsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class R>
class Row;

namespace detail {

template <class S>
using members_of = boost::describe::describe_members<
    S, boost::describe::mod_public | boost::describe::mod_inherited>;

template <class S>
inline constexpr bool is_described = std::is_class_v<S> && boost::describe::has_describe_members<S>::value;

template <class S>
inline constexpr bool is_tuple = false;
template <class... T>
inline constexpr bool is_tuple<std::tuple<T...>> = true;

template <class T>
std::string cpp_name() {
  if constexpr (is_described<T> || is_tuple<T>) {
    return boost::core::demangle(typeid(T).name());
  } else {
    return type_name<T>();
  }
}

/// r's cell (row, col) as T, a conversion failure thrown as ConversionError: decoded from
/// binary if `binary_oid` (the column's type) is set, else from text.
template <class T, class R>
T convert(const R& r, std::size_t row, std::size_t col, unsigned binary_oid) {
  const std::optional<std::string_view> cell = r.view(row, col);
  try {
    if (binary_oid != 0) return decode_binary<T>(cell, binary_oid);
    return decode<T>(cell, R::dialect);
  } catch (const BadCell& e) {
    throw ConversionError(R::client, r.column_name(col), r.column_type(col), cpp_name<T>(), e.why);
  }
}

/// r's cell (row, col) as T, in the format the column came in.
template <class T, class R>
T convert(const R& r, std::size_t row, std::size_t col) {
  if constexpr (requires { r.binary(col); }) {
    return convert<T>(r, row, col, r.binary(col) ? r.column_oid(col) : 0);
  } else {
    return convert<T>(r, row, col, 0);
  }
}

/// Reads rows of r as S: the columns S needs are looked up once.
template <class S, class R>
class Binder {
 public:
  explicit Binder(const R& r) : r_(r) {
    if constexpr (is_described<S>) {
      std::size_t i = 0;
      boost::mp11::mp_for_each<members_of<S>>([&](auto member) {
        cols_[i++] = column_of(member.name, [&] {
          return cpp_name<S>() + "::" + member.name;
        });
      });
    } else if constexpr (is_tuple<S>) {
      if (r.columns() != kCount) {
        throw ConversionError(R::client, "*", std::to_string(r.columns()) + " columns",
                              cpp_name<S>(), "a tuple takes exactly " + std::to_string(kCount));
      }
      for (std::size_t i = 0; i < kCount; ++i) cols_[i] = i;
    } else if (r.columns() == 0) {
      throw ConversionError(R::client, "*", "no columns", cpp_name<S>(),
                            "the statement returns no columns");
    }
    if constexpr (requires { r.binary(0); }) {  // each column's format, once per result
      for (std::size_t i = 0; i < kCount; ++i) {
        if (r.binary(cols_[i])) binary_oids_[i] = r.column_oid(cols_[i]);
      }
    }
  }

  S operator()(std::size_t row) const {
    if constexpr (is_described<S>) {
      S s{};
      std::size_t i = 0;
      boost::mp11::mp_for_each<members_of<S>>([&](auto member) {
        using M = std::remove_cvref_t<decltype(s.*member.pointer)>;
        s.*member.pointer = convert<M>(r_, row, cols_[i], binary_oids_[i]);
        ++i;
      });
      return s;
    } else if constexpr (is_tuple<S>) {
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return S{convert<std::tuple_element_t<I, S>>(r_, row, I, binary_oids_[I])...};
      }(std::make_index_sequence<kCount>());
    } else {
      return convert<S>(r_, row, 0, binary_oids_[0]);
    }
  }

 private:
  static constexpr std::size_t count() {
    if constexpr (is_described<S>) {
      return boost::mp11::mp_size<members_of<S>>::value;
    } else if constexpr (is_tuple<S>) {
      return std::tuple_size_v<S>;
    } else {
      return 1;
    }
  }
  static constexpr std::size_t kCount = count();

  template <class Name>
  std::size_t column_of(const char* member, Name cpp) const {
    for (std::size_t c = 0; c < r_.columns(); ++c) {
      if (r_.column_name(c) == member) return c;
    }
    throw ConversionError(R::client, member, "absent", cpp(),
                          "the result has no column of that name");
  }

  const R& r_;
  std::array<std::size_t, kCount> cols_{};
  std::array<unsigned, kCount> binary_oids_{};  // the type of each binary column, else 0
};

/// A column of a statement's result as described before it runs.
struct ColumnInfo {
  std::string_view name;
  unsigned oid;  // its PostgreSQL type
};

/// Whether a result with these columns can be read as S (see Row::as) entirely from
/// PostgreSQL's binary format: each column S reads is of a type whose binary form gives
/// exactly what its text would. Columns S does not read do not matter; a mismatch (a
/// missing column, too few) says no, so the text path reports it.
template <class S>
bool binary_fits(std::span<const ColumnInfo> cols) noexcept {
  if constexpr (is_described<S>) {
    bool ok = true;
    boost::mp11::mp_for_each<members_of<S>>([&](auto member) {
      using M = std::remove_cvref_t<decltype(std::declval<S&>().*member.pointer)>;
      if (!ok) return;
      ok = false;
      for (const ColumnInfo& c : cols) {
        if (c.name == member.name) {
          ok = binary_accepts<M>(c.oid);
          break;
        }
      }
    });
    return ok;
  } else if constexpr (is_tuple<S>) {
    if (cols.size() != std::tuple_size_v<S>) return false;
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return (binary_accepts<std::tuple_element_t<I, S>>(cols[I].oid) && ...);
    }(std::make_index_sequence<std::tuple_size_v<S>>());
  } else {
    return !cols.empty() && binary_accepts<S>(cols[0].oid);
  }
}

/// binary_fits<S>, as the typed queries hand it to a client that can use it.
using BinaryPlan = bool (*)(std::span<const ColumnInfo>) noexcept;

/// The parameters one row of executemany() gives: a tuple-like's elements (std::tuple,
/// std::pair, std::array), a Boost.Describe'd struct's members in order, or one value.
template <class Row>
std::vector<Value> row_values(const Row& row) {
  std::vector<Value> out;
  if constexpr (is_described<Row>) {
    boost::mp11::mp_for_each<members_of<Row>>(
        [&](auto member) { out.push_back(to_value(row.*member.pointer)); });
  } else if constexpr (requires { std::tuple_size<Row>::value; }) {
    std::apply([&](const auto&... v) { (out.push_back(to_value(v)), ...); }, row);
  } else {
    out.push_back(to_value(row));
  }
  return out;
}

}  // namespace detail

/// One row of a result (valid while the result lives): its values by column index or name,
/// or the whole row as a struct or tuple.
template <class R>
class Row {
 public:
  Row(const R& r, std::size_t row) noexcept : r_(&r), row_(row) {}
  /// The value in column col as T (see Result::get<T>). Throws ConversionError,
  /// std::out_of_range.
  template <class T>
  T get(std::size_t col) const {
    return r_->template get<T>(row_, col);
  }
  /// The value in the column called name as T. Throws ConversionError, std::out_of_range.
  template <class T>
  T get(std::string_view name) const {
    return r_->template get<T>(row_, r_->column(name));
  }
  /// The value's text in column col (empty for NULL). Throws std::out_of_range.
  std::optional<std::string_view> view(std::size_t col) const { return r_->view(row_, col); }
  /// The row as S: a Boost.Describe'd struct (each public member from the column of its
  /// name; other columns are ignored), a std::tuple (column by column), or one value (the
  /// first column). Throws ConversionError (also for a member with no column).
  template <class S>
  S as() const {
    return detail::Binder<S, R>(*r_)(row_);
  }
  /// The row's index in the result.
  std::size_t index() const noexcept { return row_; }
  /// Number of columns.
  std::size_t size() const noexcept { return r_->columns(); }

 private:
  const R* r_;
  std::size_t row_;
};

/// An iterator over a result's rows.
template <class R>
class RowIterator {
 public:
  using value_type = Row<R>;
  using reference = Row<R>;
  using difference_type = std::ptrdiff_t;
  using iterator_category = std::forward_iterator_tag;

  RowIterator() noexcept = default;
  RowIterator(const R* r, std::size_t row) noexcept : r_(r), row_(row) {}
  Row<R> operator*() const noexcept { return Row<R>(*r_, row_); }
  RowIterator& operator++() noexcept {
    ++row_;
    return *this;
  }
  RowIterator operator++(int) noexcept {
    RowIterator old = *this;
    ++row_;
    return old;
  }
  bool operator==(const RowIterator& o) const noexcept { return row_ == o.row_; }

 private:
  const R* r_ = nullptr;
  std::size_t row_ = 0;
};

/// What pg::Result and sqlite::Result share: typed values, the rows as a range, all rows
/// bound to a type. R provides size(), columns(), column(name), column_name(col),
/// column_type(col), view(row, col), and the constants dialect and client.
template <class R>
class TypedResult {
 public:
  /// The value at (row, col) as T: a signed or unsigned integer of any width (range
  /// checked), float or double, bool, std::string, Bytes (bytea, blob),
  /// std::chrono::system_clock::time_point (timestamptz; infinity as max()),
  /// std::chrono::sys_days (date), a std::vector of these (PostgreSQL arrays, nested for
  /// more dimensions), or std::optional of any, which alone takes NULL.
  /// Throws ConversionError naming column and types, std::out_of_range.
  template <class T>
  T get(std::size_t row, std::size_t col) const {
    return detail::convert<T>(self(), row, col);
  }
  /// The value at (row, column called name) as T. Throws as get<T>(row, col).
  template <class T>
  T get(std::size_t row, std::string_view name) const {
    return detail::convert<T>(self(), row, self().column(name));
  }
  /// Row `row` (unchecked: the index must be below size()).
  Row<R> operator[](std::size_t row) const noexcept { return Row<R>(self(), row); }
  RowIterator<R> begin() const noexcept { return {&self(), 0}; }
  RowIterator<R> end() const noexcept { return {&self(), self().size()}; }
  /// Every row as S (see Row::as). Throws ConversionError.
  template <class S>
  std::vector<S> as() const {
    std::vector<S> out;
    if (self().size() == 0) return out;
    const detail::Binder<S, R> bind(self());
    out.reserve(self().size());
    for (std::size_t i = 0; i < self().size(); ++i) out.push_back(bind(i));
    return out;
  }

 private:
  const R& self() const noexcept { return static_cast<const R&>(*this); }
};

/// The typed shortcuts over query(sql, params...), for pg::Connection, pg::Pool and
/// sqlite::Database. A client that offers typed_query(plan, sql, params...) (pg) is told
/// which C++ types will read the result, so it may ask for the binary format.
template <class D>
class Queries {
 public:
  /// Every row as S (see Row::as). Throws as query(), ConversionError.
  /// asyncio: [S(**r) for r in await conn.fetch(sql, *args)]
  template <class S, class... P>
  std::vector<S> query_as(std::string_view sql, const P&... params) {
    return fetch<S>(sql, params...).template as<S>();
  }
  /// The first row as S. Throws NoRowsError if there is none, as query(), ConversionError.
  /// asyncio: await conn.fetchrow(sql, *args) (which returns None instead)
  template <class S, class... P>
  S query_one(std::string_view sql, const P&... params) {
    const auto r = fetch<S>(sql, params...);
    if (r.empty()) throw NoRowsError(std::string(D::client) + ": query_one: no rows");
    return r[0].template as<S>();
  }
  /// The first row as S, or empty if there is none. Throws as query(), ConversionError.
  /// asyncio: await conn.fetchrow(sql, *args)
  template <class S, class... P>
  std::optional<S> query_optional(std::string_view sql, const P&... params) {
    const auto r = fetch<S>(sql, params...);
    if (r.empty()) return std::nullopt;
    return r[0].template as<S>();
  }
  /// The first column of the first row as T; with no rows, an empty T if T is a
  /// std::optional, else NoRowsError. Throws as query(), ConversionError.
  /// asyncio: await conn.fetchval(sql, *args)
  template <class T, class... P>
  T query_value(std::string_view sql, const P&... params) {
    const auto r = fetch<T>(sql, params...);
    if (r.empty()) {
      if constexpr (detail::is_optional<T>) {
        return std::nullopt;
      } else {
        throw NoRowsError(std::string(D::client) + ": query_value: no rows");
      }
    }
    return r.template get<T>(0, 0);
  }

 private:
  D& self() noexcept { return static_cast<D&>(*this); }
  template <class S, class... P>
  auto fetch(std::string_view sql, const P&... params) {
    if constexpr (requires { self().typed_query(&detail::binary_fits<S>, sql, params...); }) {
      return self().typed_query(&detail::binary_fits<S>, sql, params...);
    } else {
      return self().query(sql, params...);
    }
  }
};

namespace detail {

/// The input iterator of a row stream S (pg::RowStream, sqlite::RowStream): *it is S::row(),
/// ++it is S::next() (throwing what it throws), it == end() once S::ended().
template <class S, class R>
class StreamIterator {
 public:
  using value_type = Row<R>;
  using difference_type = std::ptrdiff_t;
  StreamIterator() noexcept = default;
  explicit StreamIterator(S* s) noexcept : s_(s) {}
  Row<R> operator*() const noexcept { return s_->row(); }
  StreamIterator& operator++() {
    s_->next();
    return *this;
  }
  void operator++(int) { ++*this; }
  bool operator==(std::default_sentinel_t) const noexcept { return !s_ || s_->ended(); }

 private:
  S* s_ = nullptr;
};

}  // namespace detail

}  // namespace spindle::db
