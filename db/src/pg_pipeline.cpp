// Pipeline mode (libpq 14+): every queued statement is sent, then one Sync; the results come
// back in order, each statement's followed by a null result, and the Sync's last. After an
// error the server skips the rest of the pipeline (PGRES_PIPELINE_ABORTED) and rolls back
// its implicit transaction. The connection leaves pipeline mode before run() returns or
// throws, so the next statement finds it as usual; a cancellation drains to the Sync (or
// closes the connection past the cleanup bound).
#include <stdexcept>

#include "pg_impl.hpp"

namespace spindle::pg {

PGresult* Connection::Impl::next_result(const char* what, SourceLocation where) {
  while (PQisBusy(conn)) {
    sock->wait_readable(where);
    if (!PQconsumeInput(conn)) lost(what);
  }
  return PQgetResult(conn);
}

void Connection::Impl::abandon_pipeline(SourceLocation where) noexcept {
  Impl& i = *this;
  CancelShield shield;
  const Deadline deadline = std::chrono::steady_clock::now() + kCleanupLimit;
  try {
    i.flush_until(deadline, where);
    const auto sent = i.send_cancel();
    for (;;) {
      while (PQisBusy(i.conn)) {
        i.wait_until(false, deadline, where);
        if (!PQconsumeInput(i.conn)) throw std::runtime_error("drain");
      }
      PGresult* r = PQgetResult(i.conn);
      if (!r) continue;  // between two statements' results
      const auto st = PQresultStatus(r);
      PQclear(r);
      if (st == PGRES_PIPELINE_SYNC) break;
      if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
        throw std::runtime_error("copy");
      }
    }
    if (PQexitPipelineMode(i.conn) != 1) throw std::runtime_error("exit");
    await_cancel(sent, deadline, where);
  } catch (...) {
    i.finish();
  }
}

Pipeline& Pipeline::add(bool prepared, std::string_view text, std::vector<db::Value> params) {
  items_.push_back({prepared, std::string(text), std::move(params)});
  return *this;
}

std::vector<Result> Connection::run(Pipeline& p, SourceLocation where) {
  if (!impl_) throw std::logic_error("pg::Connection::pipeline: the connection is closed");
  Impl& i = *impl_;
  PGconn* conn = i.require_free("pipeline");
  if (p.items_.empty()) return {};
  if (PQenterPipelineMode(conn) != 1) {
    throw Error("08000", "pipeline: " + message_of(PQerrorMessage(conn)));
  }
  for (const Pipeline::Item& item : p.items_) {
    const Params params(item.params, !item.prepared);
    const int sent =
        item.prepared ? PQsendQueryPrepared(conn, item.text.c_str(), params.count(),
                                            params.ptrs.data(), nullptr, nullptr, 0)
                      : PQsendQueryParams(conn, item.text.c_str(), params.count(), params.type_oids(),
                                          params.ptrs.data(), params.value_lengths(),
                                          params.value_formats(), 0);
    if (!sent) i.lost("pipeline");  // only a broken connection refuses to queue
  }
  if (PQpipelineSync(conn) != 1) i.lost("pipeline");
  return i.pipeline_results(p.items_.size(), true, "pipeline", where);
}

std::vector<Result> Connection::Impl::pipeline_results(std::size_t n, bool numbered,
                                                       const char* what, SourceLocation where) {
  std::vector<Result> results;
  results.reserve(n);
  std::optional<Error> failed;
  const auto label = [&](std::size_t k) {
    return numbered ? "pipeline statement " + std::to_string(k + 1) + " of " + std::to_string(n) + ": "
                    : std::string();
  };
  try {
    flush(what, where);
    for (std::size_t k = 0; k < n; ++k) {
      Result last;
      while (PGresult* r = next_result(what, where)) {
        Result owned(r);  // freed whatever happens next
        const auto st = PQresultStatus(r);
        if (st == PGRES_FATAL_ERROR && !failed) {
          failed.emplace(error_of(r, label(k)));
        } else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
          note(r);
          last = std::move(owned);
        } else if (st != PGRES_PIPELINE_ABORTED && st != PGRES_FATAL_ERROR) {
          failed.emplace("0A000", label(k) + "not supported in a pipeline (" + PQresStatus(st) + ")");
        }
      }
      results.push_back(std::move(last));
    }
    PGresult* sync = next_result(what, where);
    const bool synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    PQclear(sync);
    if (!synced || PQexitPipelineMode(conn) != 1) lost(what);
  } catch (const CancelledError&) {
    abandon_pipeline(where);
    throw;
  }
  if (failed) throw *failed;
  return results;
}

}  // namespace spindle::pg
