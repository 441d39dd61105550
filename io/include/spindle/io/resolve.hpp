// resolve(): host name lookup without blocking the loop.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/io/address.hpp>
#include <spindle/source_location.hpp>

#include <cstddef>
#include <string_view>
#include <system_error>
#include <vector>

namespace spindle::io {

/// The category of name lookup failures: getaddrinfo's own codes (EAI_NONAME, EAI_AGAIN,
/// EAI_SERVICE, ...) with gai_strerror's messages. asyncio: socket.gaierror
SPINDLE_API const std::error_category& resolver_category() noexcept;

/// Resolves host and service (a port number or a name like "http") to addresses, with
/// getaddrinfo on the loop's thread pool (the task parks meanwhile). Numeric hosts do not
/// leave the loop. Throws std::system_error naming host and service, its code the resolver's
/// (resolver_category(): e.g. EAI_NONAME for a name that does not exist, EAI_AGAIN for a
/// server that did not answer) or, for EAI_SYSTEM, the errno behind it; CancelledError.
/// asyncio: loop.getaddrinfo()
SPINDLE_API std::vector<Address> resolve(std::string_view host, std::string_view service,
                                         SourceLocation where = SourceLocation::current());

/// Orders addresses as RFC 8305 section 4 asks for a connection race: the first
/// `first_family_count` addresses of the first address's family, then one of each other
/// family in turn, each family keeping its own order (so a broken IPv6 path costs one delay,
/// not one per IPv6 address). open_connection(host, ...) applies it when it races
/// (happy_eyeballs_delay set), as asyncio's interleave=1. Throws std::invalid_argument for a
/// count of 0.
SPINDLE_API std::vector<Address> interleave_families(std::vector<Address> addresses,
                                                     std::size_t first_family_count = 1);

}  // namespace spindle::io
