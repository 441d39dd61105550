// The state behind a Socket, shared by io/'s own code: the fd's registration and readiness
// in the reactor, and the wait every operation that would block goes through.
#pragma once

#include <spindle/io/socket.hpp>
#include <spindle/source_location.hpp>

#include <unistd.h>

#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

#include "backend.hpp"

namespace spindle::io::detail {

struct SendBehind;
/// Lets go of s's sends behind (SocketState::close): frees them, or, with a send in flight,
/// cancels it and leaves it to free itself when the kernel is done.
void release_behind(SendBehind* b, bool loop_alive) noexcept;
struct AcceptQueue;
/// Lets go of a listener's multishot accept (SocketState::close): closes the connections
/// accepted and not taken, wakes parked acceptors with an error, cancels the multishot and
/// leaves it to free itself when the kernel is done.
void release_accepts(AcceptQueue* a, bool loop_alive) noexcept;

struct SocketState {
  FdWatch watch;
  bool is_socket = true;  // false for pipes and other fds: read()/write() instead
  // A byte stream (TCP, Unix stream, pipe): a short read drained it, and any later arrival
  // raises a new epoll edge, so the next read can park first instead of trying read() only
  // to get EAGAIN. Not for datagrams: one read returns one datagram however many wait. Not
  // once a hang-up was seen: end of stream raises no further edge and must be read.
  bool stream = true;
  // While set (Stream::close), a wait past this time fails with ETIMEDOUT instead of parking
  // on: cleanup that holds cancellation back still ends.
  const Clock::time_point* deadline = nullptr;
  // (io_uring) a Stream's writes, sent by the ring without their task; null until used.
  SendBehind* behind = nullptr;
  // (io_uring) a listener's multishot accept and the connections it took; null until used.
  AcceptQueue* accepts = nullptr;
  ~SocketState() { close(); }
  void close() noexcept {
    if (watch.fd < 0) return;
    if (behind) release_behind(std::exchange(behind, nullptr), watch.reactor != nullptr);
    if (accepts) release_accepts(std::exchange(accepts, nullptr), watch.reactor != nullptr);
    if (watch.reactor) watch.reactor->remove(watch);  // wakes parked tasks with an error
    ::close(watch.fd);
    watch.fd = -1;
  }
};

/// Parks until the socket is readable (or writable): at once if an edge came since the last
/// EAGAIN, which whoever saw the EAGAIN records by clearing watch.readable (writable).
/// Registers the fd with the running loop's reactor on first use. Throws CancelledError,
/// std::system_error(ECANCELED) if the socket was closed meanwhile, (ETIMEDOUT) past
/// s.deadline, std::logic_error if it belongs to another loop.
void wait_ready(SocketState& s, bool for_write, const char* what, SourceLocation where);

/// One receive on the socket the epoll way: parks until readable (at once if known ready),
/// then recv(2) into buf, parking again on EAGAIN. Returns the bytes received, 0 at the end of
/// the stream. Throws std::system_error, CancelledError.
std::size_t recv_ready(SocketState& s, std::span<std::byte> buf, SourceLocation where);

/// The socket's next bytes, in a buffer lent by the loop until the caller next parks (copy
/// out what you keep first): on io_uring a provided buffer the kernel picked when the data
/// arrived (a parked receiver holds none), else the loop's scratch buffer. Empty at the end
/// of the stream. Throws std::system_error, CancelledError, std::logic_error if another task
/// is receiving on the socket.
std::span<const char> receive_lent(SocketState& s, SourceLocation where);

/// (io_uring) Hands `data` to the ring to send without parking: submitted at once if no
/// send of this socket is in flight, else queued behind it (one send in flight per socket
/// keeps the order); the completions send the rest with no task involved. Returns false
/// where this does not apply (epoll, outside a task, datagrams): send the epoll way.
/// Throws std::system_error if an earlier send behind failed (EPIPE, ECONNRESET...).
bool send_behind(SocketState& s, std::string_view data);
/// Bytes handed to send_behind() and not yet taken by the kernel.
std::size_t behind_pending(const SocketState& s) noexcept;
/// Parks until at most `down_to` bytes sent behind are pending. Throws std::system_error if
/// a send failed, (ETIMEDOUT) past s.deadline, CancelledError (the bytes are still sent).
void drain_behind(SocketState& s, std::size_t down_to, SourceLocation where);

/// io/'s way into a Socket's state.
struct SocketAccess {
  /// The state of an open socket. Throws std::system_error(EBADF) naming `what` if closed.
  static SocketState& state(Socket& s, const char* what);
};

}  // namespace spindle::io::detail
