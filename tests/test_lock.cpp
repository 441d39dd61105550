// Lock: exclusion, fairness, misuse, cancellation safety, timeouts, thread misuse.
#include <mutex>
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using spindle::CancelledError;
using spindle::Lock;

BOOST_AUTO_TEST_SUITE(lock)

SPINDLE_TEST_CASE(uncontended_lock_unlock_and_try_lock) {
  Lock l;
  BOOST_TEST(!l.locked());
  l.lock();
  BOOST_TEST(l.locked());
  BOOST_TEST((l.owner() == spindle::current_task()));
  BOOST_TEST(!l.try_lock());
  l.unlock();
  BOOST_TEST(!l.locked());
  BOOST_TEST(l.try_lock());
  l.unlock();
}

SPINDLE_TEST_CASE(works_with_lock_guard_and_unique_lock) {
  Lock l;
  {
    std::lock_guard<Lock> g(l);
    BOOST_TEST(l.locked());
  }
  BOOST_TEST(!l.locked());
  std::unique_lock<Lock> u(l);
  BOOST_TEST(u.owns_lock());
  u.unlock();
  BOOST_TEST(!l.locked());
}

SPINDLE_TEST_CASE(excludes_across_blocking_calls) {
  Lock l;
  int inside = 0, max_inside = 0, total = 0;
  std::vector<spindle::Task<void>> ts;
  for (int i = 0; i < 20; ++i) {
    ts.push_back(spindle::spawn([&] {
      for (int k = 0; k < 5; ++k) {
        std::lock_guard<Lock> g(l);
        max_inside = std::max(max_inside, ++inside);
        spindle::sleep(1ms);  // parks while holding the lock
        ++total;
        --inside;
      }
    }));
  }
  spindle::gather(ts);
  BOOST_TEST(max_inside == 1);
  BOOST_TEST(total == 100);
}

SPINDLE_TEST_CASE(a_thousand_waiters_get_the_lock_in_fifo_order) {
  Lock l;
  l.lock();
  std::vector<int> order;
  std::vector<spindle::Task<void>> ts;
  for (int i = 0; i < 1000; ++i) {
    ts.push_back(spindle::spawn([&, i] {
      std::lock_guard<Lock> g(l);
      order.push_back(i);
      spindle::yield_now();  // hold it across a switch
    }));
  }
  spindle::yield_now();  // all 1,000 are parked now, in order
  l.unlock();
  spindle::gather(ts);
  std::vector<int> expected(1000);
  for (int i = 0; i < 1000; ++i) expected[i] = i;
  BOOST_TEST(order == expected);
}

SPINDLE_TEST_CASE(a_newcomer_cannot_barge_past_parked_waiters) {
  Lock l;
  std::vector<std::string> order;
  l.lock();
  auto waiter = spindle::spawn([&] {
    std::lock_guard<Lock> g(l);
    order.push_back("waiter");
  });
  spindle::yield_now();  // waiter parks
  l.unlock();            // handed to waiter, which has not run yet
  BOOST_TEST(l.locked());
  BOOST_TEST(!l.try_lock());  // the newcomer (us) cannot take it
  l.lock();                   // queues behind and gets it after the waiter
  order.push_back("newcomer");
  l.unlock();
  waiter.join();
  BOOST_TEST(order == (std::vector<std::string>{"waiter", "newcomer"}));
}

SPINDLE_TEST_CASE(unlocking_what_you_do_not_hold_is_a_logic_error) {
  Lock l;
  BOOST_CHECK_THROW(l.unlock(), std::logic_error);
  auto holder = spindle::spawn([&] {
    l.lock();
    spindle::sleep(1h);
  });
  spindle::yield_now();
  try {
    l.unlock();
    BOOST_FAIL("unlock by a non-owner must throw");
  } catch (const std::logic_error& e) {
    BOOST_TEST(std::string(e.what()).find("held by Task-2") != std::string::npos);
  }
  holder.cancel();
  BOOST_CHECK_THROW(holder.join(), CancelledError);
}

SPINDLE_TEST_CASE(locking_twice_is_a_logic_error_not_a_deadlock) {
  Lock l;
  l.lock();
  BOOST_CHECK_THROW(l.lock(), std::logic_error);
  l.unlock();
}

SPINDLE_TEST_CASE(a_cancelled_waiter_in_the_middle_is_skipped) {
  Lock l;
  l.lock();
  std::vector<int> order;
  std::vector<spindle::Task<void>> ts;
  for (int i = 0; i < 5; ++i) {
    ts.push_back(spindle::spawn([&, i] {
      std::lock_guard<Lock> g(l);
      order.push_back(i);
    }));
  }
  spindle::yield_now();
  ts[2].cancel();
  spindle::yield_now();  // the cancelled waiter leaves the list
  l.unlock();
  auto out = spindle::gather_settled(ts);
  BOOST_TEST(order == (std::vector<int>{0, 1, 3, 4}));
  BOOST_TEST(!out[2].has_value());
  BOOST_TEST(!l.locked());
}

SPINDLE_TEST_CASE(a_waiter_cancelled_after_the_handover_passes_the_lock_on) {
  Lock l;
  l.lock();
  std::vector<std::string> order;
  auto first = spindle::spawn([&] {
    std::lock_guard<Lock> g(l);
    order.push_back("first");  // must not happen: cancelled after being handed the lock
  });
  auto second = spindle::spawn([&] {
    std::lock_guard<Lock> g(l);
    order.push_back("second");
  });
  spindle::yield_now();
  l.unlock();      // hands the lock to `first` (queued to run)
  first.cancel();  // ... which is cancelled before it runs: cancellation wins
  BOOST_CHECK_THROW(first.join(), CancelledError);
  second.join();
  BOOST_TEST(order == (std::vector<std::string>{"second"}));
  BOOST_TEST(!l.locked());
}

SPINDLE_TEST_CASE(with_timeout_around_lock) {
  Lock l;
  auto holder = spindle::spawn([&] {
    std::lock_guard<Lock> g(l);
    spindle::sleep(100ms);
  });
  spindle::yield_now();
  BOOST_CHECK_THROW(spindle::with_timeout(10ms, [&] { l.lock(); }), spindle::TimeoutError);
  BOOST_TEST((l.owner() == holder));  // the timed-out waiter took nothing
  holder.join();
  BOOST_TEST(!l.locked());
}

SPINDLE_TEST_CASE(destroying_a_lock_with_waiters_fails_them_cleanly) {
  auto l = std::make_unique<Lock>();
  l->lock();
  auto waiter = spindle::spawn([&] { l->lock(); });
  spindle::yield_now();
  l.reset();  // a lifetime bug in user code: the waiter gets an error, not freed memory
  BOOST_CHECK_THROW(waiter.join(), std::logic_error);
}

#ifndef NDEBUG
SPINDLE_TEST_CASE(use_from_another_thread_is_detected_in_debug_builds) {
  Lock l;
  l.lock();
  l.unlock();
  std::string error;
  std::thread other([&] {
    try {
      l.try_lock();
    } catch (const std::logic_error& e) {
      error = e.what();
    }
  });
  other.join();
  BOOST_TEST(error.find("spindle::Lock: used from a thread other than its loop's") == 0u);
}
#endif

BOOST_AUTO_TEST_SUITE_END()
