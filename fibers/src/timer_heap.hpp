// A 4-ary min-heap of timer entries ordered by (deadline, sequence number), so equal
// deadlines fire in insertion order. Entries record their index: removal is O(log n).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <spindle/detail/timer_entry.hpp>
#include <vector>

namespace spindle::detail {

class TimerHeap {
 public:
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  TimerEntry* top() const noexcept { return heap_.front().e; }
  /// top()->deadline, without touching the entry.
  std::chrono::steady_clock::time_point top_deadline() const noexcept {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(heap_.front().deadline));
  }
  /// Adds e (stamped with the next sequence number). May throw std::bad_alloc.
  void push(TimerEntry& e);
  TimerEntry* pop() noexcept;
  void remove(TimerEntry& e) noexcept;
  /// Reserves room so that push() of `n` more entries cannot throw.
  void reserve(std::size_t n) { heap_.reserve(n); }

 private:
  // Entries live on fiber stacks, one per page: comparing through the pointers would touch a
  // cold page at every step. Each slot carries its entry's ordering key instead, and the
  // heap is 4-ary (half the depth of a binary heap: fewer entries to move, and each move
  // writes the moved entry's index on its stack).
  struct Slot {
    std::chrono::steady_clock::rep deadline;
    std::uint64_t seq;
    TimerEntry* e;
  };
  static constexpr std::size_t kArity = 4;
  static bool before(const Slot& a, const Slot& b) noexcept {
    return a.deadline < b.deadline || (a.deadline == b.deadline && a.seq < b.seq);
  }
  void place(std::size_t i, const Slot& s) noexcept {
    heap_[i] = s;
    s.e->index = i;
  }
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;

  std::vector<Slot> heap_;
  std::uint64_t seq_ = 0;
};

}  // namespace spindle::detail
