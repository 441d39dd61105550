// Stream: an input buffer (in_ from in_pos_) and an output buffer (out_). Reads return
// buffered bytes first and consume only what they return, so a cancelled or failed read
// loses nothing. New bytes arrive in a buffer the loop lends (a provided buffer on io_uring,
// else the loop's shared scratch buffer); a read copies out what it returns and keeps only
// the rest in in_, which is freed once drained. Reads flush pending output first
// (request/response never deadlocks on unsent data); write() sends at once (or hands the
// bytes to the ring) and buffers only what the kernel refuses. TLS sits between: records
// it makes are sent as plain bytes are, and it decrypts what the transport receives.
#include <spindle/cancel.hpp>
#include <spindle/errors.hpp>
#include <spindle/io/stream.hpp>
#include <spindle/timeout.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <sys/socket.h>
#include <unistd.h>

#include "../../fibers/src/loop_core.hpp"
#include "backend.hpp"
#include "socket_state.hpp"
#include "syscall.hpp"
#include "tls_session.hpp"

namespace spindle::io {

/// The stream's transport, as its TLS session sees it.
class Stream::TlsWire final : public detail::TlsTransport {
 public:
  explicit TlsWire(Stream& s) noexcept : s_(s) {}
  void send(std::string_view wire, bool may_park, SourceLocation where) override {
    s_.send_wire(wire, may_park, where);
  }
  void push(SourceLocation where) override { s_.flush(0, where, false); }
  std::span<const char> receive(SourceLocation where) override {
    return detail::receive_lent(detail::SocketAccess::state(s_.socket_, "recv"), where);
  }

 private:
  Stream& s_;
};

Stream::Stream(Socket socket, StreamOptions options)
    : socket_(std::move(socket)), options_(options) {}
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;
Stream::~Stream() { close(); }

std::size_t Stream::receive_into(std::span<std::byte> buf, SourceLocation where) {
  TlsWire wire(*this);
  const std::size_t n = tls_ ? tls_->read(buf, wire, where) : socket_.recv(buf, where);
  if (n == 0) eof_ = true;
  return n;
}

std::span<const char> Stream::receive(SourceLocation where) {
  if (eof_) return {};
  flush(0, where, false);
  return receive_lent(where);
}

std::span<const char> Stream::receive_lent(SourceLocation where) {
  // Into a buffer the loop lends, not one on this fiber's stack: a parked reader's frames
  // stay small, and the caller copies out what it keeps before anything can park again.
  if (tls_) {  // (the ciphertext may arrive in scratch(): the plaintext goes elsewhere)
    const std::span<char> buf = detail::IoBackend::current().plain_scratch();
    return {buf.data(), receive_into(std::as_writable_bytes(buf), where)};
  }
  const std::span<const char> got =
      detail::receive_lent(detail::SocketAccess::state(socket_, "recv"), where);
  if (got.empty()) eof_ = true;
  return got;
}

bool Stream::fill(SourceLocation where) {
  const std::span<const char> got = receive(where);
  if (got.empty()) return false;
  keep(got);
  return true;
}

void Stream::keep(std::span<const char> got) {
  if (in_pos_ > 0) {  // drop what was returned before growing the buffer
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  in_.append(got.data(), got.size());
}

bool Stream::wait_data(SourceLocation where) {
  if (buffered() > 0) return true;
  if (eof_) return false;
  // As receive(), without flushing first: the output belongs to whoever writes.
  const std::span<const char> got = receive_lent(where);
  keep(got);
  return !got.empty();
}

void Stream::consume(std::size_t n) noexcept {
  in_pos_ += n;
  if (in_pos_ == in_.size()) {  // drained: an idle stream holds no buffer
    in_pos_ = 0;
    std::string().swap(in_);
  }
}

std::string Stream::take(std::size_t n) {
  if (in_pos_ == 0 && n == in_.size()) {
    std::string out = std::move(in_);  // the whole buffer: hand it over
    in_.clear();
    return out;
  }
  std::string out(in_, in_pos_, n);
  consume(n);
  return out;
}

std::string Stream::take_received(std::span<const char> got, std::size_t n) {
  // Only called with nothing buffered: the rest of `got` becomes the buffer.
  in_.assign(got.data() + n, got.size() - n);
  in_pos_ = 0;
  return std::string(got.data(), n);
}

std::string Stream::read(std::size_t max, SourceLocation where) {
  if (max == 0) return {};
  if (buffered() > 0) return take(std::min(max, buffered()));
  const std::span<const char> got = receive(where);
  return take_received(got, std::min(max, got.size()));
}

std::size_t Stream::read_some(std::span<std::byte> buf, SourceLocation where) {
  if (buf.empty()) return 0;
  if (const std::size_t n = std::min(buf.size(), buffered()); n > 0) {
    std::memcpy(buf.data(), in_.data() + in_pos_, n);
    consume(n);
    return n;
  }
  if (eof_) return 0;
  flush(0, where, false);
  return receive_into(buf, where);  // straight into the caller's buffer
}

std::string Stream::read_exactly(std::size_t n, SourceLocation where) {
  if (n == 0) return {};
  if (buffered() == 0) {
    const std::span<const char> got = receive(where);
    if (got.size() >= n) return take_received(got, n);
    take_received(got, 0);  // keep it all; then wait for the rest below
  }
  while (buffered() < n) {
    if (!fill(where)) throw IncompleteReadError(take(buffered()), n);
  }
  return take(n);
}

std::string Stream::read_until(std::string_view sep, SourceLocation where) {
  if (sep.empty()) throw std::invalid_argument("Stream::read_until: empty separator");
  if (buffered() == 0) {
    // The usual case (a line per receive): find the separator where the bytes landed and
    // copy out just the line; the rest becomes the buffer.
    const std::span<const char> got = receive(where);
    const std::size_t at = std::string_view(got.data(), got.size()).find(sep);
    if (at != std::string_view::npos && at + sep.size() <= options_.limit) {
      return take_received(got, at + sep.size());
    }
    if (got.empty()) throw IncompleteReadError({}, 0);
    take_received(got, 0);
  }
  // `scanned` counts bytes after in_pos_ already searched; relative, because fill() may
  // compact the buffer and move in_pos_.
  std::size_t scanned = 0;
  for (;;) {
    const std::size_t at = in_.find(sep, in_pos_ + scanned);
    if (at != std::string::npos) {
      const std::size_t end = at + sep.size();
      if (end - in_pos_ > options_.limit) break;
      return take(end - in_pos_);
    }
    if (buffered() > options_.limit) break;
    // Search again only where a separator could still complete.
    scanned = buffered() >= sep.size() ? buffered() - sep.size() + 1 : 0;
    if (!fill(where)) throw IncompleteReadError(take(buffered()), 0);
  }
  throw LimitOverrunError("Stream::read_until: no separator within the limit of " +
                              std::to_string(options_.limit) + " bytes",
                          buffered());
}

std::string Stream::read_line(SourceLocation where) {
  try {
    return read_until("\n", where);
  } catch (IncompleteReadError& e) {
    return e.partial();  // the last line without a newline, or "" at end of stream
  }
}

bool Stream::at_eof() const noexcept { return eof_ && buffered() == 0; }

void Stream::flush(std::size_t down_to, SourceLocation where, bool wait_behind) {
  while (out_.size() > down_to) {
    out_.erase(0, socket_.send(out_, where));
  }
  // (io_uring) Sends behind go on by themselves: a read need not wait for them, as the bytes
  // are on their way; drain() and the high-water mark do.
  if (wait_behind && socket_) {
    detail::SocketState& state = detail::SocketAccess::state(socket_, "Stream::drain");
    if (detail::behind_pending(state) > down_to) detail::drain_behind(state, down_to, where);
  }
}

void Stream::write(std::string_view data, SourceLocation where) {
  // TLS seals the bytes into records at once; they go out as plain bytes would.
  if (tls_) {
    send_wire(tls_->seal(data), true, where);
  } else {
    send_wire(data, true, where);
  }
}

void Stream::send_wire(std::string_view data, bool may_park, SourceLocation where) {
  if (detail::SocketState* state =
          out_.empty() && socket_ ? &detail::SocketAccess::state(socket_, "Stream::write")
                                  : nullptr;
      state && detail::send_behind(*state, data)) {
    // io_uring: the ring sends it (after what is in flight), the task goes on.
    if (may_park && detail::behind_pending(*state) > options_.high_water) {
      flush(options_.high_water / 4, where);
    }
    return;
  } else if (out_.empty()) {
    // Send straight away, without parking; buffer the rest.
    std::size_t sent = 0;
    while (sent < data.size()) {
      // The fd is non-blocking: this never parks.
      const ssize_t n = detail::send_some(socket_.fd(), socket_.is_socket(), data.data() + sent,
                                          data.size() - sent);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        detail::throw_errno("Stream::write");
      }
      break;
    }
    data.remove_prefix(sent);
  }
  out_.append(data);
  if (may_park && out_.size() > options_.high_water) flush(options_.high_water / 4, where);
}

void Stream::drain(SourceLocation where) { flush(0, where); }

void Stream::write_eof(SourceLocation where) {
  flush(0, where);
  if (tls_) {
    send_wire(tls_->close_notify(), true, where);
    flush(0, where);
  }
  socket_.shutdown(SHUT_WR);
}

void Stream::close() noexcept {
  if (!socket_) return;
  if (!out_.empty() ||
      detail::behind_pending(detail::SocketAccess::state(socket_, "Stream::close")) > 0) {
    // Finishing the send must not be interrupted, but a peer that stopped reading must not
    // pin the task either: past the bound the connection is reset.
    auto& state = detail::SocketAccess::state(socket_, "Stream::close");
    const auto* loop = spindle::detail::LoopCore::current_or_null();
    const Clock::time_point deadline = (loop ? loop->now() : Clock::now()) + options_.close_timeout;
    bool too_slow = false;
    try {
      CancelShield shield;
      state.deadline = &deadline;
      flush(0, SourceLocation::current());
    } catch (const std::system_error& e) {
      too_slow = e.code().value() == ETIMEDOUT;  // (others: the peer is gone, or no loop)
    } catch (...) {
    }
    state.deadline = nullptr;
    if (too_slow) {
      const linger reset{1, 0};  // close() sends RST and drops what the kernel holds
      ::setsockopt(state.watch.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      out_.clear();
      tls_.reset();
    }
  }
  if (tls_) {
    // close_notify, if it goes out at once behind nothing: the peer then reads a clean end.
    const std::string alert = tls_->close_notify();
    const auto& state = detail::SocketAccess::state(socket_, "Stream::close");
    if (out_.empty() && detail::behind_pending(state) == 0) {
      (void)detail::send_some(socket_.fd(), socket_.is_socket(), alert.data(), alert.size());
    }
    tls_.reset();
  }
  socket_.close();
}

void Stream::start_tls(const TlsContext& ctx, std::string_view server_hostname,
                       SourceLocation where) {
  if (tls_) throw std::logic_error("Stream::start_tls: the stream already speaks TLS");
  flush(0, where);
  std::string peer;
  try {
    peer = peer_address().to_string();
  } catch (const std::system_error&) {
    peer = "the peer";  // not a connected socket (a pipe): the name only serves messages
  }
  std::string received = in_.substr(in_pos_);  // the first bytes of the TLS stream
  in_.clear();
  in_pos_ = 0;
  try {
    tls_ = std::make_unique<detail::TlsSession>(ctx, std::string(server_hostname),
                                                std::move(peer), std::move(received));
    TlsWire wire(*this);
    tls_->handshake(wire, where);
  } catch (...) {
    // Half a handshake is nothing a later call could use: close (also on cancellation).
    tls_.reset();
    out_.clear();
    socket_.close();
    throw;
  }
}

TlsInfo Stream::tls_info() const { return tls_ ? tls_->info() : TlsInfo{}; }

void detail::handshake(Stream& s, const TlsContext& ctx, const std::string& server_hostname,
                       Clock::duration timeout, SourceLocation where) {
  std::string peer = "the peer";
  try {
    peer = s.peer_address().to_string();
  } catch (const std::system_error&) {
  }
  try {
    spindle::with_timeout(timeout, [&] { s.start_tls(ctx, server_hostname, where); });
  } catch (const TimeoutError&) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    throw TlsError(ETIMEDOUT, "TLS handshake with " + peer + " timed out after " +
                                  std::to_string(ms) + " ms");
  }
}

}  // namespace spindle::io
