// spindle::pg on libpq's non-blocking API: statements are sent with PQsendQuery* and their
// results collected with PQconsumeInput/PQisBusy, parking on the socket in between.
#include <spindle/cancel.hpp>
#include <spindle/errors.hpp>
#include <spindle/io/address.hpp>
#include <spindle/io/resolve.hpp>
#include <spindle/io/wait.hpp>
#include <spindle/pg.hpp>
#include <spindle/thread.hpp>
#include <spindle/timeout.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "pg_impl.hpp"

namespace spindle::pg {

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

unsigned Result::column_oid(std::size_t col) const {
  if (col >= columns()) {
    throw std::out_of_range("pg::Result: no column " + std::to_string(col) + " of " +
                            std::to_string(columns()));
  }
  return PQftype(res_.get(), static_cast<int>(col));
}

bool Result::binary(std::size_t col) const noexcept {
  return res_ && col < columns() && PQfformat(res_.get(), static_cast<int>(col)) == 1;
}

std::optional<std::string_view> Result::view(std::size_t row, std::size_t col) const {
  check(row, col);
  const int r = static_cast<int>(row), c = static_cast<int>(col);
  if (PQgetisnull(res_.get(), r, c)) return std::nullopt;
  return std::string_view(PQgetvalue(res_.get(), r, c),
                          static_cast<std::size_t>(PQgetlength(res_.get(), r, c)));
}

std::optional<std::string> Result::get(std::size_t row, std::size_t col) const {
  const auto v = view(row, col);
  if (!v) return std::nullopt;
  return std::string(*v);
}

namespace {

// The built-in types' OIDs (fixed in pg_type.dat since PostgreSQL 8), for messages.
struct TypeName {
  unsigned oid;
  const char* name;
};
constexpr TypeName kTypes[] = {
    {16, "bool"},        {17, "bytea"},        {18, "char"},         {19, "name"},
    {20, "int8"},        {21, "int2"},         {23, "int4"},         {25, "text"},
    {26, "oid"},         {114, "json"},        {142, "xml"},         {650, "cidr"},
    {700, "float4"},     {701, "float8"},      {705, "unknown"},     {790, "money"},
    {829, "macaddr"},    {869, "inet"},        {1042, "bpchar"},     {1043, "varchar"},
    {1082, "date"},      {1083, "time"},       {1114, "timestamp"},  {1184, "timestamptz"},
    {1186, "interval"},  {1266, "timetz"},     {1560, "bit"},        {1562, "varbit"},
    {1700, "numeric"},   {2249, "record"},     {2950, "uuid"},       {3802, "jsonb"},
    {1000, "bool[]"},    {1001, "bytea[]"},    {1005, "int2[]"},     {1007, "int4[]"},
    {1009, "text[]"},    {1014, "bpchar[]"},   {1015, "varchar[]"},  {1016, "int8[]"},
    {1021, "float4[]"},  {1022, "float8[]"},   {1028, "oid[]"},      {1115, "timestamp[]"},
    {1182, "date[]"},    {1185, "timestamptz[]"}, {1231, "numeric[]"}, {199, "json[]"},
    {2951, "uuid[]"},    {3807, "jsonb[]"},
};

}  // namespace

std::string Result::column_type(std::size_t col) const {
  if (col >= columns()) {
    throw std::out_of_range("pg::Result: no column " + std::to_string(col) + " of " +
                            std::to_string(columns()));
  }
  const unsigned oid = PQftype(res_.get(), static_cast<int>(col));
  for (const auto& t : kTypes) {
    if (t.oid == oid) return t.name;
  }
  return "oid " + std::to_string(oid);
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
    Result r = impl_->run("query", where, [&] { return PQsendQuery(impl_->conn, text.c_str()); });
    const std::string tag = r.command();
    if (tag == "DISCARD ALL" || tag.starts_with("DEALLOCATE")) impl_->forget_statements();
    return r;
  }
  if (impl_->cache_size > 0) return impl_->cached_query(text, params, where, nullptr);
  const Params p(params, true);
  return impl_->run("query", where, [&] {
    return PQsendQueryParams(impl_->conn, text.c_str(), p.count(), p.type_oids(), p.ptrs.data(),
                             p.value_lengths(), p.value_formats(), 0);
  });
}

Result Connection::typed_query_values(db::detail::BinaryPlan plan, std::string_view sql,
                                      std::span<const db::Value> params, SourceLocation where) {
  // Only a cached statement has been described; the others come as text.
  if (!impl_ || params.empty() || impl_->cache_size == 0) return query_values(sql, params, where);
  return impl_->cached_query(std::string(sql), params, where, plan);
}

void Connection::set_binary_results(bool on) noexcept {
  if (impl_) impl_->binary_on = on;
}

std::uint64_t Connection::binary_results() const noexcept { return impl_ ? impl_->binary_count : 0; }

void Connection::prepare(std::string_view name, std::string_view sql, SourceLocation where) {
  if (!impl_) throw std::logic_error("pg::Connection::prepare: the connection is closed");
  const std::string n(name), text(sql);
  impl_->run("prepare", where,
             [&] { return PQsendPrepare(impl_->conn, n.c_str(), text.c_str(), 0, nullptr); });
  impl_->session_changed = true;  // (a named statement the next lease should not find)
}

Result Connection::execute_values(std::string_view name, std::span<const db::Value> params,
                                  SourceLocation where) {
  if (!impl_) throw std::logic_error("pg::Connection::execute: the connection is closed");
  const std::string n(name);
  const Params p(params, false);  // (prepared without types: bytes go as text)
  return impl_->run("execute", where, [&] {
    return PQsendQueryPrepared(impl_->conn, n.c_str(), p.count(), p.ptrs.data(), nullptr, nullptr, 0);
  });
}

void Connection::set_statement_cache_size(std::size_t size) {
  if (!impl_) throw std::logic_error("pg::Connection::set_statement_cache_size: the connection is closed");
  impl_->cache_size = size;
  // (statements beyond the new size stay prepared on the server until the connection closes
  // or a DISCARD; they are no longer used)
  while (impl_->lru.size() > size) {
    impl_->cached.erase(impl_->lru.back().key);
    impl_->lru.pop_back();
  }
}

std::size_t Connection::statements_cached() const noexcept { return impl_ ? impl_->lru.size() : 0; }

std::uint64_t Connection::statement_cache_hits() const noexcept {
  return impl_ ? impl_->cache_hits : 0;
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

bool Connection::session_changed() const noexcept { return impl_ && impl_->session_changed; }

bool Connection::is_idle() const noexcept {
  return is_open() && PQtransactionStatus(impl_->conn) == PQTRANS_IDLE;
}

void Connection::close() noexcept { impl_.reset(); }

pg_conn* Connection::native_handle() const noexcept { return impl_ ? impl_->conn : nullptr; }

namespace {

/// libpq's reading of a connection string (key=value or URI), freed as it goes.
class ParsedConninfo {
 public:
  explicit ParsedConninfo(const std::string& conninfo) {
    char* err = nullptr;
    opts_ = PQconninfoParse(conninfo.c_str(), &err);
    if (!opts_) {
      const std::string m = err ? message_of(err) : "out of memory";
      PQfreemem(err);
      throw Error("08001", "connect: " + m);
    }
  }
  ~ParsedConninfo() { PQconninfoFree(opts_); }
  ParsedConninfo(const ParsedConninfo&) = delete;
  ParsedConninfo& operator=(const ParsedConninfo&) = delete;

  /// The value given for keyword, else the environment variable libpq would read, else "".
  std::string get(const char* keyword, const char* env) const {
    for (const PQconninfoOption* o = opts_; o->keyword; ++o) {
      if (std::strcmp(o->keyword, keyword) == 0 && o->val) return o->val;
    }
    const char* e = std::getenv(env);
    return e ? e : "";
  }
  /// Every keyword given a value, but those listed in `except`.
  template <class F>
  void for_each_given(std::initializer_list<std::string_view> except, F f) const {
    for (const PQconninfoOption* o = opts_; o->keyword; ++o) {
      if (o->val && std::find(except.begin(), except.end(), o->keyword) == except.end()) {
        f(o->keyword, o->val);
      }
    }
  }

 private:
  PQconninfoOption* opts_ = nullptr;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = s.find(',', start);
    out.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

std::string join_list(const std::vector<std::string>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + v[i];
  return out;
}

/// A host entry libpq would look up itself, blocking: a name, not an address or a socket
/// directory.
bool is_host_name(const std::string& h) {
  if (h.empty() || h[0] == '/' || h[0] == '@') return false;
  try {
    io::Address::ip(h, 0);
    return false;
  } catch (const std::exception&) {
    return true;
  }
}

/// The keywords and values to connect with: every host name resolved here (io::resolve, on
/// the thread pool) and handed to libpq as hostaddr, one entry per address, host kept for
/// TLS verification. Returns how many hosts libpq will try.
std::size_t resolve_hosts(const ParsedConninfo& info, std::vector<std::string>& keys,
                          std::vector<std::string>& values, SourceLocation where) {
  info.for_each_given({"host", "hostaddr", "port"}, [&](const char* k, const char* v) {
    keys.emplace_back(k);
    values.emplace_back(v);
  });
  const std::string host = info.get("host", "PGHOST"), hostaddr = info.get("hostaddr", "PGHOSTADDR"),
                    port = info.get("port", "PGPORT");
  auto keep = [&](const char* k, const std::string& v) {
    if (!v.empty()) {
      keys.emplace_back(k);
      values.push_back(v);
    }
  };
  const std::vector<std::string> hosts = split_list(host), ports = split_list(port);
  const bool lookups = std::any_of(hosts.begin(), hosts.end(), is_host_name);
  if (!hostaddr.empty() || !lookups || (ports.size() > 1 && ports.size() != hosts.size())) {
    keep("host", host);  // nothing to look up (or a list libpq will refuse with its message)
    keep("hostaddr", hostaddr);
    keep("port", port);
    return std::max<std::size_t>(1, std::max(hosts.size(), split_list(hostaddr).size()));
  }
  std::vector<std::string> new_hosts, new_addrs, new_ports;
  std::string failures;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    const std::string& p = ports.size() == hosts.size() ? ports[i] : ports[0];
    if (!is_host_name(hosts[i])) {
      new_hosts.push_back(hosts[i]);
      new_addrs.emplace_back();  // (empty: libpq uses the host entry)
      new_ports.push_back(p);
      continue;
    }
    try {
      for (const io::Address& a : io::resolve(hosts[i], p.empty() ? "5432" : p, where)) {
        new_hosts.push_back(hosts[i]);
        new_addrs.push_back(a.host());
        new_ports.push_back(p);
      }
    } catch (const std::system_error& e) {
      failures += (failures.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  if (new_hosts.empty()) throw Error("08001", "connect: " + failures);
  keep("host", join_list(new_hosts));
  keep("hostaddr", join_list(new_addrs));
  if (ports.size() > 1) {
    keep("port", join_list(new_ports));
  } else {
    keep("port", port);
  }
  return new_hosts.size();
}

}  // namespace

Connection connect(std::string_view conninfo, SourceLocation where) {
  const ParsedConninfo info{std::string(conninfo)};
  std::vector<std::string> keys, values;
  const std::size_t hosts = resolve_hosts(info, keys, values, where);
  std::vector<const char*> key_ptrs, value_ptrs;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    key_ptrs.push_back(keys[i].c_str());
    value_ptrs.push_back(values[i].c_str());
  }
  key_ptrs.push_back(nullptr);
  value_ptrs.push_back(nullptr);
  // connect_timeout as libpq reads it (seconds, at least 2), for each host it tries: libpq
  // enforces it only in its blocking calls.
  int timeout = 0;
  const std::string t = info.get("connect_timeout", "PGCONNECT_TIMEOUT");
  std::from_chars(t.data(), t.data() + t.size(), timeout);
  if (timeout > 0 && timeout < 2) timeout = 2;

  auto impl = std::make_unique<Connection::Impl>();
  impl->conn = PQconnectStartParams(key_ptrs.data(), value_ptrs.data(), 0);
  if (!impl->conn) throw std::bad_alloc();
  auto failed = [&] {
    return Error("08001", "connect: " + message_of(PQerrorMessage(impl->conn)));
  };
  if (PQstatus(impl->conn) == CONNECTION_BAD) throw failed();
  auto poll = [&] {
    // PQconnectPoll is driven as if it last asked to write.
    auto st = PGRES_POLLING_WRITING;
    for (;;) {
      if (st == PGRES_POLLING_OK) return;
      if (st == PGRES_POLLING_FAILED) throw failed();
      if (st == PGRES_POLLING_READING) {
        io::wait_readable(PQsocket(impl->conn), where);
      } else {
        io::wait_writable(PQsocket(impl->conn), where);
      }
      st = PQconnectPoll(impl->conn);
    }
  };
  if (timeout > 0) {
    const auto limit = std::chrono::seconds(timeout) * static_cast<int>(hosts);
    try {
      spindle::with_timeout(limit, poll, where);
    } catch (const TimeoutError&) {
      throw Error("08001", "connect: timeout expired (connect_timeout " + std::to_string(timeout) +
                               " s for each of " + std::to_string(hosts) + " host" +
                               (hosts == 1 ? "" : "s") + ")");
    }
  } else {
    poll();
  }
  if (PQsetnonblocking(impl->conn, 1) != 0) throw failed();
  impl->sock.emplace(PQsocket(impl->conn));
  return Connection(std::move(impl));
}

// ---- Pool ----

Pool::Pool(std::string conninfo, std::size_t size)
    : Pool(std::move(conninfo), PoolOptions{.size = size}) {}

Pool::Pool(std::string conninfo, PoolOptions options)
    : conninfo_(std::move(conninfo)), options_(std::move(options)), gate_(options_.size, "pg::Pool") {}

Pool::~Pool() { sweeper_.cancel(); }

bool Pool::expired(Clock::time_point created, Clock::time_point now) const noexcept {
  return options_.max_lifetime > Clock::duration::zero() && now - created >= options_.max_lifetime;
}

Pool::Lease Pool::acquire(SourceLocation where) {
  gate_.enter(where);
  try {
    while (!idle_.empty()) {
      Idle c = std::move(idle_.back());  // the one used last: its server process is warm
      idle_.pop_back();
      const auto now = Loop::current().time();
      if (expired(c.created, now) || !c.conn.is_open()) continue;  // (closed as c goes)
      try {
        if (!options_.reset.empty() && (options_.reset_always || c.conn.session_changed())) {
          c.conn.query(options_.reset);
          c.conn.impl_->session_changed = false;
          if (options_.setup) {
            options_.setup(c.conn);
            c.conn.impl_->session_changed = false;  // (as setup leaves it is how it starts)
          }
        } else if (now - c.since >= options_.check_after) {
          c.conn.query("SELECT 1");
        }
      } catch (const Error&) {
        continue;  // broken meanwhile: the next one, or a new one
      }
      return Lease(this, std::move(c.conn), c.created);
    }
    const auto created = Loop::current().time();
    Connection conn = connect(conninfo_, where);
    conn.set_statement_cache_size(options_.statement_cache_size);
    if (options_.setup) options_.setup(conn);
    conn.impl_->session_changed = false;
    return Lease(this, std::move(conn), created);
  } catch (...) {
    gate_.leave();
    throw;
  }
}

void Pool::give_back(Connection conn, Clock::time_point created) noexcept {
  const auto now = Loop::current().time();
  // Inside a transaction it is closed: the server rolls back and frees the locks at once,
  // rather than when the connection is next lent.
  if (!gate_.closed() && conn.is_idle() && !expired(created, now)) {
    idle_.push_back({std::move(conn), created, now});
    arm_sweeper();
  }
  gate_.leave();
}

void Pool::arm_sweeper() noexcept {
  if (options_.max_idle <= Clock::duration::zero() || idle_.empty()) return;
  if (sweeping_) return;  // (armed for an earlier deadline)
  Clock::time_point first = idle_.front().since;
  for (const Idle& c : idle_) first = std::min(first, c.since);
  sweeping_ = true;
  sweeper_ = Loop::current().call_at(first + options_.max_idle, [this] { sweep(); });
}

void Pool::sweep() noexcept {
  sweeping_ = false;
  const auto now = Loop::current().time();
  std::erase_if(idle_, [&](const Idle& c) { return now - c.since >= options_.max_idle; });
  arm_sweeper();
}

void Pool::close(SourceLocation where) {
  sweeper_.cancel();
  sweeping_ = false;
  idle_.clear();
  gate_.close(where);
}

Pool::Lease::~Lease() {
  if (pool_) pool_->give_back(std::move(conn_), created_);
}

}  // namespace spindle::pg
