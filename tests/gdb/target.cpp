// What tests/gdb/check_gdb.py debugs: a loop whose tasks park in the user's own functions,
// stopped by SIGTRAP (the debugger takes over) while they are parked.
#include <spindle/spindle.hpp>

#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

volatile int sink;

// noinline, and work after each blocking call, so that every function keeps its own frame
// for the backtrace to name.
[[gnu::noinline]] void take_orders(spindle::Queue<int>& orders) {
  sink = orders.get();
  std::puts("an order came");
}

[[gnu::noinline]] void guard_the_vault(spindle::Lock& vault) {
  vault.lock();
  vault.unlock();
  sink = 1;
}

[[gnu::noinline]] void nap() {
  spindle::sleep(std::chrono::hours(1));
  sink = 2;
}

[[gnu::noinline]] void wait_far_away() {
  spindle::sleep(std::chrono::hours(1));
  sink = 3;
}

/// The scene: three tasks parked in the user's functions, then the stop.
void scene(bool abort_now) {
  spindle::Queue<int> orders;
  spindle::Lock vault;
  vault.lock();
  auto taker = spindle::spawn(spindle::TaskOptions{.name = "order-taker"}, [&] { take_orders(orders); });
  auto guard = spindle::spawn(spindle::TaskOptions{.name = "guard"}, [&] { guard_the_vault(vault); });
  auto napper = spindle::spawn(spindle::TaskOptions{.name = "napper"}, [] { nap(); });
  spindle::yield_now();  // each parks
  if (abort_now) std::abort();  // a core dump
  std::raise(SIGTRAP);          // the debugger looks now
  orders.put_nowait(1);
  vault.unlock();
  napper.cancel();
  taker.join();
  guard.join();
}

}  // namespace

// Usage: gdb_target [--abort] [--mprotect] [--loops]
//   --abort     dump core (RLIMIT_CORE raised) instead of stopping with SIGTRAP
//   --mprotect  mprotect guard pages instead of MADV_GUARD_INSTALL ones (gcore cannot read
//               stacks with those: ptrace reads of a guard page fail, and gdb drops the chunk)
//   --loops     two loops (run_threads): loop 1 has a task "far-away" parked in wait_far_away
int main(int argc, char** argv) {
  bool abort_now = false, loops = false;
  spindle::RunOptions options;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--abort") == 0) {
      abort_now = true;
    } else if (std::strcmp(argv[i], "--loops") == 0) {
      loops = true;
    } else if (std::strcmp(argv[i], "--mprotect") == 0) {
      options.stack_guard = spindle::StackGuard::Mprotect;
    } else {
      std::fprintf(stderr, "gdb_target: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (abort_now) {
    const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    ::setrlimit(RLIMIT_CORE, &unlimited);
  }
  if (loops) {
    spindle::ThreadsOptions threads;
    threads.run = std::move(options);
    spindle::Task<void>* far_task = nullptr;
    std::atomic<bool> far_parked{false};
    spindle::run_threads(2, [&](unsigned index) {
      if (index == 1) {
        auto far = spindle::spawn(spindle::TaskOptions{.name = "far-away"}, [] { wait_far_away(); });
        far_task = &far;
        spindle::yield_now();
        far_parked = true;
        try {
          far.join();
        } catch (const spindle::CancelledError&) {
        }
        return;
      }
      while (!far_parked) spindle::sleep(std::chrono::milliseconds(1));
      scene(abort_now);
      spindle::call_on(spindle::loops()[1], [&] { far_task->cancel(); });
    }, std::move(threads));
  } else {
    spindle::run([&] { scene(abort_now); }, std::move(options));
  }
  std::puts("done");
}
