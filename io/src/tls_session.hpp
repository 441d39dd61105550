// TlsSession: one TLS connection's records, for Stream. OpenSSL reads and writes memory, not
// the socket: a BIO of ours hands it the ciphertext the stream's transport received and
// collects the records it makes, and the Stream sends those as it sends plain bytes. So TLS
// runs the same on every backend (recv after readiness on epoll, provided buffers and sends
// behind on io_uring) and knows nothing of either.
//
// Cancellation leaves nothing half-done: a cancelled read has consumed no plaintext (received
// ciphertext stays in the session for the next read); a write never parks in here (records
// are made at once, the Stream sends them), so it cannot be cut in half.
#pragma once

#include <spindle/io/stream.hpp>
#include <spindle/io/tls.hpp>
#include <spindle/loop.hpp>
#include <spindle/source_location.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

struct ssl_st;

namespace spindle::io::detail {

/// What a TlsSession speaks through: the Stream's byte transport.
class TlsTransport {
 public:
  /// Sends records as Stream::write sends bytes: at once or queued behind, parking (with
  /// may_park) only over the high-water mark. Throws std::system_error, CancelledError.
  virtual void send(std::string_view wire, bool may_park, SourceLocation where) = 0;
  /// Parks until everything sent is on its way (the peer waits for it). Throws as send().
  virtual void push(SourceLocation where) = 0;
  /// The next received bytes, lent until the caller next parks; empty at the end of the
  /// stream. Throws std::system_error, CancelledError.
  virtual std::span<const char> receive(SourceLocation where) = 0;

 protected:
  ~TlsTransport() = default;
};

class TlsSession {
 public:
  /// A session (client or server side, as ctx is), not yet shaken hands. `peer` names the
  /// peer in error messages. A client checks the certificate against `server_hostname` (a
  /// DNS name or an IP address) and sends it as SNI. `received` are bytes already read from
  /// the transport: the session reads them first. Throws TlsError; std::invalid_argument for
  /// a verifying client without a server_hostname.
  TlsSession(const TlsContext& ctx, const std::string& server_hostname, std::string peer,
             std::string received);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  /// The TLS handshake. Throws TlsError, std::system_error (the connection failed),
  /// CancelledError.
  void handshake(TlsTransport& t, SourceLocation where);
  /// Up to buf.size() bytes of plaintext, received through t; 0 at end of stream
  /// (close_notify, or the peer closed the connection). Once it has plaintext it no longer
  /// parks (buf may be a buffer the loop lends). Throws TlsError, std::system_error,
  /// CancelledError.
  std::size_t read(std::span<std::byte> buf, TlsTransport& t, SourceLocation where);
  /// `data` sealed into records, ready to send. Never parks. Throws TlsError,
  /// std::system_error(EPIPE) once close_notify() was made.
  std::string seal(std::string_view data);
  /// The close_notify alert's record (empty if it was made already).
  std::string close_notify() noexcept;
  /// What the handshake negotiated.
  TlsInfo info() const;

  // Used by the BIO.
  std::string in_;                 // received ciphertext not yet read by OpenSSL, from in_pos_
  std::size_t in_pos_ = 0;
  std::span<const char> lent_;     // received bytes lent by the transport, read after in_
  bool in_eof_ = false;            // the transport reached the end of the stream
  std::string out_;                // records made, not yet handed to the transport

 private:
  /// Runs op() (an SSL_*_ex call) until it succeeds, sending what it makes and receiving
  /// what it wants through t (with `handshake`, parking to send and pushing what was sent
  /// before each receive; else sending without parking). Returns
  /// 1 on success, 0 at a clean end of stream. Throws as the public calls do.
  template <class Op>
  int drive(const char* what, TlsTransport& t, bool handshake, SourceLocation where, Op op);
  /// Keeps what OpenSSL left of the lent bytes (the lender's buffer is gone at the next park).
  void stash();
  [[noreturn]] void fail(const char* what);

  ssl_st* ssl_ = nullptr;
  std::string peer_;
};

/// s.start_tls(ctx, server_hostname), given up after `timeout`: then TlsError(ETIMEDOUT)
/// naming the peer, and the connection is closed. Throws as start_tls does.
void handshake(Stream& s, const TlsContext& ctx, const std::string& server_hostname,
               Clock::duration timeout, SourceLocation where);

}  // namespace spindle::io::detail
