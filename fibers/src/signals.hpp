// Process-wide signal handling for loops: the stack overflow report and the dump signal.
#pragma once

namespace spindle::detail {

class LoopCore;

/// Installs (once per process) the SIGSEGV handler that reports a fiber stack overflow,
/// naming the task and its stack size, then lets the fault kill the process. Other faults
/// go to the handler that was installed before. Gives the calling thread an alternate signal
/// stack if it has none and returns it (free it with free_altstack), else null.
void* prepare_overflow_handler() noexcept;
void free_altstack(void* altstack) noexcept;

/// Makes signal `sig` set loop's dump request and wake it. Returns a slot for
/// unregister_dump_signal. Throws std::invalid_argument for a signal that cannot be caught,
/// std::runtime_error when too many loops registered one.
int register_dump_signal(LoopCore* loop, int sig);
/// Removes the registration; returns only once no handler still uses the loop.
void unregister_dump_signal(int slot) noexcept;

}  // namespace spindle::detail
