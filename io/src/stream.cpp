// Stream: an input buffer (in_ from in_pos_) and an output buffer (out_). Reads return
// buffered bytes first and consume only what they return, so a cancelled or failed read
// loses nothing. Reads flush pending output first (request/response never deadlocks on
// unsent data); write() sends at once and buffers only what the kernel refuses.
#include <spindle/cancel.hpp>
#include <spindle/errors.hpp>
#include <spindle/io/resolve.hpp>
#include <spindle/io/stream.hpp>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <sys/socket.h>
#include <unistd.h>

#include "syscall.hpp"

namespace spindle::io {

Stream::Stream(Socket socket, StreamOptions options)
    : socket_(std::move(socket)), options_(options) {}
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;
Stream::~Stream() { close(); }

bool Stream::fill(SourceLocation where) {
  if (eof_) return false;
  flush(0, where);
  if (in_pos_ > 0 && in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
  char buf[16384];
  const std::size_t n =
      socket_.recv(std::as_writable_bytes(std::span<char>(buf, sizeof buf)), where);
  if (n == 0) {
    eof_ = true;
    return false;
  }
  in_.append(buf, n);
  return true;
}

std::string Stream::read(std::size_t max, SourceLocation where) {
  if (in_pos_ == in_.size() && !fill(where)) return {};
  const std::size_t n = std::min(max, in_.size() - in_pos_);
  std::string out = in_.substr(in_pos_, n);
  in_pos_ += n;
  return out;
}

std::string Stream::read_exactly(std::size_t n, SourceLocation where) {
  while (in_.size() - in_pos_ < n) {
    if (!fill(where)) {
      std::string partial = in_.substr(in_pos_);
      in_pos_ = in_.size();
      throw IncompleteReadError(std::move(partial), n);
    }
  }
  std::string out = in_.substr(in_pos_, n);
  in_pos_ += n;
  return out;
}

std::string Stream::read_until(std::string_view sep, SourceLocation where) {
  if (sep.empty()) throw std::invalid_argument("Stream::read_until: empty separator");
  // `scanned` counts bytes after in_pos_ already searched; relative, because fill() may
  // compact the buffer and move in_pos_.
  std::size_t scanned = 0;
  for (;;) {
    const std::size_t at = in_.find(sep, in_pos_ + scanned);
    if (at != std::string::npos) {
      const std::size_t end = at + sep.size();
      if (end - in_pos_ > options_.limit) break;
      std::string out = in_.substr(in_pos_, end - in_pos_);
      in_pos_ = end;
      return out;
    }
    const std::size_t buffered = in_.size() - in_pos_;
    if (buffered > options_.limit) break;
    // Search again only where a separator could still complete.
    scanned = buffered >= sep.size() ? buffered - sep.size() + 1 : 0;
    if (!fill(where)) {
      std::string partial = in_.substr(in_pos_);
      in_pos_ = in_.size();
      throw IncompleteReadError(std::move(partial), 0);
    }
  }
  throw LimitOverrunError("Stream::read_until: no separator within the limit of " +
                              std::to_string(options_.limit) + " bytes",
                          in_.size() - in_pos_);
}

std::string Stream::read_line(SourceLocation where) {
  try {
    return read_until("\n", where);
  } catch (IncompleteReadError& e) {
    return e.partial();  // the last line without a newline, or "" at end of stream
  }
}

bool Stream::at_eof() const noexcept { return eof_ && in_pos_ == in_.size(); }

void Stream::flush(std::size_t down_to, SourceLocation where) {
  while (out_.size() > down_to) {
    const std::size_t n = socket_.send(out_, where);
    out_.erase(0, n);
  }
}

void Stream::write(std::string_view data, SourceLocation where) {
  if (out_.empty()) {
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
  if (out_.size() > options_.high_water) flush(options_.high_water / 4, where);
}

void Stream::drain(SourceLocation where) { flush(0, where); }

void Stream::write_eof(SourceLocation where) {
  flush(0, where);
  socket_.shutdown(SHUT_WR);
}

void Stream::close() noexcept {
  if (!socket_) return;
  if (!out_.empty()) {
    try {
      CancelShield shield;  // finishing the send must not be interrupted
      flush(0, SourceLocation::current());
    } catch (...) {
      // the peer is gone: nothing more to deliver
    }
  }
  socket_.close();
}

Stream open_connection(const Address& address, SourceLocation where) {
  Socket s(address.family(), SOCK_STREAM);
  s.connect(address, where);
  if (address.family() != AF_UNIX) s.set_nodelay(true);
  return Stream(std::move(s));
}

Stream open_connection(std::string_view host, std::uint16_t port, SourceLocation where) {
  std::error_code last;
  for (const Address& a : resolve(host, std::to_string(port), where)) {
    try {
      return open_connection(a, where);
    } catch (const std::system_error& e) {
      last = e.code();
    }
  }
  throw std::system_error(last ? last : std::make_error_code(std::errc::host_unreachable),
                          "open_connection " + std::string(host) + ":" + std::to_string(port));
}

Stream open_unix_connection(std::string_view path, SourceLocation where) {
  return open_connection(Address::unix_path(path), where);
}

}  // namespace spindle::io
