// spindle_debug_layout: what gdb's extension reads (see debug_layout.hpp), and the
// registry of live loops it walks.
#include "debug_layout.hpp"

#include <unistd.h>

#include <boost/context/detail/fcontext.hpp>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <string>

#include "loop_core.hpp"

// LoopCore and TaskBase are not standard-layout; their members' offsets are still fixed
// (no virtual bases), which is all offsetof needs here.
#pragma GCC diagnostic ignored "-Winvalid-offsetof"

namespace spindle::detail {
/// SourceLocation's private fields, by offset (it is standard-layout: offsetof holds).
struct DebugLayoutAccess {
  static std::int32_t location_file() { return static_cast<std::int32_t>(offsetof(SourceLocation, file_)); }
  static std::int32_t location_line() { return static_cast<std::int32_t>(offsetof(SourceLocation, line_)); }
};
}  // namespace spindle::detail

using spindle::detail::LoopCore;
using spindle::detail::TaskBase;

namespace {

std::int32_t off(std::size_t o) { return static_cast<std::int32_t>(o); }

/// Where std::string keeps its data pointer and size: libstdc++'s C++11 ABI keeps the
/// pointer (to the heap or to its own short buffer) first and the length after it (the
/// layout is its ABI, fixed since GCC 5). Elsewhere -1: names read as "Task-<id>". (Finding
/// them by looking at a string's bytes would read its unused buffer, which valgrind rightly
/// calls uninitialised.)
void string_layout(std::int32_t& data, std::int32_t& size) {
#if defined(__GLIBCXX__) && _GLIBCXX_USE_CXX11_ABI
  data = 0;
  size = static_cast<std::int32_t>(sizeof(char*));
#else
  data = size = -1;
#endif
}

/// The save area of this build's jump_fcontext, read from its first instruction: x86-64
/// Boost.Context opens with `lea -N(%rsp),%rsp` and stores r12, r13, r14, r15, rbx, rbp in
/// the six words below N, the return address at N (1.74: N = 0x38; 1.75 on: 0x40, a word
/// kept for the shadow stack). Anything else leaves the offsets unknown.
void probe_context(spindle_debug_layout_t& l) {
  l.ctx_pc = l.ctx_sp = l.ctx_fp = l.ctx_rbx = l.ctx_r12 = l.ctx_r13 = l.ctx_r14 = l.ctx_r15 = -1;
#if defined(__x86_64__)
  unsigned char code[5];
  std::memcpy(code, reinterpret_cast<const void*>(&boost::context::detail::jump_fcontext), sizeof code);
  if (!(code[0] == 0x48 && code[1] == 0x8d && code[2] == 0x64 && code[3] == 0x24)) return;
  const int n = -static_cast<int>(static_cast<signed char>(code[4]));
  if (n < 0x38 || n > 0x78 || n % 8 != 0) return;
  l.ctx_r12 = n - 0x30;
  l.ctx_r13 = n - 0x28;
  l.ctx_r14 = n - 0x20;
  l.ctx_r15 = n - 0x18;
  l.ctx_rbx = n - 0x10;
  l.ctx_fp = n - 0x08;
  l.ctx_pc = n;
  l.ctx_sp = n + 8;
  std::strcpy(l.arch, "x86_64");
#endif
}

/// Fills in everything but the loop registry (which a loop made during another file's static
/// initialisation may already have started).
void fill_layout(spindle_debug_layout_t& l) {
  l.magic = 0x4c445053;
  l.version = 1;
  l.size = sizeof l;
  l.pointer_size = sizeof(void*);
  l.loop_next = off(offsetof(LoopCore, debug_next_));
  l.loop_index = off(offsetof(LoopCore, index_));
  l.loop_tid = off(offsetof(LoopCore, debug_tid_));
  l.loop_live = off(offsetof(LoopCore, live_));
  l.loop_running = off(offsetof(LoopCore, current_));
  using Hook = spindle::detail::ListHook<spindle::detail::RegistryTag>;
  l.hook_next = off(offsetof(Hook, next));
  alignas(TaskBase) static char probe[sizeof(TaskBase)];  // never constructed: addresses only
  l.task_hook = off(reinterpret_cast<const char*>(static_cast<const Hook*>(
                        reinterpret_cast<const TaskBase*>(probe))) -
                    probe);
  l.task_id = off(offsetof(TaskBase, id_));
  std::int32_t data, size;
  string_layout(data, size);
  l.task_name_data = data < 0 ? -1 : off(offsetof(TaskBase, name_)) + data;
  l.task_name_size = size < 0 ? -1 : off(offsetof(TaskBase, name_)) + size;
  l.task_state = off(offsetof(TaskBase, state_));
  l.task_parked_in = off(offsetof(TaskBase, parked_in_));
  using Access = spindle::detail::DebugLayoutAccess;
  l.task_parked_file = off(offsetof(TaskBase, parked_at_)) + Access::location_file();
  l.task_parked_line = off(offsetof(TaskBase, parked_at_)) + Access::location_line();
  l.task_fctx = off(offsetof(TaskBase, ctx_) + offsetof(spindle::detail::ExecContext, fctx));
  l.task_stack_lo = off(offsetof(TaskBase, ctx_) + offsetof(spindle::detail::ExecContext, stack_lo));
  l.task_stack_size = off(offsetof(TaskBase, ctx_) + offsetof(spindle::detail::ExecContext, stack_size));
  static_assert(static_cast<int>(TaskBase::State::Scheduled) == 0 &&
                static_cast<int>(TaskBase::State::Running) == 1 &&
                static_cast<int>(TaskBase::State::Parked) == 2 &&
                static_cast<int>(TaskBase::State::Ready) == 3 &&
                static_cast<int>(TaskBase::State::Done) == 4);
  std::strcpy(l.state_names, "scheduled,running,parked,ready,done");
  probe_context(l);
}

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

extern "C" {
constinit spindle_debug_layout_t spindle_debug_layout{};
}

namespace {
[[maybe_unused]] const bool layout_filled = (fill_layout(spindle_debug_layout), true);
}  // namespace

namespace spindle::detail {

void LoopCore::debug_register() noexcept {
  debug_tid_ = static_cast<std::int32_t>(::gettid());
  std::lock_guard lock(registry_mutex());
  debug_next_ = static_cast<LoopCore*>(spindle_debug_layout.first_loop);
  if (debug_next_) debug_next_->debug_prev_ = this;
  debug_prev_ = nullptr;
  spindle_debug_layout.first_loop = this;
}

void LoopCore::debug_unregister() noexcept {
  std::lock_guard lock(registry_mutex());
  if (debug_prev_) {
    debug_prev_->debug_next_ = debug_next_;
  } else {
    spindle_debug_layout.first_loop = debug_next_;
  }
  if (debug_next_) debug_next_->debug_prev_ = debug_prev_;
}

}  // namespace spindle::detail
