// task_group(): waiting, failure handling, ExceptionGroup contents, outside cancellation,
// misuse. asyncio.TaskGroup is the reference for every outcome.
#include <optional>
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using spindle::CancelledError;
using spindle::ExceptionGroup;
using spindle::TaskGroup;

namespace {
std::vector<std::string> whats(const ExceptionGroup& g) {
  std::vector<std::string> out;
  for (const auto& e : g.exceptions()) out.push_back(spindle_test::what(e));
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(task_group)

SPINDLE_TEST_CASE(waits_for_every_task_and_returns_the_body_value) {
  std::vector<int> done;
  const int v = spindle::task_group([&](TaskGroup& g) {
    for (int i = 3; i > 0; --i) {
      g.spawn([&, i] {
        spindle::sleep(std::chrono::milliseconds(i));
        done.push_back(i);
      });
    }
    return 99;
  });
  BOOST_TEST(v == 99);
  BOOST_TEST(done == (std::vector<int>{1, 2, 3}));
}

SPINDLE_TEST_CASE(tasks_can_be_joined_inside_the_body) {
  spindle::task_group([](TaskGroup& g) {
    auto t = g.spawn([] { return 5; });
    BOOST_TEST(t.join() == 5);
  });
}

SPINDLE_TEST_CASE(one_failing_task_cancels_siblings_and_body) {
  std::vector<std::string> trace;
  try {
    spindle::task_group([&](TaskGroup& g) {
      g.spawn(spindle::TaskOptions{.name = "sibling"}, [&] {
        try {
          spindle::sleep(1h);
        } catch (const CancelledError& e) {
          trace.push_back("sibling cancelled because " + e.requested_by() + " failed");
          throw;
        }
      });
      g.spawn(spindle::TaskOptions{.name = "crasher"}, [] {
        spindle::sleep(5ms);
        throw std::runtime_error("crash");
      });
      try {
        spindle::sleep(1h);
      } catch (const CancelledError& e) {
        BOOST_TEST((e.reason() == CancelledError::Reason::TaskGroup));
        trace.push_back("body cancelled");
        throw;
      }
    });
    BOOST_FAIL("task_group must throw");
  } catch (const ExceptionGroup& g) {
    BOOST_TEST(whats(g) == (std::vector<std::string>{"crash"}));
    BOOST_TEST(std::string(g.what()).find("1 sub-exception") != std::string::npos);
  }
  BOOST_TEST(trace == (std::vector<std::string>{"sibling cancelled because crasher failed",
                                                "body cancelled"}));
  // The group took its cancellation of this task back.
  BOOST_TEST(spindle::current_task().cancelling() == 0);
  spindle::sleep(1ms);
}

SPINDLE_TEST_CASE(two_failing_tasks_are_both_reported_in_order) {
  try {
    spindle::task_group([](TaskGroup& g) {
      g.spawn([] {
        try {
          spindle::sleep(1h);
        } catch (const CancelledError&) {
          throw std::runtime_error("second: cleanup failed");
        }
      });
      g.spawn([] {
        spindle::sleep(1ms);
        throw std::runtime_error("first");
      });
    });
    BOOST_FAIL("task_group must throw");
  } catch (const ExceptionGroup& g) {
    BOOST_TEST(whats(g) == (std::vector<std::string>{"first", "second: cleanup failed"}));
  }
}

SPINDLE_TEST_CASE(a_failing_body_cancels_the_tasks_and_comes_last) {
  bool child_cancelled = false;
  try {
    spindle::task_group([&](TaskGroup& g) {
      g.spawn([&] {
        try {
          spindle::sleep(1h);
        } catch (const CancelledError&) {
          child_cancelled = true;
          throw;
        }
      });
      spindle::yield_now();
      throw std::invalid_argument("body failed");
    });
    BOOST_FAIL("task_group must throw");
  } catch (const ExceptionGroup& g) {
    BOOST_TEST(whats(g) == (std::vector<std::string>{"body failed"}));
  }
  BOOST_TEST(child_cancelled);
}

SPINDLE_TEST_CASE(body_and_task_failures_together) {
  try {
    spindle::task_group([](TaskGroup& g) {
      g.spawn([] { throw std::runtime_error("task"); });
      spindle::yield_now();  // the task fails here; the body is cancelled ...
      spindle::yield_now();
    });
  } catch (const ExceptionGroup& g) {
    BOOST_TEST(whats(g) == (std::vector<std::string>{"task"}));  // ... and not counted
  }
  try {
    spindle::task_group([](TaskGroup& g) {
      g.spawn([] {
        spindle::sleep(1ms);
        throw std::runtime_error("task");
      });
      throw std::runtime_error("body");  // first: the task is cancelled before it fails
    });
  } catch (const ExceptionGroup& g) {
    BOOST_TEST(whats(g) == (std::vector<std::string>{"body"}));
  }
}

SPINDLE_TEST_CASE(cancelled_from_outside_cancels_tasks_and_propagates) {
  int cancelled_children = 0;
  auto outer = spindle::spawn([&] {
    spindle::task_group([&](TaskGroup& g) {
      for (int i = 0; i < 3; ++i) {
        g.spawn([&] {
          try {
            spindle::sleep(1h);
          } catch (const CancelledError&) {
            ++cancelled_children;
            throw;
          }
        });
      }
    });  // the body returned at once; the cancellation arrives while waiting
  });
  spindle::sleep(1ms);
  outer.cancel("stop the group");
  try {
    outer.join();
    BOOST_FAIL("join must throw");
  } catch (const CancelledError& e) {
    BOOST_TEST(e.message() == "stop the group");
  }
  BOOST_TEST(cancelled_children == 3);
}

SPINDLE_TEST_CASE(cancelled_body_from_outside_propagates_cancelled_error) {
  auto outer = spindle::spawn([&] {
    spindle::task_group([&](TaskGroup& g) {
      g.spawn([] { spindle::sleep(1h); });
      spindle::sleep(1h);  // cancelled here
    });
  });
  spindle::sleep(1ms);
  outer.cancel();
  BOOST_CHECK_THROW(outer.join(), CancelledError);
  BOOST_TEST(outer.cancelled());
}

SPINDLE_TEST_CASE(a_timeout_around_a_group_becomes_timeout_error) {
  BOOST_CHECK_THROW(
      spindle::with_timeout(
          10ms,
          [] { spindle::task_group([](TaskGroup& g) { g.spawn([] { spindle::sleep(1h); }); }); }),
      spindle::TimeoutError);
}

SPINDLE_TEST_CASE(tasks_may_spawn_into_the_group) {
  int n = 0;
  spindle::task_group([&](TaskGroup& g) {
    g.spawn([&] {
      spindle::sleep(1ms);
      g.spawn([&] {
        spindle::sleep(1ms);
        ++n;
      });
      ++n;
    });
  });
  BOOST_TEST(n == 2);
}

SPINDLE_TEST_CASE(spawning_into_a_finished_or_failing_group_is_a_logic_error) {
  std::optional<TaskGroup> kept;
  spindle::task_group([&](TaskGroup& g) {
    kept = g;  // a copy refers to the same group
    g.spawn([] { spindle::sleep(1ms); });
  });
  try {
    kept->spawn([] {});
    BOOST_FAIL("spawn into a finished group must throw");
  } catch (const std::logic_error& e) {
    BOOST_TEST(std::string(e.what()).find("finished") != std::string::npos);
  }
  try {
    spindle::task_group([](TaskGroup& g) {
      g.spawn([] { throw std::runtime_error("x"); });
      try {
        spindle::sleep(1h);
      } catch (const CancelledError&) {
        BOOST_CHECK_THROW(g.spawn([] {}), std::logic_error);  // shutting down
        throw;
      }
    });
    BOOST_FAIL("task_group must throw");
  } catch (const ExceptionGroup& g) {
    BOOST_TEST(g.exceptions().size() == 1u);
  }
}

SPINDLE_TEST_CASE(outside_a_task_is_a_logic_error) {
  std::string error;
  spindle::Loop::current().call_soon([&] {
    try {
      spindle::task_group([](TaskGroup&) {});
    } catch (const std::logic_error& e) {
      error = e.what();
    }
  });
  spindle::yield_now();
  BOOST_TEST(error.find("task_group") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
