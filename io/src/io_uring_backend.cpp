// IoUringBackend: see io_uring_backend.hpp.
#include "io_uring_backend.hpp"

#include <poll.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <spindle/detail/introspect.hpp>

#include "syscall.hpp"

namespace spindle::io::detail {

using spindle::detail::LoopCore;
using spindle::detail::TimerEntry;
using spindle::detail::Waiter;
using spindle::detail::WakeReason;

namespace {

// Submission entries: how many operations one io_uring_enter can start. The completion
// queue is as large as the kernel allows (65,536 entries, 1 MiB); what overflows it the
// kernel keeps until there is room (IORING_FEAT_NODROP), so 100,000 connections whose
// receives all complete in one poll lose nothing.
constexpr unsigned kSqEntries = 4096;
constexpr unsigned kCqEntries = 64 * 1024;

// user_data of completions that belong to no task.
constexpr std::uint64_t kIgnore = 0;  // an ASYNC_CANCEL's own completion
constexpr std::uint64_t kWakeup = 1;  // the eventfd's multishot poll

// The operations spindle submits; a kernel without one of them is not used.
constexpr int kNeededOps[] = {
    IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL, IORING_OP_READ,  IORING_OP_WRITE,
    IORING_OP_FSYNC,    IORING_OP_OPENAT,       IORING_OP_STATX, IORING_OP_CLOSE,
};

[[noreturn]] void fail_setup(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), "io_uring: " + what);
}

}  // namespace

IoUringBackend::IoUringBackend() {
  io_uring_params p{};
  // The loop's thread is the only submitter, and completions are wanted only when it asks
  // for them: no task work interrupts it (Linux 6.1). Older kernels get the plain ring.
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
            IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  p.cq_entries = kCqEntries;
  int r = io_uring_queue_init_params(kSqEntries, &ring_, &p);
  if (r == -EINVAL) {
    p = {};
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    p.cq_entries = kCqEntries;
    r = io_uring_queue_init_params(kSqEntries, &ring_, &p);
  }
  if (r < 0) fail_setup(-r, "io_uring_setup");
  try {
    if (!(p.features & IORING_FEAT_EXT_ARG)) {
      fail_setup(ENOTSUP, "the kernel lacks IORING_FEAT_EXT_ARG (Linux 5.11)");
    }
    if (!(p.features & IORING_FEAT_NODROP)) {
      fail_setup(ENOTSUP, "the kernel lacks IORING_FEAT_NODROP (Linux 5.5)");
    }
    std::unique_ptr<io_uring_probe, void (*)(io_uring_probe*)> probe(
        io_uring_get_probe_ring(&ring_), io_uring_free_probe);
    if (!probe) fail_setup(ENOTSUP, "the kernel cannot be probed for operations (Linux 5.6)");
    for (int op : kNeededOps) {
      if (!io_uring_opcode_supported(probe.get(), op)) {
        fail_setup(ENOTSUP, "the kernel lacks operation " + std::to_string(op));
      }
    }
    eventfd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (eventfd_ < 0) fail_setup(errno, "eventfd");
    arm_wakeup();
  } catch (...) {
    if (eventfd_ >= 0) ::close(eventfd_);
    io_uring_queue_exit(&ring_);
    throw;
  }
  uring_ = this;
}

IoUringBackend::~IoUringBackend() {
  detach_all();
  // Writes of streams that outlive the loop: what the kernel takes at once goes out (as
  // epoll's send would have sent it), a few rounds of completions submitting what was queued
  // behind; what a peer does not take is cancelled with the ring.
  for (int i = 0; i < 8 && sends_in_flight > orphans; ++i) poll(Clock::now());
  // Sends of closed streams still in flight read memory of their own: let them end (they
  // were cancelled; a few milliseconds at most), so it is freed after the kernel is done.
  for (int i = 0; orphans > 0 && i < 1000; ++i) poll(Clock::now() + std::chrono::milliseconds(1));
  // Every task's operation completed before its task ended; what remains (the eventfd's
  // poll) holds no memory of ours. Closing the ring cancels it; the kernel lets go of the
  // provided buffers with the ring.
  io_uring_queue_exit(&ring_);
  ::close(eventfd_);
  if (buf_ring_) {
    ::munmap(buf_base_, kBufCount * kBufSize);
    ::munmap(buf_ring_, buf_ring_bytes_);
  }
}

io_uring_sqe* IoUringBackend::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (!s) [[unlikely]] {
    const int r = io_uring_submit(&ring_);  // full: start what is queued
    if (r < 0) throw std::system_error(-r, std::generic_category(), "io_uring_submit");
    s = io_uring_get_sqe(&ring_);
    if (!s) throw std::system_error(EBUSY, std::generic_category(), "io_uring: submission queue full");
  }
  return s;
}

void IoUringBackend::arm_wakeup() {
  io_uring_sqe* s = sqe();
  io_uring_prep_poll_multishot(s, eventfd_, POLLIN);
  io_uring_sqe_set_data64(s, kWakeup);
}

void IoUringBackend::wake() noexcept {
  if (woken_.exchange(true, std::memory_order_acq_rel)) return;  // a wake-up is pending
  spindle::detail::count_reactor_wakeup();
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(eventfd_, &one, sizeof one);
}

void IoUringBackend::cancel(UringOp& op) noexcept {
  // Cannot fail short of the kernel refusing every submission: then the operation's memory
  // would be at the kernel's mercy, and there is no safe way on.
  io_uring_sqe* s;
  try {
    s = sqe();
  } catch (...) {
    std::terminate();
  }
  io_uring_prep_cancel64(s, reinterpret_cast<std::uint64_t>(&op), 0);
  io_uring_sqe_set_data64(s, kIgnore);
}

void IoUringBackend::complete(const io_uring_cqe& c) noexcept {
  if (c.user_data == kIgnore) return;
  if (c.user_data == kWakeup) {
    std::uint64_t count;
    [[maybe_unused]] auto r = ::read(eventfd_, &count, sizeof count);
    woken_.store(false, std::memory_order_release);
    if (!(c.flags & IORING_CQE_F_MORE)) {  // the kernel ended the multishot poll: renew it
      try {
        arm_wakeup();
      } catch (...) {
        std::terminate();  // without it, other threads could never wake this loop
      }
    }
    return;
  }
  auto& op = *reinterpret_cast<UringOp*>(c.user_data);
  op.res = c.res;
  op.flags = c.flags;
  op.done = true;
  if (op.on_complete) {
    op.on_complete(op);  // may free op
    return;
  }
  if (FdWatch* w = op.watch; w && op.poll) {
    const auto ev = static_cast<std::uint32_t>(c.res);
    if (c.res < 0) {
      // The poll failed (the fd is bad, or it was cancelled): let the operation that
      // follows find out what is wrong.
      if (c.res != -ECANCELED) w->readable = w->writable = true;
    } else {
      if (ev & (POLLRDHUP | POLLHUP | POLLERR)) w->hup = true;
      if (ev & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) w->readable = true;
      if (ev & (POLLOUT | POLLHUP | POLLERR)) w->writable = true;
    }
  }
  if (FdWatch* w = op.watch) {
    if (w->reader == &op) w->reader = nullptr;
    if (w->writer == &op) w->writer = nullptr;
  }
  if (op.task && op.task->parked_on_ == &op) {
    LoopCore& loop = *op.task->loop_;
    if (op.deadline.queued()) loop.timers().remove(op.deadline);
    loop.wake(op, WakeReason::Granted);
  }
}

void IoUringBackend::poll(std::optional<Clock::time_point> deadline) {
  give_back();  // every task that borrowed one has parked since: the data was copied out
  if (!deadline) {
    io_uring_submit_and_wait(&ring_, 1);
  } else {
    const auto now = Clock::now();
    if (*deadline <= now) {
      io_uring_submit_and_get_events(&ring_);
    } else {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*deadline - now).count();
      __kernel_timespec ts{};
      ts.tv_sec = ns / 1000000000;
      ts.tv_nsec = ns % 1000000000;
      io_uring_cqe* first = nullptr;
      io_uring_submit_and_wait_timeout(&ring_, &first, 1, &ts, nullptr);
    }
  }
  // Errors above (EINTR, ETIME at the deadline, EBUSY with the queue backed up) need no
  // handling: the loop looks again, and whatever completed is taken below.
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    complete(*cqe);
    ++seen;
  }
  io_uring_cq_advance(&ring_, seen);
}

WakeReason IoUringBackend::await(UringOp& op, bool interruptible,
                                 const Clock::time_point* deadline, const char* what,
                                 SourceLocation where) {
  LoopCore& loop = LoopCore::require();
  if (op.submit_now) io_uring_submit(&ring_);
  op.detach = nullptr;
  if (interruptible) {
    // Cancellation, timeout: leave the timer. The op stays in its watch's slot until its
    // completion, so that a close() meanwhile still finds it and cancels it before the fd
    // goes (the kernel holds the file while the op is in flight).
    op.detach = [](Waiter& x) noexcept {
      auto& me = static_cast<UringOp&>(x);
      if (me.deadline.queued()) me.task->loop_->timers().remove(me.deadline);
    };
  }
  if (deadline) loop.wake_at(op.deadline, op, *deadline);
  ++loop.io_waiters_;
  const WakeReason r = loop.park(op, what, where);
  if (!op.done) {
    // Woken before the kernel was done (cancelled, timed out, or the fd closed): the
    // kernel may still write into memory of this frame. Cancel and wait for its answer.
    // Submitted at once: an op still queued would look its fd number up only when
    // submitted, and the number may be another file's by then.
    cancel(op);
    io_uring_submit(&ring_);
    op.detach = nullptr;  // not interruptible now
    while (!op.done) loop.park(op, what, where);
  }
  --loop.io_waiters_;
  if (op.deadline.queued()) loop.timers().remove(op.deadline);
  return r;
}

void IoUringBackend::add(FdWatch& w) {
  w.reactor = this;
  watches_.push_back(w);
}

void IoUringBackend::add_level(FdWatch& w, Interest) {
  w.reactor = this;
  w.level = true;
  watches_.push_back(w);
}

void IoUringBackend::abandon(UringOp& op) noexcept {
  io_uring_submit(&ring_);
  cancel(op);
  io_uring_submit_and_get_events(&ring_);
}

void IoUringBackend::remove(FdWatch& w) noexcept {
  w.reactor = nullptr;
  w.ListHook<WatchTag>::unlink();
  Waiter* reader = std::exchange(w.reader, nullptr);
  Waiter* writer = std::exchange(w.writer, nullptr);
  if (writer == reader) writer = nullptr;  // (one task waiting for either direction)
  if (!reader && !writer) return;
  // The caller closes the fd next. An operation still in the submission queue would find
  // its fd number when submitted, perhaps reused by then: submit it now, while the number
  // is still this file's. Then cancel what is in flight; each task wakes when the kernel
  // answers (the op keeps what it did, or ends with -ECANCELED, `closed` telling why).
  io_uring_submit(&ring_);
  for (Waiter* parked : {reader, writer}) {
    if (!parked) continue;
    auto& op = *static_cast<UringOp*>(parked);
    op.watch = nullptr;  // the watch may be freed once this returns
    op.closed = true;
    cancel(op);
  }
  // Have the kernel cancel them now and let go of the file, so that the close(2) that
  // follows really closes it (a listener stops accepting, a peer sees the end).
  io_uring_submit_and_get_events(&ring_);
}

WakeReason IoUringBackend::wait(FdWatch& w, Interest interest, const Clock::time_point* deadline,
                                const char* what, SourceLocation where) {
  check_can_wait(w, interest, what);
  const bool reads = interest != Interest::write, writes = interest != Interest::read;
  unsigned mask = 0;
  if (reads) mask |= POLLIN | POLLRDHUP;
  if (writes) mask |= POLLOUT;
  UringOp op;
  op.watch = &w;
  op.poll = true;
  io_uring_sqe* s = sqe();
  io_uring_prep_poll_add(s, w.fd, mask);
  io_uring_sqe_set_data(s, &op);
  if (reads) w.reader = &op;
  if (writes) w.writer = &op;
  const WakeReason r = await(op, true, deadline, what, where);
  if (op.closed) return WakeReason::Error;
  return r;
}

bool IoUringBackend::buffers() {
  if (buffers_state_ != 0) return buffers_state_ > 0;
  buffers_state_ = -1;
  // The ring of buffer ids and the buffers: mapped, not touched; a buffer costs memory once
  // data has landed in it.
  buf_ring_bytes_ = kBufCount * sizeof(io_uring_buf);
  void* ring_mem = ::mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ring_mem == MAP_FAILED) return false;
  void* bufs = ::mmap(nullptr, kBufCount * kBufSize, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (bufs == MAP_FAILED) {
    ::munmap(ring_mem, buf_ring_bytes_);
    return false;
  }
  buf_ring_ = static_cast<io_uring_buf_ring*>(ring_mem);
  buf_base_ = static_cast<char*>(bufs);
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(buf_ring_);
  reg.ring_entries = kBufCount;
  reg.bgid = kBufGroup;
  if (io_uring_register_buf_ring(&ring_, &reg, 0) != 0) {  // before Linux 5.19
    ::munmap(buf_base_, kBufCount * kBufSize);
    ::munmap(buf_ring_, buf_ring_bytes_);
    buf_ring_ = nullptr;
    buf_base_ = nullptr;
    return false;
  }
  const int mask = io_uring_buf_ring_mask(kBufCount);
  for (unsigned i = 0; i < kBufCount; ++i) {
    io_uring_buf_ring_add(buf_ring_, buf_base_ + i * kBufSize, kBufSize,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(kBufCount));
  lent_.reserve(16);
  buffers_state_ = 1;
  return true;
}

std::span<const char> IoUringBackend::lend(const UringOp& op) {
  const auto bid = static_cast<std::uint16_t>(op.flags >> IORING_CQE_BUFFER_SHIFT);
  lent_.push_back(bid);
  return {buf_base_ + bid * kBufSize, op.res > 0 ? static_cast<std::size_t>(op.res) : 0};
}

void IoUringBackend::give_back() noexcept {
  if (lent_.empty()) return;
  const int mask = io_uring_buf_ring_mask(kBufCount);
  int i = 0;
  for (std::uint16_t bid : lent_) {
    io_uring_buf_ring_add(buf_ring_, buf_base_ + bid * kBufSize, kBufSize, bid, mask, i++);
  }
  io_uring_buf_ring_advance(buf_ring_, i);
  lent_.clear();
}

}  // namespace spindle::io::detail
