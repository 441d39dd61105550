// resolve(): host name lookup without blocking the loop.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/io/address.hpp>
#include <spindle/source_location.hpp>

#include <string_view>
#include <vector>

namespace spindle::io {

/// Resolves host and service (a port number or a name like "http") to addresses, with
/// getaddrinfo on the loop's thread pool (the task parks meanwhile). Numeric hosts do not
/// leave the loop. Throws std::system_error naming the host (std::generic_category's EIO for
/// lookup failures, with gai_strerror text); CancelledError. asyncio: loop.getaddrinfo()
SPINDLE_API std::vector<Address> resolve(std::string_view host, std::string_view service,
                                         SourceLocation where = SourceLocation::current());

}  // namespace spindle::io
