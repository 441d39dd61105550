// TLS against the field's real peers, run as child processes: openssl s_server and s_client,
// Python's ssl module, and curl.
#include <spindle_test.hpp>
#include <tls_certs.hpp>

#include <string>

using namespace std::chrono_literals;
using spindle::io::ConnectOptions;
using spindle::io::Process;
using spindle::io::Redirect;
using spindle::io::Stream;
using spindle::io::SubprocessOptions;
using spindle::io::TlsContext;

namespace {

SubprocessOptions piped() {
  SubprocessOptions o;
  o.in = Redirect::Pipe;
  o.out = Redirect::Pipe;
  o.err = Redirect::DevNull;
  return o;
}

/// Connects over TLS once the peer program (still starting, perhaps) listens.
Stream connect_when_ready(std::uint16_t port) {
  ConnectOptions o;
  o.tls = TlsContext::client().load_verify_file(spindle_test::tls_certs().ca);
  o.server_hostname = "localhost";
  return spindle_test::connect_when_listening(
      [&] { return spindle::io::open_connection("127.0.0.1", port, o); });
}

void echo_lines(Stream& s) {
  for (std::string line = s.read_line(); !line.empty(); line = s.read_line()) s.write(line);
}

spindle::io::Server tls_echo_server() {
  const auto& c = spindle_test::tls_certs();
  spindle::io::ServerOptions o;
  o.tls = TlsContext::server(c.server_cert, c.server_key).set_alpn({"h2", "http/1.1"});
  return spindle::io::start_server(echo_lines, "127.0.0.1", 0, std::move(o));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_interop)

SPINDLE_REALTIME_TEST_CASE(spindle_client_against_openssl_s_server) {
  const auto& c = spindle_test::tls_certs();
  const std::uint16_t port = spindle_test::free_port();
  Process server = spindle::io::create_subprocess_exec(
      {"openssl", "s_server", "-quiet", "-naccept", "1", "-accept", "127.0.0.1:" + std::to_string(port),
       "-cert", c.server_cert, "-key", c.server_key},
      piped());
  Stream conn = connect_when_ready(port);
  BOOST_TEST(conn.tls_info().protocol == "TLSv1.3");
  conn.write("hello from spindle\n");
  BOOST_TEST(server.stdout_pipe().read_line() == "hello from spindle\n");
  server.stdin_pipe().write("hello from openssl\n");
  server.stdin_pipe().drain();
  BOOST_TEST(conn.read_line() == "hello from openssl\n");
  conn.close();
  server.kill();
  server.wait();
}

SPINDLE_REALTIME_TEST_CASE(openssl_s_client_against_a_spindle_server) {
  auto srv = tls_echo_server();
  Process client = spindle::io::create_subprocess_exec(
      {"openssl", "s_client", "-quiet", "-verify_return_error", "-connect",
       "127.0.0.1:" + std::to_string(srv.port()), "-servername", "localhost", "-verify_hostname",
       "localhost", "-CAfile", spindle_test::tls_certs().ca},
      piped());
  client.stdin_pipe().write("ping over tls\n");
  client.stdin_pipe().drain();
  BOOST_TEST(spindle::with_timeout(10s, [&] { return client.stdout_pipe().read_line(); }) ==
             "ping over tls\n");
  client.kill();  // -quiet implies -ign_eof: it would wait for us forever
  client.wait();
}

SPINDLE_REALTIME_TEST_CASE(python_ssl_client_against_a_spindle_server) {
  auto srv = tls_echo_server();
  const std::string script =
      "import socket, ssl, sys\n"
      "ctx = ssl.create_default_context(cafile=sys.argv[2])\n"
      "ctx.set_alpn_protocols(['http/1.1'])\n"
      "with socket.create_connection(('127.0.0.1', int(sys.argv[1]))) as raw:\n"
      "    with ctx.wrap_socket(raw, server_hostname='localhost') as s:\n"
      "        s.sendall(b'from python\\n')\n"
      "        data = b''\n"
      "        while not data.endswith(b'\\n'):\n"
      "            data += s.recv(100)\n"
      "        print(s.version(), s.selected_alpn_protocol(), data.decode().strip())\n";
  Process py = spindle::io::create_subprocess_exec(
      {"python3", "-c", script, std::to_string(srv.port()), spindle_test::tls_certs().ca}, piped());
  auto [out, err] = spindle::with_timeout(20s, [&] { return py.communicate(); });
  BOOST_TEST(out == "TLSv1.3 http/1.1 from python\n");
  BOOST_TEST(py.wait() == 0);
}

SPINDLE_REALTIME_TEST_CASE(curl_against_a_spindle_https_server) {
  const auto& c = spindle_test::tls_certs();
  spindle::io::ServerOptions o;
  o.tls = TlsContext::server(c.server_cert, c.server_key);
  auto srv = spindle::io::start_server(
      [](Stream& s) {
        while (s.read_until("\r\n") != "\r\n") {
        }
        s.write("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, HTTPS!");
      },
      "127.0.0.1", 0, std::move(o));
  Process curl = spindle::io::create_subprocess_exec(
      {"curl", "--silent", "--show-error", "--cacert", c.ca, "--resolve",
       "localhost:" + std::to_string(srv.port()) + ":127.0.0.1",
       "https://localhost:" + std::to_string(srv.port()) + "/"},
      piped());
  auto [out, err] = spindle::with_timeout(20s, [&] { return curl.communicate(); });
  BOOST_TEST(out == "Hello, HTTPS!");
  BOOST_TEST(curl.wait() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
