// sleep / sleep_until / yield_now: ordering, lower bounds, cancellation.
#include <spindle_test.hpp>
#include <string>
#include <vector>

using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(sleeping)

SPINDLE_TEST_CASE(sleepers_wake_in_deadline_order) {
  std::vector<int> trace;
  std::vector<spindle::Task<void>> ts;
  for (int ms : {30, 10, 20, 0, 5}) {
    ts.push_back(spindle::spawn([&, ms] {
      spindle::sleep(std::chrono::milliseconds(ms));
      trace.push_back(ms);
    }));
  }
  spindle::gather(ts);
  BOOST_TEST(trace == (std::vector<int>{0, 5, 10, 20, 30}));
}

SPINDLE_REALTIME_TEST_CASE(sleep_lasts_at_least_its_duration) {
  auto& loop = spindle::Loop::current();
  const auto t0 = loop.time();
  spindle::sleep(15ms);
  BOOST_TEST((loop.time() - t0 >= 15ms));
  const auto deadline = loop.time() + 5ms;
  spindle::sleep_until(deadline);
  BOOST_TEST((loop.time() >= deadline));
}

BOOST_AUTO_TEST_CASE(timer_slack_lets_close_timers_share_a_wake_up) {
  // An idle loop sleeps until the first deadline plus the slack: with 300 ms of slack, the
  // 50 ms sleeper wakes together with the 70 ms one (never before its own deadline), and the
  // order of deadlines is kept. (The loop must be idle by the first deadline: 50 ms leaves a
  // slow machine plenty of time to start three tasks.)
  spindle::RunOptions opts;
  opts.timer_slack = 300ms;
  std::vector<int> order;
  std::vector<spindle::Clock::duration> woke;
  spindle::run(
      [&] {
        const auto t0 = spindle::Loop::current().time();
        std::vector<spindle::Task<void>> ts;
        for (int ms : {70, 50, 60}) {
          ts.push_back(spindle::spawn([&, ms] {
            spindle::sleep(std::chrono::milliseconds(ms));
            order.push_back(ms);
            woke.push_back(spindle::Loop::current().time() - t0);
          }));
        }
        spindle::gather(ts);
      },
      std::move(opts));
  BOOST_TEST(order == (std::vector<int>{50, 60, 70}));
  BOOST_REQUIRE(woke.size() == 3u);
  BOOST_TEST((woke[0] >= 70ms));  // held back past the last deadline: one wake-up for all
  BOOST_TEST((woke[2] >= 70ms));
}

SPINDLE_TEST_CASE(sleep_zero_and_past_deadlines_yield) {
  std::vector<std::string> trace;
  auto other = spindle::spawn([&] { trace.push_back("other"); });
  spindle::sleep(0ms);
  trace.push_back("after sleep(0)");
  auto other2 = spindle::spawn([&] { trace.push_back("other2"); });
  spindle::sleep_until(spindle::Loop::current().time() - 1s);
  trace.push_back("after past deadline");
  BOOST_TEST(trace == (std::vector<std::string>{"other", "after sleep(0)", "other2",
                                                "after past deadline"}));
}

SPINDLE_TEST_CASE(any_duration_type_works) {
  spindle::sleep(std::chrono::microseconds(1500));
  spindle::sleep(std::chrono::duration<double>(0.001));
  spindle::sleep(-5s);  // negative: a yield
}

SPINDLE_TEST_CASE(cancelled_sleep_leaves_other_timers_intact) {
  std::vector<int> trace;
  auto a = spindle::spawn([&] {
    spindle::sleep(3ms);
    trace.push_back(1);
  });
  auto b = spindle::spawn([&] {
    spindle::sleep(1h);
    trace.push_back(99);
  });
  auto c = spindle::spawn([&] {
    spindle::sleep(6ms);
    trace.push_back(2);
  });
  spindle::yield_now();
  b.cancel();
  a.join();
  c.join();
  BOOST_CHECK_THROW(b.join(), spindle::CancelledError);
  BOOST_TEST(trace == (std::vector<int>{1, 2}));
}

SPINDLE_TEST_CASE(cancel_after_the_timer_fired_still_wins) {
  // Both timers share one deadline; the callback's was inserted first, so in that round the
  // sleeper is already queued to resume (its timer fired) when the callback cancels it.
  // Cancellation wins, as in asyncio: the sleep throws CancelledError.
  auto& loop = spindle::Loop::current();
  const auto deadline = loop.time() + 3ms;
  spindle::Task<void> sleeper;
  bool woke_normally = false;
  loop.call_at(deadline, [&] { BOOST_TEST(sleeper.cancel("late")); });
  sleeper = spindle::spawn([&] {
    spindle::sleep_until(deadline);
    woke_normally = true;
  });
  BOOST_CHECK_THROW(sleeper.join(), spindle::CancelledError);
  BOOST_TEST(!woke_normally);
  BOOST_TEST(sleeper.cancelled());
}

BOOST_AUTO_TEST_SUITE_END()
