// wait_signal(): receive Unix signals as ordinary blocking calls.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/source_location.hpp>

#include <initializer_list>

namespace spindle::io {

/// Parks until one of `signals` arrives and returns its number, e.g.
/// `wait_signal({SIGINT, SIGTERM})` for a clean shutdown. The signals are blocked in the
/// calling thread from the first call on (so they are not delivered the default way) and read
/// through a signalfd; block them before starting other threads so those do not receive them.
/// Cancellation: nothing is consumed. Throws: std::system_error; CancelledError.
/// asyncio: loop.add_signal_handler()
SPINDLE_API int wait_signal(std::initializer_list<int> signals,
                            SourceLocation where = SourceLocation::current());

}  // namespace spindle::io
