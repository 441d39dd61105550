// Overflows a task's stack on purpose; tests/check_crash.py runs it and checks how it dies.
//   overflow guard|mprotect   runs off the stack into its guard page: the SIGSEGV handler
//                             names the task, then the process dies of SIGSEGV
//   overflow canary           overflows a canary-protected stack a little and switches away:
//                             the switch finds the canary overwritten and aborts
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spindle/spindle.hpp>

namespace {

char* g_top = nullptr;  // an address near the top of the overflowing task's stack
long g_limit = 0;       // recursion depth limit (argv: keeps the compiler from seeing a loop)

[[gnu::noinline]] int recurse(long depth, long stop_below) {
  volatile char pad[1024];
  for (char& c : const_cast<char(&)[1024]>(pad)) c = static_cast<char>(depth);
  const long used = g_top - static_cast<char*>(__builtin_frame_address(0));
  if (depth >= g_limit || (stop_below > 0 && used >= stop_below)) {
    spindle::yield_now();  // a switch: the canary is checked here
    return pad[0];
  }
  return recurse(depth + 1, stop_below) + pad[1];
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
  if (mode == "canary") opts.stack_guard = spindle::StackGuard::Canary;
  constexpr std::size_t kStack = 64 * 1024;
  // Every task gets 64 KiB, so the overflowing task's stack sits right above main's in the
  // pool (a stack at the bottom of a mapping would fault below its unused guard page).
  opts.stack_size = kStack;
  // Canary mode: run 1 KiB past the bottom (into the unused page below it), then switch.
  const long stop_below = mode == "canary" ? static_cast<long>(kStack) + 1024 : 0;
  spindle::run(
      [&] {
        spindle::spawn(spindle::TaskOptions{.name = "deep-recursion"},
                       [&] {
                         spindle::yield_now();  // binds the symbol now, not on a full stack
                         g_top = static_cast<char*>(__builtin_frame_address(0));
                         return recurse(0, stop_below);
                       })
            .join();
      },
      std::move(opts));
  std::printf("the overflow went unnoticed\n");
  return 0;
}
