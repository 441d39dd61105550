// The statement cache (asyncpg's): a parameterized statement is prepared once, under a name
// of its own, and executed by name after, so the server parses and plans it once. Stale
// entries (a plan whose result type changed, a statement the server no longer has) are
// prepared again; outside a transaction the call is repeated, so the caller never sees it.
#include <stdexcept>

#include "pg_impl.hpp"

namespace spindle::pg {

namespace {

/// An error that says the cached statement, not the query, is at fault.
bool stale(const Error& e) {
  return e.sqlstate() == "0A000" || e.sqlstate() == "26000";  // stale plan; no such statement
}

}  // namespace

Result Connection::Impl::cached_query(const std::string& sql, std::span<const db::Value> params,
                                      SourceLocation where) {
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
      {
        const Internal quiet(internal);
        run("query", where, [&] {
          return PQsendPrepare(conn, name.c_str(), sql.c_str(), p.count(), p.type_oids());
        });
      }
      lru.push_front({key, std::move(name)});
      cached.emplace(lru.front().key, lru.begin());
      found = cached.find(key);
    }
    const std::string& name = found->second->name;
    try {
      return run("query", where, [&] {
        return PQsendQueryPrepared(conn, name.c_str(), p.count(), p.ptrs.data(), p.value_lengths(),
                                   p.value_formats(), 0);
      });
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
