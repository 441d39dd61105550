// Subprocesses. posix_spawnp starts the child (vfork-like, safe from a fiber: glibc runs the
// child on a stack of its own) with file actions that set up its standard streams, close
// every other fd, and its working directory; attributes give it an empty signal mask (a loop
// thread may block signals for wait_signal) and default SIGPIPE/SIGXFSZ (spindle ignores
// SIGPIPE). A pidfd, opened right after the spawn (the child cannot be reaped by anyone else
// before), is registered with the reactor like a socket: it becomes readable when the child
// exits, and waitid(P_PIDFD) reaps it. Where there are no pidfds (Linux before 5.3, valgrind
// 3.19), wait() looks every 10 ms instead. Every child is reaped: by wait(), by returncode()
// once it has exited, or by ~Process(), which kills it first if it still runs.
#include <spindle/errors.hpp>
#include <spindle/gather.hpp>
#include <spindle/io/pipe.hpp>
#include <spindle/io/process.hpp>
#include <spindle/loop.hpp>
#include <spindle/sleep.hpp>
#include <spindle/task.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "../../fibers/src/loop_core.hpp"
#include "off_loop.hpp"
#include "socket_state.hpp"
#include "syscall.hpp"

#ifndef P_PIDFD
#define P_PIDFD 3  // Linux 5.4+; glibc's headers may lack it
#endif

namespace spindle::io {
namespace detail {

struct ProcessState {
  pid_t pid = -1;
  std::string program;  // argv[0], for messages
  Socket pidfd;         // readable once the child has exited; closed once it is reaped
  std::optional<int> status;
  std::optional<Stream> in, out, err;

  /// Reaps the child if it has exited (or, with `block`, once it has); true once reaped.
  bool try_reap(bool block = false) {
    if (status) return true;
    siginfo_t info{};
    const int r = retry_eintr([&] {
      // A pidfd is non-blocking: waitid on it would not wait; by pid it does.
      return pidfd ? ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd.fd()),
                              &info, WEXITED | WNOHANG)
                   : ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | (block ? 0 : WNOHANG));
    });
    if (r != 0) throw_errno(errno, "waitid for " + program);
    if (info.si_pid == 0) return false;  // still running
    status = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
    pidfd.close();
    return true;
  }

  void signal(int sig) {
    const long r = pidfd ? ::syscall(SYS_pidfd_send_signal, pidfd.fd(), sig, nullptr, 0)
                         : ::kill(pid, sig);  // not reaped yet: the pid is still the child's
    if (r != 0 && errno != ESRCH) throw_errno(errno, "send_signal to " + program);
  }

  /// Reaps the killed child on a thread of its own: dying takes the kernel a moment (a child
  /// in the disk's uninterruptible sleep, an unbounded one), and the loop waits for nobody.
  void reap_elsewhere() {
    if (pidfd) {
      const int fd = ::fcntl(pidfd.fd(), F_DUPFD_CLOEXEC, 0);
      if (fd < 0) throw_errno(errno, "dup of the pidfd of " + program);
      pidfd.close();
      std::thread([fd] {
        pollfd exited{fd, POLLIN, 0};  // (readable once it has exited)
        retry_eintr([&] { return ::poll(&exited, 1, -1); });
        siginfo_t info{};
        ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(fd), &info, WEXITED | WNOHANG);
        ::close(fd);
      }).detach();
    } else {
      std::thread([pid = pid] {
        siginfo_t info{};
        retry_eintr([&] { return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED); });
      }).detach();
    }
  }

  ~ProcessState() {
    if (status || pid < 0) return;
    bool running = false;
    try {
      running = !try_reap();
    } catch (const std::system_error&) {
      return;  // nothing to reap
    }
    if (!running) return;
    try {
      signal(SIGKILL);
      reap_elsewhere();
    } catch (const std::system_error&) {
    }
    const ExceptionContext ctx{"process " + std::to_string(pid) + " (" + program +
                                   ") was still running when its Process went away: killed",
                               nullptr, ""};
    if (auto* loop = spindle::detail::LoopCore::current_or_null()) {
      loop->call_exception_handler(ctx);
    } else {
      Loop::default_exception_handler(ctx);
    }
  }
};

namespace {

/// The file descriptor the child's stream `target` (0, 1, 2) gets for a redirection, and the
/// parent's end of a pipe.
struct ChildEnd {
  int child_fd = -1;                 // dup2'd onto target in the child; -1: inherit
  std::optional<Stream> parent_end;  // a pipe's other end
  int owned = -1;                    // an fd to close in the parent after the spawn
};

ChildEnd redirect(Redirect r, int target) {
  ChildEnd e;
  if (r == Redirect::Inherit) return e;
  if (r == Redirect::DevNull) {
    e.child_fd = e.owned = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (e.child_fd < 0) throw_errno("open /dev/null");
    return e;
  }
  ignore_sigpipe();  // a child that stops reading its stdin: EPIPE, not our death
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  const bool child_reads = target == 0;
  e.child_fd = e.owned = fds[child_reads ? 0 : 1];
  try {
    e.parent_end.emplace(Socket::adopt(fds[child_reads ? 1 : 0]));  // non-blocking, ours only
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  return e;
}

/// Closes the parent's copies of the child's ends when the spawn is done (or failed).
struct Closer {
  ChildEnd* ends;
  ~Closer() {
    for (int i = 0; i < 3; ++i) {
      if (ends[i].owned >= 0) ::close(ends[i].owned);
    }
  }
};

/// Throws what posix_spawnp would report for a program that cannot run or a working
/// directory that does not exist, checked beforehand: where the spawn is emulated (valgrind),
/// the child's exec failure would otherwise go unreported.
void check_runnable(const std::string& program, const std::string& cwd) {
  const std::string what = "create_subprocess_exec: cannot run '" + program + "'";
  if (!cwd.empty() && ::access(cwd.c_str(), X_OK) != 0) throw_errno(errno, what + " in '" + cwd + "'");
  if (program.find('/') != std::string::npos) {
    if (::access(program.c_str(), X_OK) != 0) throw_errno(errno, what);
    return;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = end > start ? dirs.substr(start, end - start) : ".";
    if (::access((dir + "/" + program).c_str(), X_OK) == 0) return;
    start = end + 1;
  }
  throw_errno(ENOENT, what);
}

std::vector<std::string> environment(const SubprocessOptions& o) {
  std::vector<std::string> env;
  if (o.env) {
    for (const auto& [k, v] : *o.env) env.push_back(k + "=" + v);
  }
  return env;
}

}  // namespace
}  // namespace detail

Process create_subprocess_exec(std::vector<std::string> argv, SubprocessOptions options,
                               SourceLocation) {
  if (argv.empty()) throw std::invalid_argument("create_subprocess_exec: empty argv");
  if (options.in == Redirect::Stdout || options.out == Redirect::Stdout) {
    throw std::invalid_argument("create_subprocess_exec: Redirect::Stdout is for stderr only");
  }
  // access() on every PATH entry (a network mount among them can hang): off the loop.
  detail::off_loop([program = argv[0], cwd = options.cwd] { detail::check_runnable(program, cwd); });
  detail::ChildEnd ends[3] = {detail::redirect(options.in, 0), detail::redirect(options.out, 1),
                              detail::redirect(options.err == Redirect::Stdout
                                                   ? Redirect::Inherit : options.err, 2)};
  const detail::Closer closer{ends};

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  struct Cleanup {
    posix_spawn_file_actions_t* fa;
    posix_spawnattr_t* attr;
    ~Cleanup() {
      posix_spawn_file_actions_destroy(fa);
      posix_spawnattr_destroy(attr);
    }
  } cleanup{&fa, &attr};
  for (int target = 0; target < 3; ++target) {
    if (ends[target].child_fd >= 0) posix_spawn_file_actions_adddup2(&fa, ends[target].child_fd, target);
  }
  if (options.err == Redirect::Stdout) posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // only the three standard streams
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, options.cwd.c_str());
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGXFSZ);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_strings = detail::environment(options);
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);

  pid_t pid = -1;
  const int err = ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(),
                                 options.env ? env.data() : environ);
  if (err != 0) {
    std::string what = "create_subprocess_exec: cannot run '" + argv[0] + "'";
    if (!options.cwd.empty()) what += " in '" + options.cwd + "'";
    detail::throw_errno(err, what);
  }
  auto s = std::make_unique<detail::ProcessState>();
  s->pid = pid;
  s->program = argv[0];
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    s->pidfd = Socket::adopt(pidfd);  // pidfds are close-on-exec already
  } else if (errno != ENOSYS) {
    // Out of fds, say: do not leave a zombie behind.
    const int e = errno;
    ::kill(pid, SIGKILL);
    detail::retry_eintr([&] { return ::waitpid(pid, nullptr, 0); });
    detail::throw_errno(e, "pidfd_open for " + argv[0]);
  }  // else no pidfds here: wait() polls
  s->in = std::move(ends[0].parent_end);
  s->out = std::move(ends[1].parent_end);
  s->err = std::move(ends[2].parent_end);
  return Process(std::move(s));
}

Process create_subprocess_shell(std::string command, SubprocessOptions options,
                                SourceLocation where) {
  return create_subprocess_exec({"/bin/sh", "-c", std::move(command)}, std::move(options), where);
}

// --- Process -----------------------------------------------------------------------------------

Process::Process(std::unique_ptr<detail::ProcessState> s) noexcept : s_(std::move(s)) {}
Process::Process(Process&&) noexcept = default;
Process& Process::operator=(Process&&) noexcept = default;
Process::~Process() = default;

int Process::pid() const noexcept { return s_->pid; }

namespace {
Stream& pipe_or_throw(std::optional<Stream>& s, const char* name) {
  if (!s) {
    throw std::logic_error(std::string("Process::") + name +
                           "(): that stream was not redirected with Redirect::Pipe");
  }
  return *s;
}
}  // namespace

Stream& Process::stdin_pipe() { return pipe_or_throw(s_->in, "stdin_pipe"); }
Stream& Process::stdout_pipe() { return pipe_or_throw(s_->out, "stdout_pipe"); }
Stream& Process::stderr_pipe() { return pipe_or_throw(s_->err, "stderr_pipe"); }

std::optional<int> Process::returncode() {
  s_->try_reap();
  return s_->status;
}

int Process::wait(SourceLocation where) {
  while (!s_->try_reap()) {
    if (!s_->pidfd) {  // no pidfds on this system: look again shortly
      spindle::sleep(std::chrono::milliseconds(10), where);
      continue;
    }
    // Readable once the child exits: park on the pidfd's epoll edge, then reap.
    detail::SocketState& fd = detail::SocketAccess::state(s_->pidfd, "Process::wait");
    fd.watch.readable = false;
    detail::wait_ready(fd, false, "Process::wait", where);
  }
  return *s_->status;
}

std::pair<std::string, std::string> Process::communicate(std::string_view input,
                                                         SourceLocation where) {
  auto drain = [where](std::optional<Stream>& s) {
    std::string all;
    if (!s) return all;
    for (std::string part = s->read(64 * 1024, where); !part.empty(); part = s->read(64 * 1024, where)) {
      all += part;
    }
    return all;
  };
  auto [fed, out, err] = spindle::gather(
      [&] {
        if (!s_->in) return 0;
        try {
          s_->in->write(input, where);
          s_->in->drain(where);
        } catch (const std::system_error& e) {
          // A child that exits without reading all its input: not an error (asyncio too).
          if (e.code().value() != EPIPE && e.code().value() != ECONNRESET) throw;
        }
        s_->in->close();
        return 0;
      },
      [&] { return drain(s_->out); }, [&] { return drain(s_->err); });
  wait(where);
  return {std::move(out), std::move(err)};
}

void Process::send_signal(int sig) {
  if (s_->try_reap()) return;  // exited and reaped: nobody to signal
  s_->signal(sig);
}

}  // namespace spindle::io
