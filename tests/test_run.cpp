// run(): results, exceptions, shutdown of leftover tasks, misuse (deadlocks: test_debug).
#include <iostream>
#include <memory>
#include <sstream>
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
using spindle_test::Reports;

BOOST_AUTO_TEST_SUITE(run)

BOOST_AUTO_TEST_CASE(returns_the_value_of_main) {
  BOOST_TEST(spindle::run([] { return 42; }) == 42);
  BOOST_TEST(spindle::run([] { return std::string("spun"); }) == "spun");
  auto p = spindle::run([] { return std::make_unique<int>(7); });
  BOOST_TEST(*p == 7);
  int touched = 0;
  spindle::run([&] { touched = 1; });
  BOOST_TEST(touched == 1);
}

BOOST_AUTO_TEST_CASE(rethrows_the_exception_of_main) {
  BOOST_CHECK_EXCEPTION(spindle::run([]() -> int { throw std::out_of_range("main failed"); }),
                        std::out_of_range,
                        [](const auto& e) { return std::string(e.what()) == "main failed"; });
  BOOST_TEST(spindle::detail::stacks_in_use() == 0u);
}

BOOST_AUTO_TEST_CASE(main_that_blocks_then_returns) {
  const int v = spindle::run([] {
    auto t = spindle::spawn([] {
      spindle::sleep(2ms);
      return 20;
    });
    spindle::yield_now();
    return t.join() + 1;
  });
  BOOST_TEST(v == 21);
}

BOOST_AUTO_TEST_CASE(nested_run_is_a_logic_error) {
  bool threw = false;
  spindle::run([&] {
    try {
      spindle::run([] { return 1; });
    } catch (const std::logic_error&) {
      threw = true;
    }
  });
  BOOST_TEST(threw);
}

BOOST_AUTO_TEST_CASE(blocking_calls_without_a_loop_are_logic_errors) {
  BOOST_CHECK_THROW(spindle::sleep(1ms), std::logic_error);
  BOOST_CHECK_THROW(spindle::yield_now(), std::logic_error);
  BOOST_CHECK_THROW(spindle::spawn([] {}), std::logic_error);
  BOOST_CHECK_THROW(spindle::Loop::current(), std::logic_error);
  BOOST_CHECK_THROW(spindle::all_tasks(), std::logic_error);
  BOOST_TEST(!spindle::current_task());
  BOOST_TEST(spindle::detail::live_task_states() == 0u);  // the failed spawn freed its state
}

BOOST_AUTO_TEST_CASE(message_names_the_missing_loop) {
  try {
    spindle::sleep(1ms);
    BOOST_FAIL("sleep without a loop must throw");
  } catch (const std::logic_error& e) {
    BOOST_TEST(std::string(e.what()).find("no running loop") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(leftover_tasks_are_cancelled_and_unwound_at_shutdown) {
  std::vector<std::string> trace;
  struct Guard {
    std::vector<std::string>* t;
    ~Guard() { t->push_back("unwound"); }
  };
  spindle::run([&] {
    spindle::spawn([&] {
      Guard g{&trace};
      try {
        spindle::sleep(1h);
      } catch (const spindle::CancelledError&) {
        trace.push_back("cancelled");
        throw;
      }
    });
    spindle::yield_now();  // let it start and park
    trace.push_back("main done");
  });
  BOOST_TEST(trace == (std::vector<std::string>{"main done", "cancelled", "unwound"}));
  BOOST_TEST(spindle::detail::stacks_in_use() == 0u);
}

BOOST_AUTO_TEST_CASE(leftover_task_failing_during_shutdown_is_reported_not_thrown) {
  Reports reports;
  const int v = spindle::run(
      [] {
        spindle::spawn(spindle::TaskOptions{.name = "stubborn"}, [] {
          try {
            spindle::sleep(1h);
          } catch (const spindle::CancelledError&) {
            throw std::runtime_error("cleanup failed");
          }
        });
        spindle::yield_now();
        return 5;
      },
      reports.options());
  BOOST_TEST(v == 5);
  BOOST_REQUIRE(reports.items.size() == 1u);
  BOOST_TEST(reports.items[0].task_name == "stubborn");
  BOOST_TEST(spindle_test::what(reports.items[0].exception) == "cleanup failed");
  BOOST_TEST(reports.items[0].message.find("shutdown") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unstarted_leftover_tasks_never_run) {
  bool ran = false;
  spindle::run([&] { spindle::spawn([&] { ran = true; }); });
  BOOST_TEST(!ran);
}

BOOST_AUTO_TEST_CASE(runs_can_follow_each_other_and_reuse_stacks) {
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(spindle::run([i] { return spindle::spawn([i] { return i * 2; }).join(); }) == i * 2);
  }
  BOOST_TEST(spindle::detail::stacks_in_use() == 0u);
  BOOST_TEST(spindle::detail::stacks_cached() > 0u);
}

BOOST_AUTO_TEST_CASE(stack_size_option_gives_room_for_deep_frames) {
  spindle::RunOptions opts;
  opts.stack_size = 1 << 20;
  const int v = spindle::run(
      [] {
        volatile char big[512 * 1024];
        big[0] = 1;
        big[sizeof(big) - 1] = 2;
        return big[0] + big[sizeof(big) - 1];
      },
      std::move(opts));
  BOOST_TEST(v == 3);
  const int w = spindle::run([] {
    return spindle::spawn(spindle::TaskOptions{.stack_size = 1 << 20},
                          [] {
                            volatile char big[700 * 1024];
                            big[10] = 4;
                            return static_cast<int>(big[10]);
                          })
        .join();
  });
  BOOST_TEST(w == 4);
}

BOOST_AUTO_TEST_SUITE_END()
