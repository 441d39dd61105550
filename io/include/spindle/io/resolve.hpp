// resolve(): host name lookup without blocking the loop.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/io/address.hpp>
#include <spindle/source_location.hpp>

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

}  // namespace spindle::io
