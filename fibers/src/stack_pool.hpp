// A per-thread pool of fiber stacks carved out of large lazily committed mappings.
#pragma once

#include <cstddef>
#include <map>
#include <vector>

namespace spindle::detail {

/// A usable stack region [lo, lo + size); a guard page sits just below lo.
struct Stack {
  void* lo = nullptr;
  std::size_t size = 0;
};

/// Hands out guarded stacks and takes them back for reuse (LIFO, so the most recently used,
/// still-resident stack is reused first and reuse costs no page faults).
///
/// Invariants: every stack handed out is either in use or on its size class's free list;
/// memory is never returned to the kernel until the pool (the thread) ends. Guards are
/// installed with MADV_GUARD_INSTALL inside the mapping when the kernel has it (no
/// map-count cost), else with mprotect while the map-count budget allows.
class StackPool {
 public:
  enum class GuardMode { GuardInstall, Mprotect, None };

  /// The calling thread's pool.
  static StackPool& local();

  StackPool();
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  /// A stack with at least `usable` bytes (rounded up to whole pages, at least 16 KiB).
  /// Throws std::system_error if the kernel refuses memory.
  Stack allocate(std::size_t usable);
  /// Returns a stack obtained from allocate() on this pool.
  void release(Stack s) noexcept;

  std::size_t in_use() const noexcept { return in_use_; }
  std::size_t cached() const noexcept;

 private:
  struct SizeClass {
    std::vector<void*> free;  // usable lo pointers
    std::size_t next_chunk_slots = 16;
    std::size_t total = 0;  // slots ever carved for this class
  };
  struct Chunk {
    void* base;
    std::size_t len;
  };
  void grow(std::size_t usable, SizeClass& sc);
  bool guard(void* page) noexcept;

  std::size_t page_;
  std::map<std::size_t, SizeClass> classes_;
  std::vector<Chunk> chunks_;
  std::vector<unsigned> valgrind_ids_;
  std::size_t in_use_ = 0;
  GuardMode mode_ = GuardMode::GuardInstall;
  std::size_t mprotect_budget_;
};

}  // namespace spindle::detail
