#!/usr/bin/env python3
"""Runs a program that must crash and checks how: the signal that ended it and a line
its stderr must contain.

usage: check_crash.py SIGNAL EXPECTED_TEXT PROGRAM [ARGS...]
"""
import signal
import subprocess
import sys


def main():
    sig_name, expected, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
    sig = getattr(signal, sig_name)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    sys.stderr.write(proc.stderr)
    ok = True
    if proc.returncode != -sig:
        print(f"FAIL: {cmd} ended with status {proc.returncode}, expected death by {sig_name}")
        ok = False
    if expected not in proc.stderr:
        print(f"FAIL: stderr lacks {expected!r}")
        ok = False
    if ok:
        print(f"ok: died of {sig_name} after printing {expected!r}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
