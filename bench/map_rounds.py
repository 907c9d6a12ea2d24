#!/usr/bin/env python3
"""Run bench_map several times; print the median of every figure, and
write the per-round medians for bench/plot_rounds.gp.

    python3 bench/map_rounds.py [--runs N] [--bench PATH] [--dat FILE]

Defaults: 7 runs of build/release/bench/bench_map, build/map_rounds.dat.
The .dat has one line per round: round, then the median map time (ms)
of dynamic, static, static-writable and threads. See docs/PERFORMANCE.md,
"Repeated maps".
"""
import argparse
import statistics
import subprocess
import sys

SERIES = ("dynamic", "static", "static-writable", "threads")


def parse(text, into):
    for line in text.splitlines():
        p = line.split()
        if len(p) < 2:
            continue
        unit = p[-1] in ("ms", "x", "KiB", "MiB")
        value = float(p[-2] if unit else p[-1])
        keyparts = p[:-2] if unit else p[:-1]
        into.setdefault(" ".join(keyparts), []).append(value)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--bench", default="build/release/bench/bench_map")
    ap.add_argument("--dat", default="build/map_rounds.dat")
    a = ap.parse_args()
    figures = {}
    for i in range(a.runs):
        out = subprocess.run([a.bench], check=True, capture_output=True,
                             text=True).stdout
        parse(out, figures)
        print(f"run {i + 1} of {a.runs} done", file=sys.stderr)
    print(f"# medians of {a.runs} runs of {a.bench} (min, max)")
    for key, vals in figures.items():
        print(f"{key:34s} {statistics.median(vals):10.2f}"
              f"   ({min(vals):.2f}, {max(vals):.2f})")
    with open(a.dat, "w") as f:
        f.write("# round " + " ".join(SERIES) + " (median ms)\n")
        r = 1
        while f"round_ms static {r}" in figures:
            row = [statistics.median(figures.get(f"round_ms {s} {r}", [0]))
                   for s in SERIES]
            f.write(f"{r} " + " ".join(f"{v:.2f}" for v in row) + "\n")
            r += 1


if __name__ == "__main__":
    main()
