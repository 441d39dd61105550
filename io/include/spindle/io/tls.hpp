// TLS (OpenSSL 3): TlsContext, TlsError, TlsInfo. Streams use a context through
// ConnectOptions::tls, ServerOptions::tls and Stream::start_tls(). No OpenSSL header here.
#pragma once

#include <spindle/detail/config.hpp>

#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace spindle::io {

namespace detail {
struct TlsContextState;
}

/// A TLS failure: handshake (certificate verify failed, wrong version number, host name
/// mismatch, handshake timeout), a protocol error from the peer, or a bad certificate or key
/// file. what() is the operation and OpenSSL's reason ("TLS handshake with 127.0.0.1:443:
/// certificate verify failed: self-signed certificate"). code(): EPROTO; ETIMEDOUT for a
/// handshake timeout; the errno of a file that cannot be read; ENOTSUP when spindle was
/// built without TLS. asyncio: ssl.SSLError
class SPINDLE_API TlsError : public std::system_error {
 public:
  TlsError(int err, std::string what)
      : std::system_error(err, std::generic_category()), what_(std::move(what)) {}
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string what_;
};

/// What a TLS stream negotiated; every field empty for a plain stream.
struct TlsInfo {
  std::string protocol;      ///< "TLSv1.3"
  std::string cipher;        ///< "TLS_AES_256_GCM_SHA384"
  std::string alpn;          ///< the protocol ALPN chose ("h2"), or empty
  std::string peer_subject;  ///< the peer certificate's subject ("CN=localhost"), or empty
};

/// TLS settings for connections: a cheap, copyable handle; copies share one OpenSSL context,
/// so a setting changed through one copy applies to all (set them up before connecting).
/// Every context requires TLS 1.2 or later. Not thread-safe while being changed.
/// asyncio: ssl.SSLContext
class SPINDLE_API TlsContext {
 public:
  /// For clients: verifies the server's certificate against the system's CA store and checks
  /// that it names the host connected to. Called from a task, the store is read on the
  /// thread pool (as every file this class loads), so the loop runs on meanwhile. Throws
  /// TlsError (ENOTSUP without TLS support), CancelledError.
  /// asyncio: ssl.create_default_context()
  static TlsContext client();
  /// For servers: presents the certificate chain in cert_file (PEM) with the private key in
  /// key_file (PEM). Throws TlsError naming a file that cannot be read or a key that does not
  /// match the certificate. asyncio: ctx.load_cert_chain(cert_file, key_file)
  static TlsContext server(const std::string& cert_file, const std::string& key_file);

  /// Trusts the CA certificates in path (PEM), besides the system's. Throws TlsError naming
  /// the file. asyncio: ctx.load_verify_locations(path)
  TlsContext& load_verify_file(const std::string& path);
  /// Whether to verify the peer's certificate (and, for clients, its host name); on by
  /// default for clients, off for servers (which then ask for no client certificate).
  /// Turning it off is for tests. asyncio: ctx.verify_mode, ctx.check_hostname
  TlsContext& set_verify(bool on);
  /// The protocols to offer (client) or accept in order of preference (server) through ALPN,
  /// e.g. {"h2", "http/1.1"}. Throws std::invalid_argument for an empty or over-long name.
  /// asyncio: ctx.set_alpn_protocols()
  TlsContext& set_alpn(const std::vector<std::string>& protocols);
  /// True for a context made by server().
  bool is_server() const noexcept;

  /// Not API: the shared state behind the handle.
  const std::shared_ptr<detail::TlsContextState>& state() const noexcept { return s_; }

 private:
  explicit TlsContext(std::shared_ptr<detail::TlsContextState> s) noexcept : s_(std::move(s)) {}
  std::shared_ptr<detail::TlsContextState> s_;
};

/// True if spindle was built with TLS (OpenSSL 3 found at build time); without it, every
/// TLS call throws TlsError(ENOTSUP).
SPINDLE_API bool tls_available() noexcept;

}  // namespace spindle::io
