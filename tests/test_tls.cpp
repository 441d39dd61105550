// TLS streams, spindle to spindle: handshakes, what they negotiate, verification failures
// with OpenSSL's reasons, STARTTLS, half-close, large transfers, cancellation, timeouts, and
// peers that send garbage or nothing. (Against openssl, Python and curl: test_tls_interop.)
#include <spindle_test.hpp>
#include <tls_certs.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>

using namespace std::chrono_literals;
using spindle::io::ConnectOptions;
using spindle::io::ServerOptions;
using spindle::io::Stream;
using spindle::io::TlsContext;
using spindle::io::TlsError;

namespace {

TlsContext server_context(const std::string& cert, const std::string& key) {
  return TlsContext::server(cert, key);
}
TlsContext server_context() {
  const auto& c = spindle_test::tls_certs();
  return server_context(c.server_cert, c.server_key);
}
/// A client trusting the test CA (and the system's).
TlsContext client_context() {
  return TlsContext::client().load_verify_file(spindle_test::tls_certs().ca);
}

spindle::io::Server tls_server(spindle::detail::UniqueFunction<void(Stream&)> h,
                               TlsContext ctx = server_context(), ServerOptions opts = {}) {
  opts.tls = std::move(ctx);
  return spindle::io::start_server(std::move(h), "127.0.0.1", 0, std::move(opts));
}

Stream tls_connect(std::uint16_t port, TlsContext ctx = client_context(),
                   std::string name = "localhost") {
  ConnectOptions o;
  o.tls = std::move(ctx);
  o.server_hostname = std::move(name);
  return spindle::io::open_connection("127.0.0.1", port, std::move(o));
}

void echo_lines(Stream& s) {
  for (std::string line = s.read_line(); !line.empty(); line = s.read_line()) s.write(line);
}

/// Reads until the peer closes: a server that never answers.
void mute(Stream& s) {
  while (!s.read().empty()) {
  }
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The TlsError a connection attempt fails with; fails the test if it succeeds.
TlsError handshake_error(std::uint16_t port, TlsContext ctx, std::string name = "localhost") {
  try {
    tls_connect(port, std::move(ctx), std::move(name));
  } catch (const TlsError& e) {
    return e;
  }
  BOOST_FAIL("the handshake was expected to fail");
  throw std::logic_error("unreachable");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls)

SPINDLE_REALTIME_TEST_CASE(spindle_client_and_server_talk_tls_and_report_what_they_negotiated) {
  spindle::io::TlsInfo server_side;
  auto srv = tls_server([&](Stream& s) {
    server_side = s.tls_info();
    echo_lines(s);
  });
  Stream c = tls_connect(srv.port());
  c.write("hello over tls\n");
  BOOST_TEST(c.read_line() == "hello over tls\n");
  const auto info = c.tls_info();
  BOOST_TEST(info.protocol == "TLSv1.3");
  BOOST_TEST(!info.cipher.empty());
  BOOST_TEST(contains(info.peer_subject, "CN=localhost"));
  BOOST_TEST(info.alpn.empty());
  BOOST_TEST(server_side.protocol == "TLSv1.3");
  BOOST_TEST(server_side.peer_subject.empty());  // no client certificate asked for
  BOOST_TEST(Stream(spindle::io::Socket()).tls_info().protocol.empty());  // a plain stream
}

SPINDLE_REALTIME_TEST_CASE(the_system_ca_store_is_read_off_the_loop) {
  // SSL_CERT_FILE names a FIFO: reading it blocks until this test writes the bundle, which it
  // can only do while TlsContext::client() loads it if the loop is free meanwhile.
  const auto& certs = spindle_test::tls_certs();
  const std::string fifo = certs.dir + "/system-ca.pem";
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string saved = std::getenv("SSL_CERT_FILE") ? std::getenv("SSL_CERT_FILE") : "";
  ::setenv("SSL_CERT_FILE", fifo.c_str(), 1);
  auto loader = spindle::spawn([] { return TlsContext::client(); });
  int ticks = 0;
  for (int i = 0; i < 5; ++i) {
    spindle::sleep(20ms);
    ++ticks;
  }
  std::ifstream in(certs.ca);
  const std::string bundle((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const bool fed = spindle::to_thread([&] {
    // (non-blocking open: no reader, e.g. after a failure, is ENXIO rather than a hang)
    for (int tries = 0; tries < 1000; ++tries) {
      const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) {
        ::usleep(10'000);
        continue;
      }
      ::fcntl(fd, F_SETFL, 0);
      const bool ok = ::write(fd, bundle.data(), bundle.size()) == static_cast<ssize_t>(bundle.size());
      ::close(fd);
      return ok;
    }
    return false;
  });
  TlsContext ctx = loader.join();
  if (saved.empty()) {
    ::unsetenv("SSL_CERT_FILE");
  } else {
    ::setenv("SSL_CERT_FILE", saved.c_str(), 1);
  }
  ::unlink(fifo.c_str());
  BOOST_TEST(ticks == 5);
  BOOST_TEST(fed);
  // The context trusts what came through the FIFO: our test CA.
  auto srv = tls_server(echo_lines);
  Stream c = tls_connect(srv.port(), std::move(ctx));
  c.write("hi\n");
  BOOST_TEST(c.read_line() == "hi\n");
}

SPINDLE_REALTIME_TEST_CASE(alpn_picks_the_servers_first_choice_among_the_clients) {
  std::string chosen;
  auto srv = tls_server([&](Stream& s) { chosen = s.tls_info().alpn; s.write("ok"); },
                        server_context().set_alpn({"h2", "http/1.1"}));
  Stream c = tls_connect(srv.port(), client_context().set_alpn({"http/1.1", "h2"}));
  BOOST_TEST(c.read(2) == "ok");
  BOOST_TEST(c.tls_info().alpn == "h2");
  BOOST_TEST(chosen == "h2");
  BOOST_CHECK_THROW(client_context().set_alpn({""}), std::invalid_argument);
}

SPINDLE_REALTIME_TEST_CASE(a_self_signed_certificate_fails_verification_with_the_reason) {
  const auto& certs = spindle_test::tls_certs();
  auto srv = tls_server([](Stream& s) { s.read(); }, server_context(certs.self_cert, certs.self_key));
  const TlsError e = handshake_error(srv.port(), client_context());
  BOOST_TEST(contains(e.what(), "certificate verify failed: self-signed certificate"), e.what());
  BOOST_TEST(contains(e.what(), "127.0.0.1:"), e.what());  // names the peer
  BOOST_TEST(e.code().value() == EPROTO);
  // With verification off (tests only), the same server is accepted.
  Stream c = tls_connect(srv.port(), TlsContext::client().set_verify(false));
  BOOST_TEST(c.tls_info().protocol == "TLSv1.3");
}

SPINDLE_REALTIME_TEST_CASE(a_certificate_for_another_name_is_a_hostname_mismatch) {
  const auto& certs = spindle_test::tls_certs();
  auto srv = tls_server([](Stream& s) { s.read(); },
                        server_context(certs.other_cert, certs.other_key));
  const TlsError e = handshake_error(srv.port(), client_context());
  BOOST_TEST(contains(e.what(), "certificate verify failed: hostname mismatch"), e.what());
  // The name it does carry passes; and the IP address is checked as an address.
  BOOST_TEST(tls_connect(srv.port(), client_context(), "other.example").tls_info().protocol ==
             "TLSv1.3");
  auto good = tls_server([](Stream& s) { s.read(); });
  BOOST_TEST(tls_connect(good.port(), client_context(), "127.0.0.1").tls_info().protocol ==
             "TLSv1.3");
  const TlsError ip = handshake_error(good.port(), client_context(), "127.0.0.2");
  BOOST_TEST(contains(ip.what(), "certificate verify failed"), ip.what());
}

SPINDLE_REALTIME_TEST_CASE(tls_to_a_plain_server_is_wrong_version_number) {
  auto plain = spindle::io::start_server(
      [](Stream& s) {
        s.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        s.read();
      },
      "127.0.0.1", 0);
  const TlsError e = handshake_error(plain.port(), client_context());
  BOOST_TEST(contains(e.what(), "wrong version number"), e.what());
}

SPINDLE_REALTIME_TEST_CASE(garbage_or_silence_gets_a_client_disconnected_and_the_server_serves_on) {
  ServerOptions opts;
  opts.tls_handshake_timeout = 200ms;
  auto srv = tls_server(echo_lines, server_context(), opts);
  // Garbage instead of a ClientHello: the server closes the connection.
  Stream junk = spindle::io::open_connection("127.0.0.1", srv.port());
  junk.write(std::string(300, '\x16') + "not a handshake at all\r\n\r\n");
  try {
    BOOST_TEST(junk.read().size() < 300u);  // at most an alert, then the end
    BOOST_TEST(junk.read().empty());
  } catch (const std::system_error& e) {
    BOOST_TEST(e.code().value() == ECONNRESET);
  }
  // Nothing at all: disconnected after the handshake timeout.
  Stream silent = spindle::io::open_connection("127.0.0.1", srv.port());
  const auto t0 = spindle::Loop::current().time();
  BOOST_TEST(silent.read().empty());
  BOOST_TEST((spindle::Loop::current().time() - t0 >= 200ms));
  // A proper client is still served.
  Stream c = tls_connect(srv.port());
  c.write("still here\n");
  BOOST_TEST(c.read_line() == "still here\n");
}

SPINDLE_REALTIME_TEST_CASE(a_client_handshake_that_gets_no_answer_times_out) {
  auto silent = spindle::io::start_server(mute, "127.0.0.1", 0);
  ConnectOptions o;
  o.tls = client_context();
  o.server_hostname = "localhost";
  o.tls_handshake_timeout = 100ms;
  try {
    spindle::io::open_connection("127.0.0.1", silent.port(), o);
    BOOST_FAIL("the handshake cannot complete");
  } catch (const TlsError& e) {
    BOOST_TEST(e.code().value() == ETIMEDOUT);
    BOOST_TEST(contains(e.what(), "timed out after 100 ms"), e.what());
  }
}

SPINDLE_REALTIME_TEST_CASE(a_cancelled_handshake_closes_the_connection) {
  auto silent = spindle::io::start_server(mute, "127.0.0.1", 0);
  Stream c = spindle::io::open_connection("127.0.0.1", silent.port());
  const TlsContext ctx = client_context();
  BOOST_CHECK_THROW(spindle::with_timeout(20ms, [&] { c.start_tls(ctx, "localhost"); }),
                    spindle::TimeoutError);
  try {
    c.read();
    BOOST_FAIL("the stream must be closed after a cancelled handshake");
  } catch (const std::system_error& e) {
    BOOST_TEST(e.code().value() == EBADF);
  }
}

SPINDLE_REALTIME_TEST_CASE(a_cancelled_tls_read_loses_nothing) {
  auto srv = tls_server([](Stream& s) {
    s.write("first-part ");
    s.drain();
    spindle::sleep(30ms);
    s.write("second\n");
    s.read();
  });
  Stream c = tls_connect(srv.port());
  BOOST_CHECK_THROW(spindle::with_timeout(10ms, [&] { return c.read_until("\n"); }),
                    spindle::TimeoutError);
  BOOST_TEST(c.read_until("\n") == "first-part second\n");
}

// The TLS read's receive completes in the kernel (io_uring) or is ready (epoll) just as the
// reader is cancelled: the ciphertext goes to the session, and the plaintext to a later read.
SPINDLE_REALTIME_TEST_CASE(a_tls_read_racing_its_cancellation_loses_nothing) {
  auto pair = spindle_test::stream_pair();
  Stream& a = pair.first;
  Stream& b = pair.second;
  auto server = spindle::spawn([&b] { b.start_tls(server_context()); });
  a.start_tls(client_context(), "localhost");
  server.join();
  std::string all_sent;
  std::string all_got;
  for (int round = 0; round < 50; ++round) {
    auto reader = spindle_test::spawn_lingering_reader(a);
    spindle::sleep(1ms);
    std::string msg = "round ";
    msg += std::to_string(round);
    msg += ';';
    b.write(msg);     // sealed and sent at once (or handed to the ring), no switch
    reader.cancel();  // before the loop has seen the receive complete
    try {
      all_got += reader.join();
    } catch (const spindle::CancelledError&) {
    }
    all_sent += msg;
    while (all_got.size() < all_sent.size()) {
      all_got += spindle::with_timeout(5s, [&] { return a.read(100); });
    }
    BOOST_TEST(all_got == all_sent);
  }
}

SPINDLE_REALTIME_TEST_CASE(starttls_upgrades_a_plain_connection_on_both_sides) {
  auto srv = spindle::io::start_server(
      [](Stream& s) {
        BOOST_TEST(s.read_line() == "STARTTLS\n");
        s.write("go ahead\n");
        s.start_tls(server_context());
        echo_lines(s);
      },
      "127.0.0.1", 0);
  Stream c = spindle::io::open_connection("127.0.0.1", srv.port());
  c.write("STARTTLS\n");
  BOOST_TEST(c.read_line() == "go ahead\n");
  c.start_tls(client_context(), "localhost");
  BOOST_TEST(c.tls_info().protocol == "TLSv1.3");
  c.write("secret\n");
  BOOST_TEST(c.read_line() == "secret\n");
  BOOST_CHECK_THROW(c.start_tls(client_context(), "localhost"), std::logic_error);
}

SPINDLE_REALTIME_TEST_CASE(write_eof_sends_close_notify_and_the_reply_still_arrives) {
  auto srv = tls_server([](Stream& s) {
    std::string all;
    for (std::string part = s.read(); !part.empty(); part = s.read()) all += part;
    s.write("got " + std::to_string(all.size()) + " bytes");  // after the client's close_notify
  });
  Stream c = tls_connect(srv.port());
  c.write(std::string(100000, 'x'));
  c.write_eof();
  BOOST_TEST(c.read(100) == "got 100000 bytes");
  BOOST_TEST(c.read().empty());
  BOOST_TEST(c.at_eof());
}

SPINDLE_REALTIME_TEST_CASE(a_megabyte_each_way_through_tls_with_back_pressure) {
  std::string sent(1 << 20, '\0');
  for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>(i * 31 % 251);
  auto srv = tls_server([](Stream& s) {
    char buf[7000];
    while (std::size_t n = s.read_some(buf)) s.write(std::string_view(buf, n));
  });
  Stream c = tls_connect(srv.port());
  auto writer = spindle::spawn([&] {
    for (std::size_t off = 0; off < sent.size(); off += 65536) {
      c.write(std::string_view(sent).substr(off, 65536));
      c.drain();
    }
  });
  std::string got;
  while (got.size() < sent.size()) {
    const std::string part = c.read();
    if (part.empty()) break;
    got += part;
  }
  writer.join();
  BOOST_TEST(got.size() == sent.size());
  BOOST_TEST((got == sent));
}

BOOST_AUTO_TEST_CASE(bad_certificate_files_and_missing_names_are_reported) {
  const auto& certs = spindle_test::tls_certs();
  try {
    TlsContext::server(certs.dir + "/missing.crt", certs.server_key);
    BOOST_FAIL("a missing certificate file must throw");
  } catch (const TlsError& e) {
    BOOST_TEST(contains(e.what(), "missing.crt"), e.what());
  }
  try {
    TlsContext::server(certs.server_cert, certs.self_key);
    BOOST_FAIL("a key of another certificate must throw");
  } catch (const TlsError& e) {
    BOOST_TEST(contains(e.what(), "self.key"), e.what());
    BOOST_TEST(contains(e.what(), "key values mismatch"), e.what());
  }
  BOOST_CHECK_THROW(client_context().load_verify_file(certs.dir + "/nothing.pem"), TlsError);
  spindle_test::run_checked([] {
    auto srv = tls_server([](Stream& s) { s.read(); });
    ConnectOptions o;
    o.tls = client_context();  // verifying, and no name to verify against
    BOOST_CHECK_THROW(
        spindle::io::open_connection(spindle::io::Address::ip("127.0.0.1", srv.port()), o),
        std::invalid_argument);
  });
  BOOST_TEST(spindle::io::tls_available());
}

BOOST_AUTO_TEST_SUITE_END()
