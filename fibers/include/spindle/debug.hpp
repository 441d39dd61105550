// Looking inside a running loop: dump_tasks().
#pragma once

#include <spindle/detail/config.hpp>

#include <iosfwd>

namespace spindle {

/// Writes one line per unfinished task of the running loop, in creation order: its name and
/// state (running, ready, scheduled, parked); for a parked task the blocking call, its site,
/// the task it waits on (a Lock's holder, a joined task) and how long it has been parked (to
/// the coarse clock's 4 ms tick); then its stack size and use (exact with
/// RunOptions::track_stack_use or debug mode, else "at most"). For example:
///   writer: parked in Lock::lock at worker.cpp:14, held by Task-1, for 1504 ms; stack 128 KiB, at most 4 KiB used
/// RunOptions::dump_signal writes the same to stderr when a signal arrives.
/// Throws std::logic_error when no loop runs on this thread.
SPINDLE_API void dump_tasks(std::ostream& out);

}  // namespace spindle
