// spindle::pg on libpq's non-blocking API: statements are sent with PQsendQuery* and their
// results collected with PQconsumeInput/PQisBusy, parking on the socket in between.
#include <spindle/cancel.hpp>
#include <spindle/errors.hpp>
#include <spindle/io/wait.hpp>
#include <spindle/pg.hpp>
#include <spindle/thread.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

namespace spindle::pg {
namespace {

using namespace std::chrono_literals;

// How long cleanup after a cancellation (flushing, draining, ROLLBACK) may take before the
// connection is given up as broken and closed.
constexpr auto kCleanupLimit = 10s;

/// libpq's message without its trailing newline.
std::string message_of(const char* m) {
  std::string s = m ? m : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Error::Error(std::string sqlstate, const std::string& message)
    : std::runtime_error("pg: " + message + " (SQLSTATE " + sqlstate + ")"),
      sqlstate_(std::move(sqlstate)) {}

// ---- Result ----

Result::Result(pg_result* r) : res_(r, PQclear) {}

std::size_t Result::size() const noexcept { return res_ ? static_cast<std::size_t>(PQntuples(res_.get())) : 0; }

std::size_t Result::columns() const noexcept {
  return res_ ? static_cast<std::size_t>(PQnfields(res_.get())) : 0;
}

void Result::check(std::size_t row, std::size_t col) const {
  if (row >= size() || col >= columns()) {
    throw std::out_of_range("pg::Result: no cell (" + std::to_string(row) + ", " +
                            std::to_string(col) + ") in " + std::to_string(size()) + " rows of " +
                            std::to_string(columns()) + " columns");
  }
}

std::string Result::column_name(std::size_t col) const {
  if (col >= columns()) {
    throw std::out_of_range("pg::Result: no column " + std::to_string(col) + " of " +
                            std::to_string(columns()));
  }
  return PQfname(res_.get(), static_cast<int>(col));
}

std::size_t Result::column(std::string_view name) const {
  for (std::size_t c = 0; c < columns(); ++c) {
    if (name == PQfname(res_.get(), static_cast<int>(c))) return c;
  }
  throw std::out_of_range("pg::Result: no column named \"" + std::string(name) + "\"");
}

std::optional<std::string> Result::get(std::size_t row, std::size_t col) const {
  check(row, col);
  const int r = static_cast<int>(row), c = static_cast<int>(col);
  if (PQgetisnull(res_.get(), r, c)) return std::nullopt;
  return std::string(PQgetvalue(res_.get(), r, c), static_cast<std::size_t>(PQgetlength(res_.get(), r, c)));
}

std::uint64_t Result::affected() const noexcept {
  if (!res_) return 0;
  const char* t = PQcmdTuples(res_.get());
  std::uint64_t n = 0;
  std::from_chars(t, t + std::strlen(t), n);
  return n;
}

std::string Result::command() const { return res_ ? PQcmdStatus(res_.get()) : ""; }

// ---- Connection ----

struct Connection::Impl {
  PGconn* conn = nullptr;
  // libpq's socket, registered with the loop once connected: one epoll_ctl per wait. Level-
  // triggered, since libpq may stop reading before the socket is drained.
  std::optional<io::FdWaiter> sock;
  int depth = 0;  // transactions and savepoints opened by transaction()

  ~Impl() { finish(); }

  /// Closes the connection (the socket's registration first, while its fd is open).
  void finish() noexcept {
    sock.reset();
    if (conn) PQfinish(conn);
    conn = nullptr;
  }

  PGconn* require(const char* what) const {
    if (!conn) throw std::logic_error(std::string("pg::Connection::") + what + ": the connection is closed");
    return conn;
  }

  /// The connection's failure as an Error (08006), closing it: libpq cannot go on.
  [[noreturn]] void lost(const char* what) {
    const std::string m = message_of(PQerrorMessage(conn));
    finish();
    throw Error("08006", std::string(what) + ": " + (m.empty() ? "connection lost" : m));
  }

  /// Sends what libpq has buffered, parking while the socket is full. The server may be
  /// writing to us meanwhile (notices), so its input is consumed as it comes.
  void flush(const char* what, SourceLocation where) {
    for (;;) {
      const int r = PQflush(conn);
      if (r == 0) return;
      if (r < 0) lost(what);
      if (!sock->wait_writable(50ms, where) && !PQconsumeInput(conn)) lost(what);
    }
  }

  /// Collects the results of what was sent: the last one, or the first error as Error.
  Result collect(const char* what, SourceLocation where) {
    // Owned here until returned: a cancellation or a lost connection may come between two
    // results of a multi-statement query.
    using Owned = std::unique_ptr<PGresult, decltype(&PQclear)>;
    Owned last(nullptr, PQclear), error(nullptr, PQclear);
    for (;;) {
      while (PQisBusy(conn)) {
        sock->wait_readable(where);
        if (!PQconsumeInput(conn)) lost(what);
      }
      Owned r(PQgetResult(conn), PQclear);
      if (!r) break;
      const auto st = PQresultStatus(r.get());
      if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
        if (!error) error = std::move(r);
      } else if (st == PGRES_COPY_IN) {
        // COPY needs calls of its own: end it from our side (the server answers with an
        // error result, collected next) so the connection stays usable.
        if (PQputCopyEnd(conn, "COPY FROM STDIN is not supported by spindle::pg") < 0) lost(what);
        flush(what, where);
      } else if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
        skip_copy_out(what, where);  // then the COPY's own result follows
        if (!error) error.reset(PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR));
      } else {
        last = std::move(r);
      }
    }
    if (error) {
      const char* state = PQresultErrorField(error.get(), PG_DIAG_SQLSTATE);
      const char* primary = PQresultErrorField(error.get(), PG_DIAG_MESSAGE_PRIMARY);
      std::string m = message_of(primary ? primary : PQresultErrorMessage(error.get()));
      if (m.empty()) m = "COPY TO STDOUT is not supported by spindle::pg";
      throw Error(state ? state : "0A000", m);
    }
    return Result(last.release());
  }

  /// Reads and drops the rows of a COPY ... TO STDOUT.
  void skip_copy_out(const char* what, SourceLocation where) {
    for (;;) {
      char* row = nullptr;
      const int n = PQgetCopyData(conn, &row, 1);
      if (row) PQfreemem(row);
      if (n > 0) continue;
      if (n == -1) return;
      if (n == -2) lost(what);
      sock->wait_readable(where);
      if (!PQconsumeInput(conn)) lost(what);
    }
  }

  /// After a cancellation inside a statement: finishes sending it, asks the server to cancel
  /// it (PQcancel blocks, so it runs on the thread pool), and drains its results, with the
  /// task's cancellation held back; closes the connection if that takes too long or fails.
  void abandon(SourceLocation where) noexcept {
    CancelShield shield;
    const auto deadline = std::chrono::steady_clock::now() + kCleanupLimit;
    try {
      while (PQflush(conn) == 1) {
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("flush");
        sock->wait_writable(50ms, where);
      }
      if (PQisBusy(conn)) {
        PGcancel* cancel = PQgetCancel(conn);
        if (cancel) {
          to_thread([cancel] {
            char err[256];
            PQcancel(cancel, err, sizeof err);
            PQfreeCancel(cancel);
          });
        }
      }
      for (;;) {
        while (PQisBusy(conn)) {
          const auto left = deadline - std::chrono::steady_clock::now();
          if (left <= 0s || !sock->wait_readable(left, where)) {
            throw std::runtime_error("drain");
          }
          if (!PQconsumeInput(conn)) throw std::runtime_error("drain");
        }
        PGresult* r = PQgetResult(conn);
        if (!r) break;
        const auto st = PQresultStatus(r);
        PQclear(r);
        // A COPY in the middle: not worth finishing; the connection is closed.
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
          throw std::runtime_error("copy");
        }
      }
    } catch (...) {
      finish();
    }
  }

  /// Sends with `send` (one of libpq's PQsend* calls), then collects the result; on
  /// cancellation abandons the statement and rethrows.
  template <class Send>
  Result run(const char* what, SourceLocation where, Send send) {
    require(what);
    if (PQisBusy(conn) || PQtransactionStatus(conn) == PQTRANS_ACTIVE) {
      throw std::logic_error(std::string("pg::Connection::") + what +
                             ": another task's statement is still running on this connection "
                             "(a connection serves one task at a time; share a Pool instead)");
    }
    if (!send()) {
      const auto st = PQstatus(conn);
      if (st == CONNECTION_BAD) lost(what);
      throw Error("08000", std::string(what) + ": " + message_of(PQerrorMessage(conn)));
    }
    try {
      flush(what, where);
      return collect(what, where);
    } catch (const CancelledError&) {
      abandon(where);
      throw;
    }
  }
};

namespace {

/// params as libpq takes them: a C string per value, nullptr for NULL.
struct TextParams {
  std::vector<std::optional<std::string>> text;
  std::vector<const char*> ptrs;
  explicit TextParams(std::span<const db::Value> params) {
    text.reserve(params.size());
    ptrs.reserve(params.size());
    for (const auto& p : params) {
      text.push_back(db::to_text(p));
      ptrs.push_back(text.back() ? text.back()->c_str() : nullptr);
    }
  }
  int count() const { return static_cast<int>(ptrs.size()); }
};

}  // namespace

Connection::Connection() noexcept = default;
Connection::Connection(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

Result Connection::query_values(std::string_view sql, std::span<const db::Value> params,
                                SourceLocation where) {
  if (!impl_) throw std::logic_error("pg::Connection::query: the connection is closed");
  const std::string text(sql);
  if (params.empty()) {
    return impl_->run("query", where, [&] { return PQsendQuery(impl_->conn, text.c_str()); });
  }
  TextParams p(params);
  return impl_->run("query", where, [&] {
    return PQsendQueryParams(impl_->conn, text.c_str(), p.count(), nullptr, p.ptrs.data(), nullptr,
                             nullptr, 0);
  });
}

void Connection::prepare(std::string_view name, std::string_view sql, SourceLocation where) {
  if (!impl_) throw std::logic_error("pg::Connection::prepare: the connection is closed");
  const std::string n(name), text(sql);
  impl_->run("prepare", where,
             [&] { return PQsendPrepare(impl_->conn, n.c_str(), text.c_str(), 0, nullptr); });
}

Result Connection::execute_values(std::string_view name, std::span<const db::Value> params,
                                  SourceLocation where) {
  if (!impl_) throw std::logic_error("pg::Connection::execute: the connection is closed");
  const std::string n(name);
  TextParams p(params);
  return impl_->run("execute", where, [&] {
    return PQsendQueryPrepared(impl_->conn, n.c_str(), p.count(), p.ptrs.data(), nullptr, nullptr, 0);
  });
}

int Connection::begin() {
  if (!impl_) throw std::logic_error("pg::Connection::transaction: the connection is closed");
  const int depth = impl_->depth;
  query(depth == 0 ? std::string("BEGIN") : "SAVEPOINT spindle_" + std::to_string(depth));
  impl_->depth = depth + 1;
  return depth;
}

void Connection::commit(int depth) {
  if (depth == 0) {
    query("COMMIT");
  } else {
    query("RELEASE SAVEPOINT spindle_" + std::to_string(depth));
  }
  impl_->depth = depth;
}

void Connection::rollback(int depth) noexcept {
  if (!impl_) return;
  impl_->depth = depth;
  if (!impl_->conn) return;
  CancelShield shield;
  try {
    query(depth == 0 ? std::string("ROLLBACK")
                     : "ROLLBACK TO SAVEPOINT spindle_" + std::to_string(depth) +
                           "; RELEASE SAVEPOINT spindle_" + std::to_string(depth));
  } catch (...) {
    // The connection is broken (or the rollback failed): it cannot be trusted any more.
    impl_->depth = 0;
    impl_->finish();
  }
}

namespace {

std::optional<Notification> take_notification(PGconn* conn) {
  PGnotify* n = PQnotifies(conn);
  if (!n) return std::nullopt;
  Notification out{n->relname, n->extra ? n->extra : "", n->be_pid};
  PQfreemem(n);
  return out;
}

}  // namespace

std::optional<Notification> Connection::wait_notification(Clock::duration timeout, SourceLocation where) {
  if (!impl_) throw std::logic_error("pg::Connection::wait_notification: the connection is closed");
  PGconn* conn = impl_->require("wait_notification");
  const auto deadline = Loop::current().time() + timeout;
  for (;;) {
    if (!PQconsumeInput(conn)) impl_->lost("wait_notification");
    if (auto n = take_notification(conn)) return n;
    const auto left = deadline - Loop::current().time();
    if (left <= Clock::duration::zero()) return std::nullopt;
    impl_->sock->wait_readable(left, where);
  }
}

Notification Connection::wait_notification(SourceLocation where) {
  if (!impl_) throw std::logic_error("pg::Connection::wait_notification: the connection is closed");
  PGconn* conn = impl_->require("wait_notification");
  for (;;) {
    if (!PQconsumeInput(conn)) impl_->lost("wait_notification");
    if (auto n = take_notification(conn)) return std::move(*n);
    impl_->sock->wait_readable(where);
  }
}

bool Connection::is_open() const noexcept {
  return impl_ && impl_->conn && PQstatus(impl_->conn) == CONNECTION_OK;
}

bool Connection::is_idle() const noexcept {
  return is_open() && PQtransactionStatus(impl_->conn) == PQTRANS_IDLE;
}

void Connection::close() noexcept { impl_.reset(); }

pg_conn* Connection::native_handle() const noexcept { return impl_ ? impl_->conn : nullptr; }

Connection connect(std::string_view conninfo, SourceLocation where) {
  auto impl = std::make_unique<Connection::Impl>();
  impl->conn = PQconnectStart(std::string(conninfo).c_str());
  if (!impl->conn) throw std::bad_alloc();
  auto failed = [&] {
    return Error("08001", "connect: " + message_of(PQerrorMessage(impl->conn)));
  };
  if (PQstatus(impl->conn) == CONNECTION_BAD) throw failed();
  // PQconnectPoll is driven as if it last asked to write.
  auto st = PGRES_POLLING_WRITING;
  for (;;) {
    if (st == PGRES_POLLING_OK) break;
    if (st == PGRES_POLLING_FAILED) throw failed();
    if (st == PGRES_POLLING_READING) {
      io::wait_readable(PQsocket(impl->conn), where);
    } else {
      io::wait_writable(PQsocket(impl->conn), where);
    }
    st = PQconnectPoll(impl->conn);
  }
  if (PQsetnonblocking(impl->conn, 1) != 0) throw failed();
  impl->sock.emplace(PQsocket(impl->conn));
  return Connection(std::move(impl));
}

// ---- Pool ----

Pool::Pool(std::string conninfo, std::size_t size)
    : conninfo_(std::move(conninfo)), size_(size), permits_(size) {
  if (size == 0) throw std::invalid_argument("pg::Pool: size must be at least 1");
}

Pool::~Pool() = default;

Pool::Lease Pool::acquire(SourceLocation where) {
  permits_.acquire(where);
  try {
    while (!idle_.empty()) {
      Connection c = std::move(idle_.back());
      idle_.pop_back();
      if (c.is_idle()) return Lease(this, std::move(c));
    }
    return Lease(this, connect(conninfo_, where));
  } catch (...) {
    permits_.release();
    throw;
  }
}

void Pool::give_back(Connection conn) noexcept {
  if (conn.is_idle()) idle_.push_back(std::move(conn));
  permits_.release();
}

Pool::Lease::~Lease() {
  if (pool_) pool_->give_back(std::move(conn_));
}

}  // namespace spindle::pg
