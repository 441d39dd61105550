// Loop: call_soon / call_later / call_at ordering, handles, callbacks vs tasks, errors.
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using spindle_test::Reports;

BOOST_AUTO_TEST_SUITE(loop)

SPINDLE_TEST_CASE(call_soon_runs_in_fifo_order_after_ready_tasks) {
  auto& loop = spindle::Loop::current();
  std::vector<std::string> trace;
  auto t = spindle::spawn([&] { trace.push_back("task"); });
  loop.call_soon([&] { trace.push_back("cb1"); });
  loop.call_soon([&] { trace.push_back("cb2"); });
  spindle::yield_now();
  BOOST_TEST(trace == (std::vector<std::string>{"task", "cb1", "cb2"}));
}

SPINDLE_TEST_CASE(timers_fire_in_deadline_order_ties_in_insertion_order) {
  auto& loop = spindle::Loop::current();
  std::vector<int> trace;
  const auto t0 = loop.time() + 5ms;
  loop.call_at(t0 + 2ms, [&] { trace.push_back(3); });
  loop.call_at(t0, [&] { trace.push_back(1); });
  loop.call_at(t0 + 2ms, [&] { trace.push_back(4); });
  loop.call_at(t0, [&] { trace.push_back(2); });
  loop.call_later(1ms, [&] { trace.push_back(0); });
  spindle::sleep_until(t0 + 3ms);
  BOOST_TEST(trace == (std::vector<int>{0, 1, 2, 3, 4}));
}

SPINDLE_TEST_CASE(cancelled_handles_do_not_run) {
  auto& loop = spindle::Loop::current();
  int runs = 0;
  auto h = loop.call_soon([&] { ++runs; });
  auto th = loop.call_later(1ms, [&] { ++runs; });
  auto kept = loop.call_later(1ms, [&] { runs += 10; });
  h.cancel();
  th.cancel();
  BOOST_TEST(h.cancelled());
  BOOST_TEST(th.cancelled());
  BOOST_TEST(!kept.cancelled());
  spindle::sleep(5ms);
  BOOST_TEST(runs == 10);
  kept.cancel();  // after it ran: harmless
}

SPINDLE_TEST_CASE(timer_handle_reports_its_deadline) {
  auto& loop = spindle::Loop::current();
  const auto when = loop.time() + 1h;
  auto th = loop.call_at(when, [] {});
  BOOST_TEST((th.when() == when));
  th.cancel();
}

SPINDLE_REALTIME_TEST_CASE(busy_yielding_does_not_starve_timers) {
  auto& loop = spindle::Loop::current();
  bool fired = false;
  loop.call_later(2ms, [&] { fired = true; });
  const auto give_up = loop.time() + 5s;
  while (!fired && loop.time() < give_up) spindle::yield_now();
  BOOST_TEST(fired);
}

SPINDLE_TEST_CASE(blocking_in_a_callback_is_a_logic_error) {
  auto& loop = spindle::Loop::current();
  std::string error;
  loop.call_soon([&] {
    try {
      spindle::sleep(1ms);
    } catch (const std::logic_error& e) {
      error = e.what();
    }
  });
  spindle::yield_now();
  BOOST_TEST(error.find("not inside a task") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(callback_exceptions_go_to_the_handler) {
  Reports reports;
  spindle_test::run_checked(
      [] {
        spindle::Loop::current().call_soon([] { throw std::runtime_error("cb failed"); });
        spindle::yield_now();
      },
      reports.options());
  BOOST_REQUIRE(reports.items.size() == 1u);
  BOOST_TEST(reports.items[0].message == "Exception in callback");
  BOOST_TEST(spindle_test::what(reports.items[0].exception) == "cb failed");
}

SPINDLE_TEST_CASE(exception_handler_can_be_replaced_and_restored) {
  auto& loop = spindle::Loop::current();
  std::vector<std::string> seen;
  loop.set_exception_handler(
      [&](const spindle::ExceptionContext& c) { seen.push_back(c.message); });
  loop.call_exception_handler({"custom", nullptr, ""});
  BOOST_TEST(seen == (std::vector<std::string>{"custom"}));
  loop.set_exception_handler({});
  loop.call_exception_handler({"to stderr", nullptr, ""});  // default handler; no crash
  BOOST_TEST(seen.size() == 1u);
}

SPINDLE_TEST_CASE(pending_timers_do_not_delay_run_and_are_dropped) {
  auto& loop = spindle::Loop::current();
  loop.call_later(1h, [] { BOOST_FAIL("must never run"); });
}

SPINDLE_REALTIME_TEST_CASE(time_is_monotonic_steady_clock) {
  auto& loop = spindle::Loop::current();
  const auto a = loop.time();
  spindle::sleep(1ms);
  const auto b = loop.time();
  BOOST_TEST((b - a >= 1ms));
  BOOST_TEST(loop.debug() == spindle_test::env_debug());
}

BOOST_AUTO_TEST_CASE(debug_mode_from_options) {
  spindle::RunOptions o;
  o.debug = true;
  BOOST_TEST(spindle::run([] { return spindle::Loop::current().debug(); }, std::move(o)));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(virtual_clock)

SPINDLE_TEST_CASE(virtual_time_jumps_to_the_next_deadline) {
  auto& loop = spindle::Loop::current();
  const auto t0 = loop.time();
  const auto real0 = spindle::Clock::now();
  spindle::sleep(std::chrono::hours(10));
  BOOST_TEST((loop.time() - t0 == std::chrono::hours(10)));  // exactly: no drift
  BOOST_TEST((spindle::Clock::now() - real0 < std::chrono::seconds(5)));
}

SPINDLE_TEST_CASE(virtual_time_stands_still_while_tasks_run) {
  auto& loop = spindle::Loop::current();
  const auto t0 = loop.time();
  for (int i = 0; i < 1000; ++i) spindle::yield_now();
  BOOST_TEST((loop.time() == t0));
}

SPINDLE_TEST_CASE(virtual_time_keeps_timer_order_and_ties) {
  std::vector<int> trace;
  std::vector<spindle::Task<void>> ts;
  for (int i = 0; i < 6; ++i) {
    ts.push_back(spindle::spawn([&, i] {
      spindle::sleep(std::chrono::milliseconds(100 * (i % 3)));
      trace.push_back(i);
    }));
  }
  spindle::gather(ts);
  BOOST_TEST(trace == (std::vector<int>{0, 3, 1, 4, 2, 5}));
}

BOOST_AUTO_TEST_SUITE_END()
