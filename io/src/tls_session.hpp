// TlsSession: one TLS connection over a socket's fd, for Stream. OpenSSL's SSL object reads
// and writes the fd itself through a BIO of ours (recv, and send with MSG_NOSIGNAL); an
// operation that would block parks the task on the socket's readiness, exactly as a plain
// Stream does, so reads, writes and the handshake are cancellation points.
//
// Cancellation leaves nothing half-done: a cancelled read has consumed no plaintext (OpenSSL
// keeps a partly received record for the next read); a cancelled write leaves its bytes with
// the caller, which retries with the same bytes first (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
#pragma once

#include <spindle/io/stream.hpp>
#include <spindle/io/tls.hpp>
#include <spindle/loop.hpp>
#include <spindle/source_location.hpp>

#include <cstddef>
#include <span>
#include <string>

struct ssl_st;

namespace spindle::io::detail {

struct SocketState;

class TlsSession {
 public:
  /// A session on `socket` (client or server side, as ctx is), not yet shaken hands.
  /// `peer` names the peer in error messages. A client checks the certificate against
  /// `server_hostname` (a DNS name or an IP address) and sends it as SNI. `received` are bytes
  /// already read from the socket: the session reads them before the socket. Throws TlsError;
  /// std::invalid_argument for a verifying client without a server_hostname.
  TlsSession(const TlsContext& ctx, SocketState& socket, const std::string& server_hostname,
             std::string peer, std::string received);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  /// The TLS handshake. Throws TlsError, std::system_error (the connection failed),
  /// CancelledError.
  void handshake(SourceLocation where);
  /// Up to buf.size() bytes of plaintext; 0 at end of stream (close_notify, or the peer
  /// closed the connection). Throws TlsError, std::system_error, CancelledError.
  std::size_t read(std::span<std::byte> buf, SourceLocation where);
  /// Writes data in whole TLS records. Returns the bytes written: all of them when may_park,
  /// else as many as the socket took without blocking (the caller keeps the rest and must
  /// pass it first next time). Throws TlsError, std::system_error (EPIPE, ...),
  /// CancelledError.
  std::size_t write(std::span<const char> data, bool may_park, SourceLocation where);
  /// Sends close_notify (the peer then reads end of stream). With may_park, parks until it is
  /// written; without, sends it only if the socket takes it now. Errors are ignored.
  void close_notify(bool may_park, SourceLocation where) noexcept;
  /// What the handshake negotiated.
  TlsInfo info() const;

  // Used by the BIO.
  SocketState& socket_;
  std::string received_;        // bytes read from the socket before the session began
  std::size_t received_pos_ = 0;
  int errno_ = 0;               // the socket error behind an SSL_ERROR_SYSCALL

 private:
  /// Runs op() (an SSL_*_ex call) until it succeeds, parking on WANT_READ/WANT_WRITE (or
  /// returning -1 at once without may_park). Returns 1 on success, 0 at a clean end of
  /// stream. Throws as the public calls do.
  template <class Op>
  int drive(const char* what, bool may_park, SourceLocation where, Op op);
  [[noreturn]] void fail(const char* what);

  ssl_st* ssl_ = nullptr;
  std::string peer_;
};

/// s.start_tls(ctx, server_hostname), given up after `timeout`: then TlsError(ETIMEDOUT)
/// naming the peer, and the connection is closed. Throws as start_tls does.
void handshake(Stream& s, const TlsContext& ctx, const std::string& server_hostname,
               Clock::duration timeout, SourceLocation where);

}  // namespace spindle::io::detail
