// Debugging aids: dump_tasks(), the dump signal, deadlock reports (who waits on whom),
// slow-task warnings, stack use, stack reuse and the guard fallbacks.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

#if defined(__SANITIZE_ADDRESS__)
#define SPINDLE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPINDLE_TEST_ASAN 1
#endif
#endif
#if defined(SPINDLE_TEST_ASAN)
constexpr bool kAsanBuild = true;
#else
constexpr bool kAsanBuild = false;
#endif
#if defined(__SANITIZE_THREAD__)
#define SPINDLE_TEST_TSAN 1  // TSan maps memory for every fiber: map counts mean nothing
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SPINDLE_TEST_TSAN 1
#endif
#endif

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The DeadlockError text of running main.
template <class F>
std::string deadlock_of(F main) {
  try {
    spindle::run(main, spindle_test::virtual_time());
  } catch (const spindle::DeadlockError& e) {
    return e.what();
  }
  BOOST_FAIL("a deadlock must throw DeadlockError");
  return {};
}

// Lines of /proc/self/maps: one per mapping.
std::size_t map_count() {
  std::ifstream f("/proc/self/maps");
  std::size_t n = 0;
  for (std::string line; std::getline(f, line);) ++n;
  return n;
}

// Resident set size in KiB.
long rss_kib() { return static_cast<long>(spindle_test::resident_bytes() / 1024); }

// Captures what is written to fd 2 while it lives.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    std::snprintf(path_, sizeof path_, "/tmp/spindle-test-stderr-XXXXXX");
    fd_ = ::mkostemp(path_, O_CLOEXEC);
    BOOST_REQUIRE(fd_ >= 0);
    saved_ = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
    ::dup2(fd_, 2);
  }
  ~StderrCapture() {
    restore();
    ::unlink(path_);
  }
  std::string text() {
    restore();
    std::ifstream f(path_);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    ::close(fd_);
    saved_ = -1;
  }
  char path_[64];
  int fd_ = -1;
  int saved_ = -1;
};

// Touches `bytes` (up to 64 KiB) of stack below the caller's frame; returns 1.
[[gnu::noinline]] int use_stack(std::size_t bytes) {
  volatile char buf[64 * 1024];
  const std::size_t n = bytes < sizeof buf ? bytes : sizeof buf;
  for (std::size_t i = 0; i < n; i += 512) buf[sizeof buf - 1 - i] = 1;
  return buf[sizeof buf - 1];
}

// True under valgrind, which preloads its own malloc.
bool under_valgrind() {
  const char* p = std::getenv("LD_PRELOAD");
  return p && std::string(p).find("vgpreload") != std::string::npos;
}



}  // namespace

BOOST_AUTO_TEST_SUITE(debug)

BOOST_AUTO_TEST_CASE(dump_tasks_lists_state_site_time_parked_and_stack) {
  std::string dump;
  spindle::run(
      [&] {
        spindle::Lock lock;
        lock.lock();
        auto waiter = spindle::spawn(spindle::TaskOptions{.name = "waiter"}, [&] {
          lock.lock();  // the site dump_tasks must name
          lock.unlock();
        });
        auto sleeper =
            spindle::spawn(spindle::TaskOptions{.name = "sleeper", .stack_size = 64 * 1024},
                           [] { spindle::sleep(1h); });
        auto fresh = spindle::spawn(spindle::TaskOptions{.name = "fresh"}, [] {});
        spindle::sleep(2500ms);  // waiter and sleeper park; fresh has finished
        auto late = spindle::spawn(spindle::TaskOptions{.name = "late"}, [] {});
        std::ostringstream out;
        spindle::dump_tasks(out);
        dump = out.str();
        lock.unlock();  // hands the lock to waiter ...
        waiter.join();  // ... which must finish before `lock` goes out of scope
        sleeper.cancel();
        BOOST_CHECK_THROW(sleeper.join(), spindle::CancelledError);
        late.join();
      },
      spindle_test::virtual_time());
  BOOST_TEST_MESSAGE(dump);
  BOOST_TEST(contains(dump, "Task-1: running; stack 128 KiB, "));
  BOOST_TEST(contains(dump, "waiter: parked in Lock::lock at "));
  BOOST_TEST(contains(dump, "test_debug.cpp:"));
  BOOST_TEST(contains(dump, ", held by Task-1, for 2500 ms; stack 128 KiB"));
  BOOST_TEST(contains(dump, "sleeper: parked in sleep at "));
  BOOST_TEST(contains(dump, ", for 2500 ms; stack 64 KiB, "));
  BOOST_TEST(contains(dump, "late: scheduled (not started)"));
  BOOST_TEST(!contains(dump, "fresh"));  // finished tasks are not listed
  BOOST_CHECK_THROW(spindle::dump_tasks(std::cout), std::logic_error);
}

BOOST_AUTO_TEST_CASE(stats_counts_tasks_by_state_and_call_timers_switches_and_stacks) {
  spindle::LoopStats before, during, after;
  spindle::run(
      [&] {
        before = spindle::stats();
        spindle::Lock lock;
        spindle::Event never;
        lock.lock();
        std::vector<spindle::Task<void>> tasks;
        for (int i = 0; i < 3; ++i) tasks.push_back(spindle::spawn([] { spindle::sleep(1h); }));
        tasks.push_back(spindle::spawn([&] { lock.lock(); lock.unlock(); }));
        tasks.push_back(spindle::spawn([&] { never.wait(); }));
        auto fresh = spindle::spawn([] {});
        spindle::yield_now();  // the five park; `fresh` finishes
        auto late = spindle::spawn([] {});
        during = spindle::stats();
        lock.unlock();
        for (auto& t : tasks) t.cancel();
        for (auto& t : tasks) BOOST_CHECK_THROW(t.join(), spindle::CancelledError);
        late.join();
        fresh.join();
        after = spindle::stats();
      },
      spindle_test::virtual_time());
  BOOST_TEST(before.tasks_alive == 1u);  // the main task
  BOOST_TEST(before.tasks_parked == 0u);
  BOOST_TEST(during.loop_index == 0u);
  BOOST_TEST(during.tasks_alive == 7u);  // main, five parked, late
  BOOST_TEST(during.tasks_parked == 5u);
  BOOST_TEST(during.tasks_ready == 1u);  // late, not started
  BOOST_TEST(during.tasks_started == 8u);
  BOOST_TEST(during.tasks_finished == 1u);  // fresh
  std::map<std::string, std::size_t> by_call(during.parked_by_call.begin(),
                                             during.parked_by_call.end());
  BOOST_TEST(by_call.size() == 3u);
  BOOST_TEST(by_call["sleep"] == 3u);
  BOOST_TEST(by_call["Lock::lock"] == 1u);
  BOOST_TEST(by_call["Event::wait"] == 1u);
  BOOST_TEST(during.timers == 3u);  // the three sleeps
  BOOST_TEST(during.switches > before.switches);
  BOOST_TEST(during.stacks_in_use == 7u);
  BOOST_TEST(during.stack_bytes_mapped >= 7u * 128 * 1024);
  BOOST_TEST(during.stack_bytes_touched > 0u);
  BOOST_TEST(during.stack_bytes_touched <= during.stack_bytes_mapped);
  BOOST_TEST(after.tasks_alive == 1u);
  BOOST_TEST(after.tasks_parked == 0u);
  BOOST_TEST(after.timers == 0u);
  BOOST_TEST(after.tasks_finished == 7u);
  BOOST_TEST(after.stacks_in_use == 1u);
  BOOST_TEST(after.stacks_cached >= 6u);
  BOOST_CHECK_THROW(spindle::stats(), std::logic_error);
}

BOOST_AUTO_TEST_CASE(stats_of_each_loop_of_a_group_through_call_on) {
  std::vector<spindle::LoopStats> seen(2);
  spindle::run_threads(2, [&](unsigned index) {
    if (index != 0) {
      spindle::sleep(50ms);
      return;
    }
    for (const spindle::LoopRef& l : spindle::loops())
      seen[l.index()] = spindle::call_on(l, [] { return spindle::stats(); });
  });
  BOOST_TEST(seen[0].loop_index == 0u);
  BOOST_TEST(seen[1].loop_index == 1u);
  BOOST_TEST(seen[1].tasks_parked >= 1u);  // its main, asleep
}

BOOST_AUTO_TEST_CASE(stack_use_is_exact_when_tracked) {
  spindle::RunOptions opts = spindle_test::virtual_time();
  opts.track_stack_use = true;
  spindle::run(
      [] {
        auto deep = spindle::spawn([] { return use_stack(40 * 1024); });
        deep.join();
        const std::size_t deep_used = deep.stack_used();
        BOOST_TEST(deep_used >= 40u * 1024);
        BOOST_TEST(deep_used <= 96u * 1024);  // the frame, plus redzones under ASan
        // The next task reuses that stack; tracking measures it afresh.
        auto shallow = spindle::spawn([] {
          spindle::yield_now();
          return 1;
        });
        spindle::yield_now();
        BOOST_TEST(shallow.stack_used() < 16u * 1024);  // measured while it is parked
        shallow.join();
        BOOST_TEST(shallow.stack_used() < 16u * 1024);
        BOOST_TEST(shallow.stack_size() == 128u * 1024);
      },
      std::move(opts));
  BOOST_TEST(spindle::detail::stacks_in_use() == 0u);
}

BOOST_AUTO_TEST_CASE(untracked_stack_use_is_an_upper_bound) {
  if (spindle_test::env_debug()) return;  // debug mode tracks stack use
  spindle::run([] {
    spindle::spawn([] { return use_stack(40 * 1024); }).join();
    auto t = spindle::spawn([] { spindle::yield_now(); });
    spindle::yield_now();
    // Same stack, not given back to the kernel: the earlier task's pages still count.
    BOOST_TEST(t.stack_used() >= 40u * 1024);
    t.join();
    BOOST_TEST(t.stack_used() == 0u);  // not tracked: nothing recorded at the end
  });
}

BOOST_AUTO_TEST_CASE(deadlock_on_each_others_events_lists_both_tasks) {
  const std::string msg = deadlock_of([] {
    spindle::Event ready_a, ready_b;
    auto a = spindle::spawn(spindle::TaskOptions{.name = "a"}, [&] {
      ready_b.wait();
      ready_a.set();
    });
    auto b = spindle::spawn(spindle::TaskOptions{.name = "b"}, [&] {
      ready_a.wait();
      ready_b.set();
    });
    a.join();
    b.join();
  });
  BOOST_TEST_MESSAGE(msg);
  BOOST_TEST(contains(msg, "(3 tasks)"));
  BOOST_TEST(contains(msg, "\n  Task-1 parked in Task::join at "));
  BOOST_TEST(contains(msg, ", waiting for a"));
  BOOST_TEST(contains(msg, "\n  a parked in Event::wait at "));
  BOOST_TEST(contains(msg, "\n  b parked in Event::wait at "));
  BOOST_TEST(!contains(msg, "cycle"));  // events have no owner: no chain to follow
}

BOOST_AUTO_TEST_CASE(deadlock_main_joins_a_task_waiting_for_an_unset_event) {
  const std::string msg = deadlock_of([] {
    spindle::Event never;
    auto w1 = spindle::spawn(spindle::TaskOptions{.name = "w1"}, [&] { never.wait(); });
    auto w2 = spindle::spawn(spindle::TaskOptions{.name = "w2"}, [&] { never.wait(); });
    w1.join();
    w2.join();
  });
  BOOST_TEST_MESSAGE(msg);
  BOOST_TEST(contains(msg, "Task-1 parked in Task::join at "));
  BOOST_TEST(contains(msg, ", waiting for w1"));
  BOOST_TEST(contains(msg, "w1 parked in Event::wait at "));
  BOOST_TEST(contains(msg, " (with w2)"));  // the fellow waiters of the same event
  BOOST_TEST(contains(msg, " (with w1)"));
}

BOOST_AUTO_TEST_CASE(deadlock_calls_out_a_lock_cycle_with_its_holders) {
  const std::string msg = deadlock_of([] {
    spindle::Lock first, second;
    spindle::Event both_hold;
    int holding = 0;
    auto grab = [&](spindle::Lock& mine, spindle::Lock& theirs) {
      std::lock_guard<spindle::Lock> g(mine);
      if (++holding == 2) both_hold.set();
      both_hold.wait();
      std::lock_guard<spindle::Lock> g2(theirs);
    };
    auto x = spindle::spawn(spindle::TaskOptions{.name = "x"}, [&] { grab(first, second); });
    auto y = spindle::spawn(spindle::TaskOptions{.name = "y"}, [&] { grab(second, first); });
    x.join();
    y.join();
  });
  BOOST_TEST_MESSAGE(msg);
  BOOST_TEST(contains(msg, "x parked in Lock::lock at "));
  BOOST_TEST(contains(msg, ", held by y"));
  BOOST_TEST(contains(msg, ", held by x"));
  BOOST_TEST((contains(msg, "cycle: x -> y -> x") || contains(msg, "cycle: y -> x -> y")));
}

BOOST_AUTO_TEST_CASE(deadlock_calls_out_a_join_cycle) {
  const std::string msg = deadlock_of([] {
    spindle::Task<void> b;
    auto a = spindle::spawn(spindle::TaskOptions{.name = "alpha"}, [&] {
      spindle::yield_now();
      b.join();
    });
    b = spindle::spawn(spindle::TaskOptions{.name = "beta"}, [&] { a.join(); });
    a.join();
  });
  BOOST_TEST(contains(msg, "deadlock: every task is parked and nothing can wake one (3 tasks)"));
  BOOST_TEST(contains(msg, "alpha parked in Task::join at "));
  BOOST_TEST(contains(msg, ", waiting for beta"));
  BOOST_TEST(contains(msg, "beta parked in Task::join at "));
  BOOST_TEST(contains(msg, "Task-1 parked in Task::join at "));
  BOOST_TEST(contains(msg, "test_debug.cpp"));
  BOOST_TEST(contains(msg, "cycle: alpha -> beta -> alpha"));
  // The deadlocked tasks were unwound: every stack and task state is back.
  BOOST_TEST(spindle::detail::stacks_in_use() == 0u);
  BOOST_TEST(spindle::detail::live_task_states() == 0u);
}

BOOST_AUTO_TEST_CASE(debug_mode_warns_about_a_task_that_runs_too_long) {
  spindle_test::Reports reports;
  spindle::RunOptions opts = reports.options();
  opts.debug = true;
  opts.slow_callback = 100ms;
  spindle::run(
      [] {
        auto quick = spindle::spawn(spindle::TaskOptions{.name = "quick"}, [] {
          spindle::yield_now();
        });
        auto hog = spindle::spawn(spindle::TaskOptions{.name = "hog"}, [] {
          spindle::yield_now();                                 // resumes here, then ...
          std::this_thread::sleep_for(std::chrono::milliseconds(400));  // ... blocks the thread
          spindle::yield_now();
        });
        quick.join();
        hog.join();
      },
      std::move(opts));
  // Exactly one report about hog, none about quick (others could only come from a machine
  // so loaded that a few lines of the test took 100 ms).
  std::vector<spindle::ExceptionContext> about_hog;
  for (const auto& item : reports.items) {
    BOOST_TEST(item.task_name != "quick");
    if (item.task_name == "hog") about_hog.push_back(item);
  }
  BOOST_REQUIRE(about_hog.size() == 1u);
  const auto& r = about_hog[0];
  BOOST_TEST_MESSAGE(r.message);
  BOOST_TEST(contains(r.message, "hog ran "));
  BOOST_TEST(contains(r.message, " without parking, since it resumed from yield_now at "));
  BOOST_TEST(contains(r.message, "test_debug.cpp:"));
  // The stack sampled while it blocked names the blocking call: libc's nanosleep.
  BOOST_TEST(contains(r.message, "; sampled while it ran:\n    at "));
  BOOST_TEST(contains(r.message, "nanosleep"));
  BOOST_TEST(contains(r.message, "(libc.so.6)"));
}

BOOST_AUTO_TEST_CASE(slow_tasks_are_not_reported_outside_debug_mode) {
  if (spindle_test::env_debug()) return;
  spindle_test::Reports reports;
  spindle::RunOptions opts = reports.options();
  opts.slow_callback = 1ms;
  spindle::run([] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); },
               std::move(opts));
  BOOST_TEST(reports.items.empty());
}

BOOST_AUTO_TEST_CASE(dump_signal_prints_the_tasks_to_stderr) {
  StderrCapture capture;
  spindle::RunOptions opts = spindle_test::virtual_time();
  opts.dump_signal = SIGUSR1;
  spindle::run(
      [] {
        auto parked = spindle::spawn(spindle::TaskOptions{.name = "parked-one"},
                                     [] { spindle::sleep(1h); });
        spindle::yield_now();
        ::kill(::getpid(), SIGUSR1);  // as `kill -USR1 <pid>` would
        spindle::yield_now();         // the loop writes the dump at its next switch
        parked.cancel();
      },
      std::move(opts));
  const std::string err = capture.text();
  BOOST_TEST_MESSAGE(err);
  BOOST_TEST(contains(err, "spindle: 2 tasks\n"));
  BOOST_TEST(contains(err, "parked-one: parked in sleep at "));
  // After the loop, the signal is still caught (and ignored): the process survives it.
  ::kill(::getpid(), SIGUSR1);
}

BOOST_AUTO_TEST_CASE(a_bad_dump_signal_is_refused_and_leaks_nothing) {
  spindle::RunOptions opts;
  opts.dump_signal = SIGKILL;
  BOOST_CHECK_THROW(spindle::run([] {}, std::move(opts)), std::invalid_argument);
  spindle::RunOptions neg;
  neg.dump_signal = -3;
  BOOST_CHECK_THROW(spindle::run([] {}, std::move(neg)), std::invalid_argument);
  spindle::RunOptions slack;
  slack.timer_slack = -1ms;
  BOOST_CHECK_THROW(spindle::run([] {}, std::move(slack)), std::invalid_argument);
  BOOST_TEST(spindle::run([] { return 7; }) == 7);  // no loop was left behind
}

BOOST_AUTO_TEST_CASE(stack_pool_reuse_does_not_grow_over_100k_spawn_join_cycles) {
  spindle::run([] {
    for (int i = 0; i < 1000; ++i) spindle::spawn([] { return use_stack(8 * 1024); }).join();
    const auto carved_before = spindle::detail::stack_counts();
    const std::size_t maps_before = map_count();
    const long rss_before = rss_kib();
#if !defined(SPINDLE_TEST_TSAN)
    constexpr int kCycles = 100'000;
#else
    constexpr int kCycles = 5'000;  // TSan's bookkeeping costs milliseconds per fiber here
#endif
    long sum = 0, expected = 0;
    for (int i = 0; i < kCycles; ++i) {
      sum += spindle::spawn([i] { return i % 3; }).join();
      expected += i % 3;
    }
    BOOST_TEST(sum == expected);
    const auto carved_after = spindle::detail::stack_counts();
    BOOST_TEST(carved_after.guard_install == carved_before.guard_install);
    BOOST_TEST(carved_after.mprotect == carved_before.mprotect);
    BOOST_TEST(carved_after.canary == carved_before.canary);
#if !defined(SPINDLE_TEST_TSAN)
    BOOST_TEST(map_count() <= maps_before + 2);  // malloc may add an arena, nothing per task
#else
    (void)maps_before;
#endif
    // ASan's and valgrind's quarantines keep freed task states resident for a while.
    if (!kAsanBuild && !under_valgrind()) BOOST_TEST(rss_kib() - rss_before < 1024);
  });
  BOOST_TEST(spindle::detail::stacks_in_use() == 0u);
}

BOOST_AUTO_TEST_CASE(past_the_map_count_budget_stacks_fall_back_to_canaries) {
  spindle::RunOptions opts = spindle_test::virtual_time();
  opts.stack_guard = spindle::StackGuard::Mprotect;
  opts.max_map_count = 64;  // a budget of 16 mprotect guards
  const std::size_t maps_before = map_count();
  std::size_t maps_during = 0;
  spindle::run(
      [&] {
        spindle::Event go;
        std::vector<spindle::Task<int>> tasks;
        for (int i = 0; i < 100; ++i) {
          tasks.push_back(spindle::spawn([&go, i] {
            go.wait();
            return use_stack(16 * 1024) + i;
          }));
        }
        spindle::yield_now();
        maps_during = map_count();
        const auto c = spindle::detail::stack_counts();
        BOOST_TEST(c.guard_install == 0u);
        BOOST_TEST(c.mprotect == 16u);
        BOOST_TEST(c.canary == 112u - 16u);  // chunks of 16, 32 and 64 stacks
        go.set();
        int sum = 0;
        for (auto& t : tasks) sum += t.join();
        BOOST_TEST(sum == 100 + 99 * 100 / 2);
        std::ostringstream dump;
        spindle::dump_tasks(dump);
      },
      std::move(opts));
#if !defined(SPINDLE_TEST_TSAN)
  // 16 guards split mappings into at most 2 more entries each, plus the three chunks, plus
  // 2 of slack, plus (io_uring) the loop's ring: its queues and its submission entries.
  BOOST_TEST(maps_during <= maps_before + 2 * 16 + 3 + 2 + 2);
  BOOST_TEST(map_count() <= maps_before + 8);  // the loop's own pool was unmapped
#else
  (void)maps_before;
  (void)maps_during;
#endif
}

BOOST_AUTO_TEST_CASE(canary_only_stacks_run_tasks_and_say_so_in_the_dump) {
  spindle::RunOptions opts = spindle_test::virtual_time();
  opts.stack_guard = spindle::StackGuard::Canary;
  std::string dump;
  const int v = spindle::run(
      [&] {
        auto t = spindle::spawn([] {
          spindle::sleep(1s);
          return use_stack(60 * 1024);
        });
        spindle::yield_now();
        std::ostringstream out;
        spindle::dump_tasks(out);
        dump = out.str();
        const auto c = spindle::detail::stack_counts();
        BOOST_TEST(c.guard_install + c.mprotect == 0u);
        BOOST_TEST(c.canary == 16u);
        return t.join() + 1;
      },
      std::move(opts));
  BOOST_TEST(v == 2);
  BOOST_TEST(contains(dump, "(canary, no guard page)"));
}

BOOST_AUTO_TEST_SUITE_END()
