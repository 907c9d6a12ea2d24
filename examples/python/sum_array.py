#!/usr/bin/env python3
"""sum_array: the program shmpool was written for, with the Python package.

The original (docs/PYTHON.md, section 1) puts a big numpy array in a
multiprocessing RawArray, which can reach the workers of a spawn Pool only
through Pool(initializer=, initargs=): one pool per array, and no array can
be a task argument. Here the array is a shmpool.Segment: it travels inside
the task arguments by name, the workers attach to the same memory (nothing
is copied or pickled but the name), and the same running pool then sums a
second array it has never seen.

    python3 examples/python/sum_array.py [--mib 64] [--workers 2] [--check]

Needs the C library: SHMPOOL_LIBRARY=build/release/libshmpool.so (or the
library installed next to the package, or on the system path).
"""
import argparse
import time

import numpy as np

import shmpool


def sum_slice(task):
    """Runs in a worker: the sum of one slice of a shared array."""
    seg, start, end = task
    return float(seg.array[start:end].sum())


def parallel_sum(pool, seg, parts=8):
    n = seg.array.size
    slices = [(seg, n * i // parts, n * (i + 1) // parts)
              for i in range(parts)]
    return sum(pool.map(sum_slice, slices))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mib", type=int, default=64, help="array size")
    ap.add_argument("--workers", type=int, default=None,
                    help="worker processes (default: one per CPU)")
    ap.add_argument("--check", action="store_true",
                    help="compare with numpy's own sum")
    a = ap.parse_args()
    n = a.mib * 1024 * 1024 // 8

    t = time.perf_counter()
    with shmpool.Pool(a.workers) as pool:
        print("pool:  %d workers ready in %.1f ms"
              % (pool.workers, (time.perf_counter() - t) * 1e3))
        ok = True
        for round_, fill in enumerate([lambda i: i % 1024 * 0.125,
                                       lambda i: i % 7 - 3.0]):
            # A new array for the same running pool: no initializer needed.
            with shmpool.Segment.create(shape=n, dtype=np.float64) as seg:
                seg.array[:] = fill(np.arange(n))
                t = time.perf_counter()
                total = parallel_sum(pool, seg)
                dt = time.perf_counter() - t
                print("array %d: %d MiB in segment %s, sum %r in %.1f ms%s"
                      % (round_ + 1, a.mib, seg.name, total, dt * 1e3,
                         " (first use: workers import numpy and attach)"
                         if round_ == 0 else ""))
                if a.check:
                    expect = float(seg.array.sum())
                    ok = ok and total == expect
    if a.check:
        print("check: %s" % ("matches numpy's sum" if ok
                             else "DIFFERS from numpy's sum"))
        raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
