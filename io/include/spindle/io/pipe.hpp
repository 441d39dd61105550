// pipe(): a connected pair of Streams over an OS pipe.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/io/stream.hpp>

#include <utility>

namespace spindle::io {

/// A new OS pipe as {read end, write end} Streams (non-blocking, close-on-exec). The fds can
/// be handed to a child process. Writing to a pipe whose read end is closed throws
/// std::system_error(EPIPE): the first call sets SIGPIPE to ignored if it still had its
/// default action (DESIGN.md: SIGPIPE never kills the process). Throws std::system_error.
SPINDLE_API std::pair<Stream, Stream> pipe();

}  // namespace spindle::io
