// Stream, open_connection, start_server: buffered reads, limits, half-close, failures,
// cancellation, many clients, handler errors, closing.
#include <spindle_test.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spindle/spindle.hpp>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
using spindle::io::Address;
using spindle::io::Server;
using spindle::io::Socket;
using spindle::io::Stream;

namespace {
/// A server on a free loopback port whose handler is `h`.
Server serve(spindle::detail::UniqueFunction<void(Stream&)> h) {
  return spindle::io::start_server(std::move(h), "127.0.0.1", 0);
}
void echo(Stream& s) {
  for (std::string line = s.read_line(); !line.empty(); line = s.read_line()) s.write(line);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(stream)

SPINDLE_REALTIME_TEST_CASE(reads_lines_exact_counts_and_until_separators) {
  auto srv = serve([](Stream& s) {
    s.write("line one\nline two\n12345ABCDE--end--tail");
    s.write_eof();
    s.read(1);  // wait for the client to finish
  });
  Stream c = spindle::io::open_connection("127.0.0.1", srv.port());
  BOOST_TEST(c.read_line() == "line one\n");
  BOOST_TEST(c.read_line() == "line two\n");
  BOOST_TEST(c.read_exactly(5) == "12345");
  BOOST_TEST(c.read_until("--end--") == "ABCDE--end--");
  BOOST_TEST(!c.at_eof());
  BOOST_TEST(c.read_line() == "tail");  // the last line has no newline
  BOOST_TEST(c.read_line().empty());
  BOOST_TEST(c.at_eof());
  BOOST_TEST(c.read().empty());
}

SPINDLE_REALTIME_TEST_CASE(incomplete_read_error_carries_the_partial_bytes) {
  auto srv = serve([](Stream& s) { s.write("abc"); });
  Stream c = spindle::io::open_connection("127.0.0.1", srv.port());
  try {
    c.read_exactly(10);
    BOOST_FAIL("read_exactly past the end must throw");
  } catch (const spindle::IncompleteReadError& e) {
    BOOST_TEST(e.partial() == "abc");
    BOOST_TEST(e.expected() == 10u);
  }
}

SPINDLE_REALTIME_TEST_CASE(limit_overrun_consumes_nothing) {
  auto srv = serve([](Stream& s) {
    s.write(std::string(100, 'x') + "\n");
    s.read(1);
  });
  Socket sock = Socket::tcp();
  sock.connect(Address::parse("127.0.0.1:" + std::to_string(srv.port())));
  Stream c(std::move(sock), spindle::io::StreamOptions{.limit = 10});
  try {
    c.read_until("\n");
    BOOST_FAIL("read_until beyond the limit must throw");
  } catch (const spindle::LimitOverrunError& e) {
    BOOST_TEST(e.consumed() > 10u);
  }
  BOOST_TEST(c.read_exactly(101) == std::string(100, 'x') + "\n");  // nothing was lost
}

SPINDLE_REALTIME_TEST_CASE(half_close_then_read_the_reply) {
  auto srv = serve([](Stream& s) {
    std::string all;
    for (std::string part = s.read(); !part.empty(); part = s.read()) all += part;
    s.write("got " + std::to_string(all.size()) + " bytes");
  });
  Stream c = spindle::io::open_connection("127.0.0.1", srv.port());
  c.write(std::string(300000, 'y'));  // more than the socket buffers: write parks
  c.write_eof();
  BOOST_TEST(c.read(100) == "got 300000 bytes");
}

SPINDLE_REALTIME_TEST_CASE(a_cancelled_read_loses_no_buffered_bytes) {
  auto srv = serve([&](Stream& s) {
    s.write("first-part ");
    s.drain();
    spindle::sleep(20ms);
    s.write("second\n");
    s.read(1);
  });
  Stream c = spindle::io::open_connection("127.0.0.1", srv.port());
  // Times out with "first-part " buffered and no newline yet.
  BOOST_CHECK_THROW(spindle::with_timeout(10ms, [&] { return c.read_until("\n"); }),
                    spindle::TimeoutError);
  BOOST_TEST(c.read_until("\n") == "first-part second\n");
}

SPINDLE_REALTIME_TEST_CASE(read_some_takes_buffered_bytes_first_then_receives_into_the_buffer) {
  auto [in, out] = spindle::io::pipe();
  out.write("hello\nworld");
  BOOST_TEST(in.read_line() == "hello\n");  // "world" arrived too and stays buffered
  char buf[16];
  BOOST_TEST(in.read_some(std::span<char>(buf, 3)) == 3u);
  BOOST_TEST(std::string_view(buf, 3) == "wor");
  // What is buffered comes back at once, without waiting for more.
  BOOST_TEST(in.read_some(buf) == 2u);
  BOOST_TEST(std::string_view(buf, 2) == "ld");
  out.write("!!");
  BOOST_TEST(in.read_some(buf) == 2u);  // nothing buffered: straight from the pipe
  BOOST_TEST(std::string_view(buf, 2) == "!!");
  BOOST_TEST(in.read_some(std::span<char>()) == 0u);  // an empty buffer reads nothing
  out.close();
  BOOST_TEST(in.read_some(buf) == 0u);  // end of stream
  BOOST_TEST(in.at_eof());
}

SPINDLE_REALTIME_TEST_CASE(read_returns_at_most_max_and_keeps_the_rest) {
  auto [in, out] = spindle::io::pipe();
  out.write("abcdef");
  BOOST_TEST(in.read(2) == "ab");
  BOOST_TEST(in.read(3) == "cde");
  BOOST_TEST(in.read(100) == "f");
  BOOST_TEST(in.read(0).empty());  // asyncio: read(0) is b'' at once, it never waits
  out.write("xyz");
  BOOST_TEST(in.read_exactly(1) == "x");
  BOOST_TEST(in.read_exactly(2) == "yz");
}

SPINDLE_REALTIME_TEST_CASE(a_megabyte_arrives_intact_through_every_read) {
  // More than the loop's 64 KiB receive buffer at a time, through each read form in turn.
  std::string sent(1 << 20, '\0');
  for (std::size_t i = 0; i < sent.size(); ++i) {
    sent[i] = i % 1000 == 999 ? '\n' : static_cast<char>('a' + (i * 7) % 26);
  }
  auto [in, out] = spindle::io::pipe();
  auto writer = spindle::spawn([&, w = std::move(out)]() mutable {
    w.write(sent);
    w.close();
  });
  std::string got;
  char buf[5000];
  for (int turn = 0; !in.at_eof(); ++turn) {
    switch (turn % 4) {
      case 0: got += in.read(70000); break;
      case 1: got.append(buf, in.read_some(buf)); break;
      case 2:
        try {
          got += in.read_exactly(12345);
        } catch (const spindle::IncompleteReadError& e) {
          got += e.partial();
        }
        break;
      default: got += in.read_line(); break;
    }
    if (in.at_eof()) break;
  }
  writer.join();
  BOOST_TEST(got.size() == sent.size());
  BOOST_TEST((got == sent));
}

SPINDLE_REALTIME_TEST_CASE(a_cancelled_read_some_loses_nothing) {
  auto ends = spindle::io::pipe();  // not a structured binding: lambdas use it (clang 14)
  Stream& in = ends.first;
  Stream& out = ends.second;
  char buf[8];
  BOOST_CHECK_THROW(spindle::with_timeout(10ms, [&] { return in.read_some(buf); }),
                    spindle::TimeoutError);
  out.write("later");
  BOOST_TEST(in.read_some(buf) == 5u);
  BOOST_TEST(std::string_view(buf, 5) == "later");
}

SPINDLE_REALTIME_TEST_CASE(read_until_across_receives_keeps_what_follows_the_separator) {
  auto ends = spindle::io::pipe();  // not a structured binding: lambdas use it (clang 14)
  Stream& in = ends.first;
  Stream& out = ends.second;
  out.write("GET / HTTP/1.1\r\nHost: x");
  auto rest = spindle::spawn([&] {
    spindle::sleep(10ms);
    out.write("\r\n\r\nGET /two HTTP/1.1\r\n\r\n");
  });
  BOOST_TEST(in.read_until("\r\n\r\n") == "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(in.read_until("\r\n\r\n") == "GET /two HTTP/1.1\r\n\r\n");
  rest.join();
}

SPINDLE_REALTIME_TEST_CASE(accepted_tcp_connections_have_nodelay_set) {
  int seen = -1;
  auto srv = serve([&](Stream& s) {
    socklen_t len = sizeof seen;
    ::getsockopt(s.socket().fd(), IPPROTO_TCP, TCP_NODELAY, &seen, &len);
    s.write("done");
  });
  Stream c = spindle::io::open_connection("127.0.0.1", srv.port());
  BOOST_TEST(c.read(4) == "done");
  BOOST_TEST(seen == 1);  // asyncio and Go set it on every TCP connection too
}

BOOST_AUTO_TEST_CASE(a_handler_parked_in_read_keeps_a_shallow_stack) {
  // What an idle connection costs is mostly its handler's stack: parked in Stream::read,
  // its frames stay within a few pages (they once sat below a 16 KiB receive buffer).
  spindle::RunOptions opts;
  opts.track_stack_use = true;  // exact: counts only this task's pages
  std::size_t used = 0;
  spindle::run(
      [&] {
        spindle::AnyTask handler;
        spindle::Event parked;
        auto srv = serve([&](Stream& s) {
          handler = spindle::current_task();
          parked.set();
          s.read();
        });
        Stream c = spindle::io::open_connection("127.0.0.1", srv.port());
        parked.wait();
        spindle::sleep(10ms);  // the handler has gone on into read() and parked there
        used = handler.stack_used();
        c.close();
        srv.close();
        srv.wait_closed();
      },
      std::move(opts));
  BOOST_TEST(used > 0u);
  BOOST_TEST(used < 16u * 1024);  // 8 KiB here, 12 KiB under ASan; the old buffer alone was 16 KiB
}

SPINDLE_REALTIME_TEST_CASE(peer_reset_is_econnreset) {
  auto srv = serve([](Stream& s) {
    linger l{1, 0};  // close with RST
    ::setsockopt(s.socket().fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    s.read(1);
  });
  Stream c = spindle::io::open_connection("127.0.0.1", srv.port());
  c.write("x");
  try {
    c.read();
    c.read();
    BOOST_FAIL("reading from a reset connection must throw");
  } catch (const std::system_error& e) {
    BOOST_TEST(e.code().value() == ECONNRESET);
  }
}

namespace {
/// A client stream to srv that buffers without limit (write() never parks) and gives close()
/// `bound` to send it.
Stream unbounded_client(const Server& srv, spindle::Clock::duration bound) {
  Stream plain = spindle::io::open_connection("127.0.0.1", srv.port());
  return Stream(std::move(plain.socket()), {.high_water = std::size_t{1} << 30, .close_timeout = bound});
}
const std::string kMiB(1 << 20, 'x');
}  // namespace

SPINDLE_REALTIME_TEST_CASE(close_gives_up_on_a_peer_that_never_reads_and_resets) {
  spindle::Event release;
  std::error_code peer_saw;
  auto srv = serve([&](Stream& s) {
    release.wait();  // reads nothing until the client has closed
    try {
      while (!s.read().empty()) {
      }
    } catch (const std::system_error& e) {
      peer_saw = e.code();
    }
  });
  Stream c = unbounded_client(srv, 300ms);
  for (int i = 0; i < 64; ++i) c.write(kMiB);  // far more than the kernel's buffers hold
  const auto t0 = spindle::Clock::now();
  c.close();
  const auto took = spindle::Clock::now() - t0;
  BOOST_TEST(took >= 250ms);
  BOOST_TEST(took < 10s);
  release.set();
  srv.close();
  srv.wait_closed();
  BOOST_TEST(peer_saw.value() == ECONNRESET);  // aborted, not ended as if all had arrived
}

SPINDLE_REALTIME_TEST_CASE(a_cancelled_task_holding_a_stuck_stream_still_finishes) {
  spindle::Event release;
  auto srv = serve([&](Stream&) { release.wait(); });
  auto t = spindle::spawn([&] {
    Stream c = unbounded_client(srv, 300ms);
    for (int i = 0; i < 64; ++i) c.write(kMiB);
    spindle::sleep(1h);
  });  // ~Stream flushes under a CancelShield: the bound is what ends it
  spindle::sleep(100ms);
  const auto t0 = spindle::Clock::now();
  t.cancel();
  BOOST_CHECK_THROW(t.join(), spindle::CancelledError);
  const auto took = spindle::Clock::now() - t0;
  BOOST_TEST(took < 10s);
  release.set();
  srv.close();
  srv.wait_closed();
}

SPINDLE_REALTIME_TEST_CASE(open_connection_resolves_names) {
  auto srv = serve(echo);
  Stream c = spindle::io::open_connection("localhost", srv.port());
  c.write("by name\n");
  BOOST_TEST(c.read_line() == "by name\n");
}

SPINDLE_REALTIME_TEST_CASE(connect_refused_from_open_connection) {
  std::uint16_t port;
  {
    auto srv = serve(echo);
    port = srv.port();
  }  // closed
  try {
    spindle::io::open_connection("127.0.0.1", port);
    BOOST_FAIL("connect must be refused");
  } catch (const std::system_error& e) {
    BOOST_TEST(e.code().value() == ECONNREFUSED);
  }
}

SPINDLE_REALTIME_TEST_CASE(connect_timeout_through_with_timeout) {
  // A listener that never accepts, with its accept queue full: Linux drops further SYNs,
  // so the next connect stays pending until with_timeout ends it.
  auto srv = Socket::tcp();
  srv.bind(Address::parse("127.0.0.1:0"));
  srv.listen(0);
  const Address where = srv.local_address();
  std::vector<Socket> queued;
  bool timed_out = false;
  for (int i = 0; i < 8 && !timed_out; ++i) {
    queued.push_back(Socket::tcp());
    try {
      spindle::with_timeout(200ms, [&] { queued.back().connect(where); });
    } catch (const spindle::TimeoutError&) {
      timed_out = true;
    }
  }
  BOOST_TEST(timed_out);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(server)

SPINDLE_REALTIME_TEST_CASE(accept_backs_off_under_fd_exhaustion_and_keeps_serving) {
  std::vector<std::string> reports;
  spindle::Loop::current().set_exception_handler(
      [&](const spindle::ExceptionContext& c) { reports.push_back(c.message); });
  auto srv = serve(echo);
  // Burn fds until none is left, so the server's accept fails with EMFILE.
  std::vector<int> burned;
  for (;;) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    burned.push_back(fd);
  }
  // Give one back for the client socket; the server has none for accept.
  ::close(burned.back());
  burned.pop_back();
  auto client = Socket::tcp();
  client.connect(Address::parse("127.0.0.1:" + std::to_string(srv.port())));  // queued
  spindle::sleep(50ms);  // the server tries, gets EMFILE, backs off (no busy loop)
  for (int fd : burned) ::close(fd);
  Stream c(std::move(client));
  c.write("still serving\n");
  BOOST_TEST(c.read_line() == "still serving\n");  // accepted once fds were free again
  BOOST_REQUIRE(reports.size() == 1u);  // reported once, not once per retry
  BOOST_TEST(reports[0].find("accept failed, pausing") == 0u);
  BOOST_TEST(reports[0].find("Too many open files") != std::string::npos);
}



SPINDLE_REALTIME_TEST_CASE(serves_a_hundred_clients_at_once) {
  auto srv = serve(echo);
  BOOST_TEST(srv.port() != 0);
  BOOST_TEST(srv.addresses().size() == 1u);
  std::vector<spindle::Task<bool>> clients;
  for (int i = 0; i < 100; ++i) {
    clients.push_back(spindle::spawn([&, i] {
      Stream c = spindle::io::open_connection("127.0.0.1", srv.port());
      bool ok = true;
      for (int k = 0; k < 10; ++k) {
        const std::string msg = std::to_string(i) + ":" + std::to_string(k) + "\n";
        c.write(msg);
        ok = ok && c.read_line() == msg;
      }
      return ok;
    }));
  }
  for (bool ok : spindle::gather(clients)) BOOST_TEST(ok);
}

BOOST_AUTO_TEST_CASE(a_failing_handler_is_reported_and_the_server_keeps_serving) {
  spindle_test::Reports reports;
  spindle::run(
      [] {
        auto srv = serve([](Stream& s) {
          if (s.read_line() == "boom\n") throw std::runtime_error("handler exploded");
          s.write("fine\n");
        });
        {
          Stream bad = spindle::io::open_connection("127.0.0.1", srv.port());
          bad.write("boom\n");
          BOOST_TEST(bad.read().empty());  // the failed handler's connection was closed
        }
        Stream good = spindle::io::open_connection("127.0.0.1", srv.port());
        good.write("hello\n");
        BOOST_TEST(good.read_line() == "fine\n");
      },
      reports.options());
  BOOST_REQUIRE(reports.items.size() == 1u);
  BOOST_TEST(reports.items[0].message.find("handler exploded") != std::string::npos);
}

SPINDLE_REALTIME_TEST_CASE(close_stops_accepting_and_wait_closed_waits_for_handlers) {
  spindle::Event release;
  bool handler_done = false;
  auto srv = serve([&](Stream&) {
    release.wait();
    handler_done = true;
  });
  const std::uint16_t port = srv.port();
  Stream c = spindle::io::open_connection("127.0.0.1", port);
  spindle::sleep(5ms);  // the handler is running
  srv.close();
  BOOST_CHECK_THROW(spindle::io::open_connection("127.0.0.1", port), std::system_error);
  auto waiter = spindle::spawn([&] { srv.wait_closed(); });
  spindle::sleep(5ms);
  BOOST_TEST(!waiter.done());  // a handler is still running
  release.set();
  waiter.join();
  BOOST_TEST(handler_done);
  srv.serve_forever();  // returns at once: the server is closed
}

SPINDLE_REALTIME_TEST_CASE(unix_domain_server) {
  const std::string path = "/tmp/spindle-srv-" + std::to_string(::getpid()) + ".sock";
  auto srv = spindle::io::start_unix_server(echo, path);
  Stream c = spindle::io::open_unix_connection(path);
  c.write("over unix\n");
  BOOST_TEST(c.read_line() == "over unix\n");
  srv.close();
  BOOST_TEST(::access(path.c_str(), F_OK) != 0);  // the socket file is removed
}

BOOST_AUTO_TEST_SUITE_END()
