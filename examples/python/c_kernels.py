#!/usr/bin/env python3
"""c_kernels: a numpy program running C kernels on every core, over a shared
array, with shmpool.Pool(worker_path=...).

The workers are examples/worker_exe/worker.c, a C program whose task table
has "scale" (multiply a span of doubles in place, reply with its new sum)
and "sum". Python creates the array in a segment, describes the spans as a
numpy structured array laid out like the C struct, and maps the C task over
them; the workers write the array in place.

    python3 examples/python/c_kernels.py [--worker PATH] [--n N] [--workers W]

PATH defaults to build/release/examples/worker_exe_worker (then build/dev).
"""
import argparse
import os
import sys

import numpy as np

import shmpool

# examples/worker_exe/worker.c: typedef struct span { uint64_t start, count;
# double factor; } span; -- the same bytes, as a numpy dtype.
SPAN = np.dtype([("start", "<u8"), ("count", "<u8"), ("factor", "<f8")])


def find_worker():
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    exe = "worker_exe_worker" + (".exe" if os.name == "nt" else "")
    for preset in ("release", "dev"):
        p = os.path.join(root, "build", preset, "examples", exe)
        if os.path.exists(p):
            return p
    sys.exit("c_kernels: build the examples first, or pass --worker PATH")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", help="the worker executable")
    ap.add_argument("--n", type=int, default=1 << 22, help="doubles")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--spans", type=int, default=64)
    a = ap.parse_args()
    worker = a.worker or find_worker()

    with shmpool.Segment.create(shape=a.n, dtype=np.float64) as seg, \
            shmpool.Pool(a.workers, worker_path=worker) as pool:
        x = seg.array
        x[:] = np.arange(a.n) % 1000 * 0.5
        expect = x * 3.0

        edges = np.linspace(0, a.n, a.spans + 1).astype(np.uint64)
        spans = np.zeros(a.spans, dtype=SPAN)
        spans["start"], spans["count"] = edges[:-1], np.diff(edges)
        spans["factor"] = 3.0

        shown = []

        def progress(done, total):  # called as chunks of the map complete
            pct = 100 * done // total
            if not shown or pct != shown[-1]:
                shown.append(pct)
                print("\rscale: %3d%%" % pct, end="", flush=True)

        sums = pool.map("scale", spans, [seg], result_dtype=np.float64,
                        progress=progress)
        print()
        print("pool: %d C workers (%s)" % (pool.workers, worker))
        print("scale: the workers tripled the array in place; their sums "
              "add up to %r" % float(sums.sum()))
        # One task, submitted: the reply is the C task's bytes.
        one = np.zeros(1, dtype=SPAN)
        one["count"] = a.n
        total = np.frombuffer(pool.submit("sum", one.tobytes(), [seg])
                              .result(), dtype=np.float64)[0]
        ok = np.array_equal(x, expect) and total == float(expect.sum()) \
            and float(sums.sum()) == total
        print("check: %s" % ("ok" if ok else "FAILED"))
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
