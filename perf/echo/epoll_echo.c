/* The baseline for bench_echo: a plain single-threaded epoll echo server in C, the way one
 * writes it by hand (level-triggered, one read and one write per readiness event). With a
 * reply, bench_http's C hello server: the same loop answering each request. */
#define _GNU_SOURCE 1 /* accept4 */
#include "epoll_echo.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* The requests (ends of headers) in buf[0, n). */
static int count_requests(const char* buf, ssize_t n) {
  int k = 0;
  for (const char* p = buf; (p = memmem(p, (size_t)(buf + n - p), "\r\n\r\n", 4)); p += 4) ++k;
  return k;
}

void epoll_echo_serve(int listen_fd, volatile int* stop) { epoll_reply_serve(listen_fd, 0, stop); }

void epoll_reply_serve(int listen_fd, const char* reply, volatile int* stop) {
  const size_t reply_len = reply ? strlen(reply) : 0;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = listen_fd};
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  struct epoll_event events[256];
  char buf[4096];
  char out[4096];
  while (!*stop) {
    int n = epoll_wait(ep, events, 256, 50);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd) {
        for (;;) {
          int c = accept4(listen_fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        close(fd);  /* also leaves the epoll set */
        continue;
      }
      const char* src = buf;
      if (reply) { /* one reply per request (a handful fit in `out`) */
        const int k = count_requests(buf, r);
        r = 0;
        for (int j = 0; j < k && (size_t)r + reply_len <= sizeof out; ++j) {
          memcpy(out + r, reply, reply_len);
          r += (ssize_t)reply_len;
        }
        src = out;
      }
      ssize_t done = 0;
      while (done < r) {
        ssize_t w = write(fd, src + done, (size_t)(r - done));
        if (w < 0 && errno == EAGAIN) continue; /* 64-byte echoes never fill the buffer */
        if (w < 0) break;
        done += w;
      }
    }
  }
  close(ep);
}
