#!/usr/bin/env python3
"""Run shmpool's pool benchmark and Python's multiprocessing in the same run
and print the ratios the project's performance targets are stated in.

    python3 bench/compare.py [--bench build/release/bench/bench_pool]
                             [--quick] [--python-array]
    python3 bench/compare.py --python-sum MIB

The second form times only Python summing a float64 array of MIB MiB with
Pool(2).map over its two halves, which pickles each half to a worker (what
multiprocessing does with an array argument), and prints
"python_sum_ms <median>": bench/sweep.sh's Python series.

Python side: multiprocessing with the spawn start method (what Windows
always uses), Pool(2), trivial tasks. Both sides run on the same machine
within seconds of each other; every figure is a median. See
docs/PERFORMANCE.md for results and the machine they were measured on.
"""
import argparse
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import time


def noop(x):
    return x


def noop_init():
    pass


def _keep(arr):
    global _ARR
    _ARR = arr


def _touch(i):
    # Sum a slice of the shared array, as a worker would.
    a = _ARR
    n = len(a)
    lo, hi = n * i // 2, n * (i + 1) // 2
    return sum(a[lo:hi:4096])


def _np_sum(a):
    return float(a.sum())


def python_sum_ms(mib, rounds=3):
    """Median time of Pool(2).map(sum, both halves of a MIB MiB array) on a
    started, warm pool: the halves are pickled to the workers each time."""
    import numpy as np
    arr = np.arange(mib * 1048576 // 8, dtype=np.float64)  # pages touched
    halves = np.array_split(arr, 2)
    times = []
    with mp.get_context("spawn").Pool(2) as p:
        p.map(_np_sum, [halves[0][:1024], halves[1][:1024]], chunksize=1)
        for _ in range(rounds):
            t0 = time.perf_counter()
            total = sum(p.map(_np_sum, halves, chunksize=1))
            times.append(time.perf_counter() - t0)
    if total != float(arr.sum()):
        raise SystemExit("python_sum: wrong sum")
    return statistics.median(times) * 1e3


def python_side(quick, python_array):
    ctx = mp.get_context("spawn")
    out = {}
    n1 = 20000 if quick else 100000
    n1000 = 200000 if quick else 1000000

    starts = []
    for _ in range(3 if quick else 7):
        t0 = time.perf_counter()
        with ctx.Pool(2, initializer=noop_init) as p:
            p.apply(noop, (0,))
            starts.append(time.perf_counter() - t0)
    out["start_ms"] = statistics.median(starts) * 1e3

    with ctx.Pool(2) as p:
        p.map(noop, range(2000), chunksize=1)  # warm up
        rates = []
        for _ in range(3):
            t0 = time.perf_counter()
            p.map(noop, range(n1), chunksize=1)
            rates.append(n1 / (time.perf_counter() - t0))
        out["map_chunk1_per_s"] = statistics.median(rates)
        rates = []
        for _ in range(3):
            t0 = time.perf_counter()
            p.map(noop, range(n1000), chunksize=1000)
            rates.append(n1000 / (time.perf_counter() - t0))
        out["map_chunk1000_per_s"] = statistics.median(rates)

    if python_array:
        # The motivating program: a 1 GiB array handed to 2 workers through
        # RawArray + initializer (the only way that shares memory).
        from multiprocessing.sharedctypes import RawArray
        n = (1 << 30) // 8
        t0 = time.perf_counter()
        arr = RawArray("d", n)
        with ctx.Pool(2, initializer=_keep, initargs=(arr,)) as p:
            p.map(_touch, range(2))
            out["rawarray_handoff_s"] = time.perf_counter() - t0
    return out


def c_side(bench, quick):
    args = [bench] + (["--quick"] if quick else [])
    res = subprocess.run(args, check=True, capture_output=True, text=True)
    out = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            out[parts[0]] = float(parts[1])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default=os.path.join(
        "build", "release", "bench", "bench_pool"))
    ap.add_argument("--quick", action="store_true",
                    help="fewer tasks and rounds (for CI)")
    ap.add_argument("--python-array", action="store_true",
                    help="also time Python handing a 1 GiB RawArray to 2 "
                         "workers (slow, needs ~2 GiB)")
    ap.add_argument("--python-sum", type=int, metavar="MIB",
                    help="only time Python's Pool(2).map summing a MIB MiB "
                         "array's pickled halves (needs numpy, ~3 x MIB)")
    a = ap.parse_args()
    if a.python_sum:
        print(f"python_sum_ms {python_sum_ms(a.python_sum):.2f}")
        return 0

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
          f"{platform.system()} {platform.release()}; "
          f"Python {platform.python_version()}")
    py = python_side(a.quick, a.python_array)
    c = c_side(a.bench, a.quick)

    rows = [
        ("streaming submit/wait, 2 workers vs Pool.map(chunksize=1)",
         c["stream_tasks_per_s"] / py["map_chunk1_per_s"], ">=", 20,
         f'{c["stream_tasks_per_s"]:,.0f}/s vs {py["map_chunk1_per_s"]:,.0f}/s'),
        ("shmpool_map 1M tasks vs Pool.map(chunksize=1000)",
         c["map_tasks_per_s"] / py["map_chunk1000_per_s"], ">=", 1,
         f'{c["map_tasks_per_s"]:,.0f}/s vs {py["map_chunk1000_per_s"]:,.0f}/s'),
        ("pool start + 1 round trip: speed-up over spawn Pool(2)",
         py["start_ms"] / c["start_ms"], ">=", 8,
         f'{c["start_ms"]:.2f} ms vs {py["start_ms"]:.1f} ms'),
        ("one task at a time: round trip / raw spin round trip",
         c["rtt_us"] / c["raw_rtt_us"], "<=", 10,
         f'{c["rtt_us"]:.3f} us vs {c["raw_rtt_us"]:.3f} us'),
        ("sum 1 GiB, 2 workers after first use: speed vs 2 threads",
         c["threads_sum_ms"] / c["sum_ms"], ">=", 0.9,
         f'{c["sum_ms"]:.1f} ms vs {c["threads_sum_ms"]:.1f} ms'),
        ("sum 1 GiB, first use (attach): time / 2 threads",
         c["sum_first_ms"] / c["threads_sum_ms"], "<=", 1.5,
         f'{c["sum_first_ms"]:.1f} ms vs {c["threads_sum_ms"]:.1f} ms '
         f'(threads on a fresh mapping: {c["threads_first_ms"]:.1f} ms)'),
    ]
    if "tree_pss_mib" in c:
        bound = 1.05 * c["array_mib"] + 8 * 2
        rows.append(("memory while summing: tree PSS / (1.05 x array + "
                     "8 MiB x 2)", c["tree_pss_mib"] / bound, "<=", 1.0,
                     f'{c["tree_pss_mib"]:.1f} MiB for a '
                     f'{c["array_mib"]:.0f} MiB array'))

    failed = 0
    print(f"{'measure':<62} {'ratio':>8}  target   detail")
    for name, ratio, op, target, detail in rows:
        ok = ratio >= target if op == ">=" else ratio <= target
        failed += not ok
        print(f"{name:<62} {ratio:8.2f}  {op}{target:<5} {detail}"
              f"{'' if ok else '   <-- MISSED'}")
    if "rawarray_handoff_s" in py:
        print(f"python: 1 GiB RawArray to 2 workers: "
              f"{py['rawarray_handoff_s']:.2f} s "
              f"(shmpool first use: {c['sum_first_ms'] / 1e3:.3f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
