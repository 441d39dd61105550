// Timer heap: see timer_heap.hpp.
#include "timer_heap.hpp"

namespace spindle::detail {

void TimerHeap::push(TimerEntry& e) {
  e.seq = seq_++;
  heap_.push_back(&e);
  e.index = heap_.size() - 1;
  sift_up(e.index);
}

TimerEntry* TimerHeap::pop() noexcept {
  TimerEntry* e = heap_.front();
  remove(*e);
  return e;
}

void TimerHeap::remove(TimerEntry& e) noexcept {
  const std::size_t i = e.index;
  TimerEntry* last = heap_.back();
  heap_.pop_back();
  e.index = TimerEntry::kNotQueued;
  if (last == &e) return;
  place(i, last);
  if (i > 0 && before(last, heap_[(i - 1) / 2])) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

void TimerHeap::sift_up(std::size_t i) noexcept {
  TimerEntry* e = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!before(e, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void TimerHeap::sift_down(std::size_t i) noexcept {
  TimerEntry* e = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], e)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, e);
}

}  // namespace spindle::detail
