// wait_signal(): block the signals, read them from a signalfd the loop waits on.
#include <spindle/io/signal.hpp>
#include <spindle/io/wait.hpp>

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "syscall.hpp"

namespace spindle::io {

int wait_signal(std::initializer_list<int> signals, SourceLocation where) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) detail::throw_errno("pthread_sigmask");
  const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) detail::throw_errno("signalfd");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  signalfd_siginfo info{};
  std::size_t got = 0;
  while (got < sizeof info) {
    const ssize_t n = ::read(fd, reinterpret_cast<char*>(&info) + got, sizeof info - got);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) detail::throw_errno("read(signalfd)");
    spindle::io::wait_readable(fd, where);
  }
  return static_cast<int>(info.ssi_signo);
}

}  // namespace spindle::io
