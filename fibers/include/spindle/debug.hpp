// Looking inside a running loop: dump_tasks().
#pragma once

#include <spindle/detail/config.hpp>

#include <iosfwd>

namespace spindle {

/// Writes one line per unfinished task of the running loop, in creation order: its name,
/// its state (running, ready, scheduled, parked), for a parked task the blocking call and
/// the site it was called from, and its stack size. For example:
///   Task-3: parked in Lock::lock at worker.cpp:41, stack 128 KiB
/// Throws std::logic_error when no loop runs on this thread.
SPINDLE_API void dump_tasks(std::ostream& out);

}  // namespace spindle
