// Socket: an RAII, non-blocking, close-on-exec socket whose blocking calls park the task.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/io/address.hpp>
#include <spindle/source_location.hpp>

#include <sys/socket.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace spindle::io {

namespace detail {
struct SocketState;
struct SocketAccess;
}

/// A socket of any family and type (TCP, UDP, Unix stream and datagram). Always
/// non-blocking and close-on-exec; the fd is closed exactly once (close() or destruction).
/// Calls that would block park the current task instead; each is a cancellation point and
/// honours with_timeout. It belongs to the loop that first waits on it. SIGPIPE is never
/// raised (MSG_NOSIGNAL). OS errors are std::system_error with errno codes.
class SPINDLE_API Socket {
 public:
  /// An empty socket (no fd).
  Socket() noexcept;
  /// A new socket: socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol).
  /// Throws std::system_error("socket").
  Socket(int domain, int type, int protocol = 0);
  /// A TCP socket for addresses of `family` (AF_INET or AF_INET6).
  static Socket tcp(int family = AF_INET) { return Socket(family, SOCK_STREAM); }
  /// A UDP socket for addresses of `family`.
  static Socket udp(int family = AF_INET) { return Socket(family, SOCK_DGRAM); }
  /// Takes ownership of `fd`, making it non-blocking and close-on-exec. Any pollable fd
  /// works (a pipe end, a tty): recv/send then use read/write.
  static Socket adopt(int fd);
  Socket(Socket&&) noexcept;
  Socket& operator=(Socket&&) noexcept;
  ~Socket();

  /// The fd, or -1 when empty or closed.
  int fd() const noexcept;
  /// False for adopted fds that are not sockets (pipes): they use read()/write().
  bool is_socket() const noexcept;
  explicit operator bool() const noexcept { return fd() >= 0; }

  /// Binds to `a`. Throws std::system_error("bind").
  void bind(const Address& a);
  /// Starts listening. Throws std::system_error("listen").
  void listen(int backlog = SOMAXCONN);
  /// Connects to `a`, parking until the connection is made.
  /// Throws: std::system_error("connect") (ECONNREFUSED, ETIMEDOUT, ...); CancelledError
  /// (the connection attempt is abandoned; close the socket).
  void connect(const Address& a, SourceLocation where = SourceLocation::current());
  /// Accepts a connection, parking until one arrives; stores the peer in *peer if given.
  /// Throws std::system_error("accept") (e.g. EMFILE; ECONNABORTED: the client left first,
  /// accept again); CancelledError (nothing accepted). On io_uring one multishot accept per
  /// listener takes connections as they come (up to 64 wait for accept()).
  Socket accept(Address* peer = nullptr, SourceLocation where = SourceLocation::current());

  /// Receives up to buf.size() bytes, parking until some arrive; 0 means end of stream.
  /// Cancellation: nothing is consumed. Throws std::system_error (ECONNRESET, ...).
  std::size_t recv(std::span<std::byte> buf, SourceLocation where = SourceLocation::current());
  /// Receives up to `max` bytes as a string; empty at end of stream.
  std::string recv(std::size_t max, SourceLocation where = SourceLocation::current());
  /// Sends some of `data`, parking while the send buffer is full; returns how much was sent.
  /// Throws std::system_error (EPIPE when the peer closed, ECONNRESET, ...).
  std::size_t send(std::span<const std::byte> data,
                   SourceLocation where = SourceLocation::current());
  std::size_t send(std::string_view data, SourceLocation where = SourceLocation::current());
  /// Sends all of `data`. Cancellation: part of it may have been sent.
  void send_all(std::string_view data, SourceLocation where = SourceLocation::current());
  /// Receives one datagram (truncated to buf.size()), storing its sender in `from`.
  std::size_t recv_from(std::span<std::byte> buf, Address& from,
                        SourceLocation where = SourceLocation::current());
  /// Sends one datagram to `to`.
  std::size_t send_to(std::string_view data, const Address& to,
                      SourceLocation where = SourceLocation::current());

  /// Shuts down reading (SHUT_RD), writing (SHUT_WR, half-close) or both.
  void shutdown(int how = SHUT_WR);
  /// Closes the fd now. A task parked on this socket wakes with std::system_error
  /// (ECANCELED) instead of staying parked. Idempotent.
  void close() noexcept;

  Address local_address() const;
  Address peer_address() const;

  void set_reuse_address(bool on);
  void set_reuse_port(bool on);
  void set_nodelay(bool on);
  void set_keepalive(bool on);

 private:
  friend struct detail::SocketAccess;  // io's own code (TLS) reaches the fd's readiness state
  explicit Socket(int fd, bool adopted);
  std::unique_ptr<detail::SocketState> s_;
};

}  // namespace spindle::io
