// Connection::stream(): a statement's rows one at a time in libpq's single-row mode. Each row
// arrives as a one-row PGresult (PGRES_SINGLE_TUPLE), then a zero-row PGRES_TUPLES_OK ends
// them (or an error result, after the rows before it), then the null result. libpq reads the
// socket only while it holds no complete row, so memory stays bounded by a row and libpq's
// input buffer, however large the result.
#include <stdexcept>

#include "pg_impl.hpp"

namespace spindle::pg {

RowStream Connection::stream_values(std::string_view sql, std::span<const db::Value> params,
                                    SourceLocation where) {
  if (!impl_) throw std::logic_error("pg::Connection::stream: the connection is closed");
  Impl& i = *impl_;
  PGconn* conn = i.require_free("stream");
  const std::string text(sql);
  const Params p(params, true);
  if (!PQsendQueryParams(conn, text.c_str(), p.count(), p.type_oids(), p.ptrs.data(),
                         p.value_lengths(), p.value_formats(), 0)) {
    if (PQstatus(conn) == CONNECTION_BAD) i.lost("stream");
    throw Error("08000", "stream: " + message_of(PQerrorMessage(conn)));
  }
  PQsetSingleRowMode(conn);  // (right after sending, as libpq requires)
  try {
    i.flush("stream", where);
  } catch (const CancelledError&) {
    i.abandon(where);
    throw;
  }
  return RowStream(impl_.get());
}

RowStream::RowStream(RowStream&& o) noexcept
    : conn_(o.conn_), current_(std::move(o.current_)), started_(o.started_), done_(o.done_),
      count_(o.count_) {
  o.done_ = true;  // (the moved-from stream abandons nothing)
}

RowStream::~RowStream() {
  if (!done_ && conn_->conn) conn_->abandon(SourceLocation::current(), true);
}

RowStream::iterator RowStream::begin() {
  if (!started_) next();
  return iterator(this);
}

bool RowStream::next(SourceLocation where) {
  started_ = true;
  if (done_) return false;
  Connection::Impl& i = *conn_;
  using Owned = std::unique_ptr<PGresult, decltype(&PQclear)>;
  std::optional<Error> failed;
  for (;;) {
    Owned r(nullptr, PQclear);
    try {
      if (!i.conn) throw std::logic_error("pg::RowStream: the connection was closed");
      while (PQisBusy(i.conn)) {
        i.sock->wait_readable(where);
        if (!PQconsumeInput(i.conn)) i.lost("stream");
      }
      r.reset(PQgetResult(i.conn));
    } catch (const CancelledError&) {
      done_ = true;
      i.abandon(where, true);
      throw;
    } catch (...) {
      done_ = true;
      throw;
    }
    if (!r) break;  // the end
    switch (PQresultStatus(r.get())) {
      case PGRES_SINGLE_TUPLE:
        current_ = Result(r.release());
        ++count_;
        return true;
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK:
        break;  // after the last row; the null result follows
      case PGRES_FATAL_ERROR:
      case PGRES_BAD_RESPONSE:
      case PGRES_NONFATAL_ERROR:
        if (!failed) failed.emplace(error_of(r.get()));
        break;
      default:  // COPY and the like: not rows
        done_ = true;
        i.abandon(where);
        throw Error("0A000", "stream: the statement does not return rows one by one (COPY?)");
    }
  }
  done_ = true;
  current_ = Result();
  if (failed) throw *failed;
  return false;
}

}  // namespace spindle::pg
