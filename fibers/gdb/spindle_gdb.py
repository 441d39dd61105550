# spindle's gdb extension: lists the tasks of every loop and prints the backtrace of a
# parked one, in a live process or a core dump.
#
#   (gdb) spindle tasks        every task of every loop: id, loop, state, name, site, stack
#   (gdb) spindle bt [LOOP.]ID the backtrace of task ID (of loop LOOP: ids count per loop):
#                              a parked or ready task's own stack; the running one's thread
#
# gdb loads this file by itself beside libspindle.so.N (installed as
# libspindle.so.<version>-gdb.py, where gdb's auto-load safe-path allows it) or by
# `source spindle_gdb.py`. Everything it reads about spindle's structures comes from the
# library's `spindle_debug_layout` (fibers/src/debug_layout.hpp), version 1; nothing here
# knows an offset of its own.

import struct

import gdb
import gdb.unwinder

_LAYOUT_MAGIC = 0x4C445053
_LAYOUT_VERSION = 1
# The layout struct itself, field by field, as debug_layout.hpp declares it (version 1).
_INT_FIELDS = (
    "loop_next loop_index loop_tid loop_live loop_running hook_next task_hook task_id "
    "task_name_data task_name_size task_state task_parked_in task_parked_file "
    "task_parked_line task_fctx task_stack_lo task_stack_size"
).split()
_CTX_FIELDS = "ctx_pc ctx_sp ctx_fp ctx_rbx ctx_r12 ctx_r13 ctx_r14 ctx_r15".split()


class SpindleError(gdb.GdbError):
    pass


class Layout:
    """spindle_debug_layout as read from the inferior."""

    def __init__(self):
        try:
            addr = int(gdb.parse_and_eval("(char*)&spindle_debug_layout"))
        except gdb.error:
            raise SpindleError("spindle: this program has no libspindle loaded (no spindle_debug_layout)")
        inferior = gdb.selected_inferior()
        head = bytes(inferior.read_memory(addr, 16))
        magic, version, size, psize = struct.unpack("<IIII", head)
        if magic != _LAYOUT_MAGIC:
            raise SpindleError("spindle: spindle_debug_layout is not initialised (the library has not started)")
        if version != _LAYOUT_VERSION:
            raise SpindleError(
                "spindle: the library's debug layout is version %d; this script reads version %d" % (version, _LAYOUT_VERSION))
        if psize != 8:
            raise SpindleError("spindle: only 64-bit processes are supported")
        raw = bytes(inferior.read_memory(addr, size))
        self.inferior = inferior
        at = 16
        (self.first_loop,) = struct.unpack_from("<Q", raw, at)
        at += 8
        for name in _INT_FIELDS:
            (value,) = struct.unpack_from("<i", raw, at)
            setattr(self, name, value)
            at += 4
        self.state_names = raw[at:at + 64].split(b"\0")[0].decode().split(",")
        at += 64
        self.arch = raw[at:at + 16].split(b"\0")[0].decode()
        at += 16
        for name in _CTX_FIELDS:
            (value,) = struct.unpack_from("<i", raw, at)
            setattr(self, name, value)
            at += 4

    def u64(self, addr):
        return struct.unpack("<Q", bytes(self.inferior.read_memory(addr, 8)))[0]

    def u32(self, addr):
        return struct.unpack("<I", bytes(self.inferior.read_memory(addr, 4)))[0]

    def i32(self, addr):
        return struct.unpack("<i", bytes(self.inferior.read_memory(addr, 4)))[0]

    def u8(self, addr):
        return bytes(self.inferior.read_memory(addr, 1))[0]

    def cstring(self, addr, limit=256):
        if addr == 0:
            return ""
        out = bytearray()
        while len(out) < limit:
            chunk = bytes(self.inferior.read_memory(addr + len(out), 64))
            end = chunk.find(b"\0")
            if end >= 0:
                out += chunk[:end]
                break
            out += chunk
        return out.decode(errors="replace")


class Task:
    def __init__(self, layout, loop, addr):
        L = layout
        self.addr = addr
        self.loop_index = loop.index
        self.tid = loop.tid
        self.id = L.u64(addr + L.task_id)
        name = ""
        if L.task_name_data >= 0:
            size = L.u64(addr + L.task_name_size)
            if 0 < size < 4096:
                data = L.u64(addr + L.task_name_data)
                name = bytes(L.inferior.read_memory(data, size)).decode(errors="replace")
        self.name = name or "Task-%d" % self.id
        state = L.u8(addr + L.task_state)
        self.state = L.state_names[state] if state < len(L.state_names) else "state %d" % state
        self.parked_in = L.cstring(L.u64(addr + L.task_parked_in))
        self.file = L.cstring(L.u64(addr + L.task_parked_file), 1024)
        self.line = L.u32(addr + L.task_parked_line)
        self.fctx = L.u64(addr + L.task_fctx)
        self.stack_lo = L.u64(addr + L.task_stack_lo)
        self.stack_size = L.u64(addr + L.task_stack_size)

    def describe(self):
        where = ""
        if self.state == "parked":
            where = "in %s at %s:%d" % (self.parked_in, self.file or "?", self.line)
        elif self.state == "running":
            where = "on thread %d" % self.tid
        stack = "stack %d KiB" % (self.stack_size // 1024)
        if self.fctx and self.state != "running" and self.stack_lo <= self.fctx < self.stack_lo + self.stack_size:
            depth = self.stack_lo + self.stack_size - self.fctx
            stack += ", %d KiB deep" % ((depth + 1023) // 1024)
        return "%-5d loop %-3d %-10s %-20s %s; %s" % (self.id, self.loop_index, self.state, self.name, where, stack)


class Loop:
    def __init__(self, layout, addr):
        self.addr = addr
        self.index = layout.u32(addr + layout.loop_index)
        self.tid = layout.i32(addr + layout.loop_tid)


def all_tasks(layout):
    """Every unfinished task of every loop, loop by loop, oldest first."""
    tasks = []
    loop_addr = layout.first_loop
    seen = set()
    loops = []
    while loop_addr and loop_addr not in seen:
        seen.add(loop_addr)
        loops.append(Loop(layout, loop_addr))
        loop_addr = layout.u64(loop_addr + layout.loop_next)
    for loop in sorted(loops, key=lambda l: l.index):
        head = loop.addr + layout.loop_live
        hook = layout.u64(head + layout.hook_next)
        count = 0
        while hook != head and hook != 0 and count < 1000000:
            tasks.append(Task(layout, loop, hook - layout.task_hook))
            hook = layout.u64(hook + layout.hook_next)
            count += 1
    return tasks


class _TaskUnwinder(gdb.unwinder.Unwinder):
    """While `spindle bt` runs: the caller of the newest frame is the task's saved context."""

    def __init__(self):
        super().__init__("spindle-task")
        self.regs = None  # {register name: value} of the task to show

    def __call__(self, pending_frame):
        if self.regs is None or pending_frame.level() != 0:
            return None
        # The task's frames are on another stack, perhaps below this one, and gdb stops at a
        # caller whose stack address is below its callee's ("previous frame inner to this
        # frame"): this frame's id says it sits just below the task's saved stack pointer.
        frame_id = _FrameId(gdb.Value(self.regs["rsp"] - 16), pending_frame.read_register("rip"))
        info = pending_frame.create_unwind_info(frame_id)
        void_p = gdb.lookup_type("void").pointer()
        for name, value in self.regs.items():
            info.add_saved_register(name, gdb.Value(value).cast(void_p))
        return info


class _FrameId:
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


_unwinder = _TaskUnwinder()
gdb.unwinder.register_unwinder(None, _unwinder, replace=True)


def _saved_registers(layout, task):
    if not layout.arch:
        raise SpindleError("spindle: this build's saved-context layout is unknown (only x86-64 is read)")
    if layout.arch != "x86_64":
        raise SpindleError("spindle: saved contexts of %s are not read by this script" % layout.arch)
    f = task.fctx
    return {
        "rip": layout.u64(f + layout.ctx_pc),
        "rsp": f + layout.ctx_sp,
        "rbp": layout.u64(f + layout.ctx_fp),
        "rbx": layout.u64(f + layout.ctx_rbx),
        "r12": layout.u64(f + layout.ctx_r12),
        "r13": layout.u64(f + layout.ctx_r13),
        "r14": layout.u64(f + layout.ctx_r14),
        "r15": layout.u64(f + layout.ctx_r15),
    }


def _format_frame(level, frame):
    name = frame.name() or "??"
    sal = frame.find_sal()
    where = ""
    if sal.symtab is not None:
        where = " at %s:%d" % (sal.symtab.filename, sal.line)
    else:
        lib = gdb.solib_name(frame.pc())
        if lib:
            where = " from %s" % lib
    return "#%-3d 0x%016x in %s ()%s" % (level, frame.pc(), name, where)


def task_backtrace(task, limit=64):
    """The frames of a task that is not running, as lines."""
    layout = Layout()
    _unwinder.regs = _saved_registers(layout, task)
    gdb.invalidate_cached_frames()
    lines = []
    try:
        frame = gdb.newest_frame().older()  # frame 0 is the thread's own; 1 on is the task
        if frame is None or frame.pc() != _unwinder.regs["rip"]:
            raise SpindleError("spindle: gdb did not take task %d's saved registers (its unwinder failed)" % task.id)
        level = 0
        while frame is not None and level < limit:
            lines.append(_format_frame(level, frame))
            if frame.name() and "task_entry" in frame.name():
                break  # the fiber's first frame
            older = frame.older()
            if older is None:
                lines.append("(backtrace stopped: %s)" % gdb.frame_stop_reason_string(frame.unwind_stop_reason()))
            frame = older
            level += 1
    finally:
        _unwinder.regs = None
        gdb.invalidate_cached_frames()
    return lines


class SpindlePrefix(gdb.Command):
    """spindle's commands: spindle tasks, spindle bt ID."""

    def __init__(self):
        super().__init__("spindle", gdb.COMMAND_STACK, gdb.COMPLETE_COMMAND, True)


class SpindleTasks(gdb.Command):
    """List every task of every spindle loop: id, loop, state, name, where it is parked, stack."""

    def __init__(self):
        super().__init__("spindle tasks", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        layout = Layout()
        tasks = all_tasks(layout)
        gdb.write("%d task%s\n" % (len(tasks), "" if len(tasks) == 1 else "s"))
        for t in tasks:
            gdb.write(t.describe() + "\n")


class SpindleBt(gdb.Command):
    """Print the backtrace of a spindle task (see `spindle tasks`): spindle bt [LOOP.]ID.
Task ids count per loop: with several loops, LOOP.ID names the task ID of loop LOOP."""

    def __init__(self):
        super().__init__("spindle bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        text = arg.strip()
        try:
            loop, _, wanted = text.rpartition(".")
            loop = int(loop) if loop else None
            wanted = int(wanted)
        except ValueError:
            raise SpindleError("usage: spindle bt [LOOP.]ID (a task id from `spindle tasks`)")
        layout = Layout()
        found = [t for t in all_tasks(layout) if t.id == wanted and (loop is None or t.loop_index == loop)]
        if not found:
            raise SpindleError("spindle: no unfinished task has id %s" % text)
        if len(found) > 1:
            raise SpindleError("spindle: loops %s each have a task %d: say which, as spindle bt LOOP.%d" % (
                " and ".join(str(t.loop_index) for t in found), wanted, wanted))
        task = found[0]
        gdb.write("task %d (%s), %s\n" % (task.id, task.name, task.state))
        if task.state == "running":
            thread = next((th for th in gdb.selected_inferior().threads() if th.ptid[1] == task.tid), None)
            if thread is None:
                raise SpindleError("spindle: the thread %d running task %d is not known to gdb" % (task.tid, task.id))
            selected = gdb.selected_thread()
            thread.switch()
            try:
                gdb.execute("backtrace", to_string=False)
            finally:
                selected.switch()
            return
        if not task.fctx:
            gdb.write("(not started: no stack yet)\n")
            return
        for line in task_backtrace(task):
            gdb.write(line + "\n")


SpindlePrefix()
SpindleTasks()
SpindleBt()
