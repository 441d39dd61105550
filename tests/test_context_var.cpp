// ContextVar: per-task values, inheritance at spawn, tokens, defaults, to_thread.
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(context_var)

SPINDLE_TEST_CASE(each_task_sees_its_own_value) {
  spindle::ContextVar<std::string> request("request");
  std::vector<std::string> seen;
  auto worker = [&](std::string id) {
    request.set(id);
    spindle::sleep(1ms);  // interleave with the other task
    seen.push_back(request.get());
  };
  auto a = spindle::spawn(worker, std::string("a"));
  auto b = spindle::spawn(worker, std::string("b"));
  spindle::gather(a, b);
  BOOST_TEST(seen == (std::vector<std::string>{"a", "b"}));
  BOOST_CHECK_THROW(request.get(), std::out_of_range);  // main never set it
}

SPINDLE_TEST_CASE(a_spawned_task_starts_with_a_copy_of_its_parents_values) {
  spindle::ContextVar<int> level("level");
  level.set(1);
  auto child = spindle::spawn([&] {
    const int inherited = level.get();
    level.set(2);  // does not affect the parent
    return inherited;
  });
  level.set(5);  // after spawn: the child already has its copy
  BOOST_TEST(child.join() == 1);
  BOOST_TEST(level.get() == 5);
}

SPINDLE_TEST_CASE(defaults_and_get_with_fallback) {
  spindle::ContextVar<int> with_default("with_default", 7);
  spindle::ContextVar<int> without("without");
  BOOST_TEST(with_default.get() == 7);
  BOOST_TEST(without.get(3) == 3);
  try {
    without.get();
    BOOST_FAIL("get() without a value must throw");
  } catch (const std::out_of_range& e) {
    BOOST_TEST(std::string(e.what()).find("'without'") != std::string::npos);
  }
  BOOST_TEST(without.name() == "without");
}

SPINDLE_TEST_CASE(reset_restores_the_previous_value_once) {
  spindle::ContextVar<std::string> v("v");
  auto t1 = v.set("one");
  BOOST_TEST(!t1.old_value().has_value());
  auto t2 = v.set("two");
  BOOST_TEST(*t2.old_value() == "one");
  v.reset(t2);
  BOOST_TEST(v.get() == "one");
  BOOST_CHECK_THROW(v.reset(t2), std::invalid_argument);  // used twice
  v.reset(t1);
  BOOST_CHECK_THROW(v.get(), std::out_of_range);  // back to unset
  spindle::ContextVar<std::string> other("other");
  auto t3 = other.set("x");
  BOOST_CHECK_THROW(v.reset(t3), std::invalid_argument);  // another variable
}

SPINDLE_TEST_CASE(a_token_from_another_task_is_refused) {
  spindle::ContextVar<int> v("v");
  auto token = spindle::spawn([&] { return v.set(1); }).join();
  BOOST_CHECK_THROW(v.reset(token), std::invalid_argument);
}

SPINDLE_TEST_CASE(to_thread_work_sees_the_callers_values) {
  spindle::ContextVar<std::string> user("user");
  user.set("alice");
  const std::string seen = spindle::to_thread([&] { return user.get(); });
  BOOST_TEST(seen == "alice");
}

SPINDLE_TEST_CASE(move_only_and_large_values) {
  spindle::ContextVar<std::vector<int>> big("big");
  big.set(std::vector<int>(1000, 7));
  BOOST_TEST(big.get().size() == 1000u);
}

BOOST_AUTO_TEST_SUITE_END()
