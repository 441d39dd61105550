// The layout gdb's spindle extension reads (libspindle.so.N-gdb.py): where the loops are and
// where a task keeps its id, name, state, parked site, stack and saved registers. Versioned:
// fields are only ever added at the end (with `size` growing); a change to the meaning of one
// raises `version`. Not API for programs; the contract is with spindle_gdb.py.
#pragma once

#include <spindle/detail/config.hpp>

#include <cstdint>

extern "C" {

/// All offsets are in bytes; -1 means "not known in this build". Integers are little-endian
/// as the machine's; pointers are the machine's size.
struct spindle_debug_layout_t {
  std::uint32_t magic;    // 0x4c445053, "SPDL"
  std::uint32_t version;  // 1
  std::uint32_t size;     // sizeof(spindle_debug_layout_t)
  std::uint32_t pointer_size;
  void* first_loop;  // the newest live loop (LoopCore*), each linked to the next by loop_next
  // A loop.
  std::int32_t loop_next;   // pointer to the next loop, or null
  std::int32_t loop_index;  // unsigned: its index in its run_threads() group
  std::int32_t loop_tid;    // std::int32_t: the kernel thread id it runs on
  std::int32_t loop_live;   // the live-task list's head hook {prev, next}
  std::int32_t loop_running;  // pointer: the running task, or null
  // The task list: a ring of hooks {prev, next}; a task's hook sits at task_hook in it.
  std::int32_t hook_next;
  std::int32_t task_hook;
  // A task.
  std::int32_t task_id;           // std::uint64_t
  std::int32_t task_name_data;    // const char*: the name's bytes (empty: "Task-<id>")
  std::int32_t task_name_size;    // std::size_t
  std::int32_t task_state;        // std::uint8_t, an index into state_names
  std::int32_t task_parked_in;    // const char*: the blocking call ("Lock::lock")
  std::int32_t task_parked_file;  // const char*: its site
  std::int32_t task_parked_line;  // unsigned
  std::int32_t task_fctx;         // void*: the saved context (0 until the task first ran)
  std::int32_t task_stack_lo;     // void*
  std::int32_t task_stack_size;   // std::size_t
  char state_names[64];           // comma-separated, by value of task_state
  // A saved context (Boost.Context's fcontext, as this build's jump_fcontext stores it):
  // offsets from the saved context pointer. rsp is the value the stack pointer has once
  // the context resumes (past its saved return address).
  char arch[16];  // "x86_64", or "" when the offsets below are unknown
  std::int32_t ctx_pc, ctx_sp, ctx_fp;
  std::int32_t ctx_rbx, ctx_r12, ctx_r13, ctx_r14, ctx_r15;
};

/// The layout of this library, for debuggers.
SPINDLE_API extern spindle_debug_layout_t spindle_debug_layout;

}  // extern "C"
