// Semaphore, BoundedSemaphore and Barrier.
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using spindle::CancelledError;

BOOST_AUTO_TEST_SUITE(semaphore)

SPINDLE_TEST_CASE(limits_concurrency_to_its_value) {
  spindle::Semaphore sem(3);
  int inside = 0, peak = 0;
  std::vector<spindle::Task<void>> ts;
  for (int i = 0; i < 10; ++i) {
    ts.push_back(spindle::spawn([&] {
      sem.acquire();
      peak = std::max(peak, ++inside);
      spindle::sleep(2ms);
      --inside;
      sem.release();
    }));
  }
  spindle::gather(ts);
  BOOST_TEST(peak == 3);
  BOOST_TEST(sem.value() == 3u);
}

SPINDLE_TEST_CASE(permits_go_to_waiters_in_order_without_barging) {
  spindle::Semaphore sem(0);
  std::vector<int> order;
  std::vector<spindle::Task<void>> ts;
  for (int i = 0; i < 4; ++i) {
    ts.push_back(spindle::spawn([&, i] {
      sem.acquire();
      order.push_back(i);
    }));
  }
  spindle::yield_now();
  BOOST_TEST(sem.locked());
  sem.release();
  BOOST_TEST(!sem.try_acquire());  // handed to the first waiter, not to us
  sem.release();
  sem.release();
  sem.release();
  spindle::gather(ts);
  BOOST_TEST(order == (std::vector<int>{0, 1, 2, 3}));
  BOOST_TEST(sem.value() == 0u);
}

SPINDLE_TEST_CASE(cancelled_waiters_take_no_permit) {
  spindle::Semaphore sem(0);
  auto a = spindle::spawn([&] { sem.acquire(); });
  auto b = spindle::spawn([&] { sem.acquire(); });
  spindle::yield_now();
  a.cancel();  // parked: leaves without a permit
  BOOST_CHECK_THROW(a.join(), CancelledError);
  sem.release();
  b.join();
  BOOST_TEST(sem.value() == 0u);
}

SPINDLE_TEST_CASE(a_permit_handed_to_a_cancelled_waiter_is_passed_on) {
  spindle::Semaphore sem(0);
  auto a = spindle::spawn([&] { sem.acquire(); });
  auto b = spindle::spawn([&] { sem.acquire(); });
  spindle::yield_now();
  sem.release();  // to a ...
  a.cancel();     // ... cancelled before it runs: the permit goes to b
  BOOST_CHECK_THROW(a.join(), CancelledError);
  b.join();
  BOOST_TEST(sem.value() == 0u);
}

SPINDLE_TEST_CASE(acquire_with_timeout) {
  spindle::Semaphore sem(0);
  BOOST_CHECK_THROW(spindle::with_timeout(3ms, [&] { sem.acquire(); }), spindle::TimeoutError);
  sem.release();
  BOOST_TEST(sem.value() == 1u);  // the timed-out acquire took nothing
}

SPINDLE_TEST_CASE(bounded_semaphore_refuses_extra_releases) {
  spindle::BoundedSemaphore sem(2);
  sem.acquire();
  sem.release();
  BOOST_CHECK_THROW(sem.release(), std::logic_error);
  BOOST_TEST(sem.value() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(barrier)

SPINDLE_TEST_CASE(releases_everyone_when_the_last_party_arrives) {
  spindle::Barrier b(3);
  std::vector<std::size_t> indices;
  std::vector<std::string> trace;
  std::vector<spindle::Task<void>> ts;
  for (int i = 0; i < 3; ++i) {
    ts.push_back(spindle::spawn([&, i] {
      spindle::sleep(std::chrono::milliseconds(i));
      indices.push_back(b.wait());
      trace.push_back("through");
    }));
  }
  spindle::sleep(1500us);
  BOOST_TEST(b.n_waiting() == 2u);
  BOOST_TEST(trace.empty());
  spindle::gather(ts);
  std::sort(indices.begin(), indices.end());
  BOOST_TEST(indices == (std::vector<std::size_t>{0, 1, 2}));
  BOOST_TEST(b.n_waiting() == 0u);
  BOOST_TEST(b.parties() == 3u);
}

SPINDLE_TEST_CASE(is_reusable_round_after_round) {
  spindle::Barrier b(2);
  int rounds = 0;
  auto partner = spindle::spawn([&] {
    for (int i = 0; i < 3; ++i) b.wait();
  });
  for (int i = 0; i < 3; ++i) {
    b.wait();
    ++rounds;
  }
  partner.join();
  BOOST_TEST(rounds == 3);
}

SPINDLE_TEST_CASE(a_cancelled_waiter_withdraws_without_breaking_it) {
  spindle::Barrier b(3);
  auto a = spindle::spawn([&] { return b.wait(); });
  auto c = spindle::spawn([&] { return b.wait(); });
  spindle::yield_now();
  BOOST_TEST(b.n_waiting() == 2u);
  a.cancel();
  BOOST_CHECK_THROW(a.join(), CancelledError);
  BOOST_TEST(b.n_waiting() == 1u);
  BOOST_TEST(!b.broken());
  auto d = spindle::spawn([&] { return b.wait(); });
  const std::size_t mine = b.wait();  // the third party
  std::vector<std::size_t> idx{c.join(), d.join(), mine};
  std::sort(idx.begin(), idx.end());
  BOOST_TEST(idx == (std::vector<std::size_t>{0, 1, 2}));  // dense, no index twice
}

SPINDLE_TEST_CASE(abort_breaks_waiters_and_later_callers_until_reset) {
  spindle::Barrier b(2);
  auto w = spindle::spawn([&] { b.wait(); });
  spindle::yield_now();
  b.abort();
  BOOST_CHECK_THROW(w.join(), spindle::BrokenBarrierError);
  BOOST_TEST(b.broken());
  BOOST_CHECK_THROW(b.wait(), spindle::BrokenBarrierError);
  b.reset();
  BOOST_TEST(!b.broken());
  auto p = spindle::spawn([&] { b.wait(); });
  b.wait();
  p.join();
}

SPINDLE_TEST_CASE(reset_breaks_current_waiters_only) {
  spindle::Barrier b(3);
  auto w = spindle::spawn([&] { b.wait(); });
  spindle::yield_now();
  b.reset();
  BOOST_CHECK_THROW(w.join(), spindle::BrokenBarrierError);
  BOOST_TEST(!b.broken());
  BOOST_CHECK_THROW(spindle::Barrier(0), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
