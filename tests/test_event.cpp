// Event and Condition.
#include <mutex>
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using spindle::CancelledError;

BOOST_AUTO_TEST_SUITE(event)

SPINDLE_TEST_CASE(set_wakes_every_waiter_in_order) {
  spindle::Event ev;
  std::vector<int> order;
  std::vector<spindle::Task<void>> ts;
  for (int i = 0; i < 5; ++i) {
    ts.push_back(spindle::spawn([&, i] {
      ev.wait();
      order.push_back(i);
    }));
  }
  spindle::yield_now();
  BOOST_TEST(ev.waiters() == 5u);
  BOOST_TEST(order.empty());
  ev.set();
  spindle::gather(ts);
  BOOST_TEST(order == (std::vector<int>{0, 1, 2, 3, 4}));
}

SPINDLE_TEST_CASE(wait_on_a_set_event_returns_at_once_and_clear_resets) {
  spindle::Event ev;
  ev.set();
  BOOST_TEST(ev.is_set());
  ev.wait();  // no park
  ev.clear();
  BOOST_TEST(!ev.is_set());
  auto t = spindle::spawn([&] { ev.wait(); });
  spindle::sleep(5ms);
  BOOST_TEST(!t.done());
  ev.set();
  t.join();
}

SPINDLE_TEST_CASE(a_cancelled_waiter_leaves_the_others_waiting) {
  spindle::Event ev;
  auto a = spindle::spawn([&] { ev.wait(); });
  auto b = spindle::spawn([&] { ev.wait(); });
  spindle::yield_now();
  a.cancel();
  BOOST_CHECK_THROW(a.join(), CancelledError);
  BOOST_TEST(ev.waiters() == 1u);
  ev.set();
  b.join();
}

SPINDLE_TEST_CASE(event_with_timeout) {
  spindle::Event ev;
  BOOST_CHECK_THROW(spindle::with_timeout(5ms, [&] { ev.wait(); }), spindle::TimeoutError);
  BOOST_TEST(ev.waiters() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(condition)

SPINDLE_TEST_CASE(wait_for_a_predicate_with_notify) {
  spindle::Condition cond;
  int stage = 0;
  std::vector<std::string> trace;
  auto waiter = spindle::spawn([&] {
    std::unique_lock<spindle::Condition> lk(cond);
    cond.wait_for([&] { return stage == 2; });
    trace.push_back("saw stage 2, lock held: " + std::to_string(cond.locked()));
  });
  for (int s = 1; s <= 2; ++s) {
    spindle::yield_now();
    std::lock_guard<spindle::Condition> g(cond);
    stage = s;
    cond.notify();
  }
  waiter.join();
  BOOST_TEST(trace == (std::vector<std::string>{"saw stage 2, lock held: 1"}));
}

SPINDLE_TEST_CASE(notify_n_and_notify_all_wake_in_order) {
  spindle::Lock lock;
  spindle::Condition cond(lock);
  std::vector<int> woken;
  std::vector<spindle::Task<void>> ts;
  for (int i = 0; i < 5; ++i) {
    ts.push_back(spindle::spawn([&, i] {
      std::lock_guard<spindle::Lock> g(lock);
      cond.wait();
      woken.push_back(i);
    }));
  }
  spindle::yield_now();
  {
    std::lock_guard<spindle::Lock> g(lock);
    cond.notify(2);
  }
  spindle::sleep(1ms);
  BOOST_TEST(woken == (std::vector<int>{0, 1}));
  {
    std::lock_guard<spindle::Lock> g(lock);
    cond.notify_all();
  }
  spindle::gather(ts);
  BOOST_TEST(woken == (std::vector<int>{0, 1, 2, 3, 4}));
}

SPINDLE_TEST_CASE(wait_and_notify_require_the_lock) {
  spindle::Condition cond;
  BOOST_CHECK_THROW(cond.wait(), std::logic_error);
  BOOST_CHECK_THROW(cond.notify(), std::logic_error);
  BOOST_CHECK_THROW(cond.notify_all(), std::logic_error);
}

SPINDLE_TEST_CASE(a_cancelled_wait_still_retakes_the_lock) {
  spindle::Condition cond;
  bool held_when_cancelled = false;
  auto t = spindle::spawn([&] {
    std::unique_lock<spindle::Condition> lk(cond);
    try {
      cond.wait();
    } catch (const CancelledError&) {
      held_when_cancelled = cond.locked() && lk.owns_lock();
      throw;
    }
  });
  spindle::yield_now();
  // Hold the lock while cancelling: the waiter must wait for it before CancelledError.
  cond.lock();
  t.cancel();
  spindle::sleep(1ms);
  BOOST_TEST(!t.done());
  cond.unlock();
  BOOST_CHECK_THROW(t.join(), CancelledError);
  BOOST_TEST(held_when_cancelled);
  BOOST_TEST(!cond.locked());
}

SPINDLE_TEST_CASE(a_notification_to_a_cancelled_waiter_goes_to_the_next) {
  spindle::Condition cond;
  std::vector<int> woken;
  auto make = [&](int i) {
    return spindle::spawn([&, i] {
      std::lock_guard<spindle::Condition> g(cond);
      cond.wait();
      woken.push_back(i);
    });
  };
  auto a = make(0);
  auto b = make(1);
  spindle::yield_now();
  {
    std::lock_guard<spindle::Condition> g(cond);
    cond.notify(1);  // goes to a ...
  }
  a.cancel();  // ... which is cancelled before it runs: b gets the notification
  BOOST_CHECK_THROW(a.join(), CancelledError);
  b.join();
  BOOST_TEST(woken == (std::vector<int>{1}));
}

BOOST_AUTO_TEST_SUITE_END()
