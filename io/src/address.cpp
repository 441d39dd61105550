// Address: parsing and printing of IPv4, IPv6 and Unix-domain socket addresses.
#include <spindle/io/address.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ostream>
#include <stdexcept>

namespace spindle::io {
namespace {

[[noreturn]] void bad(std::string_view text, const char* why) {
  throw std::invalid_argument("Address: '" + std::string(text) + "' " + why);
}

std::uint16_t parse_port(std::string_view whole, std::string_view digits) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || v > 65535) {
    bad(whole, "has no valid port (0-65535)");
  }
  return static_cast<std::uint16_t>(v);
}

}  // namespace

Address::Address() noexcept : storage_{}, size_(0) { storage_.ss_family = AF_UNSPEC; }

Address Address::ip(std::string_view ip, std::uint16_t port) {
  Address a;
  const std::string text(ip);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.size_ = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.size_ = sizeof(sockaddr_in6);
  } else {
    bad(ip, "is not an IPv4 or IPv6 address");
  }
  return a;
}

Address Address::unix_path(std::string_view path) {
  Address a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage_);
  if (path.empty()) bad(path, "is an empty Unix socket path");
  if (path.size() >= sizeof(un->sun_path)) bad(path, "is too long for a Unix socket path");
  // A path is a C string to the kernel: a NUL would cut it short (an abstract name, being
  // counted, may hold one).
  if (path[0] != '@' && path.find('\0') != std::string_view::npos) {
    bad(path, "holds a NUL byte, which a Unix socket path cannot");
  }
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  if (path[0] == '@') un->sun_path[0] = '\0';  // abstract namespace
  a.size_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                   (path[0] == '@' ? 0 : 1));
  return a;
}

Address Address::parse(std::string_view text) {
  if (text.substr(0, 5) == "unix:") {
    const std::string_view path = text.substr(5);
    if (path.empty()) bad(text, "has an empty Unix socket path");
    return unix_path(path);
  }
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      bad(text, "is not of the form [ipv6]:port");
    }
    const std::string_view host = text.substr(1, close - 1);
    const std::uint16_t port = parse_port(text, text.substr(close + 2));
    Address a = ip(host, port);
    if (a.family() != AF_INET6) bad(text, "has no IPv6 address in brackets");
    return a;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) bad(text, "is not of the form host:port, [ipv6]:port or unix:path");
  const std::string_view host = text.substr(0, colon);
  if (host.find(':') != std::string_view::npos) bad(text, "needs brackets around an IPv6 address");
  const std::uint16_t port = parse_port(text, text.substr(colon + 1));
  try {
    return ip(host, port);
  } catch (const std::invalid_argument&) {
    bad(text, "has no numeric IP address (resolve host names with resolve())");
  }
}

Address Address::from_sockaddr(const sockaddr* sa, socklen_t len) {
  Address a;
  if (len > sizeof(a.storage_)) len = sizeof(a.storage_);
  std::memcpy(&a.storage_, sa, len);
  a.size_ = len;
  return a;
}

int Address::family() const noexcept { return size_ ? storage_.ss_family : AF_UNSPEC; }

std::uint16_t Address::port() const noexcept {
  switch (family()) {
    case AF_INET:
      return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    case AF_INET6:
      return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    default:
      return 0;
  }
}

std::string Address::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (family()) {
    case AF_INET:
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
                  sizeof buf);
      return buf;
    case AF_INET6:
      ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
                  sizeof buf);
      return buf;
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
      const std::size_t n =
          std::min<std::size_t>(size_ - offsetof(sockaddr_un, sun_path), sizeof(un->sun_path));
      if (n == 0) return "";  // unnamed (e.g. a socketpair end)
      if (un->sun_path[0] != '\0') return std::string(un->sun_path, strnlen(un->sun_path, n));
      std::string abstract(n, '@');  // the abstract namespace, shown with a leading '@'
      std::memcpy(abstract.data() + 1, un->sun_path + 1, n - 1);
      return abstract;
    }
    default:
      return "";
  }
}

std::string Address::to_string() const {
  // Built with append: GCC 12 warns (-Wrestrict, a false positive, GCC bug 105651) on
  // "literal" + std::string here at -O3.
  std::string out;
  switch (family()) {
    case AF_INET:
      out.append(host()).append(":").append(std::to_string(port()));
      break;
    case AF_INET6:
      out.append("[").append(host()).append("]:").append(std::to_string(port()));
      break;
    case AF_UNIX:
      out.append("unix:").append(host());
      break;
    default:
      out = "(unspecified)";
  }
  return out;
}

bool operator==(const Address& a, const Address& b) noexcept {
  return a.size_ == b.size_ && std::memcmp(&a.storage_, &b.storage_, a.size_) == 0;
}

std::ostream& operator<<(std::ostream& out, const Address& a) { return out << a.to_string(); }

}  // namespace spindle::io
