// Stack pool: see stack_pool.hpp for the invariants.
//
// Layout of a chunk of N slots, each [guard page][usable stack], low to high addresses:
//   | G | stack 0 | G | stack 1 | ... |
// A stack grows down towards its own guard page. Chunks double in size (16 slots up to 1024)
// so small programs map little and large ones need few mappings. A slot whose guard page
// could not be protected keeps the page unused and a canary at the bottom of the stack.
//
// System calls are batched: a chunk's guard pages are installed with one process_madvise
// call (instead of one madvise per stack), and fresh stacks' top pages (the page a new task
// writes first) are populated 64 at a time as they are handed out, so a cold spawn takes no
// page-fault trap. Fewer guard calls matter beyond their own cost: on PVM guests each one
// makes every page the process touched cost a host exit at its next access.
#include "stack_pool.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fstream>
#include <spindle/detail/introspect.hpp>
#include <system_error>

#include "sanitizer.hpp"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux 6.13+; Debian 12's headers predate it
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14+
#endif

namespace spindle::detail {
namespace {
constexpr std::size_t kMinStack = 16 * 1024;
// Measured on a PVM guest: larger chunks (4,096 to 65,536 slots) made cold spawns about 15%
// cheaper but a warm pool's random-sleepers run 25% dearer; 1,024 kept both in line.
constexpr std::size_t kMaxChunkSlots = 1024;
constexpr std::size_t kPopulateBatch = 64;  // fresh stacks prepared per populate call
constexpr std::size_t kIovMax = 1024;       // UIO_MAXIOV: ranges per process_madvise call

std::size_t read_max_map_count() {
  std::ifstream f("/proc/sys/vm/max_map_count");
  std::size_t v = 65530;
  f >> v;
  return v;
}

// Each mprotect guard splits a mapping (about two more map entries): guards may use half of
// the limit, the other half stays for the rest of the process.
std::size_t budget_for(std::size_t max_map_count) { return max_map_count / 4; }

// Shared by the pools of every thread that use the system limit.
std::atomic<long> g_mprotect_budget{-1};       // -1: not read yet
std::atomic<bool> g_guard_install_works{true};  // false once the kernel said EINVAL
std::atomic<bool> g_batch_works{true};          // false once process_madvise was refused

// Applies `advice` to every page-sized range in `pages`, one process_madvise call per
// kIovMax ranges (any advice on the calling process: Linux 6.13+). Returns how many leading
// ranges it covered; the caller handles the rest one by one. Never throws.
std::size_t advise_pages(const iovec* pages, std::size_t count, int advice,
                         std::size_t page) noexcept {
  if (count == 0 || !g_batch_works.load(std::memory_order_relaxed)) return 0;
#if defined(SPINDLE_HAVE_VALGRIND)
  if (RUNNING_ON_VALGRIND) return 0;  // valgrind 3.19 knows no pidfd_open: one call each
#endif
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));
  if (pidfd < 0) return 0;
  std::size_t done = 0;
  while (done < count) {
    const std::size_t n = std::min(kIovMax, count - done);
    const long r = ::syscall(SYS_process_madvise, pidfd, pages + done, n, advice, 0);
    if (r < 0) {
      // ENOSYS, EINVAL (an older kernel), EPERM (a sandbox): stop asking.
      if (errno != ENOMEM && errno != EAGAIN) g_batch_works.store(false);
      break;
    }
    done += static_cast<std::size_t>(r) / page;  // whole ranges covered, in order
    if (static_cast<std::size_t>(r) < n * page) break;
  }
  ::close(pidfd);
  return done;
}
}  // namespace

StackPool& StackPool::local() {
  static thread_local StackPool pool;
  return pool;
}

StackPool::StackPool(StackGuard policy, std::size_t max_map_count)
    : page_(static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))),
      try_guard_install_(policy == StackGuard::Auto),
      try_mprotect_(policy != StackGuard::Canary),
      own_budget_(max_map_count != 0),
      budget_(budget_for(max_map_count)) {
  if (!own_budget_ && g_mprotect_budget.load(std::memory_order_relaxed) < 0) {
    long expected = -1;
    g_mprotect_budget.compare_exchange_strong(
        expected, static_cast<long>(budget_for(read_max_map_count())));
  }
}

StackPool::~StackPool() {
#if defined(SPINDLE_HAVE_VALGRIND)
  for (unsigned id : valgrind_ids_) VALGRIND_STACK_DEREGISTER(id);
#endif
  for (const Chunk& c : chunks_) ::munmap(c.base, c.len);
  // mprotect guards go with their mappings: give the budget back.
  if (!own_budget_) g_mprotect_budget.fetch_add(static_cast<long>(carved(GuardMode::Mprotect)));
}

std::size_t StackPool::cached() const noexcept {
  std::size_t n = 0;
  for (const auto& [size, sc] : classes_) n += sc.free.size();
  return n;
}

bool StackPool::take_mprotect_budget() noexcept {
  if (own_budget_) {
    if (budget_ == 0) return false;
    --budget_;
    return true;
  }
  long b = g_mprotect_budget.load(std::memory_order_relaxed);
  while (b > 0 && !g_mprotect_budget.compare_exchange_weak(b, b - 1)) {
  }
  return b > 0;
}

StackPool::GuardMode StackPool::guard(void* page) noexcept {
  if (try_guard_install_ && g_guard_install_works.load(std::memory_order_relaxed)) {
    if (::madvise(page, page_, MADV_GUARD_INSTALL) == 0) return GuardMode::GuardInstall;
    if (errno == EINVAL) g_guard_install_works.store(false);  // an older kernel
  }
  if (try_mprotect_ && take_mprotect_budget()) {
    if (::mprotect(page, page_, PROT_NONE) == 0) return GuardMode::Mprotect;
    if (own_budget_) ++budget_;  // ENOMEM: the real limit is lower than the budget
  }
  return GuardMode::Canary;
}

void StackPool::grow(std::size_t usable, SizeClass& sc) {
  const std::size_t slot = usable + page_;
  const std::size_t n = sc.next_chunk_slots;
  const std::size_t len = slot * n;
  void* base = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED)
    throw std::system_error(errno, std::generic_category(), "mmap (fiber stacks)");
  chunks_.push_back({base, len});
  sc.next_chunk_slots = std::min(n * 2, kMaxChunkSlots);
  sc.total += n;
  sc.free.reserve(sc.total);  // release() must never reallocate
  char* const first = static_cast<char*>(base);
  // The guard pages, all at once where the kernel allows it.
  std::size_t installed = 0;
  if (try_guard_install_ && g_guard_install_works.load(std::memory_order_relaxed)) {
    std::vector<iovec> guards(n);
    for (std::size_t i = 0; i < n; ++i) guards[i] = {first + i * slot, page_};
    installed = advise_pages(guards.data(), n, MADV_GUARD_INSTALL, page_);
  }
  // Push in reverse so the lowest slot is handed out first (fresh slots go in address order).
  for (std::size_t i = n; i-- > 0;) {
    char* s = first + i * slot;
    const GuardMode m = i < installed ? GuardMode::GuardInstall : guard(s);
    ++carved_[static_cast<int>(m)];
    char* lo = s + page_;
#if defined(SPINDLE_HAVE_VALGRIND)
    if (RUNNING_ON_VALGRIND) valgrind_ids_.push_back(VALGRIND_STACK_REGISTER(lo, lo + usable));
#endif
    sc.free.push_back(
        {lo, usable, m == GuardMode::Canary ? reinterpret_cast<std::uint64_t*>(lo) : nullptr});
  }
  sc.fresh_from = first + page_;  // every slot of the new chunk is still fresh
  sc.fresh_end = first + len;
}

void StackPool::prepare(SizeClass& sc, const Stack& s) noexcept {
  // The top page of this and the next fresh stacks, populated in one call: each new task
  // then writes its first frames without a page-fault trap. Only that page: a parked task
  // rarely needs more, and memory it never touches is never committed.
  const std::size_t slot = s.size + page_;
  iovec tops[kPopulateBatch];
  std::size_t n = 0;
  char* lo = static_cast<char*>(s.lo);
  for (; n < kPopulateBatch && lo < sc.fresh_end; ++n, lo += slot) tops[n] = {lo + s.size - page_, page_};
  sc.fresh_from = lo;
  advise_pages(tops, n, MADV_POPULATE_WRITE, page_);  // best effort: else the task faults
}

Stack StackPool::allocate(std::size_t usable, bool fresh) {
  usable = std::max(usable, kMinStack);
  usable = (usable + page_ - 1) / page_ * page_;
  SizeClass& sc = size_class(usable);
  if (sc.free.empty()) grow(usable, sc);
  const Stack s = sc.free.back();
  sc.free.pop_back();
  ++in_use_;
  // Fresh slots come out in address order; released ones (below fresh_from) are resident.
  if (char* lo = static_cast<char*>(s.lo); lo >= sc.fresh_from && lo < sc.fresh_end) {
    prepare(sc, s);
  }
#if defined(SPINDLE_ASAN)
  // A finished task's last frames are abandoned, not unwound: clear their poisoning so the
  // next task on this stack starts clean.
  __asan_unpoison_memory_region(s.lo, usable);
#endif
  // Everything but the top page (which the task touches at once) goes back to the kernel.
  if (fresh) ::madvise(s.lo, s.size - page_, MADV_DONTNEED);
  if (s.canary) *s.canary = kStackCanary;
  return s;
}

void StackPool::release(Stack s) noexcept {
  // The size class exists: allocate() created it, so size_class() cannot throw here.
  // push_back cannot throw either: grow() reserved room for every slot of the class.
  size_class(s.size).free.push_back(s);
  --in_use_;
}

std::size_t StackPool::used(const Stack& s) const noexcept {
  // The canary keeps the bottom page resident: look above it.
  char* const lo = static_cast<char*>(s.lo) + (s.canary ? page_ : 0);
  char* const top = static_cast<char*>(s.lo) + s.size;
  unsigned char vec[64];
  for (char* p = lo; p < top;) {
    const std::size_t pages = std::min<std::size_t>(64, static_cast<std::size_t>(top - p) / page_);
    if (::mincore(p, pages * page_, vec) != 0) return 0;
    for (std::size_t i = 0; i < pages; ++i) {
      if (vec[i] & 1) return static_cast<std::size_t>(top - (p + i * page_));
    }
    p += pages * page_;
  }
  return 0;
}

std::size_t StackPool::mapped() const noexcept {
  std::size_t n = 0;
  for (const Chunk& c : chunks_) n += c.len;
  return n;
}

std::size_t StackPool::resident() const noexcept {
  std::size_t n = 0;
  std::vector<unsigned char> vec;
  try {
    for (const Chunk& c : chunks_) {
      vec.resize(c.len / page_);
      if (::mincore(c.base, c.len, vec.data()) != 0) return 0;
      for (unsigned char v : vec) n += v & 1;
    }
  } catch (...) {
    return 0;  // out of memory for the vector
  }
  return n * page_;
}

std::size_t stacks_in_use() noexcept { return StackPool::local().in_use(); }
std::size_t stacks_cached() noexcept { return StackPool::local().cached(); }

}  // namespace spindle::detail
