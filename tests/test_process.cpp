// Subprocesses: exit statuses and signals, pipes and communicate() (10 MB both ways), stderr
// into stdout, environment and working directory, 200 children at once, a child closing its
// stdout early, a missing program, what a child inherits (fds, signal mask, SIGPIPE), and
// how cancellation and shutdown treat children.
#include <spindle_test.hpp>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using spindle::io::Process;
using spindle::io::Redirect;
using spindle::io::SubprocessOptions;

namespace {

SubprocessOptions piped(Redirect in = Redirect::Pipe, Redirect out = Redirect::Pipe,
                        Redirect err = Redirect::Pipe) {
  SubprocessOptions o;
  o.in = in;
  o.out = out;
  o.err = err;
  return o;
}

Process sh(const std::string& command, SubprocessOptions o = {}) {
  return spindle::io::create_subprocess_shell(command, std::move(o));
}

bool alive(int pid) { return ::kill(pid, 0) == 0; }

/// True once pid is gone, reaped (not even a zombie), within 10 s. Blocks the thread: only
/// for a killed child, which goes in milliseconds.
bool reaped_soon(int pid) {
  for (int i = 0; i < 1000 && alive(pid); ++i) std::this_thread::sleep_for(10ms);
  return !alive(pid);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(process)

SPINDLE_REALTIME_TEST_CASE(exit_statuses_and_signals) {
  Process ok = sh("exit 0");
  Process three = sh("exit 3");
  BOOST_TEST(three.wait() == 3);
  BOOST_TEST(three.returncode().value_or(-1) == 3);
  BOOST_TEST(three.wait() == 3);  // again: the same status
  BOOST_TEST(ok.wait() == 0);

  Process sleeper = spindle::io::create_subprocess_exec({"sleep", "10"});
  BOOST_TEST(sleeper.pid() > 0);
  BOOST_TEST(!sleeper.returncode().has_value());
  sleeper.kill();
  BOOST_TEST(sleeper.wait() == -SIGKILL);
  sleeper.kill();  // reaped already: nothing to signal, no error

  Process term = spindle::io::create_subprocess_exec({"sleep", "10"});
  term.terminate();
  BOOST_TEST(term.wait() == -SIGTERM);
}

SPINDLE_REALTIME_TEST_CASE(communicate_moves_ten_megabytes_each_way_without_deadlock) {
  std::string input(10 << 20, '\0');
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<char>('a' + i % 26);
  // cat writes as it reads: with 64 KiB pipes, only concurrent feeding and reading finish.
  Process cat = spindle::io::create_subprocess_exec({"cat"}, piped());
  auto [out, err] = cat.communicate(input);
  BOOST_TEST(out.size() == input.size());
  BOOST_TEST((out == input));
  BOOST_TEST(err.empty());
  BOOST_TEST(cat.returncode().value_or(-1) == 0);
  // And 10 MB on stderr while stdout is silent.
  Process loud = sh("head -c 10485760 /dev/zero >&2", piped(Redirect::DevNull));
  auto [none, noise] = loud.communicate();
  BOOST_TEST(none.empty());
  BOOST_TEST(noise.size() == 10u << 20);
}

SPINDLE_REALTIME_TEST_CASE(stderr_can_go_where_stdout_goes) {
  Process p = sh("echo out; echo err >&2; echo out again",
                 piped(Redirect::DevNull, Redirect::Pipe, Redirect::Stdout));
  BOOST_CHECK_THROW(p.stderr_pipe(), std::logic_error);
  BOOST_CHECK_THROW(p.stdin_pipe(), std::logic_error);
  BOOST_TEST(p.communicate().first == "out\nerr\nout again\n");
  BOOST_CHECK_THROW(sh("true", piped(Redirect::Stdout)), std::invalid_argument);
}

SPINDLE_REALTIME_TEST_CASE(environment_and_working_directory) {
  SubprocessOptions o = piped(Redirect::DevNull);
  o.env = std::map<std::string, std::string>{{"SPINDLE_X", "42"}, {"PATH", "/usr/bin:/bin"}};
  o.cwd = "/tmp";
  Process p = sh("echo \"$SPINDLE_X\"; pwd; echo \"home=$HOME\"", o);
  // The environment is replaced, not extended: HOME is gone.
  BOOST_TEST(p.communicate().first == "42\n/tmp\nhome=\n");
  SubprocessOptions bad;
  bad.cwd = "/no/such/directory";
  try {
    sh("true", bad);
    BOOST_FAIL("a missing working directory must fail");
  } catch (const std::system_error& e) {
    BOOST_TEST(e.code().value() == ENOENT);
    BOOST_TEST(std::string(e.what()).find("/no/such/directory") != std::string::npos, e.what());
  }
}

SPINDLE_REALTIME_TEST_CASE(two_hundred_children_at_once) {
  std::vector<spindle::Task<std::string>> children;
  for (int i = 0; i < 200; ++i) {
    children.push_back(spindle::spawn([i] {
      Process p = spindle::io::create_subprocess_exec(
          {"sh", "-c", "sleep 0.2; echo $0", std::to_string(i)},
          piped(Redirect::DevNull, Redirect::Pipe, Redirect::DevNull));
      return p.communicate().first;
    }));
  }
  const auto t0 = spindle::Loop::current().time();
  const std::vector<std::string> outs = spindle::gather(children);
  for (int i = 0; i < 200; ++i) BOOST_TEST(outs[i] == std::to_string(i) + "\n");
  BOOST_TEST((spindle::Loop::current().time() - t0 < 20s));  // concurrently, not 200 x 0.2 s
}

SPINDLE_REALTIME_TEST_CASE(a_child_that_closes_stdout_early) {
  Process p = sh("echo first; exec 1>&-; sleep 0.1; exit 7", piped(Redirect::DevNull));
  BOOST_TEST(p.stdout_pipe().read_line() == "first\n");
  BOOST_TEST(p.stdout_pipe().read().empty());  // end of stream while the child still runs
  BOOST_TEST(p.wait() == 7);
  // A child that exits without reading its input: communicate() is not an error.
  Process q = sh("exit 0", piped());
  BOOST_TEST(q.communicate(std::string(1 << 20, 'x')).first.empty());
}

SPINDLE_REALTIME_TEST_CASE(a_missing_program_is_enoent_naming_it) {
  try {
    spindle::io::create_subprocess_exec({"spindle-no-such-program", "arg"});
    BOOST_FAIL("a missing program must throw");
  } catch (const std::system_error& e) {
    BOOST_TEST(e.code().value() == ENOENT);
    BOOST_TEST(std::string(e.what()).find("spindle-no-such-program") != std::string::npos,
               e.what());
  }
  BOOST_CHECK_THROW(spindle::io::create_subprocess_exec({}), std::invalid_argument);
}

SPINDLE_REALTIME_TEST_CASE(a_child_inherits_only_the_three_standard_streams) {
  const int leaked = ::dup(1);  // not close-on-exec: a careless library's fd
  Process p = spindle::io::create_subprocess_exec(
      {"ls", "/proc/self/fd"}, piped(Redirect::DevNull, Redirect::Pipe, Redirect::DevNull));
  const std::string fds = p.communicate().first;
  ::close(leaked);
  BOOST_TEST(fds == "0\n1\n2\n3\n");  // 3 is ls's own handle on the directory
}

SPINDLE_REALTIME_TEST_CASE(a_child_gets_an_empty_signal_mask_and_default_sigpipe) {
  ::signal(SIGPIPE, SIG_IGN);  // as spindle's pipes leave it
  // wait_signal blocks SIGTERM in this thread; the child must not inherit that.
  auto listener = spindle::spawn([] { return spindle::io::wait_signal({SIGTERM}); });
  spindle::yield_now();
  Process p = spindle::io::create_subprocess_exec({"sleep", "10"});
  p.terminate();
  BOOST_TEST(spindle::with_timeout(5s, [&] { return p.wait(); }) == -SIGTERM);
  listener.cancel();
  BOOST_CHECK_THROW(listener.join(), spindle::CancelledError);
  // With SIGPIPE ignored, `yes` would complain on stderr about the broken pipe.
  Process q = sh("yes | head -c 1 > /dev/null", piped(Redirect::DevNull));
  BOOST_TEST(q.communicate().second.empty());
}

SPINDLE_REALTIME_TEST_CASE(a_cancelled_wait_leaves_the_child_running) {
  Process p = spindle::io::create_subprocess_exec({"sleep", "10"});
  BOOST_CHECK_THROW(spindle::with_timeout(50ms, [&] { return p.wait(); }), spindle::TimeoutError);
  BOOST_TEST(alive(p.pid()));
  BOOST_TEST(!p.returncode().has_value());
  p.kill();
  BOOST_TEST(p.wait() == -SIGKILL);
}

BOOST_AUTO_TEST_CASE(a_process_destroyed_while_running_is_killed_reaped_and_reported) {
  std::vector<std::string> reports;
  spindle::RunOptions opts;
  opts.exception_handler = [&](const spindle::ExceptionContext& c) { reports.push_back(c.message); };
  int destroyed = -1, orphaned = -1;
  spindle::run(
      [&] {
        {
          Process p = spindle::io::create_subprocess_exec({"sleep", "30"});
          destroyed = p.pid();
        }
        // Killed at once, and reaped by a thread of its own (dying takes the kernel a moment,
        // which the loop does not wait for): not even a zombie is left.
        BOOST_TEST(reaped_soon(destroyed));
        // run()'s shutdown cancels this task; its Process goes with it.
        spindle::spawn([&] {
          Process p = spindle::io::create_subprocess_exec({"sleep", "30"});
          orphaned = p.pid();
          p.wait();
        });
        spindle::sleep(50ms);
      },
      opts);
  BOOST_TEST(orphaned > 0);
  BOOST_TEST(reaped_soon(orphaned));
  BOOST_TEST_REQUIRE(reports.size() == 2u);
  BOOST_TEST(reports[0].find(std::to_string(destroyed) + " (sleep) was still running") !=
             std::string::npos, reports[0]);
  BOOST_TEST(reports[1].find(std::to_string(orphaned)) != std::string::npos, reports[1]);
}

BOOST_AUTO_TEST_SUITE_END()
