// Task<R>: spawning, scheduling order, results, exceptions, names, handles, done callbacks,
// and the basic cancellation that run()'s shutdown relies on.
#include <memory>
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using spindle_test::Reports;

BOOST_AUTO_TEST_SUITE(task)

SPINDLE_TEST_CASE(spawn_is_never_eager_and_starts_in_fifo_order) {
  std::vector<int> order;
  auto a = spindle::spawn([&] { order.push_back(1); });
  auto b = spindle::spawn([&] { order.push_back(2); });
  auto c = spindle::spawn([&] { order.push_back(3); });
  order.push_back(0);  // still running: spawn did not switch
  spindle::yield_now();
  BOOST_TEST(order == (std::vector<int>{0, 1, 2, 3}));
  BOOST_TEST((a.done() && b.done() && c.done()));
}

SPINDLE_TEST_CASE(yield_now_interleaves_tasks_round_robin) {
  std::vector<std::string> trace;
  auto worker = [&](std::string name) {
    for (int i = 0; i < 3; ++i) {
      trace.push_back(name + std::to_string(i));
      spindle::yield_now();
    }
  };
  auto a = spindle::spawn(worker, std::string("a"));
  auto b = spindle::spawn(worker, std::string("b"));
  a.join();
  b.join();
  BOOST_TEST(trace == (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2"}));
}

SPINDLE_TEST_CASE(join_returns_values_of_every_kind) {
  auto i = spindle::spawn([](int x, int y) { return x * y; }, 6, 7);
  auto s = spindle::spawn([] { return std::string(100, 'x'); });
  auto m = spindle::spawn([] { return std::make_unique<int>(9); });
  auto v = spindle::spawn([] {});
  BOOST_TEST(i.join() == 42);
  BOOST_TEST(s.join().size() == 100u);
  BOOST_TEST(*m.join() == 9);
  v.join();
  BOOST_TEST(v.done());
  BOOST_TEST(i.result() == 42);  // copyable results can be read again
}

SPINDLE_TEST_CASE(move_only_result_is_moved_out_once) {
  auto m = spindle::spawn([] { return std::make_unique<int>(3); });
  auto copy = m;  // handles share the task
  BOOST_TEST(*copy.join() == 3);
  BOOST_CHECK_THROW(m.result(), spindle::InvalidStateError);
}

SPINDLE_TEST_CASE(join_rethrows_the_child_exception) {
  auto t = spindle::spawn([]() -> int { throw std::invalid_argument("bad input 17"); });
  BOOST_CHECK_EXCEPTION(t.join(), std::invalid_argument,
                        [](const auto& e) { return std::string(e.what()) == "bad input 17"; });
  BOOST_TEST(t.done());
  BOOST_TEST(!t.cancelled());
  BOOST_TEST(spindle_test::what(t.exception()) == "bad input 17");
  BOOST_CHECK_THROW(t.result(), std::invalid_argument);
}

SPINDLE_TEST_CASE(result_before_completion_is_invalid_state) {
  auto t = spindle::spawn([] { return 1; });
  BOOST_TEST(!t.done());
  BOOST_CHECK_THROW(t.result(), spindle::InvalidStateError);
  BOOST_CHECK_THROW(t.exception(), spindle::InvalidStateError);
  BOOST_TEST(t.join() == 1);
  BOOST_TEST(!t.exception());
}

SPINDLE_TEST_CASE(arguments_are_copied_at_spawn) {
  std::string s = "before";
  auto t = spindle::spawn([](std::string v) { return v; }, s);
  s = "after";
  BOOST_TEST(t.join() == "before");
}

SPINDLE_TEST_CASE(nested_spawns_join_inside_out) {
  std::function<int(int)> tree = [&](int depth) -> int {
    if (depth == 0) return 1;
    auto l = spindle::spawn(tree, depth - 1);
    auto r = spindle::spawn(tree, depth - 1);
    return l.join() + r.join();
  };
  BOOST_TEST(spindle::spawn(tree, 8).join() == 256);
}

SPINDLE_TEST_CASE(ten_thousand_concurrent_tasks) {
  constexpr int kN = 10000;
  std::vector<spindle::Task<int>> tasks;
  tasks.reserve(kN);
  int running = 0, peak = 0;
  for (int i = 0; i < kN; ++i) {
    tasks.push_back(spindle::spawn([&, i] {
      peak = std::max(peak, ++running);
      spindle::sleep(1ms);
      --running;
      return i;
    }));
  }
  long sum = 0;
  for (auto& t : tasks) sum += t.join();
  BOOST_TEST(sum == static_cast<long>(kN) * (kN - 1) / 2);
  BOOST_TEST(peak == kN);  // all were parked in sleep at once
}

SPINDLE_TEST_CASE(dropped_handles_do_not_stop_a_task) {
  int finished = 0;
  for (int i = 0; i < 10; ++i) {
    spindle::spawn([&] {
      spindle::sleep(1ms);
      ++finished;
    });  // handle dropped at once
  }
  spindle::sleep(20ms);
  BOOST_TEST(finished == 10);
}

SPINDLE_TEST_CASE(names_default_to_task_n_and_can_be_set) {
  auto self = spindle::current_task();
  BOOST_TEST(self.name() == "Task-1");  // the main task of this run
  auto a = spindle::spawn([] {});
  auto b = spindle::spawn(spindle::TaskOptions{.name = "fetcher"}, [] {});
  BOOST_TEST(a.name() == "Task-2");
  BOOST_TEST(b.name() == "fetcher");
  a.set_name("renamed");
  BOOST_TEST(a.name() == "renamed");
  BOOST_TEST(a.id() == 2u);
  a.join();
  b.join();
}

SPINDLE_TEST_CASE(current_task_and_all_tasks) {
  std::string seen;
  auto t = spindle::spawn(spindle::TaskOptions{.name = "inner"}, [&] {
    seen = spindle::current_task().name();
    spindle::sleep(1ms);
  });
  spindle::yield_now();
  BOOST_TEST(seen == "inner");
  auto all = spindle::all_tasks();
  BOOST_REQUIRE(all.size() == 2u);
  BOOST_TEST((all[0] == spindle::current_task()));
  BOOST_TEST((all[1] == t));
  t.join();
  BOOST_TEST(spindle::all_tasks().size() == 1u);
}

SPINDLE_TEST_CASE(joining_itself_is_a_logic_error) {
  spindle::Task<int> t;
  t = spindle::spawn([&] { return t.join(); });
  BOOST_CHECK_THROW(t.join(), std::logic_error);
}

SPINDLE_TEST_CASE(done_callbacks_run_in_order_after_completion) {
  std::vector<std::string> trace;
  auto t = spindle::spawn([&] {
    trace.push_back("body");
    return 5;
  });
  t.add_done_callback(
      [&](const spindle::Task<int>& d) { trace.push_back("cb1:" + std::to_string(d.result())); });
  t.add_done_callback([&](const spindle::Task<int>&) { trace.push_back("cb2"); });
  t.join();
  spindle::yield_now();
  BOOST_TEST(trace == (std::vector<std::string>{"body", "cb1:5", "cb2"}));
  t.add_done_callback([&](const spindle::Task<int>&) { trace.push_back("late"); });
  BOOST_TEST(trace.size() == 3u);  // scheduled, not called inline
  spindle::yield_now();
  BOOST_TEST(trace.back() == "late");
}

BOOST_AUTO_TEST_CASE(unretrieved_exception_is_reported_once_with_the_task_name) {
  Reports reports;
  spindle_test::run_checked(
      [] {
        spindle::spawn(spindle::TaskOptions{.name = "lost"},
                       [] { throw std::runtime_error("nobody looked"); });
        auto seen = spindle::spawn([] { throw std::runtime_error("looked at"); });
        spindle::sleep(1ms);
        BOOST_CHECK_THROW(seen.join(), std::runtime_error);
      },
      reports.options());
  BOOST_REQUIRE(reports.items.size() == 1u);
  BOOST_TEST(reports.items[0].task_name == "lost");
  BOOST_TEST(reports.items[0].message == "Task exception was never retrieved");
  BOOST_TEST(spindle_test::what(reports.items[0].exception) == "nobody looked");
}

BOOST_AUTO_TEST_CASE(report_waits_for_the_last_handle) {
  Reports reports;
  spindle::Task<void> keep;
  spindle::run(
      [&] {
        keep = spindle::spawn([] { throw std::runtime_error("held"); });
        spindle::sleep(1ms);
        BOOST_TEST(keep.done());
      },
      reports.options());
  BOOST_TEST(reports.items.empty());  // a handle still refers to the task
  keep = {};                          // the loop is gone: the default handler (stderr) reports it
  BOOST_TEST(spindle::detail::live_task_states() == 0u);
}

SPINDLE_TEST_CASE(cancel_before_start_never_runs_the_body) {
  bool ran = false;
  auto t = spindle::spawn([&] { ran = true; });
  BOOST_TEST(t.cancel("not needed"));
  BOOST_CHECK_THROW(t.join(), spindle::CancelledError);
  BOOST_TEST(!ran);
  BOOST_TEST(t.cancelled());
  BOOST_TEST(!t.cancel());  // already done
}

SPINDLE_TEST_CASE(cancel_wakes_a_parked_task_with_the_message) {
  std::string msg;
  auto t = spindle::spawn([&] {
    try {
      spindle::sleep(1h);
    } catch (const spindle::CancelledError& e) {
      msg = e.message();
      throw;
    }
  });
  spindle::yield_now();
  BOOST_TEST(t.cancel("stop now"));
  BOOST_TEST(t.cancel());  // a second request before delivery
  BOOST_TEST(t.cancelling() == 2);
  BOOST_CHECK_THROW(t.join(), spindle::CancelledError);
  BOOST_TEST(msg == "stop now");
  BOOST_TEST(t.cancelled());
}

SPINDLE_TEST_CASE(catching_cancellation_finishes_with_a_value) {
  auto t = spindle::spawn([] {
    try {
      spindle::sleep(1h);
    } catch (const spindle::CancelledError&) {
      return -1;
    }
    return 0;
  });
  spindle::yield_now();
  t.cancel();
  BOOST_TEST(t.join() == -1);
  BOOST_TEST(!t.cancelled());
}

SPINDLE_TEST_CASE(cancelled_error_is_not_a_std_exception) {
  auto t = spindle::spawn([] {
    try {
      spindle::sleep(1h);
    } catch (const std::exception&) {
      return std::string("swallowed");  // must not happen
    }
    return std::string("unreachable");
  });
  spindle::yield_now();
  t.cancel();
  BOOST_CHECK_THROW(t.join(), spindle::CancelledError);
  static_assert(!std::is_base_of_v<std::exception, spindle::CancelledError>);
}

SPINDLE_TEST_CASE(cancelling_a_joiner_forwards_to_the_joined_task) {
  auto inner = spindle::spawn([] { spindle::sleep(1h); });
  auto outer = spindle::spawn([&] { inner.join(); });
  spindle::yield_now();
  outer.cancel();
  BOOST_CHECK_THROW(outer.join(), spindle::CancelledError);
  BOOST_TEST(inner.cancelled());
}

SPINDLE_TEST_CASE(uncancel_withdraws_an_undelivered_cancellation) {
  int steps = 0;
  auto t = spindle::spawn([&] {
    ++steps;
    spindle::yield_now();
    ++steps;
  });
  t.cancel();
  BOOST_TEST(t.uncancel() == 0);
  t.join();
  BOOST_TEST(steps == 2);
  BOOST_TEST(!t.cancelled());
}

BOOST_AUTO_TEST_SUITE_END()
