// Stream: a buffered, connected byte stream (asyncio's StreamReader and StreamWriter in one).
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/io/address.hpp>
#include <spindle/io/socket.hpp>
#include <spindle/io/tls.hpp>
#include <spindle/loop.hpp>
#include <spindle/source_location.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace spindle::io {

namespace detail {
class TlsSession;
}

/// Buffer limits of a Stream.
struct StreamOptions {
  /// read_until() gives up (LimitOverrunError) when this many bytes hold no separator.
  std::size_t limit = 64 * 1024;
  /// write() parks while more than this is buffered unsent (back-pressure).
  std::size_t high_water = 64 * 1024;
  /// How long close() (and the destructor) keep sending what is still buffered. Past it (a
  /// peer that stopped reading) the connection is aborted: reset, the rest dropped.
  Clock::duration close_timeout = std::chrono::seconds(30);
};

/// How open_connection() connects. asyncio: open_connection()'s keyword arguments
struct ConnectOptions {
  /// Speak TLS with this context (asyncio: ssl=).
  std::optional<TlsContext> tls{};
  /// The name the server's certificate must carry, also sent as SNI; by default the host
  /// given to open_connection (asyncio: server_hostname=).
  std::string server_hostname{};
  /// Race the resolved addresses RFC 8305 style: start the next attempt when the previous
  /// has not connected after this delay (or failed), keep the first to connect, close the
  /// rest. Off (one address after another) by default, as in asyncio (happy_eyeballs_delay=).
  std::optional<Clock::duration> happy_eyeballs_delay{};
  /// Bind the socket to this local address before connecting (asyncio: local_addr=).
  std::optional<Address> local_address{};
  /// Give up a TLS handshake after this long: TlsError(ETIMEDOUT), the connection closed
  /// (asyncio: ssl_handshake_timeout=).
  Clock::duration tls_handshake_timeout = std::chrono::seconds(60);
};

/// A connected byte stream over a Socket: buffered reads (read, read_some, read_exactly,
/// read_line, read_until) and writes (write, drain, write_eof). Reads first flush pending
/// output, so a request is never left unsent while its reply is awaited. Every call that may
/// park is a cancellation point: a cancelled read leaves the bytes it had not returned in the
/// buffer. The input buffer holds only bytes received and not yet returned, and is freed once
/// drained: an idle stream holds no buffer. Owns the socket: destroying the Stream closes it.
/// asyncio: StreamReader + StreamWriter
class SPINDLE_API Stream {
 public:
  explicit Stream(Socket socket, StreamOptions options = {});
  Stream(Stream&&) noexcept;
  Stream& operator=(Stream&&) noexcept;
  ~Stream();

  /// Up to `max` bytes: what is buffered, else what arrives next (received into the loop's
  /// shared buffer and copied once into the result). Empty at end of stream. Cancellation:
  /// nothing is consumed. Throws std::system_error (ECONNRESET, ...). asyncio: reader.read(n)
  std::string read(std::size_t max = 64 * 1024, SourceLocation where = SourceLocation::current());
  /// The zero-copy read(): up to buf.size() bytes into the caller's buffer. Buffered bytes
  /// are copied out first; otherwise the socket's next bytes are received straight into buf.
  /// Returns 0 at end of stream (or for an empty buf). Cancellation: nothing is consumed.
  /// Throws std::system_error. (asyncio has no twin: a BufferedProtocol's get_buffer().)
  std::size_t read_some(std::span<std::byte> buf, SourceLocation where = SourceLocation::current());
  /// read_some() into chars.
  std::size_t read_some(std::span<char> buf, SourceLocation where = SourceLocation::current()) {
    return read_some(std::as_writable_bytes(buf), where);
  }
  /// Exactly n bytes. Throws IncompleteReadError (with the partial bytes, consumed) if the
  /// stream ends first. asyncio: reader.readexactly(n)
  std::string read_exactly(std::size_t n, SourceLocation where = SourceLocation::current());
  /// Bytes up to and including `sep`. Throws IncompleteReadError at end of stream (with the
  /// bytes read), LimitOverrunError if `limit` bytes hold no separator (nothing consumed).
  /// asyncio: reader.readuntil(sep)
  std::string read_until(std::string_view sep, SourceLocation where = SourceLocation::current());
  /// A line including its "\n"; at end of stream, what is left (possibly empty).
  /// asyncio: reader.readline()
  std::string read_line(SourceLocation where = SourceLocation::current());
  /// True once the peer closed and the buffer is empty. asyncio: reader.at_eof()
  bool at_eof() const noexcept;
  /// Parks until unread bytes are buffered (true) or the peer has ended the stream (false),
  /// consuming nothing and, unlike the reads, leaving pending output alone: one task may
  /// watch a connection for the peer going away while another writes to it. Cancellation:
  /// nothing is lost. Throws std::system_error (ECONNRESET, ...).
  bool wait_data(SourceLocation where = SourceLocation::current());

  /// Sends data; what the kernel does not take at once is buffered and sent by later calls.
  /// Parks while more than high_water bytes are buffered. asyncio: writer.write(data)
  void write(std::string_view data, SourceLocation where = SourceLocation::current());
  /// Parks until everything buffered is sent. asyncio: await writer.drain()
  void drain(SourceLocation where = SourceLocation::current());
  /// Sends what is buffered, then closes the writing side (the peer reads end of stream).
  /// asyncio: writer.write_eof()
  void write_eof(SourceLocation where = SourceLocation::current());
  /// Sends what is buffered (ignoring errors; cancellation held back, for at most
  /// StreamOptions::close_timeout, after which the connection is reset) and closes the
  /// socket. Idempotent. asyncio: writer.close()
  void close() noexcept;
  /// Returns once close() has finished (it is synchronous here). asyncio: wait_closed()
  void wait_closed() noexcept {}

  /// Upgrades the connection to TLS (STARTTLS): flushes what was written, then shakes
  /// hands as a client or a server, as ctx is; bytes already received and not yet read are
  /// taken as the start of the TLS stream. A client checks the server's certificate against
  /// server_hostname. From then on every read and write goes through TLS. Cancellation (and
  /// a with_timeout expiry) or any failure closes the connection. Throws TlsError,
  /// std::system_error, std::logic_error if the stream already speaks TLS.
  /// asyncio: await writer.start_tls(ctx, server_hostname=)
  void start_tls(const TlsContext& ctx, std::string_view server_hostname = {},
                 SourceLocation where = SourceLocation::current());
  /// What TLS negotiated: protocol, cipher, ALPN protocol, peer certificate subject; all
  /// empty for a plain stream. asyncio: writer.get_extra_info("ssl_object")
  TlsInfo tls_info() const;

  Address peer_address() const { return socket_.peer_address(); }
  Address local_address() const { return socket_.local_address(); }
  /// The socket underneath. Reading or writing it directly bypasses the stream's buffers
  /// (and TLS): only for a stream that is neither.
  Socket& socket() noexcept { return socket_; }

 private:
  std::span<const char> receive(SourceLocation where);  // next bytes; empty at end of stream
  std::span<const char> receive_lent(SourceLocation where);  // as receive(), without flushing
  std::size_t receive_into(std::span<std::byte> buf, SourceLocation where);  // 0: end
  bool fill(SourceLocation where);  // appends received bytes to in_; false at end of stream
  void keep(std::span<const char> got);  // appends got to in_
  std::size_t buffered() const noexcept { return in_.size() - in_pos_; }
  void consume(std::size_t n) noexcept;  // drops n buffered bytes; frees a drained buffer
  std::string take(std::size_t n);       // the next n buffered bytes
  std::string take_received(std::span<const char> got, std::size_t n);  // n of got; rest kept
  // Sends out_ down to `down_to` bytes; with wait_behind, also waits for the ring's sends
  // behind (io_uring) to get there.
  void flush(std::size_t down_to, SourceLocation where, bool wait_behind = true);
  // Sends bytes as they go on the wire (TLS records, or plain): at once or behind (io_uring)
  // without parking; the kernel's refusal is buffered, and over high_water, with may_park,
  // it parks.
  void send_wire(std::string_view wire, bool may_park, SourceLocation where);
  class TlsWire;  // the transport a TLS session speaks through

  Socket socket_;
  StreamOptions options_;
  std::string in_;  // in_[in_pos_, size): received, not yet returned; empty once drained
  std::size_t in_pos_ = 0;
  std::string out_;       // written, not yet sent (as on the wire: TLS records)
  bool eof_ = false;
  std::unique_ptr<detail::TlsSession> tls_;  // set once the stream speaks TLS
};

/// Connects to host:port: resolves it (numeric addresses directly, names through
/// resolve()), then tries each address in turn, or races them with
/// options.happy_eyeballs_delay; with options.tls, shakes hands as a TLS client checking the
/// certificate against options.server_hostname, or else `host`. Throws std::system_error
/// naming every address tried when none connects (the last error's code),
/// std::invalid_argument for a bad host, TlsError. asyncio: asyncio.open_connection
SPINDLE_API Stream open_connection(std::string_view host, std::uint16_t port,
                                   ConnectOptions options = {},
                                   SourceLocation where = SourceLocation::current());
/// Connects to `address` (with options.tls, options.server_hostname is required to verify
/// the server). asyncio: asyncio.open_connection(sock=...)
SPINDLE_API Stream open_connection(const Address& address, ConnectOptions options = {},
                                   SourceLocation where = SourceLocation::current());
/// Connects to the first of `addresses` that answers, in order or raced as
/// options.happy_eyeballs_delay says (what open_connection(host, port) does after resolving).
/// Throws std::system_error naming every address tried, std::invalid_argument if empty.
SPINDLE_API Stream open_connection(const std::vector<Address>& addresses,
                                   ConnectOptions options = {},
                                   SourceLocation where = SourceLocation::current());
/// Connects to a Unix-domain stream socket. asyncio: asyncio.open_unix_connection
SPINDLE_API Stream open_unix_connection(std::string_view path, ConnectOptions options = {},
                                        SourceLocation where = SourceLocation::current());

}  // namespace spindle::io
