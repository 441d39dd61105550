/* The C baseline echo server (epoll_echo.c). */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* Serves echo on the listening, non-blocking `listen_fd` until *stop becomes non-zero. */
void epoll_echo_serve(int listen_fd, volatile int* stop);
/* As epoll_echo_serve, but answers each HTTP request (each "\r\n\r\n" received; a load
 * generator's requests arrive whole) with `reply` instead of echoing. */
void epoll_reply_serve(int listen_fd, const char* reply, volatile int* stop);

#ifdef __cplusplus
}
#endif
