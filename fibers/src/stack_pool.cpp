// Stack pool: see stack_pool.hpp for the invariants.
//
// Layout of a chunk of N slots, each [guard page][usable stack], low to high addresses:
//   | G | stack 0 | G | stack 1 | ... |
// A stack grows down towards its own guard page. Chunks double in size (16 slots up to 1024)
// so small programs map little and large ones need few mappings.
#include "stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <spindle/detail/introspect.hpp>
#include <system_error>

#include "sanitizer.hpp"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux 6.13+; Debian 12's headers predate it
#endif

namespace spindle::detail {
namespace {
constexpr std::size_t kMinStack = 16 * 1024;
constexpr std::size_t kMaxChunkSlots = 1024;

std::size_t read_max_map_count() {
  std::ifstream f("/proc/sys/vm/max_map_count");
  std::size_t v = 65530;
  f >> v;
  return v;
}
}  // namespace

StackPool& StackPool::local() {
  static thread_local StackPool pool;
  return pool;
}

StackPool::StackPool()
    : page_(static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))),
      // Each mprotect guard splits a mapping (about two more map entries); keep half of the
      // system limit for the rest of the process.
      mprotect_budget_(read_max_map_count() / 4) {}

StackPool::~StackPool() {
#if defined(SPINDLE_HAVE_VALGRIND)
  for (unsigned id : valgrind_ids_) VALGRIND_STACK_DEREGISTER(id);
#endif
  for (const Chunk& c : chunks_) ::munmap(c.base, c.len);
}

std::size_t StackPool::cached() const noexcept {
  std::size_t n = 0;
  for (const auto& [size, sc] : classes_) n += sc.free.size();
  return n;
}

bool StackPool::guard(void* page) noexcept {
  if (mode_ == GuardMode::GuardInstall) {
    if (::madvise(page, page_, MADV_GUARD_INSTALL) == 0) return true;
    mode_ = GuardMode::Mprotect;  // kernel without guard regions: fall back once and for all
  }
  if (mode_ == GuardMode::Mprotect) {
    if (mprotect_budget_ > 0 && ::mprotect(page, page_, PROT_NONE) == 0) {
      --mprotect_budget_;
      return true;
    }
    mode_ = GuardMode::None;
  }
  return false;
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
  // Push in reverse so the lowest slot is handed out first.
  for (std::size_t i = n; i-- > 0;) {
    char* s = static_cast<char*>(base) + i * slot;
    guard(s);
    char* lo = s + page_;
#if defined(SPINDLE_HAVE_VALGRIND)
    if (RUNNING_ON_VALGRIND) valgrind_ids_.push_back(VALGRIND_STACK_REGISTER(lo, lo + usable));
#endif
    sc.free.push_back(lo);
  }
}

Stack StackPool::allocate(std::size_t usable) {
  usable = std::max(usable, kMinStack);
  usable = (usable + page_ - 1) / page_ * page_;
  SizeClass& sc = classes_[usable];
  if (sc.free.empty()) grow(usable, sc);
  void* lo = sc.free.back();
  sc.free.pop_back();
  ++in_use_;
#if defined(SPINDLE_ASAN)
  // A finished task's last frames are abandoned, not unwound: clear their poisoning so the
  // next task on this stack starts clean.
  __asan_unpoison_memory_region(lo, usable);
#endif
  return {lo, usable};
}

void StackPool::release(Stack s) noexcept {
  // The size class exists: allocate() created it. push_back cannot throw: grow() reserved
  // room for every slot of the class.
  classes_.find(s.size)->second.free.push_back(s.lo);
  --in_use_;
}

std::size_t stacks_in_use() noexcept { return StackPool::local().in_use(); }
std::size_t stacks_cached() noexcept { return StackPool::local().cached(); }

}  // namespace spindle::detail
