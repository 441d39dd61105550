// A binary min-heap of timer entries ordered by (deadline, sequence number), so equal
// deadlines fire in insertion order. Entries record their index: removal is O(log n).
#pragma once

#include <cstddef>
#include <cstdint>
#include <spindle/detail/timer_entry.hpp>
#include <vector>

namespace spindle::detail {

class TimerHeap {
 public:
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  TimerEntry* top() const noexcept { return heap_.front(); }
  /// Adds e (stamped with the next sequence number). May throw std::bad_alloc.
  void push(TimerEntry& e);
  TimerEntry* pop() noexcept;
  void remove(TimerEntry& e) noexcept;
  /// Reserves room so that push() of `n` more entries cannot throw.
  void reserve(std::size_t n) { heap_.reserve(n); }

 private:
  static bool before(const TimerEntry* a, const TimerEntry* b) noexcept {
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
  }
  void place(std::size_t i, TimerEntry* e) noexcept {
    heap_[i] = e;
    e->index = i;
  }
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;

  std::vector<TimerEntry*> heap_;
  std::uint64_t seq_ = 0;
};

}  // namespace spindle::detail
