// The statement cache (asyncpg's): a parameterized statement is prepared once, under a name
// of its own, and executed by name after, so the server parses and plans it once. Stale
// entries (a plan whose result type changed, a statement the server no longer has) are
// prepared again; outside a transaction the call is repeated, so the caller never sees it.
#include <stdexcept>
#include <vector>

#include "pg_impl.hpp"

namespace spindle::pg {

namespace {

/// An error that says the cached statement, not the query, is at fault.
bool stale(const Error& e) {
  return e.sqlstate() == "0A000" || e.sqlstate() == "26000";  // stale plan; no such statement
}

}  // namespace

Result Connection::Impl::prepare_described(const std::string& name, const std::string& sql,
                                           const Params& p, SourceLocation where) {
  require_free("query");
  if (PQenterPipelineMode(conn) != 1) {
    throw Error("08000", "query: " + message_of(PQerrorMessage(conn)));
  }
  if (!PQsendPrepare(conn, name.c_str(), sql.c_str(), p.count(), p.type_oids()) ||
      !PQsendDescribePrepared(conn, name.c_str()) || PQpipelineSync(conn) != 1) {
    lost("query");  // (only a broken connection refuses to queue)
  }
  return pipeline_results(2, false, "query", where)[1];
}

namespace {

/// Whether a typed query that plan stands for may read the statement's result in binary.
bool fits(db::detail::BinaryPlan plan, const Result& described) {
  PGresult* r = described.native_handle();
  if (!r) return false;
  const int n = PQnfields(r);
  std::vector<db::detail::ColumnInfo> cols;
  cols.reserve(static_cast<std::size_t>(n));
  for (int c = 0; c < n; ++c) cols.push_back({PQfname(r, c), PQftype(r, c)});
  return plan(cols);
}

}  // namespace

Result Connection::Impl::cached_query(const std::string& sql, std::span<const db::Value> params,
                                      SourceLocation where, db::detail::BinaryPlan plan) {
  const Params p(params, true);
  // Bytes go in binary, as bytea: a statement is prepared with those types, so the same text
  // with bytes elsewhere is a statement of its own.
  const std::string key = p.binary ? sql + p.signature() : sql;
  struct Internal {  // the cache's PREPAREs and DEALLOCATEs leave the session as it was
    bool& flag;
    explicit Internal(bool& f) : flag(f) { flag = true; }
    ~Internal() { flag = false; }
  };
  for (int attempt = 0;; ++attempt) {
    auto found = cached.find(key);
    if (found != cached.end()) {
      lru.splice(lru.begin(), lru, found->second);  // most recently used
      ++cache_hits;
    } else {
      if (lru.size() >= cache_size) {  // room first: the least recently used goes
        const std::string victim = "DEALLOCATE " + lru.back().name;
        cached.erase(lru.back().key);
        lru.pop_back();
        const Internal quiet(internal);
        run("query", where, [&] { return PQsendQuery(conn, victim.c_str()); });
      }
      std::string name = "__spindle_" + std::to_string(++next_statement);
      Result described;
      {
        const Internal quiet(internal);
        described = prepare_described(name, sql, p, where);
      }
      lru.push_front({key, std::move(name), std::move(described)});
      cached.emplace(lru.front().key, lru.begin());
      found = cached.find(key);
    }
    Cached& entry = *found->second;
    int format = 0;  // text
    if (plan && binary_on) {
      if (entry.plan != plan) {
        entry.plan = plan;
        entry.binary = fits(plan, entry.described);
      }
      format = entry.binary ? 1 : 0;
    }
    try {
      Result r = run("query", where, [&] {
        return PQsendQueryPrepared(conn, entry.name.c_str(), p.count(), p.ptrs.data(),
                                   p.value_lengths(), p.value_formats(), format);
      });
      binary_count += static_cast<std::uint64_t>(format);
      return r;
    } catch (const Error& e) {
      if (!conn || !stale(e)) throw;
      if (e.sqlstate() == "26000") {
        forget_statements();  // (a DEALLOCATE or DISCARD we did not see: trust none)
      } else {
        auto it = cached.find(key);
        if (it != cached.end()) {
          const std::string drop = "DEALLOCATE " + it->second->name;
          lru.erase(it->second);
          cached.erase(it);
          if (PQtransactionStatus(conn) == PQTRANS_IDLE) {
            const Internal quiet(internal);
            run("query", where, [&] { return PQsendQuery(conn, drop.c_str()); });
          }
        }
      }
      // Repeated once, and only outside a transaction: inside one, the error aborted it.
      if (attempt > 0 || PQtransactionStatus(conn) != PQTRANS_IDLE) throw;
    }
  }
}

}  // namespace spindle::pg
