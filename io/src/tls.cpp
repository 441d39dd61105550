// TLS with OpenSSL 3: TlsContext (a shared SSL_CTX) and TlsSession (see tls_session.hpp).
//
// The BIO is ours and holds no socket: reads take the ciphertext the transport lent (or what
// the session kept of it), writes append records to the session's out_. A read that finds
// nothing asks OpenSSL to retry, and the session then receives through the transport; a read
// decrypts every record already received before it returns, so lent bytes are rarely kept.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "off_loop.hpp"
#include "syscall.hpp"
#include "tls_session.hpp"

namespace spindle::io {
namespace detail {

struct TlsContextState {
  SSL_CTX* ctx = nullptr;
  bool server = false;
  bool verify = false;
  std::vector<unsigned char> alpn;  // the wire format: length-prefixed names
  ~TlsContextState() { SSL_CTX_free(ctx); }
};

namespace {

/// Throws TlsError for OpenSSL's most recent failure: its reason ("certificate verify
/// failed"), or for a system call's failure (a file that cannot be read) the errno's text
/// and code; `fallback` if OpenSSL recorded nothing.
[[noreturn]] void throw_tls(const std::string& what, const char* fallback) {
  unsigned long last = 0;
  int sys = 0;  // a system call's errno, wherever it sits in OpenSSL's error queue
  while (const unsigned long e = ERR_get_error()) {
    if (ERR_SYSTEM_ERROR(e) && sys == 0) sys = ERR_GET_REASON(e);
    last = e;
  }
  if (sys != 0) throw TlsError(sys, what + ": " + std::strerror(sys));
  const char* reason = last ? ERR_reason_error_string(last) : nullptr;
  throw TlsError(EPROTO, what + ": " + (reason ? reason : fallback));
}

std::shared_ptr<TlsContextState> make_context(bool server) {
  auto st = std::make_shared<TlsContextState>();
  st->server = server;
  st->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!st->ctx) throw_tls("TlsContext", "cannot create an SSL context");
  SSL_CTX_set_min_proto_version(st->ctx, TLS1_2_VERSION);
  // Idle connections give their record buffers back. (Writes go to memory whole: no
  // partial writes to retry.)
  SSL_CTX_set_mode(st->ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_read_ahead(st->ctx, 1);
  // A peer that closes the connection without close_notify ends the stream, as a plain TCP
  // close does (HTTP/1.1 peers routinely do; lengths guard against truncation there).
  SSL_CTX_set_options(st->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  return st;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  auto* st = static_cast<TlsContextState*>(arg);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, st->alpn.data(),
                            static_cast<unsigned>(st->alpn.size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no protocol in common: go on without ALPN
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// --- the BIO over the session's memory ------------------------------------------------------

TlsSession& session(BIO* b) { return *static_cast<TlsSession*>(BIO_get_data(b)); }

int bio_write(BIO* b, const char* data, int len) {
  session(b).out_.append(data, static_cast<std::size_t>(len));  // sent by the Stream
  return len;
}

int bio_read(BIO* b, char* buf, int len) {
  TlsSession& s = session(b);
  BIO_clear_retry_flags(b);
  auto n = static_cast<std::size_t>(len);
  if (s.in_pos_ < s.in_.size()) {  // kept from before: it came first
    n = std::min(n, s.in_.size() - s.in_pos_);
    std::memcpy(buf, s.in_.data() + s.in_pos_, n);
    s.in_pos_ += n;
    if (s.in_pos_ == s.in_.size()) {  // drained: an idle session holds no buffer
      std::string().swap(s.in_);
      s.in_pos_ = 0;
    }
  } else if (!s.lent_.empty()) {
    n = std::min(n, s.lent_.size());
    std::memcpy(buf, s.lent_.data(), n);
    s.lent_ = s.lent_.subspan(n);
  } else if (s.in_eof_) {
    return 0;  // end of stream
  } else {
    BIO_set_retry_read(b);  // the session receives more
    return -1;
  }
  return static_cast<int>(n);
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  if (cmd == BIO_CTRL_FLUSH) return 1;
  if (cmd == BIO_CTRL_EOF) {
    const TlsSession& s = session(b);
    return s.in_eof_ && s.in_pos_ == s.in_.size() && s.lent_.empty() ? 1 : 0;
  }
  return 0;
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* memory_bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "spindle records");
    if (!m || !BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create)) {
      throw_tls("TLS", "cannot create the records BIO");
    }
    return m;
  }();
  return method;
}

bool is_ip_address(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

// --- TlsSession --------------------------------------------------------------------------------

TlsSession::TlsSession(const TlsContext& ctx, const std::string& server_hostname,
                       std::string peer, std::string received)
    : in_(std::move(received)), peer_(std::move(peer)) {
  const TlsContextState& st = *ctx.state();
  ssl_ = SSL_new(st.ctx);
  if (!ssl_) throw_tls("TLS with " + peer_, "cannot create an SSL session");
  BIO* bio = BIO_new(memory_bio_method());
  if (!bio) {
    SSL_free(ssl_);
    throw_tls("TLS with " + peer_, "cannot create a BIO");
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // the SSL object owns the BIO now
  if (st.server) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  const bool ip = is_ip_address(server_hostname);
  if (!server_hostname.empty() && !ip) SSL_set_tlsext_host_name(ssl_, server_hostname.c_str());
  if (!st.verify) return;
  if (server_hostname.empty()) {
    SSL_free(ssl_);
    throw std::invalid_argument("TLS with " + peer_ +
                                ": a server_hostname is needed to verify the server's certificate");
  }
  const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), server_hostname.c_str())
                    : SSL_set1_host(ssl_, server_hostname.c_str());
  if (ok != 1) {
    SSL_free(ssl_);
    throw_tls("TLS with " + peer_, "cannot set the host name to verify");
  }
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::fail(const char* what) {
  const std::string prefix = std::string(what) + " with " + peer_;
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    ERR_clear_error();
    throw TlsError(EPROTO, prefix + ": certificate verify failed: " +
                               X509_verify_cert_error_string(verify));
  }
  throw_tls(prefix, "protocol error");
}

void TlsSession::stash() {
  if (lent_.empty()) return;
  if (in_pos_ > 0) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  in_.append(lent_.data(), lent_.size());
  lent_ = {};
}

namespace {

/// Hands s.out_ to the transport and empties it, also if the transport throws (what it threw
/// at had taken the bytes already, or the connection is gone).
void send_out(TlsSession& s, TlsTransport& t, bool may_park, SourceLocation where) {
  if (s.out_.empty()) return;
  struct Clear {
    std::string& out;
    ~Clear() { out.clear(); }
  } clear{s.out_};
  t.send(s.out_, may_park, where);
}

}  // namespace

template <class Op>
int TlsSession::drive(const char* what, TlsTransport& t, bool handshake, SourceLocation where,
                      Op op) {
  try {
    for (;;) {
      ERR_clear_error();
      const int r = op();
      const int err = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
      // A read that succeeded goes on decrypting what is lent, then stashes the rest itself.
      if (handshake || err != SSL_ERROR_NONE) stash();
      // Handshake messages, alerts, tickets: the peer waits for them. (A read that has
      // plaintext must not park: it may be in a buffer the loop lends.)
      send_out(*this, t, handshake, where);
      switch (err) {
        case SSL_ERROR_NONE:
          return 1;
        case SSL_ERROR_WANT_READ: {
          if (handshake) t.push(where);
          const std::span<const char> got = t.receive(where);
          if (got.empty()) in_eof_ = true;
          lent_ = got;
          continue;
        }
        case SSL_ERROR_ZERO_RETURN:
          return 0;  // close_notify, or the transport's end (SSL_OP_IGNORE_UNEXPECTED_EOF)
        case SSL_ERROR_SYSCALL:
          if (ERR_peek_last_error() == 0) return 0;  // the peer closed the connection
          fail(what);
        default:
          fail(what);
      }
    }
  } catch (const TlsError&) {
    throw;
  } catch (const std::system_error& e) {  // the transport's: say it was TLS's, and with whom
    throw std::system_error(e.code(), std::string(what) + " with " + peer_);
  }
}

void TlsSession::handshake(TlsTransport& t, SourceLocation where) {
  if (drive("TLS handshake", t, true, where, [&] { return SSL_do_handshake(ssl_); }) == 0) {
    throw TlsError(ECONNRESET, "TLS handshake with " + peer_ + ": the peer closed the connection");
  }
  t.push(where);  // a client's Finished: the server answers nothing until it has it
}

std::size_t TlsSession::read(std::span<std::byte> buf, TlsTransport& t, SourceLocation where) {
  std::size_t n = 0;
  const auto op = [&] { return SSL_read_ex(ssl_, buf.data(), buf.size(), &n); };
  if (drive("TLS read", t, false, where, op) == 0) return 0;
  // Records already received are decrypted now, not kept for later: the bytes they came in
  // are lent only until the caller parks.
  std::size_t total = n;
  while (total < buf.size() &&
         (SSL_pending(ssl_) > 0 || in_pos_ < in_.size() || !lent_.empty())) {
    ERR_clear_error();
    if (SSL_read_ex(ssl_, buf.data() + total, buf.size() - total, &n) != 1) {
      ERR_clear_error();  // (an end or an error: the next read meets it again)
      break;
    }
    total += n;
  }
  stash();
  send_out(*this, t, false, where);
  return total;
}

std::string TlsSession::seal(std::string_view data) {
  // (out_ is empty between calls: each hands what it made to the transport)
  std::size_t done = 0;
  while (done < data.size()) {
    std::size_t n = 0;
    ERR_clear_error();
    if (SSL_write_ex(ssl_, data.data() + done, data.size() - done, &n) != 1) {
      const int err = SSL_get_error(ssl_, 0);
      const bool shut = err == SSL_ERROR_ZERO_RETURN ||
                        (err == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0);
      if (shut) {
        throw std::system_error(EPIPE, std::generic_category(),
                                "TLS write with " + peer_ + ": the connection was shut down");
      }
      fail("TLS write");
    }
    done += n;
  }
  return std::exchange(out_, {});
}

std::string TlsSession::close_notify() noexcept {
  ERR_clear_error();
  SSL_shutdown(ssl_);  // 0: ours is made, the peer's not read yet: enough
  ERR_clear_error();
  return std::exchange(out_, {});
}

TlsInfo TlsSession::info() const {
  TlsInfo i;
  i.protocol = SSL_get_version(ssl_);
  if (const char* c = SSL_get_cipher_name(ssl_)) i.cipher = c;
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
  if (alpn) i.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  if (X509* cert = SSL_get1_peer_certificate(ssl_)) {
    if (BIO* out = BIO_new(BIO_s_mem())) {
      X509_NAME_print_ex(out, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
      char* text = nullptr;
      const long len = BIO_get_mem_data(out, &text);
      if (len > 0) i.peer_subject.assign(text, static_cast<std::size_t>(len));
      BIO_free(out);
    }
    X509_free(cert);
  }
  return i;
}

}  // namespace detail

// --- TlsContext --------------------------------------------------------------------------------

TlsContext TlsContext::client() {
  auto st = detail::make_context(false);
  // Reading and parsing the system's CA bundle takes milliseconds: off the loop.
  detail::off_loop([st] {
    if (SSL_CTX_set_default_verify_paths(st->ctx) != 1) {
      detail::throw_tls("TlsContext::client: the system CA store", "cannot load it");
    }
  });
  TlsContext ctx(std::move(st));
  ctx.set_verify(true);
  return ctx;
}

TlsContext TlsContext::server(const std::string& cert_file, const std::string& key_file) {
  auto st = detail::make_context(true);
  detail::off_loop([st, cert_file, key_file] {  // (files: off the loop)
    if (SSL_CTX_use_certificate_chain_file(st->ctx, cert_file.c_str()) != 1) {
      detail::throw_tls("TlsContext::server: certificate chain '" + cert_file + "'", "cannot load it");
    }
    if (SSL_CTX_use_PrivateKey_file(st->ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      detail::throw_tls("TlsContext::server: private key '" + key_file + "'", "cannot load it");
    }
    if (SSL_CTX_check_private_key(st->ctx) != 1) {
      detail::throw_tls("TlsContext::server: '" + key_file + "' does not match '" + cert_file + "'",
                        "key mismatch");
    }
  });
  return TlsContext(std::move(st));
}

TlsContext& TlsContext::load_verify_file(const std::string& path) {
  detail::off_loop([st = s_, path] {
    if (SSL_CTX_load_verify_locations(st->ctx, path.c_str(), nullptr) != 1) {
      detail::throw_tls("TlsContext::load_verify_file: '" + path + "'", "cannot load it");
    }
  });
  return *this;
}

TlsContext& TlsContext::set_verify(bool on) {
  s_->verify = on;
  int mode = SSL_VERIFY_NONE;
  if (on) mode = s_->server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER;
  SSL_CTX_set_verify(s_->ctx, mode, nullptr);
  return *this;
}

TlsContext& TlsContext::set_alpn(const std::vector<std::string>& protocols) {
  std::vector<unsigned char> wire;
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) {
      throw std::invalid_argument("TlsContext::set_alpn: bad protocol name '" + p + "'");
    }
    wire.push_back(static_cast<unsigned char>(p.size()));
    wire.insert(wire.end(), p.begin(), p.end());
  }
  s_->alpn = std::move(wire);
  if (s_->server) {
    SSL_CTX_set_alpn_select_cb(s_->ctx, detail::select_alpn, s_.get());
  } else if (SSL_CTX_set_alpn_protos(s_->ctx, s_->alpn.data(),
                                     static_cast<unsigned>(s_->alpn.size())) != 0) {
    detail::throw_tls("TlsContext::set_alpn", "cannot set ALPN");
  }
  return *this;
}

bool TlsContext::is_server() const noexcept { return s_->server; }

bool tls_available() noexcept { return true; }

}  // namespace spindle::io
