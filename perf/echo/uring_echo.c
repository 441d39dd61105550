/* The io_uring baseline for bench_echo: a single-threaded echo server in C written the way
 * liburing's examples recommend: multishot accept, one receive in flight per connection into
 * a buffer of its own, the echo sent from that buffer, every completion of a round handled
 * before one io_uring_enter submits the next round (DEFER_TASKRUN and SINGLE_ISSUER where
 * the kernel has them). With a reply, bench_http's io_uring C hello server: the same loop
 * answering each request from a buffer of its own. */
#define _GNU_SOURCE 1
#include "uring_echo.h"

#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kAccept = 1, kRecv = 2, kSend = 3 };
enum { kBuf = 4096 };

struct conn {
  int fd;
  char buf[kBuf];
  char out[kBuf];
};

/* The requests (ends of headers) in buf[0, n). */
static int count_requests(const char* buf, int n) {
  int k = 0;
  for (const char* p = buf; (p = memmem(p, (size_t)(buf + n - p), "\r\n\r\n", 4)); p += 4) ++k;
  return k;
}

static uint64_t tag(void* p, int kind) { return (uint64_t)(uintptr_t)p | (uint64_t)kind; }

static struct io_uring_sqe* get_sqe(struct io_uring* ring) {
  struct io_uring_sqe* s = io_uring_get_sqe(ring);
  if (!s) {
    io_uring_submit(ring);
    s = io_uring_get_sqe(ring);
  }
  return s;
}

static void post_recv(struct io_uring* ring, struct conn* c) {
  struct io_uring_sqe* s = get_sqe(ring);
  io_uring_prep_recv(s, c->fd, c->buf, kBuf, 0);
  io_uring_sqe_set_data64(s, tag(c, kRecv));
}

static void post_accept(struct io_uring* ring, int listen_fd) {
  struct io_uring_sqe* s = get_sqe(ring);
  io_uring_prep_multishot_accept(s, listen_fd, NULL, NULL, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, kAccept);
}

int uring_echo_serve(int listen_fd, volatile int* stop) {
  return uring_reply_serve(listen_fd, 0, stop);
}

int uring_reply_serve(int listen_fd, const char* reply, volatile int* stop) {
  const size_t reply_len = reply ? strlen(reply) : 0;
  struct io_uring ring;
  struct io_uring_params p = {0};
  p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
            IORING_SETUP_DEFER_TASKRUN;
  int r = io_uring_queue_init_params(4096, &ring, &p);
  if (r == -EINVAL) {
    struct io_uring_params q = {0};
    r = io_uring_queue_init_params(4096, &ring, &q);
  }
  if (r < 0) return r;
  post_accept(&ring, listen_fd);
  while (!*stop) {
    struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};
    struct io_uring_cqe* cqe;
    io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      const uint64_t data = cqe->user_data;
      const int kind = (int)(data & 7);
      struct conn* c = (struct conn*)(uintptr_t)(data & ~(uint64_t)7);
      if (data == kAccept) {
        if (cqe->res >= 0) {
          struct conn* n = malloc(sizeof *n);
          n->fd = cqe->res;
          post_recv(&ring, n);
        }
        if (!(cqe->flags & IORING_CQE_F_MORE)) post_accept(&ring, listen_fd);
      } else if (kind == kRecv) {
        if (cqe->res <= 0) {
          close(c->fd);
          free(c);
        } else {
          const char* src = c->buf;
          size_t len = (size_t)cqe->res;
          if (reply) { /* one reply per request (a handful fit in `out`) */
            const int k = count_requests(c->buf, cqe->res);
            len = 0;
            for (int j = 0; j < k && len + reply_len <= kBuf; ++j, len += reply_len) {
              memcpy(c->out + len, reply, reply_len);
            }
            src = c->out;
          }
          if (len == 0) {
            post_recv(&ring, c); /* (a request's start: wait for its end) */
          } else {
            struct io_uring_sqe* s = get_sqe(&ring);
            io_uring_prep_send(s, c->fd, src, len, MSG_NOSIGNAL);
            io_uring_sqe_set_data64(s, tag(c, kSend));
          }
        }
      } else if (kind == kSend) {
        if (cqe->res < 0) {
          close(c->fd);
          free(c);
        } else {
          post_recv(&ring, c); /* (64-byte echoes: a send is never short on loopback) */
        }
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
  io_uring_queue_exit(&ring);
  return 0;
}
