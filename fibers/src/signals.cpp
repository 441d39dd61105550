// The stack overflow report and the dump signal.
//
// Overflow: a task that runs off the bottom of its stack touches the guard page below it and
// gets SIGSEGV. The handler runs on an alternate signal stack (the task's own stack is
// exhausted), recognises the guard page of the running task from the faulting address, writes
// one line naming the task and its stack size with write(2) (async-signal-safe, no
// allocation), restores the default action and returns: the faulting instruction runs again
// and the fault ends the process as SIGSEGV, so core dumps and exit statuses stay normal.
//
// Dump signal: the handler only sets flags and wakes the loop (eventfd write); the loop
// writes the dump itself at its next switch, where its data structures are consistent.
#include "signals.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include "loop_core.hpp"

namespace spindle::detail {
namespace {

constexpr std::size_t kAltStack = 64 * 1024;

struct sigaction g_previous_segv;

// Appends text to a fixed buffer; safe in a signal handler.
struct Line {
  char buf[512];
  std::size_t n = 0;
  void add(const char* s, std::size_t len) noexcept {
    if (len > sizeof(buf) - n) len = sizeof(buf) - n;
    std::memcpy(buf + n, s, len);
    n += len;
  }
  void add(const char* s) noexcept { add(s, std::strlen(s)); }
  void add(unsigned long long v) noexcept {
    char d[24];
    int i = 0;
    do {
      d[i++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (i) add(&d[--i], 1);
  }
};

void to_previous(int sig, siginfo_t* info, void* uc) {
  const auto& p = g_previous_segv;
  if ((p.sa_flags & SA_SIGINFO) && p.sa_sigaction) {
    p.sa_sigaction(sig, info, uc);
    return;
  }
  if (p.sa_handler != SIG_DFL && p.sa_handler != SIG_IGN) {
    p.sa_handler(sig);
    return;
  }
  // Default action: return and let the fault happen again without us.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(sig, &dfl, nullptr);
}

void on_segv(int sig, siginfo_t* info, void* uc) {
  LoopCore* loop = LoopCore::current_or_null();  // initial-exec TLS: a plain load
  TaskBase* t = loop ? LoopCore::running_task() : nullptr;
  if (t && t->ctx_.stack_lo) {
    const auto lo = reinterpret_cast<std::uintptr_t>(t->ctx_.stack_lo);
    const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
    const std::size_t page = loop->pool().page_size();
    if (addr < lo && addr >= lo - page) {
      Line l;
      l.add("spindle: stack overflow in task ");
      if (t->name_.empty()) {
        l.add("Task-");
        l.add(t->id_);
      } else {
        l.add(t->name_.data(), t->name_.size());
      }
      l.add(" (stack size ");
      l.add(t->ctx_.stack_size / 1024);
      l.add(" KiB; raise it with TaskOptions::stack_size or RunOptions::stack_size)\n");
      [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, l.buf, l.n);
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      ::sigaction(SIGSEGV, &dfl, nullptr);
      return;
    }
  }
  to_previous(sig, info, uc);
}

// --- dump signal registry -----------------------------------------------------------------

constexpr int kSlots = 64;
struct DumpSlot {
  std::atomic<LoopCore*> loop{nullptr};
  std::atomic<int> sig{0};
  std::atomic<int> inflight{0};
};
DumpSlot g_slots[kSlots];
std::mutex g_slots_mutex;  // registration only, never in the handler

void on_dump_signal(int sig) {
  const int saved = errno;
  for (DumpSlot& s : g_slots) {
    if (s.sig.load() != sig) continue;
    s.inflight.fetch_add(1);
    if (LoopCore* loop = s.loop.load()) loop->request_dump();
    s.inflight.fetch_sub(1);
  }
  errno = saved;
}

}  // namespace

void* prepare_overflow_handler() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGSEGV, &sa, &g_previous_segv);
  });
  stack_t current;
  if (::sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return nullptr;
  void* mem = ::mmap(nullptr, kAltStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
  if (mem == MAP_FAILED) return nullptr;  // no report on overflow, still a SIGSEGV
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = kAltStack;
  if (::sigaltstack(&ss, nullptr) != 0) {
    ::munmap(mem, kAltStack);
    return nullptr;
  }
  return mem;
}

void free_altstack(void* altstack) noexcept {
  if (!altstack) return;
  stack_t ss{};
  ss.ss_flags = SS_DISABLE;
  ::sigaltstack(&ss, nullptr);
  ::munmap(altstack, kAltStack);
}

int register_dump_signal(LoopCore* loop, int sig) {
  if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV) {
    throw std::invalid_argument("RunOptions::dump_signal: " + std::to_string(sig) +
                                " is not a signal spindle can use");
  }
  std::lock_guard<std::mutex> lk(g_slots_mutex);
  for (int i = 0; i < kSlots; ++i) {
    DumpSlot& s = g_slots[i];
    if (s.loop.load() != nullptr) continue;
    struct sigaction sa {};
    sa.sa_handler = &on_dump_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(sig, &sa, nullptr) != 0) {
      throw std::invalid_argument("RunOptions::dump_signal: cannot handle signal " +
                                  std::to_string(sig));
    }
    s.loop.store(loop);
    s.sig.store(sig);
    return i;
  }
  throw std::runtime_error("RunOptions::dump_signal: more than 64 loops use a dump signal");
}

void unregister_dump_signal(int slot) noexcept {
  if (slot < 0) return;
  std::lock_guard<std::mutex> lk(g_slots_mutex);
  DumpSlot& s = g_slots[slot];
  s.sig.store(0);
  s.loop.store(nullptr);
  while (s.inflight.load() != 0) {
  }
  // The handler stays installed: the signal now does nothing instead of killing the process.
}

}  // namespace spindle::detail
