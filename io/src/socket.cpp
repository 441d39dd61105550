// Socket: the non-blocking call, on EAGAIN park until the epoll edge, retry. Registration
// with the loop's reactor happens on the first wait (so a socket can be made before a loop
// runs) and lasts until close. Invariant: `watch.readable`/`writable` are cleared only by an
// EAGAIN (ours, or one OpenSSL's BIO saw on the same fd) and set only by an epoll edge, so a
// parked task can never miss one.
#include <spindle/io/socket.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <stdexcept>

#include <spindle/detail/wait_list.hpp>

#include "../../fibers/src/loop_core.hpp"
#include "ring_call.hpp"
#include "socket_state.hpp"
#include "syscall.hpp"

namespace spindle::io {
namespace detail {

void wait_ready(SocketState& s, bool for_write, const char* what, SourceLocation where) {
  IoBackend& reactor = IoBackend::current();
  if (!s.watch.reactor) {
    reactor.add(s.watch);
  } else if (s.watch.reactor != &reactor) {
    throw std::logic_error(std::string(what) + ": the socket belongs to another loop");
  }
  if (for_write ? s.watch.writable : s.watch.readable) return;  // an edge came meanwhile
  const auto r = reactor.wait(s.watch, for_write, s.deadline, what, where);
  if (r == spindle::detail::WakeReason::Error) {
    throw_errno(ECANCELED, std::string(what) + ": the socket was closed while waiting");
  }
  if (r == spindle::detail::WakeReason::Timeout) {
    throw_errno(ETIMEDOUT, std::string(what) + ": gave up waiting for the peer");
  }
  if (r == spindle::detail::WakeReason::Cancelled ||
      spindle::detail::LoopCore::running_cancel_wins()) {
    spindle::detail::throw_cancelled();
  }
}

namespace {

[[noreturn, gnu::cold]] void throw_closed(const char* what) {
  throw_errno(EBADF, std::string(what) + ": socket is closed");
}

inline SocketState& state(const std::unique_ptr<SocketState>& s, const char* what) {
  if (!s || s->watch.fd < 0) [[unlikely]]
    throw_closed(what);
  return *s;
}

}  // namespace

SocketState& SocketAccess::state(Socket& s, const char* what) { return detail::state(s.s_, what); }

namespace {

/// Runs op() (a syscall returning -1/errno) until it succeeds, parking on EAGAIN.
template <class Op>
auto retry(SocketState& s, bool for_write, const char* what, SourceLocation where, Op op) {
  for (;;) {
    const auto r = op();
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw_errno(what);
    (for_write ? s.watch.writable : s.watch.readable) = false;
    wait_ready(s, for_write, what, where);
  }
}

}  // namespace

std::size_t recv_ready(SocketState& s, std::span<std::byte> buf, SourceLocation where) {
  // Known drained (see SocketState::stream): wait for the edge before the syscall.
  if (s.stream && s.watch.reactor && !s.watch.readable && !s.watch.hup) {
    wait_ready(s, false, "recv", where);
  }
  const auto n = static_cast<std::size_t>(retry(s, false, "recv", where, [&] {
    return s.is_socket ? ::recv(s.watch.fd, buf.data(), buf.size(), 0)
                       : ::read(s.watch.fd, buf.data(), buf.size());
  }));
  if (s.stream && n > 0 && n < buf.size() && !s.watch.hup) s.watch.readable = false;
  return n;
}

namespace {

#if defined(SPINDLE_HAVE_URING)
/// The running task's ring with s registered on it (a socket's operations sit in its watch's
/// slots, where close() finds them); null on epoll. Throws std::logic_error if s belongs to
/// another loop.
IoUringBackend* ring_for(SocketState& s, const char* what) {
  IoUringBackend* r = task_ring();
  if (!r) return nullptr;
  if (!s.watch.reactor) {
    // Not registered: new, or its loop has ended. What an ended loop's ring held for it
    // (sends behind, a multishot accept's queue) went with that ring: let it go.
    if (s.behind) release_behind(std::exchange(s.behind, nullptr), false);
    if (s.accepts) release_accepts(std::exchange(s.accepts, nullptr), false);
    r->add(s.watch);
  } else if (s.watch.reactor != r) {
    throw std::logic_error(std::string(what) + ": the socket belongs to another loop");
  }
  return r;
}

/// Runs the operation `prep` fills in as s's reader (or writer), parked until the kernel
/// completes it, and returns its result: >= 0 is what it did, and stands even if the task was
/// cancelled meanwhile (the cancellation comes at the next blocking call: nothing received
/// is lost); -errno is the caller's to name. Throws std::system_error(ECANCELED) if the
/// socket was closed meanwhile, (ETIMEDOUT) past s.deadline, CancelledError if cancelled
/// before anything was done, std::logic_error if another task is already at it.
template <class Prep>
int ring_op(IoUringBackend& r, SocketState& s, bool write, UringOp& op, Prep prep,
            const char* what, SourceLocation where) {
  auto& self = spindle::detail::LoopCore::require().require_task(what);
  spindle::detail::LoopCore::deliver_pending(self);  // before the kernel has anything
  spindle::detail::Waiter*& slot = write ? s.watch.writer : s.watch.reader;
  if (slot) throw std::logic_error(std::string(what) + ": another task already waits on this fd");
  io_uring_sqe* q = r.sqe();
  prep(q);
  io_uring_sqe_set_data(q, &op);
  op.watch = &s.watch;
  slot = &op;
  const auto why = r.await(op, true, s.deadline, what, where);
  if (op.res >= 0) return op.res;
  if (op.closed) throw_errno(ECANCELED, std::string(what) + ": the socket was closed while waiting");
  if (why == spindle::detail::WakeReason::Timeout) {
    throw_errno(ETIMEDOUT, std::string(what) + ": gave up waiting for the peer");
  }
  if (op.res == -ECANCELED || why == spindle::detail::WakeReason::Cancelled ||
      spindle::detail::LoopCore::running_cancel_wins()) {
    spindle::detail::throw_cancelled();
  }
  return op.res;
}

/// Parks the running task on `list` as an I/O wait (the loop counts it as pending I/O) until
/// woken, or past s.deadline. Throws CancelledError, std::system_error(ETIMEDOUT) past the
/// deadline, (ECANCELED) if woken because the socket was closed.
void park_io(spindle::detail::WaitList& list, const SocketState& s, const char* what,
             SourceLocation where) {
  using spindle::detail::WakeReason;
  auto& loop = spindle::detail::LoopCore::require();
  loop.require_task(what);
  spindle::detail::QueuedWaiter w;
  spindle::detail::TimerEntry timer;
  if (s.deadline) loop.wake_at(timer, w, *s.deadline);
  ++loop.io_waiters_;
  const WakeReason r = list.park(w, what, where);
  --loop.io_waiters_;
  if (timer.queued()) loop.timers().remove(timer);
  if (r == WakeReason::Timeout) {
    throw_errno(ETIMEDOUT, std::string(what) + ": gave up waiting for the peer");
  }
  if (r == WakeReason::Cancelled || spindle::detail::LoopCore::running_cancel_wins()) {
    spindle::detail::throw_cancelled();
  }
  if (r == WakeReason::Error) {
    throw_errno(ECANCELED, std::string(what) + ": the socket was closed while waiting");
  }
}

/// One receive into (or send from) p through the ring: recv/send on a socket, read/write on
/// a pipe. Returns the bytes moved (0: end of stream). Throws as ring_op, std::system_error
/// naming `what`.
std::size_t ring_transfer(IoUringBackend& r, SocketState& s, bool write, std::byte* p,
                          std::size_t n, const char* what, SourceLocation where) {
  for (;;) {
    UringOp op;
    const int res = ring_op(r, s, write, op, [&](io_uring_sqe* q) {
      if (s.is_socket && write) {
        io_uring_prep_send(q, s.watch.fd, p, n, MSG_NOSIGNAL);
      } else if (s.is_socket) {
        io_uring_prep_recv(q, s.watch.fd, p, n, 0);
      } else if (write) {
        io_uring_prep_write(q, s.watch.fd, p, static_cast<unsigned>(n), -1);
      } else {
        io_uring_prep_read(q, s.watch.fd, p, static_cast<unsigned>(n), -1);
      }
    }, what, where);
    if (res == -EINTR || res == -EAGAIN) continue;
    if (res < 0) throw_errno(-res, what);
    return static_cast<std::size_t>(res);
  }
}
#endif

void set_flag(int fd, int level, int name, bool on, const char* what) {
  const int v = on ? 1 : 0;
  if (::setsockopt(fd, level, name, &v, sizeof v) != 0) throw_errno(what);
}

}  // namespace

#if defined(SPINDLE_HAVE_URING)
/// A Stream's writes on io_uring: one send in flight (from `inflight`, of which `sent` bytes
/// are done), what was written meanwhile queued behind it; each completion submits what
/// remains. Owned by its SocketState, or, once that closed with a send in flight, by itself
/// until the completion.
struct SendBehind : UringOp {
  IoUringBackend* ring = nullptr;
  int fd = -1;
  bool is_socket = true;
  bool in_flight = false;
  bool orphaned = false;
  int error = 0;  // the errno a send failed with: every later write and drain throws it
  std::string inflight;
  std::size_t sent = 0;
  std::string queued;
  spindle::detail::WaitList drainers;  // tasks in drain() (or above the high-water mark)

  std::size_t pending() const noexcept { return inflight.size() - sent + queued.size(); }

  /// Sends what is left of `inflight`. Throws std::system_error if the ring takes nothing.
  void submit() {
    io_uring_sqe* q = ring->sqe();
    const char* p = inflight.data() + sent;
    const std::size_t n = inflight.size() - sent;
    if (is_socket) {
      io_uring_prep_send(q, fd, p, n, MSG_NOSIGNAL);
    } else {
      io_uring_prep_write(q, fd, p, static_cast<unsigned>(n), -1);
    }
    io_uring_sqe_set_data(q, static_cast<UringOp*>(this));
    done = false;
    in_flight = true;
    ++ring->sends_in_flight;
  }

  static void on_sent(UringOp& o) noexcept {
    auto& b = static_cast<SendBehind&>(o);
    b.in_flight = false;
    --b.ring->sends_in_flight;
    if (b.orphaned) {
      --b.ring->orphans;
      delete &b;
      return;
    }
    if (b.res >= 0 || b.res == -EINTR || b.res == -EAGAIN) {
      if (b.res > 0) b.sent += static_cast<std::size_t>(b.res);
      if (b.sent == b.inflight.size()) {  // all of it: what was queued goes next
        b.sent = 0;
        b.inflight.clear();
        b.inflight.swap(b.queued);
      }
      if (!b.inflight.empty()) {
        try {
          b.submit();
        } catch (const std::system_error& e) {
          b.error = e.code().value();
        }
      } else if (b.queued.capacity() > 4096) {  // an idle connection keeps no big buffer
        std::string().swap(b.queued);
        std::string().swap(b.inflight);
      }
    } else {
      b.error = -b.res;
    }
    if (b.error) {
      b.inflight.clear();
      b.queued.clear();
      b.sent = 0;
    }
    b.drainers.wake_all(spindle::detail::WakeReason::Granted);
  }
};
#endif

void release_behind(SendBehind* b, bool loop_alive) noexcept {
#if defined(SPINDLE_HAVE_URING)
  if (!loop_alive || !b->in_flight) {
    delete b;  // (a drainer still parked wakes with an error)
    return;
  }
  b->drainers.wake_all(spindle::detail::WakeReason::Error);
  b->orphaned = true;
  ++b->ring->orphans;
  b->ring->abandon(*b);
#else
  (void)b;
  (void)loop_alive;
#endif
}

#if defined(SPINDLE_HAVE_URING)
/// A listener's multishot accept on io_uring: one submission accepts every connection as it
/// arrives, and the fds wait here until accept() takes them. Up to kMax wait; then the
/// multishot is cancelled (the kernel's backlog holds the rest, as without it) and the next
/// accept() that finds none renews it. Owned by its SocketState, or, once that closed with
/// the multishot in the kernel, by itself until the multishot's last completion.
struct AcceptQueue : UringOp {
  static constexpr std::size_t kMax = 64;
  IoUringBackend* ring = nullptr;
  std::deque<int> fds;       // accepted, not yet taken
  int error = 0;             // how the multishot ended, for the next accept() to report
  bool armed = false;        // the multishot is in the kernel
  bool stopping = false;     // cancelled because kMax wait
  bool orphaned = false;
  bool unsupported = false;  // the kernel has no multishot accept (before 5.19): single shots
  bool accepted = false;     // it has accepted at least one connection
  spindle::detail::WaitList acceptors;  // tasks parked in accept()

  void arm(int listener) {
    io_uring_sqe* q = ring->sqe();
    io_uring_prep_multishot_accept(q, listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data(q, static_cast<UringOp*>(this));
    armed = true;
    stopping = false;
  }

  void close_queued() noexcept {
    for (const int fd : fds) ::close(fd);
    fds.clear();
  }

  static void on_accepted(UringOp& o) noexcept {
    auto& a = static_cast<AcceptQueue&>(o);
    const bool more = (a.flags & IORING_CQE_F_MORE) != 0;
    if (a.res >= 0) {
      a.accepted = true;
      if (a.orphaned) {
        ::close(a.res);
      } else {
        try {
          a.fds.push_back(a.res);
        } catch (...) {
          ::close(a.res);  // (out of memory: as if the client had given up)
        }
      }
    } else if (!more && a.res != -ECANCELED && a.res != -EINTR && a.res != -EAGAIN &&
               a.res != -ECONNABORTED) {
      a.error = -a.res;  // EMFILE, ENOBUFS...: the next accept() reports it
    }
    if (!more) {
      a.armed = false;
      if (a.orphaned) {
        --a.ring->orphans;
        delete &a;
        return;
      }
    } else if (a.fds.size() >= kMax && !a.stopping) {
      a.stopping = true;
      a.ring->cancel(a);
    }
    a.acceptors.wake_all(spindle::detail::WakeReason::Granted);
  }
};
#endif

void release_accepts(AcceptQueue* a, bool loop_alive) noexcept {
#if defined(SPINDLE_HAVE_URING)
  a->close_queued();
  a->acceptors.wake_all(spindle::detail::WakeReason::Error);
  if (!loop_alive || !a->armed) {
    delete a;
    return;
  }
  a->orphaned = true;
  ++a->ring->orphans;
  a->ring->abandon(*a);  // the kernel lets go of the listener now: its port is free again
#else
  (void)a;
  (void)loop_alive;
#endif
}

namespace {

#if defined(SPINDLE_HAVE_URING)
/// The next connection of s's multishot accept (arming it if needed), parking until one
/// comes; -1 if the kernel has no multishot accept. Throws as ring_op, std::system_error
/// with the errno the multishot ended with.
int accept_multishot(IoUringBackend& r, SocketState& s, SourceLocation where) {
  auto& self = spindle::detail::LoopCore::require().require_task("accept");
  spindle::detail::LoopCore::deliver_pending(self);  // accept() is a cancellation point
  AcceptQueue* a = s.accepts;
  if (!a) {
    a = s.accepts = new AcceptQueue;
    a->ring = &r;
    a->on_complete = &AcceptQueue::on_accepted;
  }
  for (;;) {
    if (a->unsupported) return -1;
    if (!a->fds.empty()) {
      const int fd = a->fds.front();
      a->fds.pop_front();
      return fd;
    }
    if (const int err = std::exchange(a->error, 0)) {
      if (err == EINVAL && !a->accepted) {  // (or not listening: the single shot will say)
        a->unsupported = true;
        return -1;
      }
      throw_errno(err, "accept");
    }
    if (!a->armed) a->arm(s.watch.fd);
    park_io(a->acceptors, s, "accept", where);
  }
}
#endif

}  // namespace

bool send_behind(SocketState& s, std::string_view data) {
#if defined(SPINDLE_HAVE_URING)
  if (!s.stream) return false;
  SendBehind* b = s.behind;
  if (!b) {
    IoUringBackend* r = ring_for(s, "Stream::write");
    if (!r) return false;
    b = s.behind = new SendBehind;
    b->ring = r;
    b->fd = s.watch.fd;
    b->is_socket = s.is_socket;
    b->on_complete = &SendBehind::on_sent;
  } else if (s.watch.reactor != b->ring) {
    return false;  // its loop has ended
  }
  if (b->error) throw_errno(b->error, "Stream::write");
  if (data.empty()) return true;
  if (b->in_flight) {
    b->queued.append(data);
  } else {
    b->inflight.assign(data);
    b->sent = 0;
    b->submit();
  }
  return true;
#else
  (void)s;
  (void)data;
  return false;
#endif
}

std::size_t behind_pending(const SocketState& s) noexcept {
#if defined(SPINDLE_HAVE_URING)
  return s.behind ? s.behind->pending() : 0;
#else
  (void)s;
  return 0;
#endif
}

void drain_behind(SocketState& s, std::size_t down_to, SourceLocation where) {
#if defined(SPINDLE_HAVE_URING)
  while (SendBehind* b = s.behind) {
    if (b->error) throw_errno(b->error, "send");
    if (b->pending() <= down_to) return;
    park_io(b->drainers, s, "Stream::drain", where);
  }
#else
  (void)s;
  (void)down_to;
  (void)where;
#endif
}

std::span<const char> receive_lent(SocketState& s, SourceLocation where) {
#if defined(SPINDLE_HAVE_URING)
  if (auto* r = ring_for(s, "recv"); r && s.stream && r->buffers()) {
    for (;;) {
      r->give_back();  // what was lent before: copied out, since nothing parked in between
      UringOp op;
      const int n = ring_op(*r, s, false, op, [&](io_uring_sqe* q) {
        if (s.is_socket) {
          io_uring_prep_recv(q, s.watch.fd, nullptr, IoUringBackend::kBufSize, 0);
        } else {
          io_uring_prep_read(q, s.watch.fd, nullptr, IoUringBackend::kBufSize, -1);
        }
        q->flags |= IOSQE_BUFFER_SELECT;
        q->buf_group = IoUringBackend::kBufGroup;
      }, "recv", where);
      if (n >= 0 && (op.flags & IORING_CQE_F_BUFFER)) return r->lend(op);
      if (n == 0) return {};  // end of stream (no buffer taken)
      if (n == -EINTR || n == -EAGAIN) continue;
      // Every buffer is holding data nobody has read yet: receive into the loop's own.
      if (n == -ENOBUFS) break;
      throw_errno(-n, "recv");
    }
  }
#endif
  const std::span<char> buf = IoBackend::current().scratch();
  return {buf.data(), recv_ready(s, std::as_writable_bytes(buf), where)};
}

}  // namespace detail

using detail::SocketState;

Socket::Socket() noexcept = default;
Socket::Socket(Socket&&) noexcept = default;
Socket& Socket::operator=(Socket&&) noexcept = default;
Socket::~Socket() = default;

Socket::Socket(int fd, bool) : s_(std::make_unique<SocketState>()) { s_->watch.fd = fd; }

Socket::Socket(int domain, int type, int protocol) {
  const int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) detail::throw_errno("socket");
  *this = Socket(fd, true);
  s_->stream = (type & 0xf) == SOCK_STREAM;
}

Socket Socket::adopt(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || ::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    detail::throw_errno("Socket::adopt");
  }
  struct stat st {};
  Socket s(fd, true);
  s.s_->is_socket = ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
  if (s.s_->is_socket) {
    int type = 0;
    socklen_t len = sizeof type;
    s.s_->stream = ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
  } else {
    s.s_->stream = S_ISFIFO(st.st_mode);
  }
  return s;
}

int Socket::fd() const noexcept { return s_ ? s_->watch.fd : -1; }
bool Socket::is_socket() const noexcept { return !s_ || s_->is_socket; }

void Socket::bind(const Address& a) {
  if (::bind(detail::state(s_, "bind").watch.fd, a.data(), a.size()) != 0) {
    detail::throw_errno(errno, "bind " + a.to_string());
  }
}

void Socket::listen(int backlog) {
  if (::listen(detail::state(s_, "listen").watch.fd, backlog) != 0) detail::throw_errno("listen");
}

void Socket::connect(const Address& a, SourceLocation where) {
  SocketState& s = detail::state(s_, "connect");
#if defined(SPINDLE_HAVE_URING)
  if (auto* r = detail::ring_for(s, "connect")) {
    detail::UringOp op;
    const int res = detail::ring_op(*r, s, true, op, [&](io_uring_sqe* q) {
      io_uring_prep_connect(q, s.watch.fd, a.data(), a.size());
    }, "connect", where);
    if (res < 0) detail::throw_errno(-res, "connect " + a.to_string());
    return;
  }
#endif
  if (::connect(s.watch.fd, a.data(), a.size()) == 0) return;
  if (errno != EINPROGRESS && errno != EINTR) {
    detail::throw_errno(errno, "connect " + a.to_string());
  }
  s.watch.writable = false;
  detail::wait_ready(s, true, "connect", where);
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(s.watch.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) detail::throw_errno(err, "connect " + a.to_string());
}

Socket Socket::accept(Address* peer, SourceLocation where) {
  SocketState& s = detail::state(s_, "accept");
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
#if defined(SPINDLE_HAVE_URING)
  if (auto* r = detail::ring_for(s, "accept")) {
    if (const int fd = detail::accept_multishot(*r, s, where); fd >= 0) {
      Socket out(fd, true);
      if (peer) {  // (a multishot accept has no room for it)
        try {
          *peer = out.peer_address();
        } catch (const std::system_error&) {  // ENOTCONN: the client has gone already
          detail::throw_errno(ECONNABORTED, "accept: the client left before it was accepted");
        }
      }
      return out;
    }
    for (;;) {
      detail::UringOp op;
      len = sizeof ss;
      const int fd = detail::ring_op(*r, s, false, op, [&](io_uring_sqe* q) {
        io_uring_prep_accept(q, s.watch.fd, reinterpret_cast<sockaddr*>(&ss), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
      }, "accept", where);
      if (fd == -EINTR || fd == -EAGAIN || fd == -ECONNABORTED) continue;
      if (fd < 0) detail::throw_errno(-fd, "accept");
      Socket out(fd, true);
      if (peer) *peer = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
      return out;
    }
  }
#endif
  const int fd = detail::retry(s, false, "accept", where, [&] {
    len = sizeof ss;
    return ::accept4(s.watch.fd, reinterpret_cast<sockaddr*>(&ss), &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
  });
  if (peer) *peer = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  return Socket(fd, true);
}

std::size_t Socket::recv(std::span<std::byte> buf, SourceLocation where) {
  SocketState& s = detail::state(s_, "recv");
#if defined(SPINDLE_HAVE_URING)
  if (auto* r = detail::ring_for(s, "recv"); r && s.stream) {
    return detail::ring_transfer(*r, s, false, buf.data(), buf.size(), "recv", where);
  }
#endif
  return detail::recv_ready(s, buf, where);
}

std::string Socket::recv(std::size_t max, SourceLocation where) {
  std::string out(max, '\0');
  out.resize(recv(std::as_writable_bytes(std::span<char>(out.data(), out.size())), where));
  return out;
}

std::size_t Socket::send(std::span<const std::byte> data, SourceLocation where) {
  SocketState& s = detail::state(s_, "send");
#if defined(SPINDLE_HAVE_URING)
  if (auto* r = detail::ring_for(s, "send"); r && s.stream) {
    return detail::ring_transfer(*r, s, true, const_cast<std::byte*>(data.data()), data.size(),
                                 "send", where);
  }
#endif
  return static_cast<std::size_t>(detail::retry(s, true, "send", where, [&] {
    return detail::send_some(s.watch.fd, s.is_socket, data.data(), data.size());
  }));
}

std::size_t Socket::send(std::string_view data, SourceLocation where) {
  return send(std::as_bytes(std::span<const char>(data.data(), data.size())), where);
}

void Socket::send_all(std::string_view data, SourceLocation where) {
  while (!data.empty()) data.remove_prefix(send(data, where));
}

std::size_t Socket::recv_from(std::span<std::byte> buf, Address& from, SourceLocation where) {
  SocketState& s = detail::state(s_, "recv_from");
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  const auto n = detail::retry(s, false, "recv_from", where, [&] {
    len = sizeof ss;
    return ::recvfrom(s.watch.fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&ss),
                      &len);
  });
  from = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  return static_cast<std::size_t>(n);
}

std::size_t Socket::send_to(std::string_view data, const Address& to, SourceLocation where) {
  SocketState& s = detail::state(s_, "send_to");
  return static_cast<std::size_t>(detail::retry(s, true, "send_to", where, [&] {
    return ::sendto(s.watch.fd, data.data(), data.size(), MSG_NOSIGNAL, to.data(), to.size());
  }));
}

void Socket::shutdown(int how) {
  if (::shutdown(detail::state(s_, "shutdown").watch.fd, how) != 0) {
    detail::throw_errno("shutdown");
  }
}

void Socket::close() noexcept {
  if (s_) s_->close();
}

namespace {
// The address getsockname or getpeername (`get`, named `what` in errors) reports for fd.
Address query_address(int fd, int (*get)(int, sockaddr*, socklen_t*), const char* what) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (get(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) detail::throw_errno(what);
  return Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}
}  // namespace

Address Socket::local_address() const {
  return query_address(detail::state(s_, "local_address").watch.fd, ::getsockname,
                       "getsockname");
}

Address Socket::peer_address() const {
  return query_address(detail::state(s_, "peer_address").watch.fd, ::getpeername,
                       "getpeername");
}

void Socket::set_reuse_address(bool on) {
  detail::set_flag(detail::state(s_, "SO_REUSEADDR").watch.fd, SOL_SOCKET, SO_REUSEADDR, on,
                   "setsockopt(SO_REUSEADDR)");
}
void Socket::set_reuse_port(bool on) {
  detail::set_flag(detail::state(s_, "SO_REUSEPORT").watch.fd, SOL_SOCKET, SO_REUSEPORT, on,
                   "setsockopt(SO_REUSEPORT)");
}
void Socket::set_nodelay(bool on) {
  detail::set_flag(detail::state(s_, "TCP_NODELAY").watch.fd, IPPROTO_TCP, TCP_NODELAY, on,
                   "setsockopt(TCP_NODELAY)");
}
void Socket::set_keepalive(bool on) {
  detail::set_flag(detail::state(s_, "SO_KEEPALIVE").watch.fd, SOL_SOCKET, SO_KEEPALIVE, on,
                   "setsockopt(SO_KEEPALIVE)");
}

}  // namespace spindle::io
