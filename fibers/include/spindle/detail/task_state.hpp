// The shared state behind Task<R> handles, and the wait primitives every blocking call uses.
// Installed because templates need it; not API, no stability promise.
//
// Ownership: a TaskBase is reference counted (handles + one reference the loop holds until the
// task has finished and its stack is returned). The fiber stack holds only the running frames.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <spindle/detail/config.hpp>
#include <spindle/detail/intrusive.hpp>
#include <spindle/errors.hpp>
#include <spindle/source_location.hpp>
#include <string>
#include <type_traits>
#include <utility>

namespace spindle::detail {

class LoopCore;
class TaskBase;
struct ContextData;

/// An entry of the loop's FIFO ready queue: a task to resume or a callback to call.
struct ReadyNode {
  enum class Kind : std::uint8_t { Task, Callback };
  explicit ReadyNode(Kind k) noexcept : kind(k) {}
  ReadyNode* next_ready = nullptr;
  Kind kind;
};

/// Why a parked task was woken. Error: the primitive it waited on was destroyed.
/// Shutdown: the queue it waited on was shut down.
enum class WakeReason : std::uint8_t { None, Granted, Timeout, Cancelled, Error, Shutdown };

/// One parked task's entry on a wait structure. Lives on the parking fiber's own stack.
/// `detach` removes it from that structure in O(1); cancellation calls it. A waiter that is
/// not `interruptible` (e.g. join waiting for a forwarded cancellation to finish) is woken
/// by cancellation only when forced (deadlock teardown). `held_by` and `object` only feed
/// the deadlock report and dump_tasks(): the slot naming the task this wait depends on (a
/// Lock's owner, a join's target) and the object waited on (tasks on the same one are grouped).
struct Waiter {
  TaskBase* task = nullptr;
  WakeReason reason = WakeReason::None;
  bool interruptible = true;
  void (*detach)(Waiter&) noexcept = nullptr;
  TaskBase* const* held_by = nullptr;
  const void* object = nullptr;
  bool joins = false;  // held_by is the task this one waits to finish, not a holder
};

struct DoneTag;
struct RegistryTag;

/// Notified synchronously (in the finishing task's context) when a task finishes.
/// Used by join, gather, wait and done callbacks. Must not block or throw.
struct DoneWaiter : ListHook<DoneTag> {
  void (*on_done)(DoneWaiter&, TaskBase&) noexcept = nullptr;
};

/// A switchable execution context: a task's fiber or the thread that called run().
struct ExecContext {
  void* fctx = nullptr;             // saved Boost.Context fcontext_t
  void* stack_lo = nullptr;         // lowest usable address of the stack (tasks)
  std::size_t stack_size = 0;       // usable bytes above stack_lo
  void* asan_fake_stack = nullptr;  // AddressSanitizer fake-stack handle while switched out
  const void* asan_bottom = nullptr;
  std::size_t asan_size = 0;
  void* eh_caught = nullptr;  // this context's C++ caught-exception stack while switched out
  unsigned eh_uncaught = 0;   // and its std::uncaught_exceptions() count
  TaskBase* task = nullptr;   // null for the root context
  std::uint64_t* canary = nullptr;  // an unguarded stack's canary word, checked at switches
  void* tsan_fiber = nullptr;       // ThreadSanitizer's fiber handle (TSan builds)
  bool exiting = false;             // set by a finished task on its final switch
};

/// Type-independent part of every task.
class SPINDLE_API TaskBase : public ReadyNode, public ListHook<RegistryTag> {
 public:
  enum class State : std::uint8_t { Scheduled, Running, Parked, Ready, Done };

  TaskBase(const TaskBase&) = delete;
  TaskBase& operator=(const TaskBase&) = delete;

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) last_reference_gone();
  }

  /// Runs the user's callable and stores its result; may throw (the caller stores it).
  virtual void run_body() = 0;
  /// Destroys the callable (and its captures) if it is still held. Idempotent.
  virtual void drop_body() noexcept = 0;

  std::string name() const;
  bool done() const noexcept { return state_ == State::Done; }

  // State below is read and written by spindle's own code only.
  LoopCore* loop_ = nullptr;
  std::uint64_t id_ = 0;
  std::string name_;  // empty: "Task-<id>"
  ExecContext ctx_;
  State state_ = State::Scheduled;
  bool cancelled_ = false;         // finished by CancelledError
  bool retrieved_ = false;         // the exception was observed (join/result/exception/gather)
  bool cancel_pending_ = false;    // a CancelledError is owed at the next park
  bool result_taken_ = false;      // a move-only result was moved out
  bool force_cancel_ = false;      // deadlock teardown: cancellation interrupts every wait
  bool cancel_delivered_ = false;  // a CancelledError was thrown into the task
  std::uint32_t refs_ = 0;
  std::uint64_t finish_seq_ = 0;  // order of completion within the loop
  std::uint32_t cancels_requested_ = 0;
  std::uint32_t shield_depth_ = 0;  // CancelShield scopes open in this task
  std::exception_ptr error_;        // failure, or the CancelledError it finished with
  // What the pending cancellation will throw (provenance); allocated by the first cancel()
  // so that tasks never cancelled do not carry it (a million idle tasks: 112 bytes each).
  std::unique_ptr<CancelledError> cancel_error_;
  /// *cancel_error_, or a bare CancelledError if none was recorded.
  const CancelledError& cancel_error() const noexcept;
  SourceLocation delivered_at_;     // where the last CancelledError was thrown into the task
  Waiter* parked_on_ = nullptr;     // the waiter while parked and not yet woken
  SourceLocation parked_at_;        // the blocking call's site
  const char* parked_in_ = "";      // the blocking call's name, e.g. "Task::join"
  std::chrono::steady_clock::time_point parked_since_;  // coarse time of the last park
  std::size_t stack_used_ = 0;  // high-water mark recorded when it finished (tracked stacks)
  IntrusiveList<DoneWaiter, DoneTag> done_waiters_;
  ContextData* context_ = nullptr;  // ContextVar values (shared, copy-on-write)

 protected:
  TaskBase() noexcept;
  virtual ~TaskBase();

 private:
  void last_reference_gone() noexcept;
};

/// Result storage for tasks returning R.
template <class R>
class TaskResult : public TaskBase {
 public:
  std::optional<R> value_;
};
template <>
class TaskResult<void> : public TaskBase {};

/// A task running the callable F (arguments already bound into it).
template <class R, class F>
class TaskImpl final : public TaskResult<R> {
 public:
  explicit TaskImpl(F&& fn) : fn_(std::move(fn)) {}

  void run_body() override {
    struct Drop {
      TaskImpl* self;
      ~Drop() { self->drop_body(); }
    } drop{this};
    if constexpr (std::is_void_v<R>) {
      (*fn_)();
    } else {
      this->value_.emplace((*fn_)());
    }
  }
  void drop_body() noexcept override { fn_.reset(); }

 private:
  std::optional<F> fn_;
};

/// Options given to spawn() (defined in task.hpp); forward-declared for start_task.
struct TaskStartOptions {
  std::string name;
  std::size_t stack_size = 0;
};

/// Registers a freshly allocated task with the running loop, gives it a stack and schedules it.
/// Throws std::logic_error when no loop runs on this thread (the task stays unstarted; the
/// caller's handle frees it).
SPINDLE_API void start_task(TaskBase* t, TaskStartOptions opts);

/// Parks the current task until `t` is done (join semantics, see Task::join). If the caller
/// is cancelled: with `forward`, cancels `t`, waits for it, then throws CancelledError;
/// without (shield), throws CancelledError at once and leaves `t` running.
SPINDLE_API void wait_task(TaskBase& t, SourceLocation where, bool forward = true);

/// Throws InvalidStateError if `t` is not done; rethrows its exception or throws
/// CancelledError if it was cancelled; marks the exception retrieved.
SPINDLE_API void check_result(TaskBase& t);

/// Throws InvalidStateError if a move-only result was already moved out, then marks it taken.
SPINDLE_API void take_result(TaskBase& t);

}  // namespace spindle::detail
