// resolve(): numeric addresses are parsed in place; names go to getaddrinfo on the loop's
// thread pool through to_thread (blocking DNS must never run on the loop).
#include <spindle/io/resolve.hpp>
#include <spindle/thread.hpp>

#include <netdb.h>

#include <cerrno>
#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>
#include <system_error>

namespace spindle::io {

namespace {
class ResolverCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "resolver"; }
  std::string message(int code) const override { return ::gai_strerror(code); }
};
}  // namespace

const std::error_category& resolver_category() noexcept {
  static const ResolverCategory category;
  return category;
}

std::vector<Address> resolve(std::string_view host, std::string_view service,
                             SourceLocation where) {
  (void)where;
  unsigned port = 0;
  auto [end, ec] = std::from_chars(service.data(), service.data() + service.size(), port);
  const bool numeric_port = ec == std::errc() && end == service.data() + service.size() &&
                            port <= 65535 && !service.empty();
  if (numeric_port) {
    try {
      return {Address::ip(host, static_cast<std::uint16_t>(port))};
    } catch (const std::invalid_argument&) {
      // not a numeric host: look it up
    }
  }
  const std::string h(host), s(service);
  return spindle::to_thread([h, s]() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(h.c_str(), s.c_str(), &hints, &res);
    if (rc != 0) {
      const std::string what = "resolve " + h + ":" + s;
      if (rc == EAI_SYSTEM) throw std::system_error(errno, std::generic_category(), what);
      throw std::system_error(rc, resolver_category(), what);
    }
    std::vector<Address> out;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      out.push_back(Address::from_sockaddr(ai->ai_addr, ai->ai_addrlen));
    }
    ::freeaddrinfo(res);
    return out;
  });
}

std::vector<Address> interleave_families(std::vector<Address> addresses,
                                         std::size_t first_family_count) {
  if (first_family_count == 0) {
    throw std::invalid_argument("interleave_families: first_family_count must be at least 1");
  }
  if (addresses.size() < 2) return addresses;
  // The families in order of first appearance, each with its addresses in order.
  std::vector<std::vector<Address>> families;
  std::vector<int> keys;
  for (Address& a : addresses) {
    std::size_t f = 0;
    while (f < keys.size() && keys[f] != a.family()) ++f;
    if (f == keys.size()) {
      keys.push_back(a.family());
      families.emplace_back();
    }
    families[f].push_back(std::move(a));
  }
  std::vector<Address> out;
  out.reserve(addresses.size());
  std::vector<std::size_t> next(families.size(), 0);
  for (; next[0] < std::min(first_family_count, families[0].size()); ++next[0]) {
    out.push_back(std::move(families[0][next[0]]));
  }
  while (out.size() < addresses.size()) {
    for (std::size_t f = 1; f <= families.size(); ++f) {
      const std::size_t family = f % families.size();  // the others first, then the first
      if (next[family] < families[family].size()) {
        out.push_back(std::move(families[family][next[family]++]));
      }
    }
  }
  return out;
}

}  // namespace spindle::io
