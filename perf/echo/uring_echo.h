/* The io_uring C baseline echo server (uring_echo.c). */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* Serves echo on the listening socket `listen_fd` through one io_uring until *stop becomes
 * non-zero. Returns 0, or -errno if the ring could not be set up. */
int uring_echo_serve(int listen_fd, volatile int* stop);
/* As uring_echo_serve, but answers each HTTP request (each "\r\n\r\n" received; a load
 * generator's requests arrive whole) with `reply` instead of echoing. */
int uring_reply_serve(int listen_fd, const char* reply, volatile int* stop);

#ifdef __cplusplus
}
#endif
