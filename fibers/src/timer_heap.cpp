// Timer heap: see timer_heap.hpp.
#include "timer_heap.hpp"

namespace spindle::detail {

void TimerHeap::push(TimerEntry& e) {
  e.seq = seq_++;
  heap_.push_back({e.deadline.time_since_epoch().count(), e.seq, &e});
  e.index = heap_.size() - 1;
  sift_up(e.index);
}

TimerEntry* TimerHeap::pop() noexcept {
  TimerEntry* e = heap_.front().e;
  remove(*e);
  return e;
}

void TimerHeap::remove(TimerEntry& e) noexcept {
  const std::size_t i = e.index;
  const Slot last = heap_.back();
  heap_.pop_back();
  e.index = TimerEntry::kNotQueued;
  if (last.e == &e) return;
  place(i, last);
  if (i > 0 && before(last, heap_[(i - 1) / kArity])) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

void TimerHeap::sift_up(std::size_t i) noexcept {
  const Slot s = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / kArity;
    if (!before(s, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, s);
}

void TimerHeap::sift_down(std::size_t i) noexcept {
  const Slot s = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    const std::size_t first = kArity * i + 1;
    if (first >= n) break;
    std::size_t best = first;
    const std::size_t end = first + kArity < n ? first + kArity : n;
    for (std::size_t c = first + 1; c < end; ++c) {
      if (before(heap_[c], heap_[best])) best = c;
    }
    if (!before(heap_[best], s)) break;
    place(i, heap_[best]);
    i = best;
  }
  place(i, s);
}

}  // namespace spindle::detail
