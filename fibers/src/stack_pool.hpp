// A per-thread pool of fiber stacks carved out of large lazily committed mappings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <spindle/run.hpp>
#include <vector>

namespace spindle::detail {

/// The value an unguarded stack keeps in its lowest word while it has not overflowed.
inline constexpr std::uint64_t kStackCanary = 0x5350494e444c4521ull;  // "SPINDLE!"

/// A usable stack region [lo, lo + size). A guarded stack has an inaccessible page just below
/// lo; an unguarded one has `canary` (== lo) holding kStackCanary instead.
struct Stack {
  void* lo = nullptr;
  std::size_t size = 0;
  std::uint64_t* canary = nullptr;
};

/// Hands out guarded stacks and takes them back for reuse (LIFO, so the most recently used,
/// still-resident stack is reused first and reuse costs no page faults).
///
/// Invariants: every stack handed out is either in use or on its size class's free list;
/// memory is never returned to the kernel until the pool ends (so a reused stack never
/// faults again). Each stack gets the best protection available when it is carved: a
/// MADV_GUARD_INSTALL guard page inside the mapping (Linux 6.13+, no map-count cost), else an
/// mprotect guard page while the map-count budget (a quarter of vm.max_map_count, shared by
/// the process) lasts, else a canary word checked at every switch.
class StackPool {
 public:
  enum class GuardMode { GuardInstall, Mprotect, Canary };

  /// The calling thread's pool (StackGuard::Auto, the system's vm.max_map_count).
  static StackPool& local();

  /// A pool using `policy`; a nonzero `max_map_count` replaces vm.max_map_count in the
  /// mprotect budget (this pool then has a budget of its own).
  explicit StackPool(StackGuard policy = StackGuard::Auto, std::size_t max_map_count = 0);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  /// A stack with at least `usable` bytes (rounded up to whole pages, at least 16 KiB). With
  /// `fresh`, its pages are handed back to the kernel first so that used() measures only
  /// the new owner's use. Throws std::system_error if the kernel refuses memory.
  Stack allocate(std::size_t usable, bool fresh = false);
  /// Returns a stack obtained from allocate() on this pool.
  void release(Stack s) noexcept;

  /// Bytes of s below its top that are resident, to the page: the deepest use since the
  /// stack was last fresh. Never throws (0 if the kernel cannot tell).
  std::size_t used(const Stack& s) const noexcept;

  std::size_t in_use() const noexcept { return in_use_; }
  std::size_t cached() const noexcept;
  /// How many stacks were carved with each protection.
  std::size_t carved(GuardMode m) const noexcept { return carved_[static_cast<int>(m)]; }
  std::size_t page_size() const noexcept { return page_; }
  /// Bytes of address space mapped for stacks (guard pages included).
  std::size_t mapped() const noexcept;
  /// Bytes of those mappings that are resident (mincore, one call per chunk); 0 if the
  /// kernel cannot tell.
  std::size_t resident() const noexcept;

 private:
  struct SizeClass {
    std::vector<Stack> free;
    std::size_t next_chunk_slots = 16;
    std::size_t total = 0;  // slots ever carved for this class
    // The newest chunk's slots from fresh_from up to fresh_end were never handed out and
    // their top pages are not populated yet (older chunks have no fresh slots left).
    char* fresh_from = nullptr;
    char* fresh_end = nullptr;
  };
  struct Chunk {
    void* base;
    std::size_t len;
  };
  void grow(std::size_t usable, SizeClass& sc);
  /// Populates the top pages of the fresh stack s and of the fresh ones after it.
  void prepare(SizeClass& sc, const Stack& s) noexcept;
  /// The size class for `usable` bytes (created if new). Map nodes never move, so the last
  /// one used is cached: programs mostly spawn one stack size.
  SizeClass& size_class(std::size_t usable) {
    if (usable != last_size_) {
      last_class_ = &classes_[usable];
      last_size_ = usable;
    }
    return *last_class_;
  }
  GuardMode guard(void* page) noexcept;
  bool take_mprotect_budget() noexcept;

  std::size_t page_;
  std::map<std::size_t, SizeClass> classes_;
  std::size_t last_size_ = 0;
  SizeClass* last_class_ = nullptr;
  std::vector<Chunk> chunks_;
  std::vector<unsigned> valgrind_ids_;
  std::size_t in_use_ = 0;
  std::size_t carved_[3] = {0, 0, 0};
  bool try_guard_install_;
  bool try_mprotect_;
  bool own_budget_;
  std::size_t budget_ = 0;  // with own_budget_
};

}  // namespace spindle::detail
