// COPY ... FROM STDIN and COPY ... TO STDOUT on libpq's non-blocking calls: PQputCopyData /
// PQputCopyEnd and PQgetCopyData(async), parking on the socket in between. A COPY stopped
// half-way (an exception from the caller's function, a cancellation) is ended from our side
// (PQputCopyEnd with an error, or a cancel request and the rest drained), so the connection
// stays usable; if that fails or takes too long, it is closed.
#include <spindle/timeout.hpp>

#include <stdexcept>

#include "pg_impl.hpp"

namespace spindle::pg {

/// Sends sql and waits for the server to enter COPY mode `expected`; any other outcome is
/// collected and thrown as Error (or a COPY of the other direction is refused).
void Connection::Impl::start_copy(const std::string& sql, ExecStatusType expected,
                                  const char* what, SourceLocation where) {
  Impl& i = *this;
  PGconn* conn = i.require_free(what);
  if (!PQsendQuery(conn, sql.c_str())) i.lost(what);
  try {
    i.flush(what, where);
    while (PQisBusy(conn)) {
      i.sock->wait_readable(where);
      if (!PQconsumeInput(conn)) i.lost(what);
    }
  } catch (const CancelledError&) {
    i.abandon(where);
    throw;
  }
  PGresult* r = PQgetResult(conn);
  const auto st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == expected) {
    PQclear(r);
    return;
  }
  // Not the COPY asked for: collect() reports the error (or ends the other COPY) and throws.
  const bool error = st == PGRES_FATAL_ERROR;
  if (r && error) {
    Error e = error_of(r, std::string(what) + ": ");
    PQclear(r);
    i.collect(what, where);  // (the rest, up to the end)
    throw e;
  }
  PQclear(r);
  if (st == PGRES_COPY_IN) {
    PQputCopyEnd(conn, "spindle::pg: a COPY FROM STDIN where COPY TO STDOUT was expected");
    i.flush(what, where);
  } else if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
    i.skip_copy_out(what, where);
  }
  try {
    i.collect(what, where);
  } catch (const Error&) {
  }
  throw Error("42601", std::string(what) + ": the statement is not a COPY " +
                           (expected == PGRES_COPY_IN ? "FROM STDIN" : "TO STDOUT"));
}

/// Ends a COPY FROM STDIN that cannot go on: the server gets an error and rolls it back.
void Connection::Impl::abort_copy_in(const std::string& why, SourceLocation where) noexcept {
  Impl& i = *this;
  CancelShield shield;
  try {
    const Deadline deadline = std::chrono::steady_clock::now() + kCleanupLimit;
    int r;
    while ((r = PQputCopyEnd(i.conn, why.c_str())) == 0) i.wait_until(true, deadline, where);
    if (r < 0) throw std::runtime_error("end");
    i.flush_until(deadline, where);
    i.drain_until(deadline, where);  // (the error the abort asked for, dropped)
  } catch (...) {
    i.finish();
  }
}

/// Ends a COPY TO STDOUT the caller stopped reading: the server is asked to cancel and what
/// it still sends is read and dropped.
void Connection::Impl::abort_copy_out(SourceLocation where) noexcept {
  Impl& i = *this;
  CancelShield shield;
  try {
    const Deadline deadline = std::chrono::steady_clock::now() + kCleanupLimit;
    const auto sent = i.send_cancel();
    i.skip_copy_out("copy_out", where, &deadline);
    i.drain_until(deadline, where);  // (57014, the cancel we asked for, dropped)
    Impl::await_cancel(sent, deadline, where);
  } catch (...) {
    i.finish();
  }
}

std::string Connection::copy_statement(std::string_view table, const std::vector<std::string>& columns) {
  auto quote = [](std::string_view name) {
    std::string q = "\"";
    for (char c : name) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  if (table.empty()) throw std::invalid_argument("pg::Connection::copy_in: no table named");
  std::string sql = "COPY ";
  for (std::size_t start = 0;;) {  // schema.table: each part a name of its own
    const auto dot = table.find('.', start);
    sql += quote(table.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    sql += '.';
    start = dot + 1;
  }
  if (!columns.empty()) {
    sql += " (";
    for (std::size_t c = 0; c < columns.size(); ++c) sql += (c ? ", " : "") + quote(columns[c]);
    sql += ')';
  }
  return sql + " FROM STDIN";
}

void Connection::append_copy_row(std::string& out, const std::vector<db::Value>& values) {
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (k) out += '\t';
    const std::optional<std::string> text = db::to_text(values[k]);
    if (!text) {
      out += "\\N";
      continue;
    }
    for (char c : *text) {  // COPY's text format: backslash escapes
      switch (c) {
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: out += c;
      }
    }
  }
  out += '\n';
}

std::uint64_t Connection::copy_from_stdin(std::string_view sql,
                                          spindle::detail::UniqueFunction<bool(std::string&)> fill,
                                          SourceLocation where) {
  if (!impl_) throw std::logic_error("pg::Connection::copy_in: the connection is closed");
  Impl& i = *impl_;
  i.start_copy(std::string(sql), PGRES_COPY_IN, "copy_in", where);
  std::string buffer;
  try {
    for (bool more = true; more;) {
      buffer.clear();
      more = fill(buffer);
      if (buffer.empty()) continue;
      int r;
      while ((r = PQputCopyData(i.conn, buffer.data(), static_cast<int>(buffer.size()))) == 0) {
        i.wait_to_send("copy_in", where);
      }
      if (r < 0) i.lost("copy_in");
      i.flush("copy_in", where);  // (libpq's buffer stays one chunk long)
    }
    int r;
    while ((r = PQputCopyEnd(i.conn, nullptr)) == 0) i.wait_to_send("copy_in", where);
    if (r < 0) i.lost("copy_in");
    i.flush("copy_in", where);
  } catch (const std::exception& e) {
    if (i.conn) i.abort_copy_in(std::string("spindle::pg: the COPY was stopped: ") + e.what(), where);
    throw;  // (no connection: it was lost, nothing to end)
  } catch (...) {
    if (i.conn) i.abort_copy_in("spindle::pg: the COPY was stopped", where);
    throw;
  }
  try {
    return i.collect("copy_in", where).affected();
  } catch (const CancelledError&) {
    i.abandon(where);
    throw;
  }
}

std::uint64_t Connection::copy_out(std::string_view sql,
                                   spindle::detail::UniqueFunction<void(std::string_view)> fn,
                                   SourceLocation where) {
  if (!impl_) throw std::logic_error("pg::Connection::copy_out: the connection is closed");
  Impl& i = *impl_;
  i.start_copy(std::string(sql), PGRES_COPY_OUT, "copy_out", where);
  try {
    for (;;) {
      char* data = nullptr;
      const int n = PQgetCopyData(i.conn, &data, 1);
      if (n > 0) {
        std::unique_ptr<char, decltype(&PQfreemem)> owned(data, PQfreemem);
        fn(std::string_view(data, static_cast<std::size_t>(n)));
      } else if (n == 0) {
        i.sock->wait_readable(where);
        if (!PQconsumeInput(i.conn)) i.lost("copy_out");
      } else if (n == -1) {
        break;
      } else {
        i.lost("copy_out");
      }
    }
  } catch (...) {
    if (i.conn) i.abort_copy_out(where);  // (no connection: it was lost)
    throw;
  }
  try {
    return i.collect("copy_out", where).affected();
  } catch (const CancelledError&) {
    i.abandon(where);
    throw;
  }
}

}  // namespace spindle::pg
