// Stream: a buffered, connected byte stream (asyncio's StreamReader and StreamWriter in one).
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/io/address.hpp>
#include <spindle/io/socket.hpp>
#include <spindle/source_location.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace spindle::io {

/// Buffer limits of a Stream.
struct StreamOptions {
  /// read_until() gives up (LimitOverrunError) when this many bytes hold no separator.
  std::size_t limit = 64 * 1024;
  /// write() parks while more than this is buffered unsent (back-pressure).
  std::size_t high_water = 64 * 1024;
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

  /// Sends data; what the kernel does not take at once is buffered and sent by later calls.
  /// Parks while more than high_water bytes are buffered. asyncio: writer.write(data)
  void write(std::string_view data, SourceLocation where = SourceLocation::current());
  /// Parks until everything buffered is sent. asyncio: await writer.drain()
  void drain(SourceLocation where = SourceLocation::current());
  /// Sends what is buffered, then closes the writing side (the peer reads end of stream).
  /// asyncio: writer.write_eof()
  void write_eof(SourceLocation where = SourceLocation::current());
  /// Sends what is buffered (ignoring errors; cancellation held back) and closes the socket.
  /// Idempotent. asyncio: writer.close()
  void close() noexcept;
  /// Returns once close() has finished (it is synchronous here). asyncio: wait_closed()
  void wait_closed() noexcept {}

  Address peer_address() const { return socket_.peer_address(); }
  Address local_address() const { return socket_.local_address(); }
  Socket& socket() noexcept { return socket_; }

 private:
  std::span<const char> receive(SourceLocation where);  // next bytes; empty at end of stream
  bool fill(SourceLocation where);  // appends received bytes to in_; false at end of stream
  std::size_t buffered() const noexcept { return in_.size() - in_pos_; }
  void consume(std::size_t n) noexcept;  // drops n buffered bytes; frees a drained buffer
  std::string take(std::size_t n);       // the next n buffered bytes
  std::string take_received(std::span<const char> got, std::size_t n);  // n of got; rest kept
  void flush(std::size_t down_to, SourceLocation where);

  Socket socket_;
  StreamOptions options_;
  std::string in_;  // in_[in_pos_, size): received, not yet returned; empty once drained
  std::size_t in_pos_ = 0;
  std::string out_;       // written, not yet sent
  bool eof_ = false;
};

/// Connects to host:port (numeric addresses directly; names through resolve(), trying each
/// address in turn) and returns the stream. Throws std::system_error (the last connect
/// error), std::invalid_argument for a bad host. asyncio: asyncio.open_connection
SPINDLE_API Stream open_connection(std::string_view host, std::uint16_t port,
                                   SourceLocation where = SourceLocation::current());
/// Connects to `address`. asyncio: asyncio.open_connection
SPINDLE_API Stream open_connection(const Address& address,
                                   SourceLocation where = SourceLocation::current());
/// Connects to a Unix-domain stream socket. asyncio: asyncio.open_unix_connection
SPINDLE_API Stream open_unix_connection(std::string_view path,
                                        SourceLocation where = SourceLocation::current());

}  // namespace spindle::io
