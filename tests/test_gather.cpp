// gather / gather_settled / Outcome: results, ordering, failure propagation, cancellation.
#include <memory>
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(gather)

SPINDLE_TEST_CASE(variadic_gather_returns_a_tuple_in_argument_order) {
  auto slow = spindle::spawn([] {
    spindle::sleep(5ms);
    return 1;
  });
  auto [a, b, c, d] = spindle::gather(
      slow, [] { return std::string("two"); }, [] {}, [] { return std::make_unique<int>(4); });
  BOOST_TEST(a == 1);
  BOOST_TEST(b == "two");
  static_assert(std::is_same_v<decltype(c), std::monostate>);
  BOOST_TEST(*d == 4);
}

SPINDLE_TEST_CASE(callables_are_spawned_in_argument_order) {
  std::vector<int> trace;
  spindle::gather([&] { trace.push_back(1); }, [&] { trace.push_back(2); },
                  [&] { trace.push_back(3); });
  BOOST_TEST(trace == (std::vector<int>{1, 2, 3}));
}

SPINDLE_TEST_CASE(vector_gather_keeps_order_not_completion_order) {
  std::vector<spindle::Task<int>> ts;
  for (int i = 0; i < 5; ++i) {
    ts.push_back(spindle::spawn([i] {
      spindle::sleep(std::chrono::milliseconds(5 - i));
      return i;
    }));
  }
  BOOST_TEST(spindle::gather(ts) == (std::vector<int>{0, 1, 2, 3, 4}));
}

SPINDLE_TEST_CASE(vector_of_void_tasks_gathers_to_void) {
  int n = 0;
  std::vector<spindle::Task<void>> ts;
  for (int i = 0; i < 3; ++i) ts.push_back(spindle::spawn([&] { ++n; }));
  spindle::gather(ts);
  static_assert(std::is_void_v<decltype(spindle::gather(ts))>);
  BOOST_TEST(n == 3);
  std::vector<spindle::Task<void>> none;
  spindle::gather(none);  // empty: returns at once
}

SPINDLE_TEST_CASE(first_exception_propagates_at_once_siblings_keep_running) {
  std::vector<std::string> trace;
  auto slow = spindle::spawn([&] {
    spindle::sleep(10ms);
    trace.push_back("slow done");
    return 1;
  });
  auto failing = spindle::spawn([&]() -> int {
    spindle::sleep(1ms);
    trace.push_back("failing throws");
    throw std::runtime_error("first");
  });
  auto later = spindle::spawn([&]() -> int {
    spindle::sleep(3ms);
    throw std::runtime_error("second");
  });
  try {
    spindle::gather(slow, failing, later);
    BOOST_FAIL("gather must throw");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) == "first");
    trace.push_back("gather threw");
  }
  BOOST_TEST(!slow.done());  // not cancelled, still running
  BOOST_TEST(slow.join() == 1);
  BOOST_TEST(trace == (std::vector<std::string>{"failing throws", "gather threw", "slow done"}));
}

SPINDLE_TEST_CASE(already_failed_child_throws_without_parking) {
  auto bad = spindle::spawn([]() -> int { throw std::logic_error("early"); });
  spindle::yield_now();
  BOOST_TEST(bad.done());
  BOOST_CHECK_THROW(spindle::gather(bad, [] { return 2; }), std::logic_error);
}

SPINDLE_TEST_CASE(gather_settled_collects_every_outcome) {
  auto [ok, bad, nothing] = spindle::gather_settled(
      [] { return 7; }, []() -> std::string { throw std::domain_error("nope"); }, [] {});
  BOOST_TEST(ok.has_value());
  BOOST_TEST(ok.value() == 7);
  BOOST_TEST(!ok.error());
  BOOST_TEST(!bad.has_value());
  BOOST_TEST(spindle_test::what(bad.error()) == "nope");
  BOOST_CHECK_THROW(bad.value(), std::domain_error);
  BOOST_TEST(nothing.has_value());
}

SPINDLE_TEST_CASE(gather_settled_vector_includes_cancellations) {
  std::vector<spindle::Task<int>> ts;
  ts.push_back(spindle::spawn([] { return 1; }));
  ts.push_back(spindle::spawn([]() -> int {
    spindle::sleep(1h);
    return 2;
  }));
  ts.push_back(spindle::spawn([]() -> int { throw std::runtime_error("three"); }));
  spindle::yield_now();
  ts[1].cancel("enough");
  auto out = spindle::gather_settled(ts);
  BOOST_REQUIRE(out.size() == 3u);
  BOOST_TEST(out[0].value() == 1);
  const std::string cancelled = spindle_test::what(out[1].error());
  BOOST_TEST(cancelled.find("task cancelled by Task-1 at ") == 0u);
  BOOST_TEST(cancelled.find("test_gather.cpp:") != std::string::npos);
  BOOST_TEST(cancelled.substr(cancelled.size() - 8) == ": enough");
  BOOST_TEST(spindle_test::what(out[2].error()) == "three");
}

SPINDLE_TEST_CASE(cancelling_the_gatherer_cancels_every_child) {
  std::vector<spindle::Task<void>> kids;
  for (int i = 0; i < 3; ++i) kids.push_back(spindle::spawn([] { spindle::sleep(1h); }));
  auto gatherer = spindle::spawn([&] { spindle::gather(kids); });
  spindle::yield_now();
  gatherer.cancel();
  BOOST_CHECK_THROW(gatherer.join(), spindle::CancelledError);
  for (auto& k : kids) BOOST_TEST(k.cancelled());
}

SPINDLE_TEST_CASE(child_failures_seen_by_gather_are_not_reported_again) {
  // gather observed the failures, so dropping the handles reports nothing.
  std::vector<spindle::ExceptionContext> reports;
  spindle::Loop::current().set_exception_handler(
      [&](const spindle::ExceptionContext& c) { reports.push_back(c); });
  {
    auto out = spindle::gather_settled([]() -> int { throw std::runtime_error("x"); });
    BOOST_TEST(!std::get<0>(out).has_value());
  }
  try {
    spindle::gather([]() -> int { throw std::runtime_error("y"); });
  } catch (const std::runtime_error&) {
  }
  spindle::sleep(1ms);
  BOOST_TEST(reports.empty());
}

SPINDLE_TEST_CASE(gather_of_a_thousand_tasks) {
  std::vector<spindle::Task<int>> ts;
  for (int i = 0; i < 1000; ++i) ts.push_back(spindle::spawn([i] { return i; }));
  const auto r = spindle::gather(ts);
  BOOST_TEST(r.size() == 1000u);
  BOOST_TEST(r[999] == 999);
}

BOOST_AUTO_TEST_SUITE_END()
