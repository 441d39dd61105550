// The I/O backends: choosing one (RunOptions::backend, SPINDLE_BACKEND, Auto), and what the
// io_uring backend promises beyond what every io/ suite checks on both (CI runs each suite
// once per backend): provided buffers that run out, operations that complete while their
// task is being cancelled, sockets closed under operations in flight.
#include <spindle_test.hpp>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <system_error>

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using spindle::io::Stream;

namespace {

/// The backend a loop started with `o` runs on, as a string.
std::string backend_of(spindle::RunOptions o) {
  return spindle::run([] { return std::string(spindle::to_string(spindle::Loop::current().backend())); },
                      std::move(o));
}

/// Sets SPINDLE_BACKEND for the lifetime of the object (unsets it after).
struct EnvBackend {
  explicit EnvBackend(const char* v) { ::setenv("SPINDLE_BACKEND", v, 1); }
  ~EnvBackend() { ::unsetenv("SPINDLE_BACKEND"); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(backend)

BOOST_AUTO_TEST_CASE(run_options_and_the_environment_choose) {
  const char* saved = std::getenv("SPINDLE_BACKEND");
  const std::string keep = saved ? saved : "";
  ::unsetenv("SPINDLE_BACKEND");
  BOOST_TEST(backend_of(spindle_test::on_backend(spindle::Backend::Epoll)) == "epoll");
  // Auto: io_uring where the kernel allows it.
  BOOST_TEST(backend_of({}) == (spindle_test::have_io_uring() ? "io_uring" : "epoll"));
  {
    EnvBackend env("epoll");
    BOOST_TEST(backend_of({}) == "epoll");
    if (spindle_test::have_io_uring()) {
      // An explicit choice wins over the environment.
      BOOST_TEST(backend_of(spindle_test::on_backend(spindle::Backend::IoUring)) == "io_uring");
    }
  }
  if (spindle_test::have_io_uring()) {
    EnvBackend env("io_uring");
    BOOST_TEST(backend_of({}) == "io_uring");
    BOOST_TEST(backend_of(spindle_test::on_backend(spindle::Backend::Epoll)) == "epoll");
  }
  {
    EnvBackend env("kqueue");
    try {
      backend_of({});
      BOOST_FAIL("an unknown SPINDLE_BACKEND must throw");
    } catch (const std::invalid_argument& e) {
      BOOST_TEST(std::string(e.what()).find("SPINDLE_BACKEND=kqueue") != std::string::npos);
    }
  }
  if (!keep.empty()) ::setenv("SPINDLE_BACKEND", keep.c_str(), 1);
}

// As under a container's seccomp profile: io_uring_setup fails with EPERM. Auto falls back
// to epoll; an explicit IoUring says why it cannot run. In a child process, which the filter
// confines.
BOOST_AUTO_TEST_CASE(io_uring_refused_by_seccomp_falls_back_to_epoll) {
#if defined(__x86_64__)
  int pipefd[2];
  BOOST_REQUIRE(::pipe(pipefd) == 0);
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    ::close(pipefd[0]);
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    std::string report;
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
      report = "no seccomp";
    } else {
      ::unsetenv("SPINDLE_BACKEND");
      report = backend_of({});
      try {
        backend_of(spindle_test::on_backend(spindle::Backend::IoUring));
        report += " io_uring ran";
      } catch (const std::system_error& e) {
        report += e.code().value() == EPERM ? " EPERM" : " other error";
      }
    }
    [[maybe_unused]] auto w = ::write(pipefd[1], report.data(), report.size());
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string report;
  char buf[64];
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) report.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_TEST(status == 0);
  BOOST_TEST(report == "epoll EPERM");
#else
  BOOST_TEST_MESSAGE("the seccomp filter here is written for x86-64");
#endif
}

BOOST_AUTO_TEST_CASE(stats_name_the_backend) {
  spindle::run([] {
    BOOST_TEST(std::string(spindle::to_string(spindle::stats().backend)) ==
               spindle::to_string(spindle::Loop::current().backend()));
  });
  BOOST_TEST(std::string(spindle::to_string(spindle::Backend::Auto)) == "auto");
}

// More connections with data waiting at once than the io_uring backend has provided buffers
// (1024): the data is there before the receives are submitted, so one submission completes
// them all at once and those that find no buffer left fall back to the loop's own; every
// byte arrives where it belongs. On epoll the same scene checks the shared scratch buffer.
SPINDLE_REALTIME_TEST_CASE(more_ready_connections_than_provided_buffers) {
  constexpr int kConns = 1300;
  std::vector<std::pair<Stream, Stream>> pairs;
  pairs.reserve(kConns);
  auto line_of = [](int i) {
    std::string line = "connection " + std::to_string(i);
    line += ' ';
    line.append(static_cast<std::size_t>(i % 97), 'x');
    line += '\n';
    return line;
  };
  for (int i = 0; i < kConns; ++i) {
    pairs.push_back(spindle_test::stream_pair());
    pairs.back().second.write(line_of(i));  // sent at once: the kernel takes it whole
  }
  std::vector<spindle::Task<std::string>> readers;
  for (int i = 0; i < kConns; ++i) {
    readers.push_back(spindle::spawn([&pairs, i] { return pairs[i].first.read_line(); }));
  }
  const std::vector<std::string> got = spindle::gather(readers);
  for (int i = 0; i < kConns; ++i) BOOST_TEST(got[i] == line_of(i));
}

// A receive whose data arrives in the same loop round as its task's cancellation: either the
// task gets the bytes (the operation completed; the cancellation comes at the next blocking
// call) or the bytes stay for the next read. Never lost, never twice.
SPINDLE_REALTIME_TEST_CASE(data_racing_a_cancellation_is_never_lost) {
  for (int round = 0; round < 50; ++round) {
    auto pair = spindle_test::stream_pair();
    Stream& a = pair.first;
    Stream& b = pair.second;
    auto reader = spindle_test::spawn_lingering_reader(a);
    spindle::sleep(1ms);
    const std::string msg = "round " + std::to_string(round);
    b.write(msg);  // sent at once, no switch
    reader.cancel();  // before the loop has seen the receive complete
    std::string got;
    try {
      got = reader.join();
    } catch (const spindle::CancelledError&) {
    }
    if (got.size() < msg.size()) got += spindle::with_timeout(5s, [&] { return a.read(100); });
    BOOST_TEST(got == msg);
  }
}

// close() from another task while a receive and a send are in flight: both end with
// ECANCELED, and the peer sees the connection end at once (the kernel let go of the file).
SPINDLE_REALTIME_TEST_CASE(close_under_operations_in_flight) {
  auto pair = spindle_test::stream_pair();
  Stream& a = pair.first;
  Stream& b = pair.second;
  auto reader = spindle::spawn([&a] {
    try {
      a.read(10);
      return 0;
    } catch (const std::system_error& e) {
      return e.code().value();
    }
  });
  spindle::sleep(2ms);
  a.close();
  BOOST_TEST(reader.join() == ECANCELED);
  BOOST_TEST(spindle::with_timeout(5s, [&] { return b.read(10); }).empty());  // end of stream
}

// Two tasks writing whole messages to one stream without a lock: each message arrives whole
// and each task's in its order (io_uring: one send in flight, the rest queued behind it;
// epoll: each write sent at once).
SPINDLE_REALTIME_TEST_CASE(writes_from_two_tasks_keep_their_order) {
  auto pair = spindle_test::stream_pair();
  Stream& a = pair.first;
  Stream& b = pair.second;
  // Built by appending: GCC 12 at -O3 warns (-Wrestrict) about operator+ chains here.
  auto line_for = [](char who, int i) {
    std::string line(1, who);
    line += std::to_string(i);
    line.append(static_cast<std::size_t>(i % 50), '.');
    line += '\n';
    return line;
  };
  auto writer = [&a, &line_for](char who) {
    for (int i = 0; i < 500; ++i) {
      a.write(line_for(who, i));
      if (i % 7 == 0) spindle::yield_now();
    }
    a.drain();  // (epoll: what the kernel refused waits in the stream until drained)
  };
  auto x = spindle::spawn(writer, 'x');
  auto y = spindle::spawn(writer, 'y');
  int next_x = 0, next_y = 0;
  for (int n = 0; n < 1000; ++n) {
    const std::string line = spindle::with_timeout(5s, [&] { return b.read_line(); });
    BOOST_REQUIRE(line.size() >= 3u);
    int& next = line[0] == 'x' ? next_x : next_y;
    BOOST_TEST(line == line_for(line[0], next));
    ++next;
  }
  x.join();
  y.join();
  BOOST_TEST(next_x == 500);
  BOOST_TEST(next_y == 500);
}

// Far more than the high-water mark to a reader that reads slowly: write() parks above the
// mark, and every byte arrives in order.
SPINDLE_REALTIME_TEST_CASE(a_large_write_to_a_slow_reader_arrives_whole) {
  auto pair = spindle_test::stream_pair();
  Stream& a = pair.first;
  Stream& b = pair.second;
  std::string big(4 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 23);
  auto writer = spindle::spawn([&] {
    a.write(big);
    a.drain();
    a.write_eof();
  });
  std::string got;
  while (true) {
    std::string part = spindle::with_timeout(10s, [&] { return b.read(100000); });
    if (part.empty()) break;
    got += part;
    if (got.size() < (1u << 20)) spindle::sleep(1ms);  // slow at first
  }
  writer.join();
  BOOST_TEST(got.size() == big.size());
  BOOST_TEST((got == big));
}

// A stream closed while its peer reads nothing, with more queued than the kernel takes:
// close() gives up after close_timeout and resets; the send still in flight is the ring's
// to finish (io_uring), and the loop's end waits for it. No leak, no crash (ASan, CI).
SPINDLE_REALTIME_TEST_CASE(closing_with_a_send_in_flight_resets_and_frees_it) {
  const int before = spindle_test::open_fds();
  {
    int fds[2];
    BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    spindle::io::StreamOptions o;
    o.close_timeout = 20ms;
    Stream a(spindle::io::Socket::adopt(fds[0]), o);
    Stream b(spindle::io::Socket::adopt(fds[1]));
    const std::string chunk(1 << 20, 'z');
    auto writer = spindle::spawn([&] {
      for (int i = 0; i < 8; ++i) a.write(chunk);  // parks above the high-water mark
    });
    spindle::sleep(20ms);
    writer.cancel();
    BOOST_CHECK_THROW(writer.join(), spindle::CancelledError);
    a.close();  // 20 ms for the rest, then a reset
    BOOST_TEST(!a.socket());
    std::size_t drained = 0;
    try {
      while (true) {
        std::string part = spindle::with_timeout(5s, [&] { return b.read(1 << 20); });
        if (part.empty()) break;
        drained += part.size();
      }
    } catch (const std::system_error&) {  // ECONNRESET: what was left was dropped
    }
    BOOST_TEST(drained < 8u * chunk.size());
  }
  BOOST_TEST(spindle_test::open_fds() == before);
}

namespace {

/// A listener on 127.0.0.1 at a port of the kernel's choice.
spindle::io::Socket listener() {
  spindle::io::Socket l = spindle::io::Socket::tcp();
  l.set_reuse_address(true);
  l.bind(spindle::io::Address::ip("127.0.0.1", 0));
  l.listen(1024);
  return l;
}

/// Connects a client to `at` and accepts it on l: l's accept is running afterwards (on
/// io_uring, its multishot is armed). Returns the client.
spindle::io::Socket connect_and_accept(spindle::io::Socket& l, const spindle::io::Address& at) {
  spindle::io::Socket c = spindle::io::Socket::tcp();
  c.connect(at);
  spindle::io::Socket s = spindle::with_timeout(5s, [&] { return l.accept(); });
  return c;
}

}  // namespace

// 200 connections arrive before anyone accepts (more than io_uring's multishot accept keeps
// waiting, so it stops and is renewed): every one is accepted, once, with its own peer.
SPINDLE_REALTIME_TEST_CASE(a_burst_of_connections_is_accepted_whole) {
  constexpr int kConns = 200;
  spindle::io::Socket l = listener();
  const spindle::io::Address at = l.local_address();
  auto first = spindle::spawn([&l] { return l.accept(); });  // (io_uring: arms the multishot)
  spindle::sleep(2ms);
  std::vector<spindle::io::Socket> clients;
  for (int i = 0; i < kConns; ++i) {
    clients.push_back(spindle::io::Socket::tcp());
    clients.back().connect(at);
    std::string id = std::to_string(i);
    id += ';';
    clients.back().send(std::as_bytes(std::span<const char>(id.data(), id.size())));
  }
  spindle::sleep(20ms);  // the kernel has them all by now
  std::vector<spindle::io::Socket> accepted;
  accepted.push_back(first.join());
  std::vector<spindle::io::Address> peers;
  for (int i = 1; i < kConns; ++i) {
    spindle::io::Address peer;
    accepted.push_back(spindle::with_timeout(5s, [&] { return l.accept(&peer); }));
    peers.push_back(peer);
  }
  std::vector<int> seen(kConns, 0);
  for (spindle::io::Socket& c : accepted) {
    const std::string got = spindle::with_timeout(5s, [&] { return c.recv(16); });
    BOOST_REQUIRE(!got.empty());
    BOOST_REQUIRE(got.back() == ';');
    const int id = std::stoi(got);
    BOOST_REQUIRE(id >= 0 && id < kConns);
    ++seen[static_cast<std::size_t>(id)];
  }
  for (int i = 0; i < kConns; ++i) BOOST_TEST(seen[static_cast<std::size_t>(i)] == 1);
  // Each peer is one of the clients (their ports, as the clients see them).
  std::vector<std::uint16_t> ports;
  for (auto& c : clients) ports.push_back(c.local_address().port());
  for (const auto& p : peers) {
    BOOST_TEST((std::find(ports.begin(), ports.end(), p.port()) != ports.end()));
  }
  // Nothing more was accepted than was connected.
  BOOST_CHECK_THROW(spindle::with_timeout(20ms, [&] { return l.accept(); }), spindle::TimeoutError);
}

// A listener closed with connections the kernel (or io_uring's multishot accept) took and
// nobody accepted: each of them ends for its client, the listener's parked acceptor wakes with
// ECANCELED, and no fd is left behind.
SPINDLE_REALTIME_TEST_CASE(closing_a_listener_ends_the_connections_nobody_accepted) {
  const int before = spindle_test::open_fds();
  {
    spindle::io::Socket l = listener();
    const spindle::io::Address at = l.local_address();
    { spindle::io::Socket warm = connect_and_accept(l, at); }
    std::vector<spindle::io::Socket> clients;
    for (int i = 0; i < 10; ++i) {
      clients.push_back(spindle::io::Socket::tcp());
      clients.back().connect(at);
    }
    spindle::sleep(20ms);
    l.close();
    for (auto& c : clients) {
      try {
        BOOST_TEST(spindle::with_timeout(5s, [&] { return c.recv(16); }).empty());
      } catch (const std::system_error& e) {
        BOOST_TEST(e.code().value() == ECONNRESET);
      }
    }
  }
  BOOST_TEST(spindle_test::open_fds() == before);
}

// A listener (and a stream) that outlive their loop work in the next one: what the first
// loop's ring held for them (on io_uring a multishot accept and its queue, sends behind) is
// let go, and no fd of it is left open.
BOOST_AUTO_TEST_CASE(a_listener_and_a_stream_outlive_their_loop) {
  const int before = spindle_test::open_fds();
  {
    std::optional<spindle::io::Socket> l;
    std::optional<std::pair<Stream, Stream>> pair;
    spindle_test::run_checked([&] {
      l = listener();
      spindle::io::Socket warm = connect_and_accept(*l, l->local_address());
      spindle::io::Socket waiting = spindle::io::Socket::tcp();  // accepted by nobody
      waiting.connect(l->local_address());
      spindle::sleep(20ms);
      pair = spindle_test::stream_pair();
      pair->first.write("first loop;");
    });
    spindle_test::run_checked([&] {
      spindle::io::Socket c = spindle::io::Socket::tcp();
      c.connect(l->local_address());
      c.send(std::as_bytes(std::span<const char>("again", 5)));
      // The client left behind in the first loop may come first (epoll: still in the
      // backlog); it has nothing to say and is closed.
      for (int i = 0; i < 2; ++i) {
        spindle::io::Socket s = spindle::with_timeout(5s, [&] { return l->accept(); });
        const std::string got = spindle::with_timeout(5s, [&] { return s.recv(16); });
        if (got.empty()) continue;
        BOOST_TEST(got == "again");
        break;
      }
      pair->first.write("second loop");
      std::string got;
      while (got.size() < 22) {
        got += spindle::with_timeout(5s, [&] { return pair->second.read(64); });
      }
      BOOST_TEST(got == "first loop;second loop");
    });
    l.reset();
    pair.reset();
  }
  BOOST_TEST(spindle_test::open_fds() == before);
}

// An accept cancelled while parked takes nothing with it: the next connection goes to the
// next accept.
SPINDLE_REALTIME_TEST_CASE(a_cancelled_accept_loses_no_connection) {
  spindle::io::Socket l = listener();
  auto acceptor = spindle::spawn([&l] { return l.accept(); });
  spindle::sleep(2ms);
  acceptor.cancel();
  BOOST_CHECK_THROW(acceptor.join(), spindle::CancelledError);
  spindle::io::Socket c = spindle::io::Socket::tcp();
  c.connect(l.local_address());
  c.send(std::as_bytes(std::span<const char>("hi", 2)));
  spindle::io::Socket s = spindle::with_timeout(5s, [&] { return l.accept(); });
  BOOST_TEST(spindle::with_timeout(5s, [&] { return s.recv(16); }) == "hi");
}

// io_uring's multishot accept takes connections as they arrive, before accept() asks (epoll
// leaves them in the kernel's backlog): the process holds their fds already.
SPINDLE_URING_TEST_CASE(io_uring_accepts_connections_as_they_arrive) {
  spindle::io::Socket l = listener();
  const spindle::io::Address at = l.local_address();
  spindle::io::Socket warm = connect_and_accept(l, at);
  const int before = spindle_test::open_fds();
  std::vector<spindle::io::Socket> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(spindle::io::Socket::tcp());
    clients.back().connect(at);
  }
  spindle::sleep(20ms);
  BOOST_TEST(spindle_test::open_fds() == before + 20);  // 10 clients, 10 accepted and queued
  for (int i = 0; i < 10; ++i) spindle::with_timeout(5s, [&] { return l.accept(); });
  BOOST_TEST(spindle_test::open_fds() == before + 10);  // the accepted ones were closed
}

SPINDLE_URING_TEST_CASE(io_uring_many_parked_readers_hold_no_buffer) {
  // 2000 readers parked (more than the 1024 provided buffers): nothing has been lent, so a
  // write to the last one still lands in a provided buffer and arrives.
  constexpr int kConns = 2000;
  std::vector<std::pair<Stream, Stream>> pairs;
  pairs.reserve(kConns);
  for (int i = 0; i < kConns; ++i) pairs.push_back(spindle_test::stream_pair());
  std::vector<spindle::Task<std::string>> readers;
  for (int i = 0; i < kConns; ++i) {
    readers.push_back(spindle::spawn([&pairs, i] { return pairs[i].first.read(64); }));
  }
  spindle::sleep(20ms);
  BOOST_TEST(spindle::stats().io_waits == static_cast<std::size_t>(kConns));
  pairs.back().second.write("last");
  BOOST_TEST(spindle::with_timeout(5s, [&] { return readers.back().join(); }) == "last");
  for (auto& p : pairs) p.second.close();  // the rest read the end of their streams
  for (auto& r : readers) r.join();
}

BOOST_AUTO_TEST_SUITE_END()
