// wait() and as_completed(): return conditions, timeouts, ordering; never cancelling.
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using spindle::ReturnWhen;
using spindle::Task;

namespace {
Task<int> after(std::chrono::milliseconds d, int v) {
  return spindle::spawn([d, v] {
    spindle::sleep(d);
    return v;
  });
}
Task<int> failing_after(std::chrono::milliseconds d) {
  return spindle::spawn([d]() -> int {
    spindle::sleep(d);
    throw std::runtime_error("failed");
  });
}
std::vector<int> values(const std::vector<Task<int>>& ts) {
  std::vector<int> out;
  for (const auto& t : ts) out.push_back(t.result());
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(waiting)

SPINDLE_TEST_CASE(all_completed_waits_for_everything) {
  std::vector<Task<int>> ts{after(3ms, 3), after(1ms, 1), after(2ms, 2)};
  auto [done, pending] = spindle::wait(ts);
  BOOST_TEST(pending.empty());
  BOOST_TEST(values(done) == (std::vector<int>{3, 1, 2}));  // input order
}

SPINDLE_TEST_CASE(first_completed_returns_after_the_first_and_cancels_nothing) {
  std::vector<Task<int>> ts{after(3ms, 3), after(1ms, 1), after(2ms, 2)};
  auto [done, pending] = spindle::wait(ts, ReturnWhen::FirstCompleted);
  BOOST_TEST(values(done) == (std::vector<int>{1}));
  BOOST_REQUIRE(pending.size() == 2u);
  for (auto& p : pending) BOOST_TEST(!p.done());
  BOOST_TEST(pending[0].join() == 3);  // still running normally
  BOOST_TEST(pending[1].join() == 2);
}

SPINDLE_TEST_CASE(first_exception_returns_at_the_first_failure) {
  std::vector<Task<int>> ts{after(10ms, 10), failing_after(2ms), after(1ms, 1)};
  auto [done, pending] = spindle::wait(ts, ReturnWhen::FirstException);
  BOOST_TEST(done.size() == 2u);  // the 1 ms task and the failure
  BOOST_TEST(pending.size() == 1u);
  BOOST_TEST(pending[0].join() == 10);
  BOOST_CHECK_THROW(done[0].result(), std::runtime_error);
}

SPINDLE_TEST_CASE(first_exception_ignores_cancellations_and_acts_as_all_without_failure) {
  std::vector<Task<int>> ts{after(1h, 0), after(2ms, 2)};
  ts[0].cancel();
  auto [done, pending] = spindle::wait(ts, ReturnWhen::FirstException);
  BOOST_TEST(done.size() == 2u);
  BOOST_TEST(pending.empty());
}

SPINDLE_TEST_CASE(timeout_returns_what_is_done_without_an_error) {
  auto& loop = spindle::Loop::current();
  const auto t0 = loop.time();
  std::vector<Task<int>> ts{after(1ms, 1), after(1h, 0)};
  auto [done, pending] = spindle::wait(ts, ReturnWhen::AllCompleted, 10ms);
  BOOST_TEST(values(done) == (std::vector<int>{1}));
  BOOST_TEST(pending.size() == 1u);
  BOOST_TEST((loop.time() - t0 == 10ms));
  BOOST_TEST(!pending[0].done());
  pending[0].cancel();
}

SPINDLE_TEST_CASE(an_empty_set_is_invalid) {
  BOOST_CHECK_THROW(spindle::wait(std::vector<Task<int>>{}), std::invalid_argument);
}

SPINDLE_TEST_CASE(as_completed_yields_in_completion_order) {
  std::vector<Task<int>> ts{after(3ms, 3), after(1ms, 1), after(2ms, 2)};
  std::vector<int> order;
  for (auto t : spindle::as_completed(ts)) order.push_back(t.result());
  BOOST_TEST(order == (std::vector<int>{1, 2, 3}));
}

SPINDLE_TEST_CASE(as_completed_lists_finished_tasks_first_in_input_order) {
  std::vector<Task<int>> ts{after(5ms, 5), spindle::spawn([] { return 7; }),
                            spindle::spawn([] { return 8; })};
  spindle::yield_now();  // the two immediate tasks finish
  std::vector<int> order;
  for (auto t : spindle::as_completed(ts)) order.push_back(t.result());
  BOOST_TEST(order == (std::vector<int>{7, 8, 5}));
}

SPINDLE_TEST_CASE(as_completed_times_out_with_timeout_error) {
  std::vector<Task<int>> ts{after(1ms, 1), after(1h, 0)};
  std::vector<int> order;
  try {
    for (auto t : spindle::as_completed(ts, 5ms)) order.push_back(t.result());
    BOOST_FAIL("as_completed must time out");
  } catch (const spindle::TimeoutError&) {
  }
  BOOST_TEST(order == (std::vector<int>{1}));
  BOOST_TEST(!ts[1].done());  // not cancelled
  ts[1].cancel();
}

SPINDLE_TEST_CASE(dereferencing_twice_gives_the_same_task) {
  std::vector<Task<int>> ts{after(2ms, 2), after(1ms, 1)};
  auto range = spindle::as_completed(ts);
  auto it = range.begin();
  BOOST_TEST((*it).result() == 1);
  BOOST_TEST((*it).result() == 1);
  ++it;
  BOOST_TEST((*it).result() == 2);
  ++it;
  BOOST_TEST((it == range.end()));
}

BOOST_AUTO_TEST_SUITE_END()
