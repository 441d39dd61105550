// spindle::sqlite: SQLite from tasks. SQLite has no non-blocking API, so each statement runs
// on the loop's thread pool while the task parks (what aiosqlite does with its thread).
// A component of its own: Meson dependency 'spindle-sqlite', pkg-config spindle-sqlite.
// asyncio: aiosqlite
#pragma once

#if __cplusplus < 202002L
#error "spindle needs C++20"
#endif

#include <spindle/db/typed.hpp>
#include <spindle/db/value.hpp>
#include <spindle/detail/config.hpp>
#include <spindle/source_location.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

struct sqlite3;

namespace spindle::sqlite {

/// What SQLite reported: its (extended) result code, e.g. SQLITE_CONSTRAINT_UNIQUE (2067),
/// SQLITE_INTERRUPT (9), and its message. asyncio: sqlite3.Error
class SPINDLE_API Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message);
  /// The extended result code.
  int code() const noexcept { return code_; }

 private:
  int code_;
};

/// The rows of a statement (text form, as pg::Result gives them; NULL is an empty optional;
/// blobs as their bytes) and the rows it changed. Values as C++ types (get<T>(row, col)),
/// rows as a range and bound to structs as pg::Result does (db::TypedResult).
class SPINDLE_API Result : public db::TypedResult<Result> {
 public:
  static constexpr db::detail::Dialect dialect = db::detail::Dialect::sqlite;
  static constexpr const char* client = "sqlite";

  /// Number of rows.
  std::size_t size() const noexcept { return rows_.size(); }
  bool empty() const noexcept { return rows_.empty(); }
  /// Number of columns.
  std::size_t columns() const noexcept { return names_.size(); }
  /// The name of column `col`. Throws std::out_of_range.
  const std::string& column_name(std::size_t col) const;
  /// The index of the column called `name`. Throws std::out_of_range naming it.
  std::size_t column(std::string_view name) const;
  /// The declared type of column col ("INTEGER", "TEXT", ...; "expression" for a column
  /// that is not a table's). Throws std::out_of_range.
  const std::string& column_type(std::size_t col) const;
  /// The value at (row, col) without a copy (valid while the result lives); empty for NULL.
  /// Throws std::out_of_range.
  std::optional<std::string_view> view(std::size_t row, std::size_t col) const {
    const auto& v = get(row, col);
    if (!v) return std::nullopt;
    return std::string_view(*v);
  }
  using TypedResult::get;
  /// The value at (row, col); empty for NULL. Throws std::out_of_range.
  const std::optional<std::string>& get(std::size_t row, std::size_t col) const;
  /// The value at (row, column called name). Throws std::out_of_range.
  const std::optional<std::string>& get(std::size_t row, std::string_view name) const {
    return get(row, column(name));
  }
  /// Rows changed by an INSERT, UPDATE or DELETE (sqlite3_changes), else 0.
  std::uint64_t affected() const noexcept { return affected_; }
  /// The rowid of the last row inserted on this connection (sqlite3_last_insert_rowid).
  std::int64_t last_insert_rowid() const noexcept { return last_rowid_; }

 private:
  friend struct Statement;
  std::vector<std::string> names_;
  std::vector<std::string> types_;
  std::vector<std::vector<std::optional<std::string>>> rows_;
  std::uint64_t affected_ = 0;
  std::int64_t last_rowid_ = 0;
};

class RowStream;

/// An open database. Statements run on the thread pool one at a time, in the order the
/// tasks asked. Cancellation: the task gets CancelledError at once; a statement not started
/// yet is dropped, a running one is interrupted (sqlite3_interrupt), a finished one stays
/// done. A transaction() holds the database for its task: other tasks' statements wait
/// until it commits or rolls back, so none lands inside it.
class SPINDLE_API Database : public db::Queries<Database> {
 public:
  static constexpr const char* client = "sqlite";

  /// A closed database.
  Database() noexcept;
  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;
  ~Database();

  /// Runs one statement with params bound to ?, ?NNN, :name in order (db::to_value:
  /// integers, doubles, bool as 0/1, strings, db::Bytes as a blob, time points and dates as
  /// ISO 8601 text; std::nullopt or an empty optional for NULL) and returns its rows. Without
  /// params the text may hold several statements (the last one's rows are returned). Typed
  /// forms: query_as<S>, query_one<S>, query_optional<S>, query_value<T> (db::Queries). Throws Error (SQLite's code and message), CancelledError,
  /// std::logic_error if closed. asyncio: await db.execute(sql, params); fetchall()
  template <class... P>
  Result query(std::string_view sql, const P&... params) {
    return query_values(sql, db::values(params...));
  }
  /// query() with the parameters already converted.
  Result query_values(std::string_view sql, std::span<const db::Value> params,
                      SourceLocation where = SourceLocation::current());

  /// Runs the one statement sql for each element of rows, which gives its parameters: a
  /// std::tuple (or pair, array), a Boost.Describe'd struct (its members in order) or a
  /// single value. Prepared once, run as one job on the thread pool inside a savepoint: a
  /// failing row undoes every row and throws Error naming it ("executemany row 3 of 20:
  /// ..."). Returns the rows changed in all. Throws as query(), Error (SQLITE_MISUSE) for
  /// text holding more than one statement. asyncio: await db.executemany(sql, rows)
  template <class Rows>
  std::uint64_t executemany(std::string_view sql, const Rows& rows,
                            SourceLocation where = SourceLocation::current()) {
    std::vector<std::vector<db::Value>> values;
    for (const auto& row : rows) values.push_back(db::detail::row_values(row));
    return executemany_values(sql, std::move(values), where);
  }
  /// executemany() with the parameters already converted.
  std::uint64_t executemany_values(std::string_view sql, std::vector<std::vector<db::Value>> rows,
                                   SourceLocation where = SourceLocation::current());

  /// The rows of the one statement sql as they are stepped, a batch at a time on the thread
  /// pool, in bounded memory: `for (auto row : db.stream(sql, ...))`. The database is held
  /// for this task while the stream lives, as in a transaction (other tasks' statements wait;
  /// this task's own run between batches). Throws as query(), Error (SQLITE_MISUSE) for text
  /// holding more than one statement; errors while stepping come from reading the stream.
  /// asyncio: async with db.execute(sql) as cursor: async for row in cursor
  template <class... P>
  RowStream stream(std::string_view sql, const P&... params);  // (defined after RowStream)
  /// stream() with the parameters already converted.
  RowStream stream_values(std::string_view sql, std::span<const db::Value> params,
                          SourceLocation where = SourceLocation::current());

  /// Runs fn(*this) between BEGIN and COMMIT, or ROLLBACK (cancellation held back) when it
  /// throws or the task is cancelled, rethrowing. Returns what fn returns.
  /// asyncio: async with db: (aiosqlite commits or rolls back)
  /// The database is held for this task meanwhile: other tasks' statements (and
  /// transactions) wait, parked, until it ends. Throws fn's exception, Error (a transaction
  /// is already open in this task: SQLite does not nest them), CancelledError.
  template <class F>
  auto transaction(F&& fn) -> std::invoke_result_t<F&, Database&> {
    const Hold hold(*this);
    query("BEGIN");
    return db::transact(*this, fn, [&] { query("COMMIT"); }, [&]() noexcept { rollback(); });
  }

  /// True until closed.
  bool is_open() const noexcept { return static_cast<bool>(h_); }
  /// Closes the database once statements still running have finished: from a task, on the
  /// thread pool (closing may checkpoint the WAL), the task parked meanwhile. Idempotent.
  void close() noexcept;
  /// SQLite's handle, for what this class does not offer (blocking: not from a task).
  sqlite3* native_handle() const noexcept;

 private:
  friend SPINDLE_API Database open(std::string_view path, SourceLocation where);
  friend class RowStream;
  struct Handle;
  /// Holds the database for the calling task while it lives (transaction()).
  class SPINDLE_API Hold {
   public:
    explicit Hold(Database& d);
    ~Hold();
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    std::shared_ptr<Handle> h_;
    bool held_ = false;
  };
  explicit Database(std::shared_ptr<Handle> h) noexcept;
  template <class Job>
  static auto on_pool(const std::shared_ptr<Handle>& h, Job job, SourceLocation where);  // (in sqlite.cpp)
  void rollback() noexcept;
  std::shared_ptr<Handle> h_;
};

/// The rows of one statement as SQLite steps them (Database::stream()): batches of up to
/// 256 rows or 1 MiB, each stepped by one job on the thread pool, so memory holds one batch
/// however large the result. Holds the database for the task that opened it until it ends
/// or is destroyed.
class SPINDLE_API RowStream {
 public:
  /// Walks the rows; dereferencing gives a db::Row<Result>; ++ throws as next().
  using iterator = db::detail::StreamIterator<RowStream, Result>;

  RowStream(RowStream&& o) noexcept;
  RowStream& operator=(RowStream&&) = delete;
  /// Ends an unfinished stream (the statement is finalized) and lets other tasks in.
  ~RowStream();

  /// Reads the first row (once) and walks from it. Throws as next().
  iterator begin();
  std::default_sentinel_t end() const noexcept { return {}; }
  /// Moves to the next row (stepping the next batch on the thread pool when this one is
  /// used up); false at the end. Throws Error if stepping fails (the rows before it were
  /// delivered), CancelledError (a running step is interrupted; the stream ends).
  bool next(SourceLocation where = SourceLocation::current());
  /// The row read last, as a db::Row of the current batch. Precondition: next() was true.
  db::Row<Result> row() const noexcept { return batch_[index_]; }
  /// True once the rows ended (or failed, or the stream was cancelled).
  bool ended() const noexcept { return done_; }
  /// How many rows have been read.
  std::uint64_t count() const noexcept { return count_; }

 private:
  friend class Database;
  struct State;
  RowStream(std::shared_ptr<State> state, std::unique_ptr<Database::Hold> hold) noexcept;
  void finish() noexcept;
  std::shared_ptr<State> state_;
  std::unique_ptr<Database::Hold> hold_;
  Result batch_;
  std::size_t index_ = 0;
  bool started_ = false;
  bool done_ = false;
  std::uint64_t count_ = 0;
};

template <class... P>
RowStream Database::stream(std::string_view sql, const P&... params) {
  return stream_values(sql, db::values(params...));
}

/// Opens (creating if missing) the database file at `path` (":memory:" for a private
/// in-memory one) on the thread pool, in serialized threading mode with a 5 s busy
/// timeout. Throws Error (e.g. SQLITE_CANTOPEN naming the path), CancelledError.
/// asyncio: await aiosqlite.connect(path)
SPINDLE_API Database open(std::string_view path, SourceLocation where = SourceLocation::current());

}  // namespace spindle::sqlite
