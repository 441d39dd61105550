#!/usr/bin/env python3
"""gdb's spindle extension, auto-loaded from the build tree, against a live process and a core.

Usage: check_gdb.py BUILD_DIR TARGET

Runs TARGET under gdb in batch mode; at its SIGTRAP (three tasks parked in the user's
functions) lists the tasks, prints their backtraces and writes a core with gcore; then opens
that core in a second gdb and does the same; then lets TARGET dump core itself (abort, with
the default guard pages) and reads that core too. Checks that every task is listed with its
blocking call and site, and that each backtrace names the user's function.

gcore runs TARGET with mprotect guard pages: gdb reads memory through ptrace, which fails on
a MADV_GUARD_INSTALL guard page, and gcore then drops the whole chunk of stacks around it.
The kernel's own core dumps skip just the guard pages.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

build_dir, target = sys.argv[1], os.path.abspath(sys.argv[2])
failures = []


def check(cond, what, output):
    if not cond:
        failures.append(what + "\n--- output ---\n" + output)


def gdb(args, commands):
    cmd = ["gdb", "-batch", "-nx", "-iex", "set auto-load safe-path " + os.path.abspath(build_dir),
           "-iex", "set debuginfod enabled off"]
    for c in commands:
        cmd += ["-ex", c]
    cmd += args
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=120).stdout
    return out


def task_ids(output):
    """{name: id} from `spindle tasks`."""
    ids = {}
    for m in re.finditer(r"^(\d+)\s+loop 0\s+(\w+)\s+(\S+)", output, re.M):
        ids[m.group(3)] = int(m.group(1))
    return ids


def check_session(label, output, ids):
    check("4 tasks" in output, label + ": `spindle tasks` counts four tasks", output)
    check(re.search(r"^1\s+loop 0\s+running\s+Task-1\s+on thread \d+", output, re.M) is not None,
          label + ": the main task is running", output)
    for name, call in (("order-taker", "Queue::get"), ("guard", "Lock::lock"), ("napper", "sleep")):
        check(re.search(r"%s\s+in %s at \S*target\.cpp:\d+; stack 128 KiB, \d+ KiB deep" % (re.escape(name), re.escape(call)),
                        output) is not None,
              "%s: %s is listed parked in %s at its site" % (label, name, call), output)
    for name, fn in (("order-taker", "take_orders"), ("guard", "guard_the_vault"), ("napper", "nap")):
        section = output.split("task %d (%s), parked" % (ids.get(name, -1), name), 1)
        check(len(section) == 2, "%s: `spindle bt` printed %s's header" % (label, name), output)
        if len(section) == 2:
            frames = section[1].split("\ntask ", 1)[0]
            check(re.search(r"#\d+ +0x[0-9a-f]+ in [^\n]*\b%s\b" % fn, frames) is not None,
                  "%s: %s's backtrace names %s" % (label, name, fn), frames)
            check("task_entry" in frames, "%s: %s's backtrace reaches the task's first frame" % (label, name), frames)


with tempfile.TemporaryDirectory() as tmp:
    core = os.path.join(tmp, "target.core")
    # First pass: learn the ids (creation order: main is 1).
    live = gdb(["--args", target, "--mprotect"], ["run", "spindle tasks", "spindle bt 2", "spindle bt 3", "spindle bt 4",
                                    "spindle bt 99", "spindle bt 1", "gcore " + core, "kill"])
    print(live)
    ids = task_ids(live)
    check(ids == {"Task-1": 1, "order-taker": 2, "guard": 3, "napper": 4}, "live: the ids of the tasks", live)
    check("SIGTRAP" in live, "live: the target stopped at its SIGTRAP", live)
    check_session("live", live, ids)
    check("spindle: no unfinished task has id 99" in live, "live: an unknown id is refused by name", live)
    check(re.search(r"task 1 \(Task-1\), running\n#0 ", live) is not None,
          "live: the running task's backtrace is its thread's", live)
    check(os.path.exists(core), "gcore wrote a core file", live)
    if os.path.exists(core):
        dead = gdb([target, core], ["spindle tasks", "spindle bt 2", "spindle bt 3", "spindle bt 4"])
        print(dead)
        check_session("gcore's core", dead, ids)
    # The kernel's core dump, where core_pattern writes a file into the working directory.
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|") or "/" in pattern:
        print("skipped the kernel core dump: core_pattern sends cores elsewhere (%s)" % pattern)
    else:
        crashed = subprocess.run([target, "--abort"], cwd=tmp, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, timeout=60)
        check(crashed.returncode != 0, "the target aborted", crashed.stdout)
        cores = [c for c in glob.glob(os.path.join(tmp, "*")) if c != core and "core" in os.path.basename(c)]
        check(len(cores) == 1, "the kernel dumped one core into %s (pattern %s): %s" % (tmp, pattern, cores), "")
        if len(cores) == 1:
            dead = gdb([target, cores[0]], ["spindle tasks", "spindle bt 2", "spindle bt 3", "spindle bt 4"])
            print(dead)
            check_session("the kernel's core", dead, ids)

# Two loops: every loop's tasks are listed, and ids (which count per loop) are told apart.
with tempfile.TemporaryDirectory() as tmp:
    both = gdb(["--args", target, "--loops"], ["run", "spindle tasks", "spindle bt 1.2", "spindle bt 2", "kill"])
    print(both)
    check("6 tasks" in both, "loops: `spindle tasks` counts the tasks of both loops", both)
    check(re.search(r"^2\s+loop 1\s+parked\s+far-away\s+in sleep at \S*target\.cpp:\d+", both, re.M) is not None,
          "loops: loop 1's task is listed", both)
    check(re.search(r"^2\s+loop 0\s+parked\s+order-taker", both, re.M) is not None, "loops: loop 0's tasks are listed", both)
    section = both.split("task 2 (far-away), parked", 1)
    check(len(section) == 2 and re.search(r"in [^\n]*\bwait_far_away\b", section[1]) is not None,
          "loops: `spindle bt 1.2` names wait_far_away", both)
    check("spindle: loops 0 and 1 each have a task 2: say which, as spindle bt LOOP.2" in both,
          "loops: an id on two loops is refused, naming them", both)

if failures:
    for f in failures:
        print("FAILED:", f)
    sys.exit(1)
print("ok: tasks and backtraces from a live process and from its core")
