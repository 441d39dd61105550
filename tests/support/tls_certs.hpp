// Certificates for the TLS tests, made once per test program with the openssl command in a
// temporary directory: a CA, a server certificate it signed for localhost and 127.0.0.1, a
// self-signed certificate for the same names, and a CA-signed one for another name.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace spindle_test {

struct TlsCerts {
  std::string dir, ca, server_cert, server_key, self_cert, self_key, other_cert, other_key;
};

inline const TlsCerts& tls_certs() {
  static const TlsCerts certs = [] {
    // Outlives every static object: the exit handler below removes the directory.
    static char tmpl[] = "/tmp/spindle-tls-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    std::atexit([] { std::filesystem::remove_all(tmpl); });
    TlsCerts c;
    c.dir = tmpl;
    const std::string d = c.dir + "/";
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string commands =
        "cd " + d + " && " +
        "openssl req -x509 " + key + " -keyout ca.key -out ca.crt -days 2 "
        "-subj '/CN=spindle test CA' && " +
        "openssl req " + key + " -keyout server.key -out server.csr -subj '/CN=localhost' && " +
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext && "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
        "-out server.crt -days 2 -extfile server.ext && " +
        "openssl req -x509 " + key + " -keyout self.key -out self.crt -days 2 -subj '/CN=localhost' "
        "-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' && " +
        "openssl req " + key + " -keyout other.key -out other.csr -subj '/CN=other.example' && " +
        "printf 'subjectAltName=DNS:other.example\\n' > other.ext && "
        "openssl x509 -req -in other.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
        "-out other.crt -days 2 -extfile other.ext";
    if (std::system(("(" + commands + ") > " + d + "openssl.log 2>&1").c_str()) != 0) {
      throw std::runtime_error("making test certificates failed; see " + d + "openssl.log");
    }
    c.ca = d + "ca.crt";
    c.server_cert = d + "server.crt";
    c.server_key = d + "server.key";
    c.self_cert = d + "self.crt";
    c.self_key = d + "self.key";
    c.other_cert = d + "other.crt";
    c.other_key = d + "other.key";
    return c;
  }();
  return certs;
}

}  // namespace spindle_test
