// Overflows a task's stack on purpose; tests/check_crash.py runs it and checks how it dies.
//   overflow guard|mprotect   runs off the stack into its guard page: the SIGSEGV handler
//                             names the task, then the process dies of SIGSEGV
//   overflow canary           overwrites the bottom of a canary-protected stack (and the
//                             unused page below it), then switches away: the switch finds
//                             the canary overwritten and aborts
//   overflow canary-long-name the same, for a task with a 400-character name
#include <alloca.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spindle/spindle.hpp>

namespace {

constexpr std::size_t kStack = 64 * 1024;
char* g_lo = nullptr;  // the bottom of the overflowing task's stack (its canary is there)
long g_limit = 0;      // recursion depth limit (argv: keeps the compiler from seeing a loop)

[[gnu::noinline]] int recurse(long depth, bool canary_mode) {
  volatile char pad[1024];
  for (char& c : const_cast<char(&)[1024]>(pad)) c = static_cast<char>(depth);
  char* const frame = static_cast<char*>(__builtin_frame_address(0));
  if (depth >= g_limit || (canary_mode && frame <= g_lo + 3000)) {
    // Write across the bottom of the stack from a block of this frame's own (writing through
    // other frames would trip ASan first). Frames sit 1-1.5 KiB apart and the block lies
    // 1-1.4 KiB below the frame address, so a 3 KiB block reaches the bottom.
    auto* block = static_cast<char*>(alloca(3072));
    char* from = std::max(block, g_lo - 256);
    char* to = std::min(block + 3072, g_lo + 256);
    if (from > g_lo || to < g_lo + 8) {
      std::fprintf(stderr, "test setup: the block does not reach the bottom of the stack\n");
      std::exit(3);
    }
    std::memset(from, 0x5a, static_cast<std::size_t>(to - from));
    spindle::yield_now();  // a switch: the canary is checked here
    return pad[0] + block[100];
  }
  return recurse(depth + 1, canary_mode) + pad[1];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: overflow guard|mprotect|canary\n");
    return 2;
  }
  const std::string mode = argv[1];
  g_limit = argc > 2 ? std::atol(argv[2]) : 1'000'000'000L;
  spindle::RunOptions opts;
  if (mode == "mprotect") opts.stack_guard = spindle::StackGuard::Mprotect;
  // canary-long-name: the same with a 400-character task name (the report must stay in its
  // buffer; ASan builds check that).
  const bool long_name = mode == "canary-long-name";
  if (mode == "canary" || long_name) opts.stack_guard = spindle::StackGuard::Canary;
  // Every task gets 64 KiB, so the overflowing task's stack sits right above main's in the
  // pool (a stack at the bottom of a mapping would fault below its unused guard page).
  opts.stack_size = kStack;
  // Canary mode: recurse to about 3 KiB above the bottom, then overwrite the bottom's first
  // 256 bytes and the 256 below it (the unused page there; memory of another stack must not
  // be touched, ASan would report that first).
  const bool canary_mode = mode == "canary" || long_name;
  spindle::run(
      [&] {
        spindle::spawn(
            spindle::TaskOptions{.name = long_name ? "deep-recursion" + std::string(386, 'x')
                                                   : "deep-recursion"},
            [&] {
              spindle::yield_now();  // binds the symbol now, not on a full stack
              // The stack's top is page-aligned and lies just above this frame.
              const auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
              g_lo = reinterpret_cast<char*>((here + 4095) / 4096 * 4096) - kStack;
              return recurse(0, canary_mode);
            })
            .join();
      },
      std::move(opts));
  std::printf("the overflow went unnoticed\n");
  return 0;
}
