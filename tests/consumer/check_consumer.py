#!/usr/bin/env python3
"""Checks that spindle works for downstream projects, both ways users consume it:

1. as a Meson subproject: a copy of tests/consumer/ gets subprojects/spindle (a symlink to
   this source tree), is configured with --force-fallback-for=spindle, built, and run;
2. installed with pkg-config: spindle is installed into a scratch prefix and the same
   program is compiled with `pkg-config --cflags --libs spindle`.

Usage: check_consumer.py SOURCE_ROOT WORK_DIR
"""
import os
import shutil
import subprocess
import sys


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if res.returncode != 0:
        print(res.stdout)
        sys.exit(f"FAILED ({res.returncode}): {' '.join(cmd)}")
    return res.stdout


# What tests/consumer/web.cpp's Router answers (after the plain page's "web consumer" line).
ROUTED = 'router consumer: 200 {"name":"web","times":3}'


def main():
    src, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env = dict(os.environ)
    # The outer build's flags (e.g. sanitizers) must not leak into these builds.
    for var in ("CFLAGS", "CXXFLAGS", "LDFLAGS", "MESON_TESTTHREADS"):
        env.pop(var, None)

    # 1. Meson subproject.
    proj = os.path.join(work, "consumer")
    shutil.copytree(os.path.join(src, "tests", "consumer"), proj)
    os.makedirs(os.path.join(proj, "subprojects"))
    os.symlink(src, os.path.join(proj, "subprojects", "spindle"))
    build = os.path.join(proj, "build")
    run(["meson", "setup", build, proj, "--force-fallback-for=spindle"], env=env)
    run(["meson", "compile", "-C", build], env=env)
    built = os.listdir(os.path.join(build, "subprojects", "spindle"))
    for unwanted in ("tests", "perf", "examples"):
        if unwanted in built:
            sys.exit(f"FAILED: spindle built its {unwanted}/ as a subproject (should be off)")
    out = run([os.path.join(build, "consumer")], env=env)
    if "consumer: 42" not in out:
        sys.exit(f"FAILED: unexpected output from the subproject build: {out!r}")
    out = run([os.path.join(build, "web")], env=env)
    if "web consumer: 200 Hello" not in out or ROUTED not in out:
        sys.exit(f"FAILED: unexpected output from the spindle-http subproject build: {out!r}")
    out = run([os.path.join(build, "db")], env=env)
    if "db consumer: 42" not in out:
        sys.exit(f"FAILED: unexpected output from the spindle-sqlite subproject build: {out!r}")
    print("subproject: ok", flush=True)

    # 2. Installed, found with pkg-config.
    prefix = os.path.join(work, "prefix")
    pbuild = os.path.join(work, "pkgbuild")
    run(["meson", "setup", pbuild, src, "--prefix", prefix, "--libdir", "lib",
         "-Dtests=disabled", "-Dperf=disabled", "-Dexamples=disabled"], env=env)
    run(["meson", "install", "-C", pbuild, "--quiet"], env=env)
    env["PKG_CONFIG_PATH"] = os.path.join(prefix, "lib", "pkgconfig")
    flags = run(["pkg-config", "--cflags", "--libs", "spindle"], env=env).split()
    exe = os.path.join(work, "consumer-pc")
    cxx = env.get("CXX", "c++")
    run([cxx, "-std=c++20", "-Wall", "-Wextra", "-Werror",
         os.path.join(src, "tests", "consumer", "main.cpp"), "-o", exe] + flags, env=env)
    env["LD_LIBRARY_PATH"] = os.path.join(prefix, "lib")
    out = run([exe], env=env)
    if "consumer: 42" not in out:
        sys.exit(f"FAILED: unexpected output from the pkg-config build: {out!r}")
    # The optional components, each through its own .pc file.
    for source, package, expected in (("web.cpp", "spindle-http", ROUTED),
                                      ("db.cpp", "spindle-sqlite", "db consumer: 42")):
        pc_flags = run(["pkg-config", "--cflags", "--libs", package], env=env).split()
        pc_exe = os.path.join(work, package + "-pc")
        run([cxx, "-std=c++20", "-Wall", "-Wextra", "-Werror",
             os.path.join(src, "tests", "consumer", source), "-o", pc_exe] + pc_flags, env=env)
        out = run([pc_exe], env=env)
        if expected not in out:
            sys.exit(f"FAILED: unexpected output from the {package} pkg-config build: {out!r}")
    print("pkg-config: ok", flush=True)


if __name__ == "__main__":
    main()
