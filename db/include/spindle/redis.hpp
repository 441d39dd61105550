// spindle::redis: Redis from tasks. Commands go out over a spindle Stream (TCP or Unix
// socket, TLS for rediss://) and replies, RESP2 or RESP3, are parsed as they arrive; a task
// waiting for a reply parks.
// A component of its own: Meson dependency 'spindle-redis', pkg-config spindle-redis.
// asyncio: redis.asyncio (aioredis)
#pragma once

#if __cplusplus < 202002L
#error "spindle needs C++20"
#endif

#include <spindle/db/detail/gate.hpp>
#include <spindle/detail/config.hpp>
#include <spindle/io/stream.hpp>
#include <spindle/lock.hpp>
#include <spindle/loop.hpp>
#include <spindle/source_location.hpp>

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spindle::redis {

namespace detail {
struct RespNode;
}

/// An error reply from the server ("WRONGTYPE ...", "ERR ..."), or a reply the client cannot
/// use (a protocol error, a reply of another type than asked for).
/// asyncio: redis.exceptions.ResponseError
class SPINDLE_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One reply: nil, a bulk string, an integer, an array of replies, a status ("OK") or an
/// error (only inside pipeline results and arrays; a command's own error reply throws); on a
/// RESP3 connection (HELLO 3) also a map, a set, a double, a boolean, a big number, a
/// verbatim string and a push (out-of-band data: pub/sub messages, client-side caching's
/// invalidations). Cheap to copy (shares the parsed reply).
class SPINDLE_API Reply {
 public:
  enum class Type { Nil, String, Integer, Array, Status, Error, Map, Set, Double, Boolean, BigNumber, Verbatim, Push };
  Type type() const noexcept;
  bool is_nil() const noexcept { return type() == Type::Nil; }
  /// The text of a string, status, error, big number ("3492890328409238509324850943850943825024385"),
  /// verbatim string (without its format) or double (as the server wrote it). Throws Error
  /// for other types.
  std::string str() const;
  /// The number of an integer reply. Throws Error for other types.
  long long integer() const;
  /// The value of a double reply (inf, -inf and nan too) or of an integer one. Throws Error
  /// for other types.
  double number() const;
  /// The value of a boolean reply; RESP2's integer 0 or 1 too. Throws Error for other types.
  bool boolean() const;
  /// A verbatim string's format: "txt" or "mkd". Throws Error for other types.
  std::string format() const;
  /// The elements of an array, set or push reply (none for a nil array); a map's keys and
  /// values alternating, as RESP2 sends the same data (HGETALL). Throws Error for other types.
  std::vector<Reply> elements() const;
  /// A map's entries in the server's order; also an array of even length as RESP2 sends
  /// maps. Throws Error for other types or an odd length.
  std::vector<std::pair<Reply, Reply>> pairs() const;

 private:
  friend class Connection;
  Reply(std::shared_ptr<const detail::RespNode> root, const detail::RespNode* node) noexcept
      : root_(std::move(root)), node_(node) {}
  std::string_view view() const;
  std::shared_ptr<const detail::RespNode> root_;
  const detail::RespNode* node_ = nullptr;
};

/// A pub/sub message: kind "message" (from SUBSCRIBE) or "pmessage" (from PSUBSCRIBE, with
/// the pattern that matched).
struct Message {
  std::string kind;
  std::string pattern;
  std::string channel;
  std::string payload;
};

namespace detail {
/// Appends one argument in RESP form ("$len\r\nbytes\r\n").
inline void append_bulk(std::string& out, std::string_view s) {
  char len[24];
  const auto r = std::to_chars(len, len + sizeof len, s.size());
  out += '$';
  out.append(len, static_cast<std::size_t>(r.ptr - len));
  out += "\r\n";
  out += s;
  out += "\r\n";
}
inline void append_arg(std::string& out, std::string_view s) { append_bulk(out, s); }
inline void append_arg(std::string& out, const char* s) { append_bulk(out, s); }
inline void append_arg(std::string& out, const std::string& s) { append_bulk(out, s); }
template <class T>
  requires(std::integral<T> || std::floating_point<T>) && (!std::same_as<T, bool>)
void append_arg(std::string& out, T v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  append_bulk(out, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
}
/// Appends a whole command: "*argc\r\n" and each argument.
template <class... A>
void append_command(std::string& out, const A&... args) {
  static_assert(sizeof...(A) > 0, "a Redis command needs at least its name");
  out += '*';
  out += std::to_string(sizeof...(A));
  out += "\r\n";
  (append_arg(out, args), ...);
}
/// append_command() from a list of strings.
void append_command_list(std::string& out, const std::vector<std::string>& args);
}  // namespace detail

class Pipeline;
class Transaction;
class Script;

/// A transaction whose watched keys changed, retried as often as asked.
/// asyncio: redis.exceptions.WatchError
class SPINDLE_API WatchError : public Error {
 public:
  using Error::Error;
};

/// One connection to a server. Commands from several tasks are served one round trip at a
/// time, in arrival order. Every wait is a cancellation point: a command cancelled after it
/// was sent leaves its reply owed, and the connection reads and drops owed replies before
/// the next command's, so a reply never reaches the wrong caller; a command cancelled while
/// only partly written closes the connection. Network errors are std::system_error; a
/// connection the server closed throws Error and stays closed.
class SPINDLE_API Connection {
 public:
  /// A closed connection.
  Connection() noexcept;
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  /// Sends one command (its name and arguments: strings, or numbers in decimal) and returns
  /// the reply. Throws Error for an error reply (the connection stays usable),
  /// std::system_error, CancelledError, std::logic_error when closed or subscribed.
  /// asyncio: await r.execute_command("SET", key, value)
  template <class... A>
  Reply command(const A&... args) {
    std::string out;
    detail::append_command(out, args...);
    return std::move(round_trip(out, 1, true, SourceLocation::current()).front());
  }
  /// command() with the arguments in a list.
  Reply command_list(const std::vector<std::string>& args,
                     SourceLocation where = SourceLocation::current());

  /// A pipeline of commands for this connection, sent together by its execute().
  /// asyncio: r.pipeline(transaction=False)
  Pipeline pipeline();

  /// Runs fn(tx) as an optimistic transaction (redis-py's r.transaction(fn, *watch)): WATCH
  /// the keys in `watch`; fn reads with tx.command() (at once) and queues writes with
  /// tx.queue(); then MULTI, the queued commands and EXEC go in one round trip. If a watched
  /// key changed meanwhile (EXEC answers nil), it starts again from WATCH, up to `retries`
  /// times, then throws WatchError. The connection serves no other task meanwhile: their
  /// commands wait. An exception from fn (or a cancellation) sends UNWATCH and queues nothing.
  /// Returns EXEC's replies, one per queued command (a command that failed as it ran is an
  /// Error reply among them). Throws WatchError, Error (a queued command refused: EXECABORT),
  /// fn's exceptions, std::system_error, CancelledError.
  template <class F>
  std::vector<Reply> transaction(const std::vector<std::string>& watch, F&& fn, int retries = 0);
  /// A Lua script for this connection: run by its SHA-1 (EVALSHA), sent whole (EVAL, which
  /// also caches it on the server) only when the server does not know it.
  /// asyncio: r.register_script(lua)
  Script script(std::string lua);

  /// Subscribes to channels (SUBSCRIBE), parking until the server confirmed them; from then
  /// on only subscribe, psubscribe, unsubscribe and next_message work. Throws as command().
  void subscribe(const std::vector<std::string>& channels,
                 SourceLocation where = SourceLocation::current());
  /// Subscribes to channel patterns (PSUBSCRIBE).
  void psubscribe(const std::vector<std::string>& patterns,
                  SourceLocation where = SourceLocation::current());
  /// Unsubscribes from channels (all of them if empty) and patterns (PUNSUBSCRIBE, all if
  /// empty); once none is left the connection takes commands again.
  void unsubscribe(SourceLocation where = SourceLocation::current());
  /// The next message on a subscribed channel, parking until one arrives. Cancellation
  /// loses nothing. Throws std::logic_error if not subscribed, Error, std::system_error.
  /// asyncio: await pubsub.get_message()
  Message next_message(SourceLocation where = SourceLocation::current());
  /// As next_message(), giving up after `timeout`: empty then.
  std::optional<Message> next_message(Clock::duration timeout,
                                      SourceLocation where = SourceLocation::current());

  /// Switches the connection to RESP3 (`HELLO 3`; `protocol` 2 switches back) and returns the
  /// server's description (a map: server, version, proto, id, mode, role, modules). Replies
  /// then carry RESP3's types; maps still read as elements() as RESP2's flat arrays did.
  /// Throws Error (a server older than Redis 6), std::invalid_argument for another
  /// version, as command(). asyncio: redis.asyncio.Redis(protocol=3)
  Reply hello(int protocol = 3, SourceLocation where = SourceLocation::current());
  /// 2, or 3 after hello(3).
  int protocol() const noexcept;
  /// Push replies that are not pub/sub messages (RESP3: client-side caching's ["invalidate",
  /// keys]; CLIENT TRACKING ON turns them on) go to fn, called by whichever task reads them
  /// (keep it short; it must not use this connection). Without a handler they are queued for
  /// next_push(). An empty fn queues again.
  void on_push(std::function<void(const Reply&)> fn);
  /// The next queued push, reading from the server until one arrives or `timeout` passes
  /// (empty then). Throws std::logic_error when closed, std::system_error, CancelledError.
  /// asyncio: the RESP3 push handler of redis-py's connection
  std::optional<Reply> next_push(Clock::duration timeout,
                                 SourceLocation where = SourceLocation::current());

  /// True while subscribed to a channel or pattern.
  bool subscribed() const noexcept;
  /// True until closed, or broken by a network error.
  bool is_open() const noexcept;
  /// Closes the connection. Idempotent.
  void close() noexcept;

 private:
  friend class Pipeline;
  friend class Transaction;
  friend class Script;
  friend class Pool;
  /// True if the server closed the connection while it sat idle (a peek, no round trip).
  bool peer_gone() const noexcept;
  /// Holds the connection for the calling task while it lives (transaction()).
  class SPINDLE_API Hold {
   public:
    explicit Hold(Connection& c);
    ~Hold();
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    Connection& c_;
    bool held_ = false;
  };
  /// One attempt of transaction(): empty if a watched key changed.
  std::optional<std::vector<Reply>> exec(Transaction& tx, SourceLocation where);
  void unwatch() noexcept;
  friend SPINDLE_API Connection connect(std::string_view host, std::uint16_t port,
                                        SourceLocation where);
  friend SPINDLE_API Connection connect_unix(std::string_view path, SourceLocation where);
  friend SPINDLE_API Connection connect(std::string_view url, SourceLocation where);
  struct Impl;
  explicit Connection(io::Stream stream);
  std::vector<Reply> round_trip(const std::string& out, std::size_t n, bool throw_errors,
                                SourceLocation where);
  void subscription(const char* verb, const std::vector<std::string>& names,
                    SourceLocation where);
  std::unique_ptr<Impl> impl_;
};

/// Commands collected for one round trip: execute() sends them together and returns their
/// replies in order (error replies as Reply::Type::Error, none thrown). Not a transaction
/// (add MULTI and EXEC for one). asyncio: pipe = r.pipeline(); ...; await pipe.execute()
class SPINDLE_API Pipeline {
 public:
  /// Adds a command. Returns *this, for chaining.
  template <class... A>
  Pipeline& command(const A&... args) {
    detail::append_command(out_, args...);
    ++count_;
    return *this;
  }
  /// Commands added and not yet executed.
  std::size_t size() const noexcept { return count_; }
  /// Sends every command in one write and parks for all the replies; the pipeline is empty
  /// again afterwards. Throws std::system_error, Error (protocol), CancelledError (the
  /// replies not yet read are dropped by the connection later).
  std::vector<Reply> execute(SourceLocation where = SourceLocation::current());

 private:
  friend class Connection;
  explicit Pipeline(Connection& conn) noexcept : conn_(&conn) {}
  Connection* conn_;
  std::string out_;
  std::size_t count_ = 0;
};

/// What transaction() hands its function: commands run now, and commands queued for
/// MULTI/EXEC.
class SPINDLE_API Transaction {
 public:
  /// Runs a command now, before MULTI (the reads the transaction depends on). Throws as
  /// Connection::command().
  template <class... A>
  Reply command(const A&... args) {
    return conn_->command(args...);
  }
  /// Queues a command for the MULTI/EXEC block. Returns *this.
  template <class... A>
  Transaction& queue(const A&... args) {
    detail::append_command(out_, args...);
    ++count_;
    return *this;
  }
  /// How many commands are queued.
  std::size_t size() const noexcept { return count_; }

 private:
  friend class Connection;
  explicit Transaction(Connection& conn) noexcept : conn_(&conn) {}
  Connection* conn_;
  std::string out_;
  std::size_t count_ = 0;
};

template <class F>
std::vector<Reply> Connection::transaction(const std::vector<std::string>& watch, F&& fn, int retries) {
  const Hold hold(*this);
  for (int attempt = 0;; ++attempt) {
    Transaction tx(*this);
    if (!watch.empty()) {
      std::vector<std::string> args{"WATCH"};
      args.insert(args.end(), watch.begin(), watch.end());
      command_list(args);
    }
    try {
      fn(tx);
    } catch (...) {
      unwatch();
      throw;
    }
    if (auto replies = exec(tx, SourceLocation::current())) return std::move(*replies);
    if (attempt >= retries) {
      throw WatchError("redis: transaction: a watched key changed (" + std::to_string(attempt + 1) +
                       " attempt" + (attempt ? "s" : "") + ")");
    }
  }
}

/// A Lua script bound to a connection (Connection::script()).
class SPINDLE_API Script {
 public:
  /// Runs the script with KEYS and ARGV: EVALSHA, or EVAL if the server does not have it
  /// (NOSCRIPT). Throws Error (the script's error), std::system_error, CancelledError.
  /// asyncio: await script(keys=keys, args=args)
  Reply operator()(const std::vector<std::string>& keys = {},
                   const std::vector<std::string>& args = {},
                   SourceLocation where = SourceLocation::current()) const;
  /// The script's SHA-1, as the server names it (40 lowercase hex digits).
  const std::string& sha1() const noexcept { return sha1_; }

 private:
  friend class Connection;
  Script(Connection& conn, std::string lua);
  Connection* conn_;
  std::string lua_;
  std::string sha1_;
};

/// Connections to one server shared by the tasks of one loop (redis-py's ConnectionPool):
/// each command borrows one for its round trip, so `size` round trips are in flight at once;
/// acquire() lends one for longer, for what needs a connection of its own (transactions,
/// blocking commands such as BLPOP, pub/sub). Connections are made when first needed (from a
/// URL, as connect(url) reads it); one that comes back broken or still subscribed is closed,
/// and one the server closed while it sat idle (a timeout, a restart, CLIENT KILL) is found
/// so before it is lent (a non-blocking peek, as redis-py's can_read check) and replaced. The pool must outlive its leases; close() waits for them.
/// asyncio: redis.asyncio.Redis(connection_pool=ConnectionPool.from_url(url, max_connections))
class SPINDLE_API Pool {
 public:
  /// A lent connection; returns it to the pool when destroyed.
  class SPINDLE_API Lease {
   public:
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)) { o.pool_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() noexcept { return conn_; }
    Connection* operator->() noexcept { return &conn_; }

   private:
    friend class Pool;
    Lease(Pool* pool, Connection conn) noexcept : pool_(pool), conn_(std::move(conn)) {}
    Pool* pool_;
    Connection conn_;
  };

  /// A pool of at most `size` connections to the server `url` names (none made yet).
  /// Throws std::invalid_argument for size 0 or a malformed URL (checked here, not at the
  /// first command).
  Pool(std::string url, std::size_t size);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();

  /// Lends a connection: an idle one, else a new one while fewer than size exist, else the
  /// first one returned (waiters served in order). Throws as connect(url), std::logic_error
  /// once closed, CancelledError (nothing lent).
  Lease acquire(SourceLocation where = SourceLocation::current());
  /// One command on a borrowed connection. Throws as acquire() and Connection::command().
  /// asyncio: await r.execute_command(...)
  template <class... A>
  Reply command(const A&... args) {
    auto c = acquire();
    return c->command(args...);
  }
  /// Closes the pool: acquire() throws from now on, idle connections close at once and lent
  /// ones as they come back, which this waits for. Idempotent. asyncio: await pool.disconnect()
  void close(SourceLocation where = SourceLocation::current());
  /// The most connections it holds; those made and idle; those lent.
  std::size_t size() const noexcept { return size_; }
  std::size_t idle() const noexcept { return idle_.size(); }
  std::size_t lent() const noexcept { return gate_.lent(); }

 private:
  void give_back(Connection conn) noexcept;
  std::string url_;
  std::size_t size_;
  db::detail::LendingGate gate_;
  std::vector<Connection> idle_;
};

/// Connects over TCP (TCP_NODELAY on). Throws std::system_error naming the address,
/// CancelledError. asyncio: redis.asyncio.Redis(host=, port=)
SPINDLE_API Connection connect(std::string_view host, std::uint16_t port,
                               SourceLocation where = SourceLocation::current());
/// Connects over a Unix socket. Throws std::system_error, CancelledError.
/// asyncio: redis.asyncio.Redis(unix_socket_path=)
SPINDLE_API Connection connect_unix(std::string_view path,
                                    SourceLocation where = SourceLocation::current());
/// Connects as a URL says, as redis-py reads it: `redis://[[user]:password@]host[:port][/db]`
/// (port 6379, database 0), `rediss://...` the same over TLS (the system's CAs; the host's
/// name checked), `unix://[[user]:password@]/path[?db=N]`; user and password
/// percent-decoded; query parameters as redis-py's: `db=N`, `protocol=3` (RESP3: HELLO 3),
/// `ssl_ca_certs=/path/ca.pem` (a CA
/// to trust besides the system's), `ssl_cert_reqs=none` (no verification: tests only). With a password it sends AUTH (with the user too, for Redis 6 ACLs);
/// with a database other than 0, SELECT. Throws std::invalid_argument naming what is wrong
/// with the URL, Error (AUTH or SELECT refused), std::system_error, io::TlsError,
/// CancelledError. asyncio: redis.asyncio.from_url(url)
SPINDLE_API Connection connect(std::string_view url, SourceLocation where = SourceLocation::current());

}  // namespace spindle::redis
