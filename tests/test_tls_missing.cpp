// Built only without OpenSSL (-Dtls=disabled, or no libssl-dev): the library still builds,
// and every TLS call says clearly that TLS is missing.
#include <spindle_test.hpp>

#include <cerrno>
#include <string>

using spindle::io::TlsContext;
using spindle::io::TlsError;

BOOST_AUTO_TEST_SUITE(tls_missing)

BOOST_AUTO_TEST_CASE(every_tls_call_reports_that_tls_was_not_built) {
  BOOST_TEST(!spindle::io::tls_available());
  try {
    TlsContext::client();
    BOOST_FAIL("TlsContext::client() must throw without TLS");
  } catch (const TlsError& e) {
    BOOST_TEST(e.code().value() == ENOTSUP);
    BOOST_TEST(std::string(e.what()).find("built without TLS") != std::string::npos, e.what());
  }
  BOOST_CHECK_THROW(TlsContext::server("cert.pem", "key.pem"), TlsError);
}

SPINDLE_REALTIME_TEST_CASE(plain_streams_work_without_tls) {
  auto srv = spindle::io::start_server([](spindle::io::Stream& s) { s.write("plain"); },
                                       "127.0.0.1", 0);
  auto c = spindle::io::open_connection("127.0.0.1", srv.port());
  BOOST_TEST(c.read(5) == "plain");
  BOOST_TEST(c.tls_info().protocol.empty());
}

BOOST_AUTO_TEST_SUITE_END()
