#!/usr/bin/env python3
"""The acceptance check of issue #15, using only the package's public names.

    python3 tests/python/acceptance.py

A 64 MiB float64 segment summed in a Pool(workers=2) through map, with the
segments inside the task arguments; the workers write their partial sums
into a second segment; a read-only opened segment refuses writes; a task
that calls os._exit raises WorkerError; the pool still works afterwards.
Exit status 0 when every check holds. (CTest: python_acceptance.)
"""
import os
import sys

import numpy as np

import shmpool

N = 64 * 1024 * 1024 // 8  # 64 MiB of float64
PARTS = 8


def partial_sum(task):
    """Sum slice k of data (a Segment) and store it in out[k] (a Segment)."""
    data, out, k = task
    lo, hi = N * k // PARTS, N * (k + 1) // PARTS
    s = float(data.array[lo:hi].sum())
    out.array[k] = s
    return s


def exit_now(code):
    os._exit(code)


def check(cond, what):
    print(("ok:   " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        sys.exit(1)


def main():
    data = shmpool.Segment.create(shape=N, dtype=np.float64)
    out = shmpool.Segment.create(shape=PARTS, dtype="float64")
    check(data.array.nbytes == 64 * 1024 * 1024, "a 64 MiB float64 segment")
    data.array[:] = np.arange(N) % 1000 * 0.5  # exact in binary
    expect = float(data.array.sum())

    with shmpool.Pool(workers=2) as pool:
        tasks = [(data, out, k) for k in range(PARTS)]  # segments inside
        sums = pool.map(partial_sum, tasks)
        check(sum(sums) == expect, "the workers' sum %r equals numpy's %r"
              % (sum(sums), expect))
        check(list(out.array) == sums,
              "the workers wrote their results into a second segment")

        ro = shmpool.Segment.open(data.name, readonly=True, dtype="float64")
        try:
            ro.array[0] = 1.0
            refused = False
        except ValueError:
            refused = True
        check(refused and not ro.array.flags.writeable,
              "a read-only opened segment refuses writes")
        check(float(ro.array.sum()) == expect,
              "and reads the same memory")
        ro.close()

        try:
            pool.map(exit_now, [3])
            died = False
        except shmpool.WorkerError as e:
            died = True
            print("      (%s)" % e)
        check(died, "a task calling os._exit raises WorkerError")

        again = pool.map(partial_sum, tasks)
        check(sum(again) == expect, "the pool still works afterwards")
    data.close()
    out.close()
    print("acceptance: all checks passed")


if __name__ == "__main__":
    main()
