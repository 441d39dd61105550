// Queue, LifoQueue, PriorityQueue: order, bounds, fairness, cancellation safety,
// task_done/join, Python 3.13 shutdown, move-only items, and a million items under load.
#include <memory>
#include <set>
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using spindle::CancelledError;
using spindle::Queue;

BOOST_AUTO_TEST_SUITE(queue)

SPINDLE_TEST_CASE(fifo_lifo_and_priority_order) {
  Queue<int> q;
  spindle::LifoQueue<int> l;
  spindle::PriorityQueue<int> p;
  for (int v : {3, 1, 2}) {
    q.put_nowait(v);
    l.put_nowait(v);
    p.put_nowait(v);
  }
  std::vector<int> qo, lo, po;
  for (int i = 0; i < 3; ++i) {
    qo.push_back(q.get());
    lo.push_back(l.get());
    po.push_back(p.get());
  }
  BOOST_TEST(qo == (std::vector<int>{3, 1, 2}));
  BOOST_TEST(lo == (std::vector<int>{2, 1, 3}));
  BOOST_TEST(po == (std::vector<int>{1, 2, 3}));  // smallest first, like heapq
  spindle::PriorityQueue<int, std::greater<int>> big_first;
  for (int v : {3, 1, 2}) big_first.put_nowait(v);
  BOOST_TEST(big_first.get() == 3);
}

SPINDLE_TEST_CASE(nowait_calls_raise_full_and_empty) {
  Queue<int> q(2);
  BOOST_TEST(q.maxsize() == 2u);
  BOOST_CHECK_THROW(q.get_nowait(), spindle::QueueEmpty);
  q.put_nowait(1);
  q.put_nowait(2);
  BOOST_TEST(q.full());
  BOOST_TEST(q.qsize() == 2u);
  BOOST_CHECK_THROW(q.put_nowait(3), spindle::QueueFull);
  BOOST_TEST(q.get_nowait() == 1);
  BOOST_TEST(!q.empty());
}

SPINDLE_TEST_CASE(get_parks_until_put_and_put_parks_while_full) {
  Queue<std::string> q(1);
  std::vector<std::string> trace;
  auto consumer = spindle::spawn([&] {
    for (int i = 0; i < 3; ++i) trace.push_back("got " + q.get());
  });
  auto producer = spindle::spawn([&] {
    for (int i = 0; i < 3; ++i) {
      q.put("item" + std::to_string(i));
      trace.push_back("put item" + std::to_string(i));
    }
  });
  spindle::gather(consumer, producer);
  BOOST_TEST(trace.size() == 6u);
  BOOST_TEST(trace.back() == "got item2");
  BOOST_TEST(q.empty());
}

SPINDLE_TEST_CASE(move_only_items) {
  Queue<std::unique_ptr<int>> q(1);
  auto t = spindle::spawn([&] { return *q.get() + *q.get(); });
  q.put(std::make_unique<int>(20));
  q.put(std::make_unique<int>(22));
  BOOST_TEST(t.join() == 42);
}

SPINDLE_TEST_CASE(getters_are_served_in_order_and_newcomers_cannot_barge) {
  Queue<int> q;
  std::vector<std::string> got;
  std::vector<spindle::Task<void>> ts;
  for (int i = 0; i < 3; ++i) {
    ts.push_back(spindle::spawn(
        [&, i] { got.push_back(std::to_string(i) + ":" + std::to_string(q.get())); }));
  }
  spindle::yield_now();
  q.put_nowait(10);                                        // reserved for getter 0
  BOOST_CHECK_THROW(q.get_nowait(), spindle::QueueEmpty);  // a newcomer cannot take it
  q.put_nowait(11);
  q.put_nowait(12);
  spindle::gather(ts);
  BOOST_TEST(got == (std::vector<std::string>{"0:10", "1:11", "2:12"}));
}

SPINDLE_TEST_CASE(a_cancelled_getter_leaves_the_item_in_the_queue) {
  Queue<int> q;
  auto a = spindle::spawn([&] { return q.get(); });
  auto b = spindle::spawn([&] { return q.get(); });
  spindle::yield_now();
  q.put_nowait(1);  // reserved for a ...
  a.cancel();       // ... cancelled before it runs: the item goes to b
  BOOST_CHECK_THROW(a.join(), CancelledError);
  BOOST_TEST(b.join() == 1);
  BOOST_TEST(q.empty());
  auto c = spindle::spawn([&] { return q.get(); });
  spindle::yield_now();
  q.put_nowait(2);
  c.cancel();  // no other getter: the item simply stays
  BOOST_CHECK_THROW(c.join(), CancelledError);
  BOOST_TEST(q.qsize() == 1u);
  BOOST_TEST(q.get_nowait() == 2);
}

SPINDLE_TEST_CASE(a_cancelled_putter_inserts_nothing) {
  Queue<int> q(1);
  q.put_nowait(0);
  auto a = spindle::spawn([&] { q.put(1); });
  auto b = spindle::spawn([&] { q.put(2); });
  spindle::yield_now();
  BOOST_TEST(q.get() == 0);  // frees a slot, reserved for a ...
  a.cancel();                // ... cancelled: the slot goes to b
  BOOST_CHECK_THROW(a.join(), CancelledError);
  b.join();
  BOOST_TEST(q.get_nowait() == 2);
  BOOST_TEST(q.empty());
}

SPINDLE_TEST_CASE(cancelled_waiters_in_the_middle_of_the_list) {
  Queue<int> q;
  std::vector<spindle::Task<int>> ts;
  for (int i = 0; i < 6; ++i) ts.push_back(spindle::spawn([&] { return q.get(); }));
  spindle::yield_now();
  ts[1].cancel();
  ts[3].cancel();
  spindle::yield_now();
  for (int v = 0; v < 4; ++v) q.put_nowait(v);
  auto out = spindle::gather_settled(ts);
  std::vector<int> got;
  for (int i : {0, 2, 4, 5}) got.push_back(out[i].value());
  BOOST_TEST(got == (std::vector<int>{0, 1, 2, 3}));
  BOOST_TEST(!out[1].has_value());
  BOOST_TEST(!out[3].has_value());
}

SPINDLE_TEST_CASE(get_with_timeout_consumes_nothing) {
  Queue<int> q;
  BOOST_CHECK_THROW(spindle::with_timeout(2ms, [&] { return q.get(); }), spindle::TimeoutError);
  q.put_nowait(5);
  BOOST_TEST(q.get() == 5);
}

SPINDLE_TEST_CASE(task_done_and_join) {
  Queue<int> q;
  std::vector<int> processed;
  for (int i = 0; i < 3; ++i) q.put_nowait(i);
  auto worker = spindle::spawn([&] {
    for (;;) {
      const int v = q.get();
      spindle::sleep(1ms);
      processed.push_back(v);
      q.task_done();
    }
  });
  q.join();
  BOOST_TEST(processed == (std::vector<int>{0, 1, 2}));
  BOOST_CHECK_THROW(q.task_done(), std::logic_error);
  worker.cancel();
  BOOST_CHECK_THROW(worker.join(), CancelledError);
}

SPINDLE_TEST_CASE(shutdown_lets_getters_drain_then_raises) {
  Queue<int> q;
  q.put_nowait(1);
  q.put_nowait(2);
  q.shutdown();
  BOOST_CHECK_THROW(q.put_nowait(3), spindle::QueueShutDown);
  BOOST_CHECK_THROW(q.put(3), spindle::QueueShutDown);
  BOOST_TEST(q.get() == 1);
  BOOST_TEST(q.get_nowait() == 2);
  BOOST_CHECK_THROW(q.get(), spindle::QueueShutDown);
  BOOST_CHECK_THROW(q.get_nowait(), spindle::QueueShutDown);
}

SPINDLE_TEST_CASE(immediate_shutdown_with_parked_putters_and_getters) {
  Queue<int> full(1), empty;
  full.put_nowait(7);
  auto putter = spindle::spawn([&] { full.put(8); });
  auto getter = spindle::spawn([&] { return empty.get(); });
  auto joiner = spindle::spawn([&] { full.join(); });
  spindle::yield_now();
  full.shutdown(true);
  empty.shutdown(true);
  BOOST_CHECK_THROW(putter.join(), spindle::QueueShutDown);
  BOOST_CHECK_THROW(getter.join(), spindle::QueueShutDown);
  joiner.join();  // the dropped item counts as done
  BOOST_TEST(full.empty());
  BOOST_CHECK_THROW(full.get_nowait(), spindle::QueueShutDown);
}

SPINDLE_TEST_CASE(immediate_shutdown_after_an_item_was_reserved) {
  Queue<int> q;
  auto getter = spindle::spawn([&] { return q.get(); });
  spindle::yield_now();
  q.put_nowait(1);   // reserved for getter, which has not run yet
  q.shutdown(true);  // drops it
  BOOST_CHECK_THROW(getter.join(), spindle::QueueShutDown);
}

SPINDLE_TEST_CASE(a_million_items_between_a_hundred_producers_and_consumers) {
  constexpr int kProducers = 100, kConsumers = 100, kPerProducer = 10000;
  Queue<int> q(64);
  std::vector<int> seen(kProducers * kPerProducer, 0);
  std::vector<spindle::Task<void>> ts;
  for (int p = 0; p < kProducers; ++p) {
    ts.push_back(spindle::spawn([&, p] {
      for (int i = 0; i < kPerProducer; ++i) q.put(p * kPerProducer + i);
    }));
  }
  long consumed = 0;
  std::vector<spindle::Task<void>> consumers;
  for (int c = 0; c < kConsumers; ++c) {
    consumers.push_back(spindle::spawn([&] {
      try {
        for (;;) {
          ++seen[q.get()];
          ++consumed;
        }
      } catch (const spindle::QueueShutDown&) {
      }
    }));
  }
  spindle::gather(ts);
  q.shutdown();  // consumers drain what is left, then stop
  spindle::gather(consumers);
  BOOST_TEST(consumed == static_cast<long>(seen.size()));
  BOOST_TEST(std::count(seen.begin(), seen.end(), 1) == static_cast<long>(seen.size()));
}

BOOST_AUTO_TEST_SUITE_END()
