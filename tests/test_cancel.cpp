// Cancellation: delivery points, counts, forwarding, shield, CancelShield, provenance,
// the swallowed-cancellation report, per-task exception state, and scale.
#include <spindle_test.hpp>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using spindle::CancelledError;
using spindle_test::Reports;

BOOST_AUTO_TEST_SUITE(cancel)

SPINDLE_TEST_CASE(a_running_task_gets_it_at_its_next_blocking_call) {
  std::vector<std::string> trace;
  auto t = spindle::spawn([&] {
    spindle::current_task().cancel("self");
    trace.push_back("still running");  // no blocking call yet: nothing thrown
    try {
      spindle::yield_now();
    } catch (const CancelledError& e) {
      trace.push_back("cancelled: " + e.message());
      throw;
    }
  });
  BOOST_CHECK_THROW(t.join(), CancelledError);
  BOOST_TEST(trace == (std::vector<std::string>{"still running", "cancelled: self"}));
}

SPINDLE_TEST_CASE(cancelled_while_running_and_returning_counts_as_cancelled) {
  auto t = spindle::spawn([] {
    spindle::current_task().cancel();
    return 5;  // returns before any blocking call: asyncio marks it cancelled
  });
  BOOST_CHECK_THROW(t.join(), CancelledError);
  BOOST_TEST(t.cancelled());
}

SPINDLE_TEST_CASE(every_blocking_call_is_a_cancellation_point) {
  auto expect_cancel = [](auto blocking) {
    auto t = spindle::spawn(blocking);
    spindle::yield_now();  // let it park
    BOOST_TEST(!t.done());
    t.cancel();
    BOOST_CHECK_THROW(t.join(), CancelledError);
  };
  auto forever = [] { return spindle::spawn([] { spindle::sleep(24h); }); };
  expect_cancel([] { spindle::sleep(1h); });
  expect_cancel([] { spindle::sleep_until(spindle::Loop::current().time() + 1h); });
  auto joined = forever();
  expect_cancel([&] { joined.join(); });
  BOOST_TEST(joined.cancelled());  // join forwards the cancellation
  auto gathered = forever();
  expect_cancel([&] { spindle::gather(gathered); });
  BOOST_TEST(gathered.cancelled());  // so does gather
  auto waited = forever();
  expect_cancel([&] { spindle::wait(std::vector<spindle::Task<void>>{waited}); });
  auto iterated = forever();
  expect_cancel([&] {
    for (auto t : spindle::as_completed(std::vector<spindle::Task<void>>{iterated})) t.result();
  });
  BOOST_TEST(!waited.done());  // wait and as_completed never cancel what they wait on
  BOOST_TEST(!iterated.done());
  expect_cancel([] {
    spindle::task_group([](spindle::TaskGroup& g) { g.spawn([] { spindle::sleep(1h); }); });
  });
  expect_cancel([] { spindle::with_timeout(1h, [] { spindle::sleep(2h); }); });
  waited.cancel();
  iterated.cancel();

  // The synchronization primitives' waits.
  spindle::Lock lock;
  lock.lock();
  expect_cancel([&] { lock.lock(); });
  lock.unlock();
  spindle::Event event;
  expect_cancel([&] { event.wait(); });
  spindle::Semaphore sem(0);
  expect_cancel([&] { sem.acquire(); });
  spindle::Condition cond;
  expect_cancel([&] {
    std::unique_lock<spindle::Condition> lk(cond);
    cond.wait();
  });
  spindle::Barrier barrier(2);
  expect_cancel([&] { barrier.wait(); });
  spindle::Queue<int> empty, full(1);
  full.put_nowait(0);
  expect_cancel([&] { empty.get(); });
  expect_cancel([&] { full.put(1); });
  expect_cancel([&] { full.join(); });
  BOOST_TEST(full.qsize() == 1u);  // nothing was added or lost
  BOOST_TEST(!barrier.broken());
  BOOST_TEST(!lock.locked());
}

SPINDLE_TEST_CASE(cancelling_counts_every_request_and_uncancel_takes_them_back) {
  auto t = spindle::spawn([] {
    try {
      spindle::sleep(1h);
    } catch (const CancelledError&) {
      spindle::current_task().uncancel();
      spindle::current_task().uncancel();
      return spindle::current_task().cancelling();
    }
    return -1;
  });
  spindle::yield_now();
  t.cancel("one");
  t.cancel("two");
  t.cancel("three");
  BOOST_TEST(t.cancelling() == 3);
  BOOST_TEST(t.join() == 1);  // one CancelledError delivered, two requests taken back
}

SPINDLE_TEST_CASE(the_first_request_message_is_delivered) {
  std::string msg;
  auto t = spindle::spawn([&] {
    try {
      spindle::sleep(1h);
    } catch (const CancelledError& e) {
      msg = e.message();
    }
  });
  spindle::yield_now();
  t.cancel("first");
  t.cancel("second");
  t.join();
  BOOST_TEST(msg == "first");
}

SPINDLE_TEST_CASE(shield_gives_the_caller_cancelled_error_and_keeps_the_task_running) {
  auto inner = spindle::spawn([] {
    spindle::sleep(10ms);
    return 42;
  });
  auto outer = spindle::spawn([&] { return spindle::shield(inner); });
  spindle::yield_now();
  outer.cancel();
  BOOST_CHECK_THROW(outer.join(), CancelledError);
  BOOST_TEST(!inner.done());
  BOOST_TEST(inner.join() == 42);
  BOOST_TEST(!inner.cancelled());
}

SPINDLE_TEST_CASE(shield_returns_the_value_when_not_cancelled) {
  auto inner = spindle::spawn([] { return std::string("kept"); });
  BOOST_TEST(spindle::shield(inner) == "kept");
}

SPINDLE_TEST_CASE(cancel_shield_holds_cancellation_until_the_next_park_after_it) {
  std::vector<std::string> trace;
  auto t = spindle::spawn([&] {
    {
      spindle::CancelShield shield;
      spindle::sleep(10ms);  // cancel() arrives here: not interrupted
      trace.push_back("cleanup finished");
    }
    trace.push_back("after the scope");
    try {
      spindle::yield_now();
    } catch (const CancelledError&) {
      trace.push_back("delivered");
      throw;
    }
  });
  spindle::sleep(1ms);
  t.cancel();
  BOOST_CHECK_THROW(t.join(), CancelledError);
  BOOST_TEST(trace ==
             (std::vector<std::string>{"cleanup finished", "after the scope", "delivered"}));
}

SPINDLE_TEST_CASE(cancel_shield_lets_destructors_block_during_cancellation) {
  // A destructor that parks: without the shield, the cancellation being delivered would be
  // thrown out of the destructor and terminate the process.
  struct Connection {
    std::vector<std::string>* trace;
    ~Connection() {
      spindle::CancelShield shield;
      spindle::sleep(5ms);  // e.g. a graceful close
      trace->push_back("closed");
    }
  };
  std::vector<std::string> trace;
  auto t = spindle::spawn([&] {
    Connection c{&trace};
    spindle::sleep(1h);
  });
  spindle::yield_now();
  t.cancel();
  BOOST_CHECK_THROW(t.join(), CancelledError);
  BOOST_TEST(trace == (std::vector<std::string>{"closed"}));
}

SPINDLE_TEST_CASE(cancel_shield_nests) {
  auto t = spindle::spawn([] {
    spindle::CancelShield outer;
    {
      spindle::CancelShield inner;
      spindle::sleep(2ms);
    }
    spindle::sleep(2ms);  // still shielded by `outer`
    return 1;
  });
  spindle::yield_now();
  t.cancel();
  // The task returned before any unshielded blocking call: still counts as cancelled.
  BOOST_CHECK_THROW(t.join(), CancelledError);
  BOOST_TEST(t.cancelled());
}

SPINDLE_TEST_CASE(provenance_names_the_requesting_task_and_site) {
  CancelledError seen;
  auto victim = spindle::spawn([&] {
    try {
      spindle::sleep(1h);
    } catch (const CancelledError& e) {
      seen = e;
      throw;
    }
  });
  auto killer = spindle::spawn(spindle::TaskOptions{.name = "killer"}, [&] {
    victim.cancel("enough");  // this line is the recorded site
  });
  BOOST_CHECK_THROW(victim.join(), CancelledError);
  BOOST_TEST((seen.reason() == CancelledError::Reason::Requested));
  BOOST_TEST(seen.requested_by() == "killer");
  BOOST_TEST(std::string(seen.where().file_name()).find("test_cancel.cpp") != std::string::npos);
  BOOST_TEST(seen.where().line() > 0u);
  BOOST_TEST(seen.message() == "enough");
  const std::string what = seen.what();
  BOOST_TEST(what.find("by killer at ") != std::string::npos);
  BOOST_TEST(what.find(": enough") != std::string::npos);
  killer.join();
}

SPINDLE_TEST_CASE(provenance_of_a_forwarded_cancellation) {
  CancelledError seen;
  auto inner = spindle::spawn([&] {
    try {
      spindle::sleep(1h);
    } catch (const CancelledError& e) {
      seen = e;
      throw;
    }
  });
  auto outer = spindle::spawn(spindle::TaskOptions{.name = "outer"}, [&] { inner.join(); });
  spindle::yield_now();
  outer.cancel("stop");
  BOOST_CHECK_THROW(outer.join(), CancelledError);
  BOOST_TEST((seen.reason() == CancelledError::Reason::Forwarded));
  BOOST_TEST(seen.requested_by() == "outer");
  BOOST_TEST(seen.message() == "stop");
}

SPINDLE_TEST_CASE(provenance_of_run_shutdown_and_callbacks) {
  CancelledError seen;
  auto t = spindle::spawn([&] {
    try {
      spindle::sleep(1h);
    } catch (const CancelledError& e) {
      seen = e;
      throw;
    }
  });
  spindle::yield_now();
  spindle::Loop::current().call_soon([&] { t.cancel("from a callback"); });
  BOOST_CHECK_THROW(t.join(), CancelledError);
  BOOST_TEST(seen.requested_by().empty());  // not requested by a task
  BOOST_TEST(seen.message() == "from a callback");
}

BOOST_AUTO_TEST_CASE(shutdown_cancellations_say_so) {
  CancelledError seen;
  spindle::run(
      [&] {
        spindle::spawn([&] {
          try {
            spindle::sleep(1h);
          } catch (const CancelledError& e) {
            seen = e;
            throw;
          }
        });
        spindle::yield_now();
      },
      spindle_test::virtual_time());
  BOOST_TEST((seen.reason() == CancelledError::Reason::Shutdown));
  BOOST_TEST(std::string(seen.what()).find("shutting down") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(debug_mode_reports_a_swallowed_cancellation_with_its_site) {
  Reports reports;
  spindle::RunOptions opts = spindle_test::with_virtual_time(reports.options());
  opts.debug = true;
  spindle_test::run_checked(
      [] {
        auto swallower = spindle::spawn(spindle::TaskOptions{.name = "swallower"}, [] {
          try {
            spindle::sleep(1h);  // the reported site
          } catch (const CancelledError&) {
          }
        });
        auto polite = spindle::spawn([] {
          try {
            spindle::sleep(1h);
          } catch (const CancelledError&) {
            spindle::current_task().uncancel();  // says it handled the cancellation
          }
        });
        spindle::yield_now();
        swallower.cancel();
        polite.cancel();
        swallower.join();
        polite.join();
      },
      std::move(opts));
  BOOST_REQUIRE(reports.items.size() == 1u);
  BOOST_TEST(reports.items[0].task_name == "swallower");
  BOOST_TEST(reports.items[0].message.find("swallowed a cancellation") != std::string::npos);
  BOOST_TEST(reports.items[0].message.find("test_cancel.cpp:") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_swallow_report_outside_debug_mode) {
  Reports reports;
  spindle_test::run_checked(
      [] {
        auto t = spindle::spawn([] {
          try {
            spindle::sleep(1h);
          } catch (const CancelledError&) {
          }
        });
        spindle::yield_now();
        t.cancel();
        t.join();
      },
      spindle_test::with_virtual_time(reports.options()));
  BOOST_TEST(reports.items.size() == (spindle_test::env_debug() ? 1u : 0u));
}

SPINDLE_TEST_CASE(each_task_keeps_its_own_exception_in_a_catch_block) {
  // Task a parks inside a catch block; task b throws, catches and parks inside its own;
  // a resumes first, while b's exception is the thread's most recent caught one. Each
  // `throw;` must rethrow its own task's exception.
  auto a = spindle::spawn([]() -> std::string {
    try {
      throw std::runtime_error("from a");
    } catch (const std::runtime_error&) {
      spindle::sleep(1ms);
      try {
        throw;
      } catch (const std::runtime_error& e) {
        return e.what();
      }
    }
  });
  auto b = spindle::spawn([]() -> std::string {
    try {
      throw std::logic_error("from b");
    } catch (const std::logic_error&) {
      spindle::sleep(2ms);
      try {
        throw;
      } catch (const std::logic_error& e) {
        return e.what();
      }
    }
  });
  BOOST_TEST(a.join() == "from a");
  BOOST_TEST(b.join() == "from b");
  BOOST_TEST(std::uncaught_exceptions() == 0);
}

SPINDLE_TEST_CASE(uncaught_exceptions_is_per_task_while_unwinding) {
  int seen_in_b = -1;
  struct ParksWhileUnwinding {
    ~ParksWhileUnwinding() {
      spindle::CancelShield shield;
      spindle::sleep(2ms);
    }
  };
  auto a = spindle::spawn([] {
    ParksWhileUnwinding p;
    throw std::runtime_error("unwinding a");
  });
  auto b = spindle::spawn([&] {
    spindle::sleep(1ms);  // runs while a is parked mid-unwind
    seen_in_b = std::uncaught_exceptions();
  });
  BOOST_CHECK_THROW(a.join(), std::runtime_error);
  b.join();
  BOOST_TEST(seen_in_b == 0);
}

SPINDLE_TEST_CASE(ten_thousand_tasks_cancelled_at_once) {
  std::vector<spindle::Task<void>> ts;
  int unwound = 0;
  struct Count {
    int* n;
    ~Count() { ++*n; }
  };
  for (int i = 0; i < 10000; ++i) {
    ts.push_back(spindle::spawn([&] {
      Count c{&unwound};
      spindle::sleep(1h);
    }));
  }
  spindle::yield_now();
  for (auto& t : ts) t.cancel();
  auto out = spindle::gather_settled(ts);
  BOOST_TEST(unwound == 10000);
  for (auto& o : out) BOOST_REQUIRE(!o.has_value());
  BOOST_TEST(spindle::detail::stacks_in_use() == 1u);  // only this test's main task
}

BOOST_AUTO_TEST_SUITE_END()
