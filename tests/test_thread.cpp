// Thread interop: to_thread, call_soon_threadsafe, submit, KeepAlive; the loop waits for
// thread work instead of reporting a deadlock.
#include <atomic>
#include <future>
#include <memory>
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(thread)

SPINDLE_REALTIME_TEST_CASE(to_thread_runs_elsewhere_and_returns) {
  const auto loop_thread = std::this_thread::get_id();
  const auto [tid, v] = spindle::to_thread(
      [](int x) {
        return std::pair{std::this_thread::get_id(), x * 2};
      },
      21);
  BOOST_TEST((tid != loop_thread));
  BOOST_TEST(v == 42);
  spindle::to_thread([] {});  // void
}

BOOST_AUTO_TEST_CASE(to_thread_results_are_destroyed_on_the_loop_thread) {
  // The pool thread must not hold the last reference to the job: destroying the result kept
  // in it (or an exception the task has read) there would race with the task.
  // A Probe counts its moves: the worker makes #0, the job stores #1, to_thread returns #2.
  struct Probe {
    std::vector<std::thread::id>* job_copy_dtors;
    int moves = 0;
    explicit Probe(std::vector<std::thread::id>* d) : job_copy_dtors(d) {}
    Probe(Probe&& o) noexcept : job_copy_dtors(o.job_copy_dtors), moves(o.moves + 1) {}
    ~Probe() {
      if (moves == 1) job_copy_dtors->push_back(std::this_thread::get_id());
    }
  };
  std::vector<std::thread::id> dtors;
  spindle::run([&] {
    for (int i = 0; i < 3; ++i) {
      Probe p = spindle::to_thread([&] { return Probe(&dtors); });
      BOOST_TEST(p.moves == 2);
    }
  });
  // By the end of run() the pool threads have finished: every job is gone.
  BOOST_REQUIRE(dtors.size() == 3u);
  for (const auto& id : dtors) BOOST_TEST((id == std::this_thread::get_id()));
}

SPINDLE_REALTIME_TEST_CASE(to_thread_rethrows) {
  BOOST_CHECK_THROW(spindle::to_thread([]() -> int { throw std::domain_error("in thread"); }),
                    std::domain_error);
}

SPINDLE_REALTIME_TEST_CASE(other_tasks_run_while_a_thread_works) {
  // The thread's job ends only once the loop has ticked five times (or after a minute, when
  // the check below fails): the loop runs on while the job works, however slow the machine.
  std::atomic<int> ticks{0};
  std::atomic<bool> done{false};
  auto ticker = spindle::spawn([&] {
    while (!done.load()) {
      ++ticks;
      spindle::sleep(1ms);
    }
  });
  const int seen = spindle::to_thread([&] {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (ticks.load() < 5 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(1ms);
    }
    return ticks.load();
  });
  done = true;
  ticker.join();
  BOOST_TEST(seen >= 5);  // the loop was not blocked by the thread
}

SPINDLE_REALTIME_TEST_CASE(cancelling_to_thread_returns_at_once_and_drops_the_result) {
  // The flags outlive this task's frame: the thread is still running when the body ends.
  struct Flags {
    std::atomic<bool> release{false}, finished{false};
  };
  auto flags = std::make_shared<Flags>();
  auto t = spindle::spawn([flags] {
    return spindle::to_thread([flags] {
      while (!flags->release.load()) std::this_thread::sleep_for(1ms);
      flags->finished = true;
      return 1;
    });
  });
  spindle::sleep(5ms);
  t.cancel();
  BOOST_CHECK_THROW(t.join(), spindle::CancelledError);
  BOOST_TEST(!flags->finished.load());  // the caller did not wait for the thread
  flags->release = true;
}

SPINDLE_REALTIME_TEST_CASE(many_to_thread_calls_at_once) {
  std::vector<spindle::Task<int>> ts;
  for (int i = 0; i < 200; ++i)
    ts.push_back(spindle::spawn([i] { return spindle::to_thread([i] { return i; }); }));
  const auto r = spindle::gather(ts);
  long sum = 0;
  for (int v : r) sum += v;
  BOOST_TEST(sum == 199 * 200 / 2);
}

SPINDLE_REALTIME_TEST_CASE(call_soon_threadsafe_from_another_thread) {
  auto& loop = spindle::Loop::current();
  spindle::Event ev;
  auto keep = loop.keep_alive();  // our thread will feed the loop
  std::thread other([&] {
    std::this_thread::sleep_for(5ms);
    loop.call_soon_threadsafe([&] { ev.set(); });
  });
  ev.wait();  // without KeepAlive this would be a deadlock: nothing in the loop can set it
  other.join();
  BOOST_TEST(ev.is_set());
}

SPINDLE_REALTIME_TEST_CASE(submit_runs_a_task_and_fulfils_a_future) {
  auto& loop = spindle::Loop::current();
  std::future<int> f;
  std::thread other([&] {
    f = spindle::submit(loop, [] {
      spindle::sleep(1ms);  // a real task: it may block
      return 7;
    });
  });
  other.join();
  for (int i = 0; i < 1000 && f.wait_for(0s) != std::future_status::ready; ++i) spindle::sleep(1ms);
  BOOST_TEST(f.get() == 7);
  auto failing =
      std::async(std::launch::async, [&] {
        return spindle::submit(loop, []() -> int { throw std::runtime_error("in task"); });
      }).get();
  for (int i = 0; i < 1000 && failing.wait_for(0s) != std::future_status::ready; ++i)
    spindle::sleep(1ms);
  BOOST_CHECK_THROW(failing.get(), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(without_keep_alive_an_unreachable_wait_is_a_deadlock) {
  spindle::Event ev;
  BOOST_CHECK_THROW(spindle::run([&] { ev.wait(); }), spindle::DeadlockError);
}

BOOST_AUTO_TEST_CASE(run_waits_for_thread_work_still_running_when_it_ends) {
  std::atomic<bool> done{false};
  spindle::run([&] {
    spindle::spawn([&] {
      spindle::to_thread([&] {
        std::this_thread::sleep_for(20ms);
        done = true;
      });
    });
    spindle::sleep(1ms);  // the task is cancelled at shutdown; its thread runs on
  });
  BOOST_TEST(done.load());  // run() joined the pool
}

BOOST_AUTO_TEST_SUITE_END()
