// spindle::pg's connection internals, shared by pg.cpp (statements, transactions, the pool)
// and pg_pipeline.cpp (pipeline mode). Private to spindle-pg.
#pragma once

#include <spindle/cancel.hpp>
#include <spindle/errors.hpp>
#include <spindle/io/wait.hpp>
#include <spindle/pg.hpp>
#include <spindle/sleep.hpp>
#include <spindle/task.hpp>
#include <spindle/thread.hpp>
#include <spindle/timeout.hpp>

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace spindle::pg {

using namespace std::chrono_literals;

// How long cleanup after a cancellation (flushing, draining, ROLLBACK) may take before the
// connection is given up as broken and closed.
inline constexpr auto kCleanupLimit = 10s;

/// libpq's message without its trailing newline.
inline std::string message_of(const char* m) {
  std::string s = m ? m : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

/// The error result r as an Error: its SQLSTATE (XX000 when it has none) and primary
/// message, after `prefix`.
inline Error error_of(const PGresult* r, const std::string& prefix = {}) {
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  return Error(state ? state : "XX000",
               prefix + message_of(primary ? primary : PQresultErrorMessage(r)));
}

struct Params;

struct Connection::Impl {
  PGconn* conn = nullptr;
  // libpq's socket, registered with the loop once connected and kept armed between waits (no
  // epoll_ctl per query). Level-triggered, since libpq may stop reading before the socket is
  // drained.
  std::optional<io::FdWaiter> sock;
  int depth = 0;  // transactions and savepoints opened by transaction()

  // The statement cache: parameterized statements prepared once and executed by name after,
  // least recently used first out (its statement deallocated on the server).
  struct Cached {
    std::string key;  // the text, and which parameters were bytes (Params::signature())
    std::string name;
    Result described;  // its columns (PQdescribePrepared), read when it was prepared
    // The typed query that ran it last, and whether that one's result could come in binary.
    db::detail::BinaryPlan plan = nullptr;
    bool binary = false;
  };
  std::size_t cache_size = Connection::kStatementCacheSize;
  std::list<Cached> lru;  // most recently used at the front
  std::unordered_map<std::string_view, std::list<Cached>::iterator> cached;
  std::uint64_t next_statement = 0;
  std::uint64_t cache_hits = 0;
  bool binary_on = true;           // Connection::set_binary_results
  std::uint64_t binary_count = 0;  // results read in binary

  // Whether a statement may have changed the session (a setting, a temporary table, a
  // LISTEN, ...): what a pool's reset is for. Reads, writes and transaction control do not.
  bool session_changed = false;
  bool internal = false;  // (the cache's own statements do not count)

  /// Notes what the statement whose result r is did to the session, by its command tag.
  void note(PGresult* r) noexcept {
    if (internal || session_changed) return;
    const std::string_view tag = PQcmdStatus(r);
    const std::string_view verb = tag.substr(0, tag.find(' '));
    static constexpr std::string_view kNeutral[] = {
        "",       "SELECT", "INSERT",    "UPDATE",  "DELETE", "MERGE", "COPY",    "FETCH",
        "MOVE",   "SHOW",   "EXPLAIN",   "BEGIN",   "START",  "COMMIT", "END",    "ROLLBACK",
        "ABORT",  "SAVEPOINT", "RELEASE", "CLOSE"};
    for (std::string_view n : kNeutral) {
      if (verb == n) return;
    }
    session_changed = true;
  }

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

  /// The open connection, with no statement, stream, pipeline or COPY of another task on it.
  /// Throws std::logic_error when closed or busy.
  PGconn* require_free(const char* what) const {
    require(what);
    if (PQisBusy(conn) || PQtransactionStatus(conn) == PQTRANS_ACTIVE) {
      throw std::logic_error(std::string("pg::Connection::") + what +
                             ": another statement is still running on this connection (a "
                             "connection serves one task, and one stream, at a time; share a "
                             "Pool instead)");
    }
    return conn;
  }

  /// Asks the server to cancel what runs on this connection. PQcancel opens a connection of
  /// its own and blocks (as long as a connect may take, if the server is unreachable), so a
  /// task of its own runs it on the thread pool; the caller drains meanwhile and, before the
  /// connection serves again, waits within its bound for the flag returned (set once the
  /// request was delivered or failed): a late request would cancel the next statement.
  /// Null if libpq has no cancel object. A failure is ignored.
  std::shared_ptr<bool> send_cancel() {
    PGcancel* raw = PQgetCancel(conn);
    if (!raw) return nullptr;
    std::shared_ptr<PGcancel> cancel(raw, PQfreeCancel);  // (freed by whoever is last)
    auto sent = std::make_shared<bool>(false);
    spawn(TaskOptions{.name = "pg cancel request"}, [cancel, sent] {
      to_thread([cancel] {
        char err[256];
        PQcancel(cancel.get(), err, sizeof err);
      });
      *sent = true;
    });
    return sent;
  }

  // Cleanup after a cancellation runs under a CancelShield, which holds back the timeouts of
  // with_timeout as well: its waits are bounded by a deadline of their own, and each of
  // these throws std::runtime_error past it (the caller then closes the connection).
  using Deadline = std::chrono::steady_clock::time_point;

  /// Parks until the socket is readable (or writable), at most until d.
  /// (Waiting to send is wait_to_send's wait, bounded: room to write or input, which is
  /// consumed, since the server may be blocked writing to us.)
  void wait_until(bool write, Deadline d, SourceLocation where) {
    const auto left = d - std::chrono::steady_clock::now();
    if (left <= 0s || !(write ? sock->wait_either(left, where) : sock->wait_readable(left, where))) {
      throw std::runtime_error("pg cleanup bound");
    }
    if (write && !PQconsumeInput(conn)) throw std::runtime_error("pg cleanup: connection lost");
  }
  /// Sends what libpq has buffered, by d.
  void flush_until(Deadline d, SourceLocation where) {
    for (int r; (r = PQflush(conn)) != 0;) {
      if (r < 0) throw std::runtime_error("flush");
      wait_until(true, d, where);
    }
  }
  /// Reads and drops results until there are none, by d. A COPY in the middle is not worth
  /// finishing: thrown, and the connection closed.
  void drain_until(Deadline d, SourceLocation where) {
    for (;;) {
      while (PQisBusy(conn)) {
        wait_until(false, d, where);
        if (!PQconsumeInput(conn)) throw std::runtime_error("drain");
      }
      PGresult* r = PQgetResult(conn);
      if (!r) return;
      const auto st = PQresultStatus(r);
      PQclear(r);
      if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
        throw std::runtime_error("copy");
      }
    }
  }
  /// Waits, polling, until the cancel request `sent` (send_cancel()) was delivered, by d.
  static void await_cancel(const std::shared_ptr<bool>& sent, Deadline d, SourceLocation where) {
    while (sent && !*sent) {
      if (std::chrono::steady_clock::now() >= d) throw std::runtime_error("cancel request");
      spindle::sleep(2ms, where);
    }
  }

  /// The connection's failure as an Error (08006), closing it: libpq cannot go on.
  [[noreturn]] void lost(const char* what) {
    const std::string m = message_of(PQerrorMessage(conn));
    finish();
    throw Error("08006", std::string(what) + ": " + (m.empty() ? "connection lost" : m));
  }

  /// Sends what libpq has buffered, parking while the socket is full. The server may be
  /// writing to us meanwhile (notices, or results of a pipeline), so its input is consumed as
  /// it comes: the wait ends on either direction, as libpq asks.
  void flush(const char* what, SourceLocation where) {
    for (;;) {
      const int r = PQflush(conn);
      if (r == 0) return;
      if (r < 0) lost(what);
      wait_to_send(what, where);
    }
  }

  /// Parks until the socket takes more output or brings input, and consumes that input.
  void wait_to_send(const char* what, SourceLocation where) {
    sock->wait_either(where);
    if (!PQconsumeInput(conn)) lost(what);
  }

  /// Collects the results of what was sent: the last one, or the first error as Error.
  Result collect(const char* what, SourceLocation where) {
    // Owned here until returned: a cancellation or a lost connection may come between two
    // results of a multi-statement query.
    using Owned = std::unique_ptr<PGresult, decltype(&PQclear)>;
    Owned last(nullptr, PQclear), error(nullptr, PQclear);
    bool copy_out_refused = false;  // (the first failure is the one reported)
    for (;;) {
      while (PQisBusy(conn)) {
        sock->wait_readable(where);
        if (!PQconsumeInput(conn)) lost(what);
      }
      Owned r(PQgetResult(conn), PQclear);
      if (!r) break;
      const auto st = PQresultStatus(r.get());
      if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
        if (!error && !copy_out_refused) error = std::move(r);
      } else if (st == PGRES_COPY_IN) {
        // COPY needs calls of its own: end it from our side (the server answers with an
        // error result, collected next) so the connection stays usable.
        if (PQputCopyEnd(conn, "COPY FROM STDIN is not supported by spindle::pg") < 0) lost(what);
        flush(what, where);
      } else if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
        skip_copy_out(what, where);  // then the COPY's own result follows
        if (!error) copy_out_refused = true;
      } else {
        note(r.get());
        last = std::move(r);
      }
    }
    if (copy_out_refused) throw Error("0A000", "COPY TO STDOUT is not supported by spindle::pg");
    if (error) throw error_of(error.get());
    return Result(last.release());
  }

  /// Reads and drops the rows of a COPY ... TO STDOUT (by *d if given: std::runtime_error
  /// past it).
  void skip_copy_out(const char* what, SourceLocation where, const Deadline* d = nullptr) {
    for (;;) {
      char* row = nullptr;
      const int n = PQgetCopyData(conn, &row, 1);
      if (row) PQfreemem(row);
      if (n > 0) continue;
      if (n == -1) return;
      if (n == -2) lost(what);
      if (d) {
        wait_until(false, *d, where);
      } else {
        sock->wait_readable(where);
      }
      if (!PQconsumeInput(conn)) lost(what);
    }
  }

  /// After a cancellation inside a statement: finishes sending it, asks the server to cancel
  /// it, and drains its results, with the task's cancellation held back; closes the
  /// connection if that takes longer than kCleanupLimit or fails. (A stream in single-row
  /// mode is cancelled even when rows wait in libpq's buffer: `always_cancel`.)
  void abandon(SourceLocation where, bool always_cancel = false) noexcept {
    CancelShield shield;
    const Deadline deadline = std::chrono::steady_clock::now() + kCleanupLimit;
    try {
      flush_until(deadline, where);
      const auto sent = always_cancel || PQisBusy(conn) ? send_cancel() : nullptr;
      drain_until(deadline, where);
      await_cancel(sent, deadline, where);
    } catch (...) {
      finish();
    }
  }

  /// Sends sql and waits for the server to enter COPY mode `expected` (pg_copy.cpp); any
  /// other outcome is collected and thrown as Error.
  void start_copy(const std::string& sql, ExecStatusType expected, const char* what,
                  SourceLocation where);
  /// Ends a COPY FROM STDIN that cannot go on: the server gets an error and rolls it back.
  void abort_copy_in(const std::string& why, SourceLocation where) noexcept;
  /// Ends a COPY TO STDOUT the caller stopped reading: a cancel request, the rest dropped.
  void abort_copy_out(SourceLocation where) noexcept;

  /// Runs sql with params through the statement cache (pg_cache.cpp); for a typed query
  /// (plan set) in binary if the plan says its columns allow it.
  Result cached_query(const std::string& sql, std::span<const db::Value> params,
                      SourceLocation where, db::detail::BinaryPlan plan);
  /// Prepares sql as the statement `name` and describes it, in one round trip (pipeline
  /// mode); returns the description (its columns, no rows). Throws as run().
  Result prepare_described(const std::string& name, const std::string& sql, const Params& p,
                           SourceLocation where);
  /// Forgets every cached statement (the server dropped them: DISCARD ALL, DEALLOCATE ALL).
  void forget_statements() noexcept {
    cached.clear();
    lru.clear();
  }

  /// Reads the next result, parking while libpq needs more input (pipeline mode).
  PGresult* next_result(const char* what, SourceLocation where);
  /// After n statements and a Sync were queued in pipeline mode: sends them, reads each
  /// one's last result and the Sync's, and leaves pipeline mode. The first failure is thrown
  /// as Error once all are read, named "pipeline statement k of n" when `numbered`. On
  /// cancellation, abandon_pipeline() and rethrow.
  std::vector<Result> pipeline_results(std::size_t n, bool numbered, const char* what,
                                       SourceLocation where);
  /// After a cancellation in pipeline mode: asks the server to cancel, drains to the Sync and
  /// leaves pipeline mode, cancellation held back; closes the connection if that fails or
  /// takes too long.
  void abandon_pipeline(SourceLocation where) noexcept;

  /// Sends with `send` (one of libpq's PQsend* calls), then collects the result; on
  /// cancellation abandons the statement and rethrows.
  template <class Send>
  Result run(const char* what, SourceLocation where, Send send) {
    require_free(what);
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

/// params as libpq takes them: text (a C string per value, nullptr for NULL), except bytes,
/// which go in binary (typed bytea, no hex form to make or parse, half the bytes on the wire)
/// where the statement's parameter types come with them (not to a statement prepared earlier
/// without them: `binary_bytes` false).
struct Params {
  static constexpr Oid kBytea = 17;
  std::vector<std::optional<std::string>> text;
  std::vector<const char*> ptrs;
  std::vector<int> lengths, formats;
  std::vector<Oid> types;
  bool binary = false;  // some value goes in binary

  Params(std::span<const db::Value> params, bool binary_bytes) {
    const std::size_t n = params.size();
    text.reserve(n);
    ptrs.reserve(n);
    for (const auto& p : params) {
      const auto* bytes = std::get_if<db::Bytes>(&p);
      if (bytes && binary_bytes) {
        if (!binary) {
          binary = true;
          lengths.assign(ptrs.size(), 0);
          formats.assign(ptrs.size(), 0);
          types.assign(ptrs.size(), 0);
        }
        text.emplace_back();
        // (an empty vector's data() may be null, which libpq would send as NULL)
        ptrs.push_back(bytes->empty() ? "" : reinterpret_cast<const char*>(bytes->data()));
        lengths.push_back(static_cast<int>(bytes->size()));
        formats.push_back(1);
        types.push_back(kBytea);
        continue;
      }
      text.push_back(db::to_text(p));
      ptrs.push_back(text.back() ? text.back()->c_str() : nullptr);
      if (binary) {
        lengths.push_back(0);
        formats.push_back(0);
        types.push_back(0);
      }
    }
  }
  int count() const { return static_cast<int>(ptrs.size()); }
  const Oid* type_oids() const { return binary ? types.data() : nullptr; }
  const int* value_lengths() const { return binary ? lengths.data() : nullptr; }
  const int* value_formats() const { return binary ? formats.data() : nullptr; }
  /// What makes a statement prepared with these types differ from one prepared without:
  /// empty when no value is binary, else the binary positions.
  std::string signature() const {
    if (!binary) return {};
    std::string s(1, '\0');
    for (int f : formats) s += f ? 'b' : '.';
    return s;
  }
};

}  // namespace spindle::pg
