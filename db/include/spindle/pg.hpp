// spindle::pg: PostgreSQL from tasks, on libpq's non-blocking API. A task waiting for the
// server parks; the loop runs the others. A component of its own: Meson dependency
// 'spindle-pg', pkg-config spindle-pg. asyncio: asyncpg
#pragma once

#if __cplusplus < 202002L
#error "spindle needs C++20"
#endif

#include <spindle/db/detail/gate.hpp>
#include <spindle/db/typed.hpp>
#include <spindle/db/value.hpp>
#include <spindle/detail/config.hpp>
#include <spindle/detail/unique_function.hpp>
#include <spindle/loop.hpp>
#include <spindle/source_location.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

struct pg_conn;    // libpq's PGconn
struct pg_result;  // libpq's PGresult

namespace spindle::pg {

/// What the server (or libpq) reported: the SQLSTATE code (e.g. "23505" for a unique
/// violation, "57014" for a cancelled statement, "08006" when the connection was lost) and
/// the message. asyncio: asyncpg.PostgresError (its sqlstate attribute)
class SPINDLE_API Error : public std::runtime_error {
 public:
  Error(std::string sqlstate, const std::string& message);
  /// The five-character SQLSTATE code.
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  std::string sqlstate_;
};

/// The outcome of one statement: its rows and, for INSERT/UPDATE/DELETE and the like, the
/// number of rows affected. Values read as text (get(row, col): NULL is an empty optional) or
/// as C++ types (get<T>(row, col), db::TypedResult); rows as a range
/// (`for (auto row : result) row.get<int>("id")`) or bound to structs (as<S>()). Cheap to
/// copy (shared). asyncio: the list of asyncpg.Record that fetch() returns
class SPINDLE_API Result : public db::TypedResult<Result> {
 public:
  static constexpr db::detail::Dialect dialect = db::detail::Dialect::postgres;
  static constexpr const char* client = "pg";

  Result() = default;
  /// Number of rows.
  std::size_t size() const noexcept;
  bool empty() const noexcept { return size() == 0; }
  /// Number of columns.
  std::size_t columns() const noexcept;
  /// The name of column `col`. Throws std::out_of_range.
  std::string column_name(std::size_t col) const;
  /// The index of the column called `name`. Throws std::out_of_range naming it.
  std::size_t column(std::string_view name) const;
  /// The name of column col's type ("int8", "text", "timestamptz", "int4[]", ...; "oid N"
  /// for a type not built into PostgreSQL). Throws std::out_of_range.
  std::string column_type(std::size_t col) const;
  /// The OID of column col's type (PQftype). Throws std::out_of_range.
  unsigned column_oid(std::size_t col) const;
  /// Whether column col came in PostgreSQL's binary format rather than text: only in the
  /// results the typed queries read internally (query_as, query_one, query_optional,
  /// query_value), never in what query() returns.
  bool binary(std::size_t col) const noexcept;
  /// The value at (row, col) as sent, without a copy (valid while the result lives): its
  /// text, unless binary(col); empty for NULL. Throws std::out_of_range.
  std::optional<std::string_view> view(std::size_t row, std::size_t col) const;
  using TypedResult::get;
  /// The value at (row, col) in text form; empty for NULL. Throws std::out_of_range.
  std::optional<std::string> get(std::size_t row, std::size_t col) const;
  /// The value at (row, column called name). Throws std::out_of_range.
  std::optional<std::string> get(std::size_t row, std::string_view name) const {
    return get(row, column(name));
  }
  /// Rows inserted, updated, deleted, selected, ... as the command tag says; 0 if it says
  /// nothing.
  std::uint64_t affected() const noexcept;
  /// The command tag ("SELECT 3", "INSERT 0 1", ...).
  std::string command() const;
  /// libpq's result, for what this class does not offer.
  pg_result* native_handle() const noexcept { return res_.get(); }

 private:
  friend class Connection;
  friend class RowStream;
  explicit Result(pg_result* r);
  void check(std::size_t row, std::size_t col) const;
  std::shared_ptr<pg_result> res_;
};

class RowStream;

/// A NOTIFY received on a channel this connection LISTENs to.
struct Notification {
  std::string channel;
  std::string payload;
  int sender_pid = 0;
};

/// Statements sent together in pipeline mode (Connection::pipeline()): queued, then written in
/// one go and their results read in one pass, so N statements cost one round trip.
class SPINDLE_API Pipeline {
 public:
  /// Queues one statement, `$1`, `$2`, ... taking params (converted as Connection::query()
  /// converts them). Returns *this.
  template <class... P>
  Pipeline& query(std::string_view sql, const P&... params) {
    return add(false, sql, {db::to_value(params)...});
  }
  /// Queues the prepared statement `name` with params. Returns *this.
  template <class... P>
  Pipeline& execute(std::string_view name, const P&... params) {
    return add(true, name, {db::to_value(params)...});
  }
  /// How many statements are queued.
  std::size_t size() const noexcept { return items_.size(); }

 private:
  friend class Connection;
  struct Item {
    bool prepared;
    std::string text;  // SQL, or a prepared statement's name
    std::vector<db::Value> params;
  };
  Pipeline& add(bool prepared, std::string_view text, std::vector<db::Value> params);
  std::vector<Item> items_;
};

/// One connection to a server. Used by one task at a time (a Pool shares connections
/// between tasks). Every call that waits for the server parks the task and is a cancellation
/// point: a cancelled (or timed-out) statement is cancelled on the server too (libpq's cancel
/// request, sent from the thread pool since it blocks), its results are drained, and
/// CancelledError is thrown; the connection is then ready for the next statement. A lost
/// connection fails the statement with Error (SQLSTATE 08006) and stays closed.
/// asyncio: asyncpg.Connection
class SPINDLE_API Connection : public db::Queries<Connection> {
 public:
  static constexpr const char* client = "pg";

  /// A closed connection.
  Connection() noexcept;
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  /// Runs one statement, `$1`, `$2`, ... taking params in order (each converted by
  /// db::to_value: integers, doubles, bool, strings, db::Bytes, time points, dates, vectors
  /// of these as arrays; std::nullopt or an empty optional for NULL), and returns its result.
  /// Without params the text may hold several statements (the last one's result is
  /// returned). Throws Error (the server's SQLSTATE and message; the connection stays usable
  /// unless it was lost), CancelledError, std::logic_error if the connection is closed.
  /// Typed forms: query_as<S>, query_one<S>, query_optional<S>, query_value<T> (db::Queries).
  /// asyncio: await conn.fetch(sql, *args) / conn.execute(...)
  template <class... P>
  Result query(std::string_view sql, const P&... params) {
    return query_values(sql, db::values(params...));
  }
  /// query() with the parameters already converted.
  Result query_values(std::string_view sql, std::span<const db::Value> params,
                      SourceLocation where = SourceLocation::current());
  /// Runs one statement (params as query() takes them) and returns its rows as they arrive,
  /// one at a time, in bounded memory: `for (auto row : conn.stream(sql, ...))`. Throws as
  /// query() if the statement cannot be sent; its errors come from reading the stream.
  /// asyncio: async for record in conn.cursor(sql, *args)
  template <class... P>
  RowStream stream(std::string_view sql, const P&... params);  // (defined after RowStream)
  /// stream() with the parameters already converted.
  RowStream stream_values(std::string_view sql, std::span<const db::Value> params,
                          SourceLocation where = SourceLocation::current());
  /// How many statements the cache keeps by default (asyncpg's statement_cache_size).
  static constexpr std::size_t kStatementCacheSize = 100;
  /// Sets how many parameterized statements the connection keeps prepared (0: none). A
  /// statement query() runs with parameters is prepared on the server the first time and
  /// executed by name after; the least recently used beyond `size` is deallocated. When the
  /// server says a cached plan went stale (ALTER TABLE changed its result: SQLSTATE 0A000) or
  /// the statement is gone (26000), it is prepared again and run again, unless a transaction
  /// is open (which the error aborted: it is thrown then, and the next call prepares it
  /// afresh). DISCARD ALL and DEALLOCATE empty the cache.
  void set_statement_cache_size(std::size_t size);
  /// How many statements are cached, and how many query() calls found theirs there.
  std::size_t statements_cached() const noexcept;
  std::uint64_t statement_cache_hits() const noexcept;
  /// Whether the typed queries (query_as, query_one, query_optional, query_value) may read
  /// results in PostgreSQL's binary format (on by default). With parameters, a statement is
  /// described when the cache prepares it; a result comes in binary when every column the
  /// C++ type reads has a binary form that decodes to exactly what its text would (integers,
  /// float4 as float and float8 as double, bool, bytea, text-like types, uuid, timestamps,
  /// dates, json/jsonb, arrays of these), else in text (e.g. numeric, or a timestamptz read
  /// as std::string, whose text depends on the session's TimeZone). Binary skips printing
  /// and parsing on both sides. query() always returns text.
  void set_binary_results(bool on) noexcept;
  /// How many results the typed queries have read in binary on this connection.
  std::uint64_t binary_results() const noexcept;
  /// Prepares `sql` as the named statement `name` (for execute()). Throws as query().
  void prepare(std::string_view name, std::string_view sql,
               SourceLocation where = SourceLocation::current());
  /// Runs the prepared statement `name` with params. Throws as query() (Error 26000 if no
  /// statement has that name).
  template <class... P>
  Result execute(std::string_view name, const P&... params) {
    return execute_values(name, db::values(params...));
  }
  /// execute() with the parameters already converted.
  Result execute_values(std::string_view name, std::span<const db::Value> params,
                        SourceLocation where = SourceLocation::current());

  /// Runs the statements fn(pipeline) queues in one round trip (libpq's pipeline mode) and
  /// returns their results in order. They run as one implicit transaction: if one fails,
  /// PostgreSQL skips the rest and undoes what ran, and this throws Error with the server's
  /// SQLSTATE, naming the statement ("pipeline statement 3 of 20: ..."). Cancellation: as
  /// query() (the server cancels, the results are drained, the connection stays usable).
  /// Throws std::logic_error if the connection is closed or busy.
  template <class F>
  std::vector<Result> pipeline(F&& fn, SourceLocation where = SourceLocation::current()) {
    Pipeline p;
    fn(p);
    return run(p, where);
  }
  /// Runs statements queued in p, as pipeline().
  std::vector<Result> run(Pipeline& p, SourceLocation where = SourceLocation::current());

  /// Runs sql once for each element of rows, which gives $1, $2, ...: a std::tuple (or
  /// pair, array), a Boost.Describe'd struct (its members in order) or a single value. All in
  /// one round trip (pipeline mode), atomically: a failing row undoes every row and throws
  /// Error naming it ("pipeline statement 3 of 20: ..."). Returns the rows affected in all.
  /// Throws as pipeline(). asyncio: await conn.executemany(sql, args)
  template <class Rows>
  std::uint64_t executemany(std::string_view sql, const Rows& rows,
                            SourceLocation where = SourceLocation::current()) {
    Pipeline p;
    for (const auto& row : rows) p.add(false, sql, db::detail::row_values(row));
    std::uint64_t affected = 0;
    for (const Result& r : run(p, where)) affected += r.affected();
    return affected;
  }

  /// Copies rows into table (a name, or schema.name; quoted here) through COPY FROM STDIN in
  /// text format, in chunks of about 64 KiB: each row a std::tuple (or pair, array), a
  /// Boost.Describe'd struct (members in order) or a single value, its values converted as
  /// query() converts parameters, NULL for an empty optional; columns name the columns the
  /// values go to (empty: all, in the table's order). Returns the rows copied. The COPY is
  /// one statement: if it fails (a bad value, a constraint) or the task is cancelled, no row
  /// stays. Throws Error, CancelledError, std::invalid_argument for an empty table name.
  /// asyncio: await conn.copy_records_to_table(table, records=rows, columns=columns)
  template <class Rows>
  std::uint64_t copy_in(std::string_view table, const std::vector<std::string>& columns,
                        const Rows& rows, SourceLocation where = SourceLocation::current()) {
    using std::begin, std::end;  // (what a range-for would use)
    auto it = begin(rows);
    const auto last = end(rows);
    return copy_from_stdin(copy_statement(table, columns), [&](std::string& buffer) {
      while (it != last && buffer.size() < 64 * 1024) {
        append_copy_row(buffer, db::detail::row_values(*it));
        ++it;
      }
      return it != last;
    }, where);
  }
  /// Runs sql, a COPY ... FROM STDIN, sending what fill appends to the (emptied) buffer it
  /// is given, call after call, until it returns false: the data in the COPY's format (text,
  /// csv or binary, as sql says). An exception from fill (or a cancellation) ends the COPY
  /// with an error, so nothing of it stays, and is rethrown. Returns the rows copied. Throws
  /// Error (42601 if sql is not a COPY FROM STDIN), CancelledError, fill's exceptions.
  /// asyncio: await conn.copy_to_table(table, source=...)
  std::uint64_t copy_from_stdin(std::string_view sql,
                                spindle::detail::UniqueFunction<bool(std::string&)> fill,
                                SourceLocation where = SourceLocation::current());
  /// Runs sql, a COPY ... TO STDOUT, calling fn with each piece of data the server sends (a
  /// row, in the COPY's format), as it arrives: memory stays bounded whatever the size.
  /// An exception from fn (or a cancellation) cancels the COPY on the server and is
  /// rethrown; the connection stays usable. Returns the rows copied. Throws Error (42601 if
  /// sql is not a COPY TO STDOUT), CancelledError, fn's exceptions.
  /// asyncio: await conn.copy_from_query(...) / copy_from_table(..., output=fn)
  std::uint64_t copy_out(std::string_view sql,
                         spindle::detail::UniqueFunction<void(std::string_view)> fn,
                         SourceLocation where = SourceLocation::current());

  /// Runs fn(*this) in a transaction and returns what it returns: BEGIN, then COMMIT when fn
  /// returns, or ROLLBACK (cancellation held back meanwhile) when it throws or the task is
  /// cancelled, rethrowing. Inside another transaction it uses a savepoint instead.
  /// Throws: fn's exception; Error (e.g. a failing COMMIT); CancelledError.
  /// asyncio: async with conn.transaction()
  template <class F>
  auto transaction(F&& fn) -> std::invoke_result_t<F&, Connection&> {
    const int depth = begin();
    return db::transact(*this, fn, [&] { commit(depth); }, [&]() noexcept { rollback(depth); });
  }

  /// The next NOTIFY on a channel this connection LISTENs to (run "LISTEN name" with
  /// query() first), parking until one arrives. Throws Error if the connection is lost,
  /// CancelledError. asyncio: conn.add_listener(channel, callback)
  Notification wait_notification(SourceLocation where = SourceLocation::current());
  /// As wait_notification(), giving up after `timeout`: empty then.
  std::optional<Notification> wait_notification(Clock::duration timeout,
                                                 SourceLocation where = SourceLocation::current());

  /// True while connected and not broken.
  bool is_open() const noexcept;
  /// True once a statement may have changed the session: one whose command is not a read,
  /// a write or transaction control (SELECT, INSERT, UPDATE, DELETE, MERGE, COPY, FETCH,
  /// MOVE, SHOW, EXPLAIN, BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE, CLOSE), or prepare().
  /// A pool resets only such connections (PoolOptions::reset_always aside).
  bool session_changed() const noexcept;
  /// True when no transaction is open (what a pool checks before reusing a connection).
  bool is_idle() const noexcept;
  /// Closes the connection. Idempotent. asyncio: await conn.close()
  void close() noexcept;
  /// libpq's connection, for what this class does not offer (do not run blocking calls).
  pg_conn* native_handle() const noexcept;

 private:
  friend SPINDLE_API Connection connect(std::string_view conninfo, SourceLocation where);
  friend class RowStream;
  friend class Pool;
  friend class db::Queries<Connection>;
  /// query() for a typed query: plan says whether a result of the statement's columns may
  /// come in binary.
  template <class... P>
  Result typed_query(db::detail::BinaryPlan plan, std::string_view sql, const P&... params) {
    return typed_query_values(plan, sql, db::values(params...));
  }
  Result typed_query_values(db::detail::BinaryPlan plan, std::string_view sql,
                            std::span<const db::Value> params,
                            SourceLocation where = SourceLocation::current());
  struct Impl;
  explicit Connection(std::unique_ptr<Impl> impl) noexcept;
  static std::string copy_statement(std::string_view table, const std::vector<std::string>& columns);
  static void append_copy_row(std::string& out, const std::vector<db::Value>& values);
  int begin();
  void commit(int depth);
  void rollback(int depth) noexcept;
  std::unique_ptr<Impl> impl_;
};

/// The rows of one statement as they arrive (Connection::stream(), libpq's single-row mode):
/// memory stays bounded whatever the result's size. An input range; each row is valid until
/// the next is read. Leaving it early (or destroying it unfinished) cancels the statement on
/// the server and drains it, so the connection is ready for the next one. The connection
/// serves nothing else meanwhile and must outlive the stream.
/// asyncio: async for record in conn.cursor(sql, *args)
class SPINDLE_API RowStream {
 public:
  /// Walks the rows; dereferencing gives a db::Row<Result>; ++ throws as next().
  using iterator = db::detail::StreamIterator<RowStream, Result>;

  RowStream(RowStream&& o) noexcept;
  RowStream& operator=(RowStream&&) = delete;
  /// Abandons an unfinished stream: cancelled on the server, drained (parking meanwhile).
  ~RowStream();

  /// Reads the first row (once) and walks from it. Throws as next().
  iterator begin();
  std::default_sentinel_t end() const noexcept { return {}; }
  /// Reads the next row into current(); false at the end. Throws Error if the statement
  /// fails (the rows before it were delivered; the connection stays usable), CancelledError
  /// (the statement is cancelled on the server).
  bool next(SourceLocation where = SourceLocation::current());
  /// The row read last, as a one-row Result.
  const Result& current() const noexcept { return current_; }
  /// The row read last. Precondition: next() was true.
  db::Row<Result> row() const noexcept { return current_[0]; }
  /// True once the rows ended (or failed, or the stream was abandoned).
  bool ended() const noexcept { return done_; }
  /// How many rows have been read.
  std::uint64_t count() const noexcept { return count_; }

 private:
  friend class Connection;
  explicit RowStream(Connection::Impl* conn) noexcept : conn_(conn) {}
  Connection::Impl* conn_;
  Result current_;
  bool started_ = false;
  bool done_ = false;
  std::uint64_t count_ = 0;
};

template <class... P>
RowStream Connection::stream(std::string_view sql, const P&... params) {
  return stream_values(sql, db::values(params...));
}

/// Connects with a libpq connection string ("host=/run/postgresql dbname=app", or a
/// postgresql:// URI), parking while the connection is made. Nothing blocks the loop: host
/// names are resolved with io::resolve and handed to libpq as hostaddr (host stays, for TLS
/// verification), every address of every host in a list is tried in order (a name that does
/// not resolve is skipped), and connect_timeout (seconds, at least 2) is enforced here, for
/// each host. Throws Error (SQLSTATE 08001 with libpq's message, the lookup failures, or
/// "timeout expired"), CancelledError.
/// asyncio: await asyncpg.connect(dsn)
SPINDLE_API Connection connect(std::string_view conninfo,
                               SourceLocation where = SourceLocation::current());

/// How a Pool makes, cleans and retires connections. asyncio: asyncpg.create_pool's arguments
struct PoolOptions {
  /// The most connections the pool holds (asyncpg: max_size). At least 1.
  std::size_t size = 10;
  /// Run on each new connection before its first lease, and again after each reset (which
  /// undoes what it did): SET, prepare(), ... Every lease starts from a connection as setup
  /// left it. An exception from it fails the acquire() (asyncpg: init and setup).
  std::function<void(Connection&)> setup = {};
  /// Run on a connection whose last lease changed the session (Connection::session_changed:
  /// a SET, a temporary table, a LISTEN, prepare(), ...), as the next acquire() takes it:
  /// what one task did to the session does not reach the next. Leases that only read, write
  /// and commit cost no reset. Empty: none. (asyncpg: the pool's reset)
  std::string reset = "DISCARD ALL";
  /// Run the reset after every lease, also when no statement changed the session by its
  /// command (a SELECT of set_config() or pg_advisory_lock() does, unseen).
  bool reset_always = false;
  /// A connection made longer ago than this is closed rather than lent again (zero: no
  /// limit).
  Clock::duration max_lifetime = Clock::duration::zero();
  /// An idle connection unused for this long is closed, by a timer, even if the pool is not
  /// used again (zero: never). asyncio: max_inactive_connection_lifetime
  Clock::duration max_idle = Clock::duration::zero();
  /// Each connection's statement cache (Connection::set_statement_cache_size).
  std::size_t statement_cache_size = Connection::kStatementCacheSize;
  /// Without a reset, a connection idle for longer than this answers "SELECT 1" before it
  /// is lent (the reset checks it as well); one that fails is replaced.
  Clock::duration check_after = std::chrono::seconds(30);
};

/// Connections shared by the tasks of one loop: acquire() lends one, parking while all are
/// lent; connections are made when first needed, reset between leases and reused. A
/// connection that comes back broken or inside a transaction is closed (the server rolls the
/// transaction back and frees its locks at once), as is one past its lifetime; acquire()
/// makes a new one. The pool must outlive its leases; close() waits for them.
/// asyncio: asyncpg.create_pool(dsn, ...)
class SPINDLE_API Pool : public db::Queries<Pool> {
 public:
  static constexpr const char* client = "pg";

  /// A lent connection; returns it to the pool when destroyed.
  class SPINDLE_API Lease {
   public:
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)), created_(o.created_) {
      o.pool_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() noexcept { return conn_; }
    Connection* operator->() noexcept { return &conn_; }

   private:
    friend class Pool;
    Lease(Pool* pool, Connection conn, Clock::time_point created) noexcept
        : pool_(pool), conn_(std::move(conn)), created_(created) {}
    Pool* pool_;
    Connection conn_;
    Clock::time_point created_;
  };

  /// A pool of at most `size` connections to `conninfo` (none made yet), with the other
  /// options' defaults. Throws std::invalid_argument if size is 0.
  Pool(std::string conninfo, std::size_t size);
  /// A pool as `options` say. Throws std::invalid_argument if options.size is 0.
  Pool(std::string conninfo, PoolOptions options);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();

  /// Lends a connection: the idle one used last (reset, or checked, as the options say),
  /// else a new one while fewer than size exist, else the first one returned (waiters are
  /// served in order). Throws Error if a new connection (or its setup) fails,
  /// std::logic_error once the pool is closed, CancelledError (nothing lent).
  /// asyncio: async with pool.acquire() as conn
  Lease acquire(SourceLocation where = SourceLocation::current());
  /// acquire(), then query() on it. asyncio: await pool.fetch(sql, *args)
  template <class... P>
  Result query(std::string_view sql, const P&... params) {
    auto conn = acquire();
    return conn->query(sql, params...);
  }
  /// Closes the pool: acquire() throws from now on, idle connections are closed at once and
  /// lent ones as they come back, which this waits for. Idempotent. Throws CancelledError
  /// (the pool stays closed). asyncio: await pool.close()
  void close(SourceLocation where = SourceLocation::current());
  /// The most connections it holds.
  std::size_t size() const noexcept { return options_.size; }
  /// Connections made and not lent right now.
  std::size_t idle() const noexcept { return idle_.size(); }
  /// Connections lent right now.
  std::size_t lent() const noexcept { return gate_.lent(); }

 private:
  friend class db::Queries<Pool>;
  template <class... P>
  Result typed_query(db::detail::BinaryPlan plan, std::string_view sql, const P&... params) {
    auto conn = acquire();
    return conn->typed_query(plan, sql, params...);
  }
  struct Idle {
    Connection conn;
    Clock::time_point created;  // when it was made
    Clock::time_point since;    // when it came back
  };
  void give_back(Connection conn, Clock::time_point created) noexcept;
  bool expired(Clock::time_point created, Clock::time_point now) const noexcept;
  void arm_sweeper() noexcept;
  void sweep() noexcept;
  std::string conninfo_;
  PoolOptions options_;
  db::detail::LendingGate gate_;
  std::vector<Idle> idle_;
  TimerHandle sweeper_;  // closes connections idle for max_idle
  bool sweeping_ = false;
};

}  // namespace spindle::pg
