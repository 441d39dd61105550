// TLS without OpenSSL (built with -Dtls=disabled, or no OpenSSL 3 found): every entry point
// throws TlsError(ENOTSUP) saying so. TlsSession cannot be made, so its members never run.
#include <cerrno>

#include "tls_session.hpp"

namespace spindle::io {
namespace detail {

struct TlsContextState {};

namespace {
[[noreturn]] void unavailable(const char* what) {
  throw TlsError(ENOTSUP, std::string(what) +
                              ": spindle was built without TLS (OpenSSL 3 was not found, or "
                              "-Dtls=disabled); rebuild with libssl-dev installed");
}
}  // namespace

TlsSession::TlsSession(const TlsContext&, const std::string&, std::string, std::string) {
  unavailable("TLS");
}
TlsSession::~TlsSession() = default;
void TlsSession::handshake(TlsTransport&, SourceLocation) { unavailable("TLS handshake"); }
std::size_t TlsSession::read(std::span<std::byte>, TlsTransport&, SourceLocation) {
  unavailable("TLS read");
}
std::string TlsSession::seal(std::string_view) { unavailable("TLS write"); }
std::string TlsSession::close_notify() noexcept { return {}; }
TlsInfo TlsSession::info() const { return {}; }

}  // namespace detail

TlsContext TlsContext::client() { detail::unavailable("TlsContext::client"); }
TlsContext TlsContext::server(const std::string&, const std::string&) {
  detail::unavailable("TlsContext::server");
}
TlsContext& TlsContext::load_verify_file(const std::string&) {
  detail::unavailable("TlsContext::load_verify_file");
}
TlsContext& TlsContext::set_verify(bool) { detail::unavailable("TlsContext::set_verify"); }
TlsContext& TlsContext::set_alpn(const std::vector<std::string>&) {
  detail::unavailable("TlsContext::set_alpn");
}
bool TlsContext::is_server() const noexcept { return false; }
bool tls_available() noexcept { return false; }

}  // namespace spindle::io
