// Context variables: each task points at an immutable, reference-counted snapshot of values
// (null when nothing was ever set, so spawning costs nothing for programs without
// ContextVars). set() copies the snapshot (copy-on-write); spawn shares the parent's. The
// reference count is atomic because to_thread() shares a snapshot with a worker thread.
#include "context.hpp"

#include <atomic>
#include <spindle/context_var.hpp>
#include <utility>
#include <vector>

#include "loop_core.hpp"

namespace spindle::detail {

namespace {
thread_local ContextData* tls_context = nullptr;  // outside tasks (and on pool threads)
std::atomic<std::uint64_t> next_key{1};

ContextData*& current_slot() noexcept {
  LoopCore* loop = LoopCore::current_or_null();
  if (loop && loop->current_) return loop->current_->context_;
  return tls_context;
}
}  // namespace

void ContextData::release(ContextData* d) noexcept {
  if (d && d->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete d;
}

ContextData* ContextData::acquire(ContextData* d) noexcept {
  if (d) d->refs.fetch_add(1, std::memory_order_relaxed);
  return d;
}

ContextData* current_context() noexcept { return current_slot(); }

ContextScope::ContextScope(ContextData* d) noexcept : saved_(tls_context) {
  tls_context = ContextData::acquire(d);
}
ContextScope::~ContextScope() {
  ContextData::release(tls_context);
  tls_context = saved_;
}

std::uint64_t context_new_key() noexcept { return next_key.fetch_add(1); }

const void* context_owner() noexcept {
  LoopCore* loop = LoopCore::current_or_null();
  if (loop && loop->current_) return loop->current_;
  return &tls_context;
}

const void* context_find(std::uint64_t key) noexcept {
  const ContextData* d = current_slot();
  if (!d) return nullptr;
  for (const auto& [k, v] : d->values) {
    if (k == key) return v.get();
  }
  return nullptr;
}

std::shared_ptr<const void> context_set(std::uint64_t key, std::shared_ptr<const void> value,
                                        const void** owner) {
  *owner = context_owner();
  ContextData*& slot = current_slot();
  auto* fresh = new ContextData;
  std::shared_ptr<const void> old;
  if (slot) fresh->values.reserve(slot->values.size() + 1);
  if (slot) {
    for (const auto& [k, v] : slot->values) {
      if (k == key) {
        old = v;
      } else {
        fresh->values.emplace_back(k, v);
      }
    }
  }
  if (value) fresh->values.emplace_back(key, std::move(value));
  ContextData::release(std::exchange(slot, fresh));
  return old;
}

}  // namespace spindle::detail
