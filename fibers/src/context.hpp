// Context snapshots shared between the task code, spawn and the thread pool.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace spindle::detail {

/// An immutable set of ContextVar values; shared by tasks (copy-on-write on set()).
struct ContextData {
  std::atomic<unsigned> refs{1};
  std::vector<std::pair<std::uint64_t, std::shared_ptr<const void>>> values;

  /// Adds a reference (null stays null) and returns d.
  static ContextData* acquire(ContextData* d) noexcept;
  /// Drops a reference; the last one frees it. Thread-safe.
  static void release(ContextData* d) noexcept;
};

/// The context of the running task, or of this thread outside tasks (not referenced).
ContextData* current_context() noexcept;

/// Makes `d` this thread's context while it lives (for to_thread work on pool threads).
class ContextScope {
 public:
  explicit ContextScope(ContextData* d) noexcept;
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  ContextData* saved_;
};

}  // namespace spindle::detail
