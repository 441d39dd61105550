// open_connection over several addresses: one after another (refused ones skipped at once),
// raced with a happy_eyeballs_delay (a silent address delays the next by the delay, the
// losers are closed), errors naming every address tried, binding a local address first.
#include <spindle/io/resolve.hpp>
#include <spindle_test.hpp>

#include <netdb.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
using spindle::io::Address;
using spindle::io::ConnectOptions;
using spindle::io::Socket;
using spindle::io::Stream;

namespace {

/// An address where nobody listens: connecting is refused at once.
Address refused() {
  Socket s = Socket::tcp();
  s.bind(Address::parse("127.0.0.1:0"));
  return s.local_address();  // closed again when s goes
}

/// An address that never answers: a listener that does not accept, its queue filled, so the
/// kernel drops further SYNs and a connect stays pending. Keep the result alive meanwhile.
struct Silent {
  Socket listener = Socket::tcp();
  std::vector<Socket> queued;
  Address address;
  Silent() {
    listener.bind(Address::parse("127.0.0.1:0"));
    listener.listen(0);
    address = listener.local_address();
    for (int i = 0; i < 8; ++i) {
      queued.push_back(Socket::tcp());
      try {
        spindle::with_timeout(100ms, [&] { queued.back().connect(address); });
      } catch (const spindle::TimeoutError&) {
        queued.pop_back();
        return;  // the queue is full: the next SYN goes unanswered
      }
    }
    BOOST_FAIL("could not fill a listener's accept queue");
  }
};

/// A server answering "hi" and the address the connection came from.
spindle::io::Server greeter() {
  return spindle::io::start_server(
      [](Stream& s) { s.write("hi from " + s.peer_address().to_string() + "\n"); }, "127.0.0.1", 0);
}

Address of(const spindle::io::Server& s) { return s.addresses().at(0); }

}  // namespace

BOOST_AUTO_TEST_SUITE(connecting)

SPINDLE_REALTIME_TEST_CASE(lookup_failures_keep_the_resolvers_code_and_message) {
  // A service no /etc/services lists, on a name /etc/hosts answers: no DNS involved.
  try {
    spindle::io::resolve("localhost", "no-such-service-spindle");
    BOOST_FAIL("an unknown service resolved");
  } catch (const std::system_error& e) {
    BOOST_TEST((e.code().category() == spindle::io::resolver_category()));
    BOOST_TEST(e.code().value() == EAI_SERVICE);
    BOOST_TEST(std::string(e.what()).find("resolve localhost:no-such-service-spindle: ") == 0u);
    BOOST_TEST(std::string(e.what()).find(::gai_strerror(EAI_SERVICE)) != std::string::npos);
    BOOST_TEST(std::string(e.code().category().name()) == "resolver");
  }
  // A name that cannot exist (RFC 6761's .invalid): EAI_NONAME, or EAI_AGAIN where no DNS
  // server answers at all; never a made-up errno.
  try {
    spindle::io::resolve("no-such-host.invalid", "80");
    BOOST_FAIL("a .invalid name resolved");
  } catch (const std::system_error& e) {
    BOOST_TEST((e.code().category() == spindle::io::resolver_category()));
    const int code = e.code().value();
    BOOST_TEST((code == EAI_NONAME || code == EAI_AGAIN || code == EAI_NODATA), "code " << code);
  }
}

BOOST_AUTO_TEST_CASE(a_race_interleaves_address_families_as_rfc_8305_asks) {
  const auto v6 = [](int n) { return Address::ip("2001:db8::" + std::to_string(n), 80); };
  const auto v4 = [](int n) { return Address::ip("192.0.2." + std::to_string(n), 80); };
  const auto text = [](const std::vector<Address>& as) {
    std::vector<std::string> out;
    for (const auto& a : as) out.push_back(a.to_string());
    return out;
  };
  const std::vector<Address> resolved{v6(1), v6(2), v6(3), v4(1), v4(2)};
  BOOST_TEST(text(spindle::io::interleave_families(resolved)) ==
             text({v6(1), v4(1), v6(2), v4(2), v6(3)}));
  BOOST_TEST(text(spindle::io::interleave_families(resolved, 2)) ==
             text({v6(1), v6(2), v4(1), v6(3), v4(2)}));
  // The first address's family leads, whichever it is; one family stays as it was.
  BOOST_TEST(text(spindle::io::interleave_families({v4(1), v4(2), v6(1)})) ==
             text({v4(1), v6(1), v4(2)}));
  BOOST_TEST(text(spindle::io::interleave_families({v4(3), v4(1), v4(2)})) ==
             text({v4(3), v4(1), v4(2)}));
  BOOST_TEST(spindle::io::interleave_families({}).empty());
  BOOST_CHECK_THROW(spindle::io::interleave_families(resolved, 0), std::invalid_argument);
}

SPINDLE_REALTIME_TEST_CASE(refused_addresses_are_skipped_at_once) {
  auto srv = greeter();
  const auto t0 = spindle::Loop::current().time();
  Stream s = spindle::io::open_connection({refused(), refused(), of(srv)});
  BOOST_TEST(s.read_line().rfind("hi from 127.0.0.1:", 0) == 0u);
  BOOST_TEST((spindle::Loop::current().time() - t0 < 2s));
}

SPINDLE_REALTIME_TEST_CASE(when_every_address_fails_the_error_names_each) {
  const Address a = refused(), b = refused();
  for (const bool raced : {false, true}) {
    ConnectOptions o;
    if (raced) o.happy_eyeballs_delay = 50ms;
    try {
      spindle::io::open_connection({a, b}, o);
      BOOST_FAIL("nothing listens there");
    } catch (const std::system_error& e) {
      const std::string what = e.what();
      BOOST_TEST(e.code().value() == ECONNREFUSED);
      BOOST_TEST(what.find(a.to_string()) != std::string::npos, what);
      BOOST_TEST(what.find(b.to_string()) != std::string::npos, what);
    }
  }
  BOOST_CHECK_THROW(spindle::io::open_connection(std::vector<Address>{}), std::invalid_argument);
}

SPINDLE_REALTIME_TEST_CASE(a_silent_address_delays_the_next_by_the_happy_eyeballs_delay) {
  Silent silent;
  auto srv = greeter();
  // One after another, the silent address holds the connection up (here until a timeout).
  BOOST_CHECK_THROW(spindle::with_timeout(
                        600ms, [&] { return spindle::io::open_connection({silent.address, of(srv)}); }),
                    spindle::TimeoutError);
  // Raced, the next address starts after the delay and wins; the pending attempt is closed.
  ConnectOptions o;
  o.happy_eyeballs_delay = 250ms;
  const auto t0 = spindle::Loop::current().time();
  Stream s = spindle::io::open_connection({silent.address, of(srv)}, o);
  const auto took = spindle::Loop::current().time() - t0;
  BOOST_TEST(s.read_line().rfind("hi from", 0) == 0u);
  BOOST_TEST((took >= 250ms));
  BOOST_TEST((took < 5s));
}

SPINDLE_REALTIME_TEST_CASE(a_failed_attempt_starts_the_next_before_the_delay) {
  auto srv = greeter();
  ConnectOptions o;
  o.happy_eyeballs_delay = 10s;  // never reached: the refusal starts the next attempt
  const auto t0 = spindle::Loop::current().time();
  Stream s = spindle::io::open_connection({refused(), of(srv)}, o);
  BOOST_TEST(s.read_line().rfind("hi from", 0) == 0u);
  BOOST_TEST((spindle::Loop::current().time() - t0 < 5s));
}

SPINDLE_REALTIME_TEST_CASE(cancelling_a_race_cancels_every_attempt) {
  Silent one, two;
  ConnectOptions o;
  o.happy_eyeballs_delay = 20ms;
  BOOST_CHECK_THROW(spindle::with_timeout(200ms,
                                          [&] {
                                            return spindle::io::open_connection(
                                                {one.address, two.address}, o);
                                          }),
                    spindle::TimeoutError);
  // The test's teardown checks that no task, stack or socket of the attempts is left.
}

SPINDLE_REALTIME_TEST_CASE(a_local_address_is_bound_before_connecting) {
  auto srv = greeter();
  ConnectOptions o;
  o.local_address = Address::parse("127.0.0.2:0");
  Stream s = spindle::io::open_connection("127.0.0.1", srv.port(), o);
  BOOST_TEST(s.read_line().rfind("hi from 127.0.0.2:", 0) == 0u);
  BOOST_TEST(s.local_address().to_string().rfind("127.0.0.2:", 0) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
