// Address: an IPv4, IPv6 or Unix-domain socket address.
#pragma once

#include <spindle/detail/config.hpp>

#include <sys/socket.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace spindle::io {

/// A socket address: IPv4 ("127.0.0.1:80"), IPv6 ("[::1]:80") or Unix domain
/// ("unix:/run/app.sock", or "unix:@name" in the abstract namespace). A value type.
class SPINDLE_API Address {
 public:
  /// An empty address (family AF_UNSPEC).
  Address() noexcept;
  /// Parses the forms above. Throws std::invalid_argument naming the input if it is none
  /// of them (hostnames are not resolved here: see resolve()).
  static Address parse(std::string_view text);
  /// An IP address (dotted IPv4 or IPv6 text, no brackets) with a port. Throws
  /// std::invalid_argument naming the input.
  static Address ip(std::string_view ip, std::uint16_t port);
  /// A Unix-domain address; a leading '@' selects the abstract namespace. Throws
  /// std::invalid_argument if the path is empty or too long.
  static Address unix_path(std::string_view path);
  /// Copies a sockaddr returned by the kernel.
  static Address from_sockaddr(const sockaddr* sa, socklen_t len);

  /// AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC when empty.
  int family() const noexcept;
  /// The port (0 for Unix-domain addresses).
  std::uint16_t port() const noexcept;
  /// The IP address as text, or the Unix path.
  std::string host() const;
  /// The parseable text form, e.g. "127.0.0.1:80", "[::1]:80", "unix:/tmp/s".
  std::string to_string() const;

  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return size_; }

  friend SPINDLE_API bool operator==(const Address& a, const Address& b) noexcept;

 private:
  sockaddr_storage storage_;
  socklen_t size_;
};

/// Writes a.to_string().
SPINDLE_API std::ostream& operator<<(std::ostream& out, const Address& a);

}  // namespace spindle::io
