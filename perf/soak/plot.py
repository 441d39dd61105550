#!/usr/bin/env python3
"""Draws a soak run's samples (spindle_soak's CSV) as one PNG: a panel per quantity.

Usage: plot.py SAMPLES.csv OUT.png [TITLE]
Needs matplotlib (Debian: python3-matplotlib).
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

src, out = sys.argv[1], sys.argv[2]
title = sys.argv[3] if len(sys.argv) > 3 else "spindle soak run"
with open(src) as f:
    rows = list(csv.DictReader(f))
t = [float(r["t"]) / 60 for r in rows]
panels = [
    ("rss_mib", "resident memory (MiB)"),
    ("fds", "open fds"),
    ("tasks", "live tasks"),
    ("timers", "pending timers"),
    ("requests", "requests / s"),
    ("p99_ms", "p99 latency (ms)"),
]
fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.0 * len(panels)), sharex=True)
for ax, (key, label) in zip(axes, panels):
    ax.plot(t, [float(r[key]) for r in rows], linewidth=0.8)
    ax.set_ylabel(label, fontsize=8)
    ax.set_ylim(bottom=0)
    ax.grid(True, linewidth=0.3)
    ax.tick_params(labelsize=8)
axes[-1].set_xlabel("minutes")
fig.suptitle(title, fontsize=10)
fig.tight_layout()
fig.savefig(out, dpi=90)
print("wrote", out)
