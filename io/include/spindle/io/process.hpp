// Subprocesses: create_subprocess_exec(), create_subprocess_shell(), Process.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/io/stream.hpp>
#include <spindle/source_location.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spindle::io {

/// Where a child's standard stream goes. asyncio: subprocess.PIPE, DEVNULL, STDOUT, None
enum class Redirect {
  Inherit,  ///< the parent's own stdin/stdout/stderr
  Pipe,     ///< a pipe to the parent: Process::stdin_pipe() and the like
  DevNull,  ///< /dev/null
  Stdout,   ///< for stderr only: wherever stdout goes
};

/// How to start a child. asyncio: create_subprocess_exec()'s keyword arguments
struct SubprocessOptions {
  Redirect in = Redirect::Inherit;
  Redirect out = Redirect::Inherit;
  Redirect err = Redirect::Inherit;
  /// The child's working directory; empty: the parent's.
  std::string cwd{};
  /// The child's whole environment; unset: the parent's.
  std::optional<std::map<std::string, std::string>> env{};
};

namespace detail {
struct ProcessState;
}

/// A child process started by create_subprocess_exec/shell. The child inherits only its
/// three standard streams (every other fd is closed in it), an empty signal mask and default
/// SIGPIPE handling. It is waited for through a pidfd on the loop's reactor: no SIGCHLD
/// handler, no thread, no effect on other code's children. Destroying a Process whose child
/// still runs kills (SIGKILL) and reaps it and reports that through the exception handler;
/// run()'s shutdown does this for the Processes its cancelled tasks own.
/// asyncio: asyncio.subprocess.Process
class SPINDLE_API Process {
 public:
  Process(Process&&) noexcept;
  Process& operator=(Process&&) noexcept;
  ~Process();

  int pid() const noexcept;
  /// The pipes of streams redirected with Redirect::Pipe. Throws std::logic_error for one
  /// that is not a pipe. asyncio: proc.stdin, proc.stdout, proc.stderr
  Stream& stdin_pipe();
  Stream& stdout_pipe();
  Stream& stderr_pipe();

  /// Parks until the child exits; returns its exit status, or minus the signal that killed
  /// it (Python's returncode). Cancellation: the child keeps running (with_timeout + kill()
  /// is the way to bound it). Throws std::system_error. asyncio: await proc.wait()
  int wait(SourceLocation where = SourceLocation::current());
  /// The status wait() returns, if the child has exited (looked up without waiting); unset
  /// while it runs. asyncio: proc.returncode
  std::optional<int> returncode();
  /// Writes `input` to stdin and closes it (if stdin is a pipe), reads stdout and stderr to
  /// their end (those that are pipes) at the same time, so no pipe fills up and deadlocks,
  /// then waits for the child. Returns {stdout, stderr} ("" for streams that are not pipes).
  /// A child that exits without reading its input is not an error. Cancellation: the child
  /// keeps running. Throws std::system_error. asyncio: await proc.communicate(input)
  std::pair<std::string, std::string> communicate(std::string_view input = {},
                                                  SourceLocation where = SourceLocation::current());
  /// Sends `sig` to the child; nothing once it has been waited for. Throws
  /// std::system_error. asyncio: proc.send_signal(sig)
  void send_signal(int sig);
  /// SIGTERM. asyncio: proc.terminate()
  void terminate() { send_signal(15); }
  /// SIGKILL. asyncio: proc.kill()
  void kill() { send_signal(9); }

  // Used by create_subprocess_exec().
  explicit Process(std::unique_ptr<detail::ProcessState> s) noexcept;

 private:
  std::unique_ptr<detail::ProcessState> s_;
};

/// Starts argv[0] (searched on PATH unless it contains a '/') with argv as its arguments.
/// Throws std::system_error naming the program (ENOENT if there is none, EACCES, ...),
/// std::invalid_argument for an empty argv or Redirect::Stdout outside `err`.
/// asyncio: asyncio.create_subprocess_exec(*argv, stdin=, stdout=, stderr=, cwd=, env=)
SPINDLE_API Process create_subprocess_exec(std::vector<std::string> argv,
                                           SubprocessOptions options = {},
                                           SourceLocation where = SourceLocation::current());
/// Runs `command` with /bin/sh -c. As create_subprocess_exec otherwise.
/// asyncio: asyncio.create_subprocess_shell(command, ...)
SPINDLE_API Process create_subprocess_shell(std::string command, SubprocessOptions options = {},
                                            SourceLocation where = SourceLocation::current());

}  // namespace spindle::io
