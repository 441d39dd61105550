/* The C baseline echo server (epoll_echo.c). */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* Serves echo on the listening, non-blocking `listen_fd` until *stop becomes non-zero. */
void epoll_echo_serve(int listen_fd, volatile int* stop);

#ifdef __cplusplus
}
#endif
