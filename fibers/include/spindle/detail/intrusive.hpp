// Intrusive containers used by the loop and wait lists. Not API.
// Invariant: a node is on at most one list per hook tag at a time; unlink is O(1) and
// needs no list pointer, so a cancelled waiter can remove itself from any list.
#pragma once

namespace spindle::detail {

/// A node of a circular doubly linked list; a detached node points at itself.
/// `Tag` lets one object sit on several lists through distinct base classes.
template <class Tag>
struct ListHook {
  ListHook* prev = this;
  ListHook* next = this;

  ListHook() = default;
  ListHook(const ListHook&) = delete;
  ListHook& operator=(const ListHook&) = delete;
  ~ListHook() { unlink(); }

  bool linked() const noexcept { return next != this; }
  void unlink() noexcept {
    prev->next = next;
    next->prev = prev;
    prev = next = this;
  }
  /// Inserts this node before `pos` (before the sentinel = at the back).
  void link_before(ListHook& pos) noexcept {
    prev = pos.prev;
    next = &pos;
    pos.prev->next = this;
    pos.prev = this;
  }
};

/// A FIFO list with a sentinel; T derives from ListHook<Tag>.
template <class T, class Tag>
class IntrusiveList {
  using Hook = ListHook<Tag>;

 public:
  IntrusiveList() = default;
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  bool empty() const noexcept { return !head_.linked(); }
  void push_back(T& v) noexcept { static_cast<Hook&>(v).link_before(head_); }
  T& front() noexcept { return static_cast<T&>(*head_.next); }
  T* pop_front() noexcept {
    if (empty()) return nullptr;
    T& v = front();
    static_cast<Hook&>(v).unlink();
    return &v;
  }
  static void erase(T& v) noexcept { static_cast<Hook&>(v).unlink(); }

  /// Calls fn(T&) on each element from the back; fn may unlink the element it is given.
  template <class Fn>
  void for_each_reverse(Fn&& fn) {
    for (Hook* h = head_.prev; h != &head_;) {
      Hook* pv = h->prev;
      fn(static_cast<T&>(*h));
      h = pv;
    }
  }

  /// Calls fn(T&) on each element in order; fn may unlink the element it is given.
  template <class Fn>
  void for_each(Fn&& fn) {
    for (Hook* h = head_.next; h != &head_;) {
      Hook* nx = h->next;
      fn(static_cast<T&>(*h));
      h = nx;
    }
  }

 private:
  Hook head_;
};

}  // namespace spindle::detail
