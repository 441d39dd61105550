// with_timeout / with_deadline / wait_for: expiry, nesting, external cancellation,
// provenance. All on virtual time: deterministic and instant.
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using spindle::CancelledError;
using spindle::TimeoutError;

BOOST_AUTO_TEST_SUITE(timeout)

SPINDLE_TEST_CASE(returns_the_value_when_in_time) {
  const int v = spindle::with_timeout(100ms, [] {
    spindle::sleep(10ms);
    return 7;
  });
  BOOST_TEST(v == 7);
  BOOST_TEST(spindle::current_task().cancelling() == 0);
  spindle::sleep(1s);  // the scope's timer is gone: nothing fires later
}

SPINDLE_TEST_CASE(expiry_throws_timeout_error_after_the_deadline) {
  auto& loop = spindle::Loop::current();
  const auto t0 = loop.time();
  BOOST_CHECK_THROW(spindle::with_timeout(50ms, [] { spindle::sleep(1h); }), TimeoutError);
  BOOST_TEST((loop.time() - t0 == 50ms));
  BOOST_TEST(spindle::current_task().cancelling() == 0);
  spindle::sleep(1ms);  // the task is not left cancelled
}

SPINDLE_TEST_CASE(the_body_sees_cancelled_error_naming_the_scope) {
  CancelledError seen;
  try {
    spindle::with_timeout(5ms, [&] {  // this line is the scope's site
      try {
        spindle::sleep(1h);
      } catch (const CancelledError& e) {
        seen = e;
        throw;
      }
    });
  } catch (const TimeoutError& e) {
    BOOST_TEST(std::string(e.what()).find("test_timeout.cpp:") != std::string::npos);
  }
  BOOST_TEST((seen.reason() == CancelledError::Reason::Timeout));
  BOOST_TEST(std::string(seen.where().file_name()).find("test_timeout.cpp") != std::string::npos);
  BOOST_TEST(std::string(seen.what()).find("expired") != std::string::npos);
}

SPINDLE_TEST_CASE(with_deadline_uses_an_absolute_time) {
  auto& loop = spindle::Loop::current();
  const auto deadline = loop.time() + 30ms;
  BOOST_CHECK_THROW(spindle::with_deadline(deadline, [] { spindle::sleep(1h); }), TimeoutError);
  BOOST_TEST((loop.time() == deadline));
}

SPINDLE_TEST_CASE(inner_scope_expires_first_outer_continues) {
  std::vector<std::string> trace;
  spindle::with_timeout(100ms, [&] {
    try {
      spindle::with_timeout(10ms, [] { spindle::sleep(1h); });
    } catch (const TimeoutError&) {
      trace.push_back("inner timed out");
    }
    spindle::sleep(20ms);  // the outer scope is still good
    trace.push_back("outer body done");
  });
  BOOST_TEST(trace == (std::vector<std::string>{"inner timed out", "outer body done"}));
}

SPINDLE_TEST_CASE(outer_expiry_passes_through_inner_as_cancelled_error) {
  std::vector<std::string> trace;
  try {
    spindle::with_timeout(10ms, [&] {
      try {
        spindle::with_timeout(1h, [] { spindle::sleep(2h); });
      } catch (const CancelledError&) {
        trace.push_back("inner saw CancelledError");
        throw;
      } catch (const TimeoutError&) {
        trace.push_back("inner saw TimeoutError");  // wrong
        throw;
      }
    });
  } catch (const TimeoutError&) {
    trace.push_back("outer raised TimeoutError");
  }
  BOOST_TEST(trace ==
             (std::vector<std::string>{"inner saw CancelledError", "outer raised TimeoutError"}));
}

SPINDLE_TEST_CASE(external_cancel_during_a_scope_stays_cancelled_error) {
  auto t = spindle::spawn([] { spindle::with_timeout(1h, [] { spindle::sleep(2h); }); });
  spindle::sleep(1ms);
  t.cancel("from outside");
  BOOST_CHECK_THROW(t.join(), CancelledError);
  BOOST_TEST(t.cancelled());
}

SPINDLE_TEST_CASE(external_cancel_and_expiry_together_stay_cancelled_error) {
  auto& loop = spindle::Loop::current();
  const auto deadline = loop.time() + 5ms;
  spindle::Task<void> t;
  // The external cancel and the scope's expiry land in the same round.
  loop.call_at(deadline, [&] { t.cancel("external"); });
  t = spindle::spawn([&] { spindle::with_deadline(deadline, [] { spindle::sleep(1h); }); });
  BOOST_CHECK_THROW(t.join(), CancelledError);
}

SPINDLE_TEST_CASE(a_body_that_finishes_despite_expiry_returns_normally) {
  // It swallows the scope's cancellation and returns: no TimeoutError, and the scope takes
  // its cancellation back (asyncio: exit without exception).
  const int v = spindle::with_timeout(1ms, [] {
    try {
      spindle::sleep(1h);
    } catch (const CancelledError&) {
      return 3;
    }
    return 0;
  });
  BOOST_TEST(v == 3);
  BOOST_TEST(spindle::current_task().cancelling() == 0);
  spindle::sleep(1ms);
}

SPINDLE_TEST_CASE(other_exceptions_pass_through_unchanged) {
  BOOST_CHECK_THROW(spindle::with_timeout(1h, [] { throw std::range_error("own"); }),
                    std::range_error);
  spindle::sleep(2h);  // the timer was removed
}

SPINDLE_TEST_CASE(a_past_deadline_expires_at_the_next_blocking_call) {
  auto& loop = spindle::Loop::current();
  // Without blocking, the body completes: the expiry only fires in the next round.
  BOOST_TEST(spindle::with_deadline(loop.time() - 1s, [] { return 1; }) == 1);
  BOOST_CHECK_THROW(spindle::with_deadline(loop.time() - 1s, [] { spindle::yield_now(); }),
                    TimeoutError);
}

SPINDLE_TEST_CASE(wait_for_returns_the_result_in_time) {
  auto t = spindle::spawn([] {
    spindle::sleep(5ms);
    return 11;
  });
  BOOST_TEST(spindle::wait_for(t, 10ms) == 11);
  BOOST_TEST(spindle::wait_for([] { return 12; }, 1ms) == 12);
}

SPINDLE_TEST_CASE(wait_for_cancels_the_task_and_waits_for_it) {
  std::vector<std::string> trace;
  auto& loop = spindle::Loop::current();
  const auto t0 = loop.time();
  auto slow = spindle::spawn([&] {
    try {
      spindle::sleep(1h);
    } catch (const CancelledError&) {
      // Ignores the cancellation for a while: cleanup that takes 30 ms.
      spindle::CancelShield shield;
      spindle::sleep(30ms);
      trace.push_back("cleanup done");
      throw;
    }
  });
  try {
    spindle::wait_for(slow, 10ms);
    BOOST_FAIL("wait_for must time out");
  } catch (const TimeoutError&) {
    trace.push_back("timeout");
  }
  BOOST_TEST(trace == (std::vector<std::string>{"cleanup done", "timeout"}));
  BOOST_TEST((loop.time() - t0 == 40ms));  // waited for the cleanup
  BOOST_TEST(slow.cancelled());
}

SPINDLE_TEST_CASE(wait_for_propagates_the_task_exception) {
  BOOST_CHECK_THROW(spindle::wait_for([]() -> int { throw std::out_of_range("inner"); }, 1s),
                    std::out_of_range);
}

SPINDLE_TEST_CASE(cancelling_the_caller_of_wait_for_cancels_the_task) {
  auto inner = spindle::spawn([] { spindle::sleep(1h); });
  auto outer = spindle::spawn([&] { spindle::wait_for(inner, 2h); });
  spindle::sleep(1ms);
  outer.cancel();
  BOOST_CHECK_THROW(outer.join(), CancelledError);
  BOOST_TEST(inner.cancelled());
}

SPINDLE_TEST_CASE(many_scopes_expire_in_deadline_order) {
  std::vector<int> trace;
  std::vector<spindle::Task<void>> ts;
  for (int i : {3, 1, 2}) {
    ts.push_back(spindle::spawn([&, i] {
      try {
        spindle::with_timeout(std::chrono::milliseconds(i), [] { spindle::sleep(1h); });
      } catch (const TimeoutError&) {
        trace.push_back(i);
      }
    }));
  }
  spindle::gather(ts);
  BOOST_TEST(trace == (std::vector<int>{1, 2, 3}));
}

BOOST_AUTO_TEST_SUITE_END()
