// Several loops: run_threads, loops(), current_loop_index(), call_on, Channel, and servers
// sharded with SO_REUSEPORT.
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <spindle_test.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

unsigned usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  BOOST_REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  return static_cast<unsigned>(CPU_COUNT(&set));
}

/// Runs run_threads and checks that the calling thread's loop left no task or stack behind
/// (the other threads' pools are checked by ASan/valgrind in CI).
template <class F>
void run_threads_checked(unsigned n, F main, spindle::ThreadsOptions opts = {}) {
  const auto states_before = spindle::detail::live_task_states();
  spindle::run_threads(n, main, std::move(opts));
  BOOST_TEST(spindle::detail::stacks_in_use() == 0u);
  BOOST_TEST(spindle::detail::live_task_states() == states_before);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(loops)

BOOST_AUTO_TEST_CASE(each_loop_runs_its_main_on_its_own_thread) {
  std::mutex m;
  std::map<unsigned, std::thread::id> threads;
  std::vector<std::string> problems;
  const auto caller = std::this_thread::get_id();
  run_threads_checked(3, [&](unsigned i) {
    std::string problem;
    if (spindle::current_loop_index() != i) problem += "index ";
    const auto all = spindle::loops();
    if (all.size() != 3) problem += "size ";
    for (unsigned j = 0; j < all.size(); ++j) {
      if (all[j].index() != j) problem += "ref-index ";
    }
    if (&all[i].loop() != &spindle::Loop::current()) problem += "ref-loop ";
    spindle::sleep(10ms);  // mains run concurrently, and tasks park as usual
    std::lock_guard<std::mutex> lk(m);
    threads[i] = std::this_thread::get_id();
    if (!problem.empty()) problems.push_back(std::to_string(i) + ": " + problem);
  });
  BOOST_TEST(problems.empty());
  BOOST_REQUIRE(threads.size() == 3u);
  BOOST_TEST((threads[0] == caller));
  std::set<std::thread::id> distinct;
  for (auto& [i, id] : threads) distinct.insert(id);
  BOOST_TEST(distinct.size() == 3u);
}

BOOST_AUTO_TEST_CASE(zero_means_one_loop_per_usable_cpu) {
  std::atomic<unsigned> count{0};
  std::atomic<std::size_t> seen{0};
  spindle::run_threads(0, [&](unsigned) {
    ++count;
    seen = spindle::loops().size();
  });
  BOOST_TEST(count.load() == usable_cpus());
  BOOST_TEST(seen.load() == usable_cpus());
}

BOOST_AUTO_TEST_CASE(pinned_loops_run_on_their_cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  BOOST_REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  const unsigned n = std::min<unsigned>(2, static_cast<unsigned>(cpus.size()));
  std::vector<int> on(n, -1);
  spindle::ThreadsOptions opts;
  opts.pin = true;
  spindle::run_threads(
      n, [&](unsigned i) { on[i] = ::sched_getcpu(); }, opts);
  for (unsigned i = 0; i < n; ++i) BOOST_TEST(on[i] == cpus[i]);
  // The calling thread gets its affinity back.
  cpu_set_t after;
  CPU_ZERO(&after);
  BOOST_REQUIRE(::sched_getaffinity(0, sizeof after, &after) == 0);
  BOOST_TEST(CPU_EQUAL(&set, &after));
}

BOOST_AUTO_TEST_CASE(plain_run_is_a_group_of_one) {
  spindle_test::run_checked([] {
    BOOST_TEST(spindle::current_loop_index() == 0u);
    BOOST_REQUIRE(spindle::loops().size() == 1u);
    BOOST_TEST((&spindle::loops()[0].loop() == &spindle::Loop::current()));
    // call_on the own loop works too: a task of this loop.
    const auto caller = spindle::current_task();
    const bool other = spindle::call_on(spindle::Loop::current(),
                                        [caller] { return !(spindle::current_task() == caller); });
    BOOST_TEST(other);
  });
  BOOST_CHECK_THROW(spindle::current_loop_index(), std::logic_error);
  BOOST_CHECK_THROW(spindle::loops(), std::logic_error);
}

BOOST_AUTO_TEST_CASE(bad_calls_are_refused) {
  BOOST_CHECK_THROW(spindle::run_threads(2, nullptr), std::invalid_argument);
  spindle_test::run_checked(
      [] { BOOST_CHECK_THROW(spindle::run_threads(2, [](unsigned) {}), std::logic_error); });
  spindle::ThreadsOptions bad;
  bad.run.timer_slack = -1ms;
  BOOST_CHECK_THROW(spindle::run_threads(
                        3, [](unsigned) {}, bad),
                    std::invalid_argument);
  spindle::RunOptions spin;
  spin.cross_loop_spin = -1us;
  BOOST_CHECK_THROW(spindle::run([] {}, spin), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(call_on_runs_on_the_target_and_returns_its_result) {
  std::atomic<bool> ok{false};
  run_threads_checked(2, [&](unsigned i) {
    if (i != 0) return;
    spindle::Loop& other = spindle::loops()[1];
    const auto [index, tid] = spindle::call_on(other, [] {
      spindle::sleep(1ms);  // a task: it may park
      return std::pair{spindle::current_loop_index(), std::this_thread::get_id()};
    });
    BOOST_TEST(index == 1u);
    BOOST_TEST((tid != std::this_thread::get_id()));
    // void, move-only results, and exceptions.
    int hits = 0;
    spindle::call_on(other, [&hits] { ++hits; });  // the caller is parked: no race on hits
    BOOST_TEST(hits == 1);
    auto p = spindle::call_on(other, [] { return std::make_unique<int>(7); });
    BOOST_TEST(*p == 7);
    try {
      spindle::call_on(other, []() -> int { throw std::runtime_error("remote failure"); });
      BOOST_FAIL("no exception");
    } catch (const std::runtime_error& e) {
      BOOST_TEST(std::string(e.what()) == "remote failure");
    }
    ok = true;
  });
  BOOST_TEST(ok.load());
}

BOOST_AUTO_TEST_CASE(the_function_is_destroyed_on_the_target_loop) {
  struct Probe {
    std::thread::id* died_on;
    bool live = true;
    explicit Probe(std::thread::id* d) : died_on(d) {}
    Probe(Probe&& o) noexcept : died_on(o.died_on) { o.live = false; }
    ~Probe() {
      if (live) *died_on = std::this_thread::get_id();
    }
  };
  std::thread::id died_on, target;
  run_threads_checked(2, [&](unsigned i) {
    if (i == 1) {
      target = std::this_thread::get_id();
      return;
    }
    spindle::call_on(spindle::loops()[1], [p = Probe(&died_on)] { (void)p; });
  });
  BOOST_TEST((died_on == target));
}

BOOST_AUTO_TEST_CASE(a_loop_whose_main_returned_still_answers) {
  std::atomic<int> answer{0};
  run_threads_checked(2, [&](unsigned i) {
    if (i == 1) return;  // loop 1's main is done at once
    spindle::sleep(30ms);
    answer = spindle::call_on(spindle::loops()[1], [] { return 42; });
  });
  BOOST_TEST(answer.load() == 42);
}

BOOST_AUTO_TEST_CASE(cancelling_the_caller_cancels_the_remote_task_and_waits_for_it) {
  std::atomic<bool> remote_cancelled{false}, remote_cleaned{false}, cleaned_before_join{false};
  std::atomic<bool> caller_cancelled{false}, remote_started{false};
  const auto start = std::chrono::steady_clock::now();
  run_threads_checked(2, [&](unsigned i) {
    if (i != 0) return;
    auto t = spindle::spawn([&] {
      spindle::call_on(spindle::loops()[1], [&] {
        try {
          remote_started = true;
          spindle::sleep(60s);
        } catch (const spindle::CancelledError&) {
          remote_cancelled = true;
          spindle::CancelShield shield;
          spindle::sleep(20ms);  // cleanup that parks: the caller must wait for it
          remote_cleaned = true;
          throw;
        }
      });
    });
    // (A remote task cancelled before it ran never runs its body: wait until it runs.)
    while (!remote_started.load()) spindle::sleep(1ms);
    t.cancel();
    try {
      t.join();
    } catch (const spindle::CancelledError&) {
      caller_cancelled = true;
    }
    cleaned_before_join = remote_cleaned.load();
  });
  BOOST_TEST(remote_cancelled.load());
  BOOST_TEST(caller_cancelled.load());
  BOOST_TEST(cleaned_before_join.load());
  BOOST_TEST((std::chrono::steady_clock::now() - start < 30s));
}

BOOST_AUTO_TEST_CASE(a_timeout_around_call_on_is_a_timeout_error) {
  std::atomic<bool> timed_out{false};
  run_threads_checked(2, [&](unsigned i) {
    if (i != 0) return;
    try {
      spindle::with_timeout(
          20ms, [] { spindle::call_on(spindle::loops()[1], [] { spindle::sleep(60s); }); });
    } catch (const spindle::TimeoutError&) {
      timed_out = true;
    }
  });
  BOOST_TEST(timed_out.load());
}

BOOST_AUTO_TEST_CASE(a_remote_task_cancelled_on_its_own_loop_cancels_the_call) {
  std::atomic<bool> got_cancelled{false};
  run_threads_checked(2, [&](unsigned i) {
    if (i != 0) return;
    try {
      spindle::call_on(spindle::loops()[1], [] {
        spindle::current_task().cancel("from inside");
        spindle::sleep(1s);
      });
    } catch (const spindle::CancelledError& e) {
      got_cancelled = e.message() == "from inside";
    }
  });
  BOOST_TEST(got_cancelled.load());
}

BOOST_AUTO_TEST_CASE(the_first_failure_cancels_the_other_loops) {
  std::atomic<int> cancelled{0}, started{0};
  std::atomic<bool> calls_failed_cleanly{true};
  const auto start = std::chrono::steady_clock::now();
  try {
    spindle::run_threads(3, [&](unsigned i) {
      if (i == 1) {
        spindle::sleep(20ms);
        throw std::runtime_error("loop 1 failed");
      }
      ++started;  // (a main cancelled before it started never runs)
      try {
        // Loop 0 keeps calling loop 2 meanwhile; loop 2 sleeps.
        if (i == 0) {
          for (;;) spindle::call_on(spindle::loops()[2], [] { spindle::sleep(1ms); });
        }
        spindle::sleep(60s);
      } catch (const spindle::CancelledError&) {
        ++cancelled;
        throw;
      } catch (...) {
        calls_failed_cleanly = false;
        throw;
      }
    });
    BOOST_FAIL("run_threads returned");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) == "loop 1 failed");
  }
  BOOST_TEST(cancelled.load() == started.load());
  BOOST_TEST(calls_failed_cleanly.load());
  BOOST_TEST((std::chrono::steady_clock::now() - start < 30s));
  BOOST_TEST(spindle::detail::stacks_in_use() == 0u);
}

BOOST_AUTO_TEST_CASE(shutdown_with_calls_and_transfers_in_flight_loses_nothing) {
  // Every loop runs background tasks that call each other and pass items through a channel;
  // the mains return at once, so shutdown interrupts all of it. Every item put is either
  // received or still in the channel; every call either returned or failed cleanly.
  auto ch = std::make_shared<spindle::Channel<int>>(16);
  std::atomic<long> put{0}, got{0}, calls{0}, answered{0}, failed{0};
  run_threads_checked(3, [&](unsigned i) {
    const unsigned n = static_cast<unsigned>(spindle::loops().size());
    for (int k = 0; k < 4; ++k) {
      spindle::spawn([&, i, n, k] {
        for (int x = 0;; ++x) {
          if (k == 0) {
            ch->put(x);
            ++put;
          } else if (k == 1) {
            (void)ch->get();
            ++got;
          } else {
            ++calls;
            try {
              spindle::call_on(spindle::loops()[(i + 1) % n], [] { spindle::sleep(100us); });
              ++answered;
            } catch (const std::runtime_error&) {  // the target loop had stopped
              ++failed;
              return;  // (retrying at once would spin: a failed call does not park)
            }
          }
        }
      });
    }
    spindle::sleep(50ms);
  });
  BOOST_TEST(put.load() > 0);
  BOOST_TEST(put.load() == got.load() + static_cast<long>(ch->size()));
  // A call that was cancelled counted neither as answered nor failed, at most one per task.
  BOOST_TEST(calls.load() - answered.load() - failed.load() <= 6);
  BOOST_TEST(answered.load() > 0);
}

// --- Channel -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(channel_basics) {
  BOOST_CHECK_THROW(spindle::Channel<int>(0), std::invalid_argument);
  spindle::Channel<std::unique_ptr<int>> ch(2);
  BOOST_TEST(ch.capacity() == 2u);
  auto a = std::make_unique<int>(1);
  BOOST_TEST(ch.try_put(a));
  BOOST_TEST(!a);
  auto b = std::make_unique<int>(2);
  BOOST_TEST(ch.try_put(b));
  auto c = std::make_unique<int>(3);
  BOOST_TEST(!ch.try_put(c));  // full: untouched
  BOOST_TEST(*c == 3);
  BOOST_TEST(ch.size() == 2u);
  std::unique_ptr<int> out;
  BOOST_TEST(ch.try_get(out));
  BOOST_TEST(*out == 1);
  ch.close();
  BOOST_TEST(ch.closed());
  BOOST_CHECK_THROW(ch.try_put(c), spindle::ChannelClosed);
  BOOST_TEST(ch.try_get(out));  // what is left comes out after close
  BOOST_TEST(*out == 2);
  BOOST_CHECK_THROW(ch.try_get(out), spindle::ChannelClosed);
}

BOOST_AUTO_TEST_CASE(channel_items_arrive_once_in_order_per_producer) {
  // Two loops, each with two producers and two consumers: every item arrives exactly once,
  // and each consumer sees each producer's items in the order they were put.
  constexpr int kItems = 5000;
  spindle::Channel<std::pair<int, int>> ch(8);
  std::mutex m;
  std::vector<int> count(4 * kItems, 0);
  std::atomic<bool> in_order{true};
  std::atomic<int> producers_left{4};
  run_threads_checked(2, [&](unsigned i) {
    spindle::task_group([&](spindle::TaskGroup& tg) {
      for (int p = 0; p < 2; ++p) {
        const int producer = static_cast<int>(i) * 2 + p;
        tg.spawn([&, producer] {
          for (int x = 0; x < kItems; ++x) ch.put({producer, x});
          if (--producers_left == 0) ch.close();
        });
        tg.spawn([&] {
          std::vector<int> last(4, -1);
          std::vector<int> mine;
          try {
            for (;;) {
              const auto [producer, x] = ch.get();
              if (x <= last[producer]) in_order = false;
              last[producer] = x;
              mine.push_back(producer * kItems + x);
            }
          } catch (const spindle::ChannelClosed&) {
          }
          std::lock_guard<std::mutex> lk(m);
          for (int v : mine) ++count[v];
        });
      }
    });
  });
  BOOST_TEST(in_order.load());
  BOOST_TEST(std::all_of(count.begin(), count.end(), [](int c) { return c == 1; }));
}

BOOST_AUTO_TEST_CASE(cancelled_channel_waits_lose_and_duplicate_nothing) {
  // Getters on both loops give up after short random timeouts and start again; producers on
  // both loops put items one by one. Every item is received exactly once.
  constexpr int kItems = 4000;
  spindle::Channel<int> ch(4);
  std::mutex m;
  std::vector<int> count(2 * kItems, 0);
  std::atomic<long> timeouts{0};
  std::atomic<int> producers_left{2};
  run_threads_checked(2, [&](unsigned i) {
    spindle::task_group([&](spindle::TaskGroup& tg) {
      tg.spawn([&, i] {
        for (int x = 0; x < kItems; ++x) {
          ch.put(static_cast<int>(i) * kItems + x);
          if (x % 97 == 0) spindle::sleep(200us);  // let getters time out now and then
        }
        if (--producers_left == 0) ch.close();
      });
      for (int g = 0; g < 3; ++g) {
        tg.spawn([&, g] {
          std::vector<int> mine;
          unsigned seed = static_cast<unsigned>(g) * 7919u + 1u;
          for (;;) {
            seed = seed * 1103515245u + 12345u;
            const auto limit = std::chrono::microseconds(20 + (seed >> 16) % 300);
            try {
              mine.push_back(spindle::with_timeout(limit, [&] { return ch.get(); }));
            } catch (const spindle::TimeoutError&) {
              ++timeouts;
            } catch (const spindle::ChannelClosed&) {
              break;
            }
          }
          std::lock_guard<std::mutex> lk(m);
          for (int v : mine) ++count[v];
        });
      }
    });
  });
  BOOST_TEST(std::all_of(count.begin(), count.end(), [](int c) { return c == 1; }));
  BOOST_TEST_MESSAGE("timeouts: " << timeouts.load());
}

BOOST_AUTO_TEST_CASE(a_burst_wakes_a_sleeping_loop_once) {
  // 100 getters parked on loop 1, which sleeps in epoll_wait (no spinning); loop 0 puts 100
  // items at once. Each item wakes a getter with a message to loop 1, but the messages share
  // the kernel wake-ups: one eventfd write while loop 1 sleeps, not one per item.
  constexpr int kGetters = 100;
  spindle::Channel<int> ch(kGetters);
  std::atomic<int> parked{0}, got{0};
  std::size_t writes = 0;
  spindle::ThreadsOptions opts;
  opts.run.cross_loop_spin = std::chrono::nanoseconds(0);
  run_threads_checked(
      2,
      [&](unsigned i) {
        if (i == 1) {
          spindle::task_group([&](spindle::TaskGroup& g) {
            for (int k = 0; k < kGetters; ++k) {
              g.spawn([&] {
                ++parked;
                (void)ch.get();
                ++got;
              });
            }
          });
          return;
        }
        while (parked.load() < kGetters) spindle::sleep(1ms);
        spindle::sleep(20ms);  // loop 1 is asleep by now
        const std::size_t before = spindle::detail::reactor_wakeups();
        for (int k = 0; k < kGetters; ++k) ch.put(k);
        while (got.load() < kGetters) spindle::sleep(1ms);
        writes = spindle::detail::reactor_wakeups() - before;
      },
      opts);
  BOOST_TEST_MESSAGE("kernel wake-ups for a burst of " << kGetters << ": " << writes);
  BOOST_TEST(writes >= 1u);
  BOOST_TEST(writes < 20u);  // (one in practice; one per item without the batching)
}

BOOST_AUTO_TEST_CASE(close_wakes_parked_putters_and_getters) {
  spindle::Channel<int> full(1), empty(1);
  std::atomic<bool> putter_closed{false}, getter_closed{false};
  full.try_put(*std::make_unique<int>(1));
  run_threads_checked(2, [&](unsigned i) {
    if (i == 0) {
      try {
        full.put(2);
      } catch (const spindle::ChannelClosed&) {
        putter_closed = true;
      }
      try {
        (void)empty.get();
      } catch (const spindle::ChannelClosed&) {
        getter_closed = true;
      }
    } else {
      spindle::sleep(20ms);
      full.close();
      spindle::sleep(20ms);
      empty.close();
    }
  });
  BOOST_TEST(putter_closed.load());
  BOOST_TEST(getter_closed.load());
  int v = 0;
  BOOST_TEST(full.try_get(v));  // the item put before close is still there
  BOOST_TEST(v == 1);
}

BOOST_AUTO_TEST_CASE(plain_threads_and_tasks_share_a_channel) {
  constexpr int kItems = 20000;
  spindle::Channel<int> to_loop(16), to_thread(16);
  long thread_sum = 0;
  std::thread producer([&] {
    for (int x = 1; x <= kItems; ++x) to_loop.put(x);  // blocks the thread when full
    to_loop.close();
  });
  std::thread consumer([&] {
    try {
      for (;;) thread_sum += to_thread.get();
    } catch (const spindle::ChannelClosed&) {
    }
  });
  long loop_sum = 0;
  spindle_test::run_checked([&] {
    try {
      for (;;) {
        const int x = to_loop.get();
        loop_sum += x;
        to_thread.put(x);
      }
    } catch (const spindle::ChannelClosed&) {
    }
    to_thread.close();
  });
  producer.join();
  consumer.join();
  const long expected = static_cast<long>(kItems) * (kItems + 1) / 2;
  BOOST_TEST(loop_sum == expected);
  BOOST_TEST(thread_sum == expected);
}

BOOST_AUTO_TEST_CASE(tasks_of_one_loop_use_a_channel_among_themselves) {
  spindle_test::run_checked([] {
    spindle::Channel<int> ch(1);
    auto consumer = spindle::spawn([&] {
      int sum = 0;
      for (int i = 0; i < 100; ++i) sum += ch.get();
      return sum;
    });
    for (int i = 1; i <= 100; ++i) ch.put(i);
    BOOST_TEST(consumer.join() == 5050);
  });
}

// --- sharded servers ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_reuse_port_server_on_every_loop_spreads_connections) {
  // Each loop listens on the same port (SO_REUSEPORT) and answers with its index; the
  // kernel spreads 64 connections over both loops (all on one: odds 2^-63).
  std::atomic<std::uint16_t> port{0};
  std::atomic<int> listening{0};
  spindle::Channel<int> stop(1);
  std::vector<int> served(2, 0);
  run_threads_checked(2, [&](unsigned i) {
    if (i == 0) port = spindle_test::free_port();
    while (port.load() == 0) spindle::sleep(1ms);
    spindle::io::ServerOptions opts;
    opts.reuse_port = true;
    auto server = spindle::io::start_server(
        [i](spindle::io::Stream& s) { s.write(std::to_string(i) + "\n"); }, "127.0.0.1",
        port.load(), opts);
    ++listening;
    if (i == 1) {
      (void)stop.get();  // keep serving until loop 0 is done
      return;
    }
    while (listening.load() < 2) spindle::sleep(1ms);
    for (int c = 0; c < 64; ++c) {
      auto s = spindle::io::open_connection("127.0.0.1", port.load());
      ++served.at(static_cast<std::size_t>(std::stoi(s.read_line())));
    }
    stop.put(1);
  });
  BOOST_TEST(served[0] + served[1] == 64);
  BOOST_TEST(served[0] > 0);
  BOOST_TEST(served[1] > 0);
}

BOOST_AUTO_TEST_SUITE_END()
