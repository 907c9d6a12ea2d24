#!/usr/bin/env python3
"""The Python package against multiprocessing (spawn), in the same run.

    python3 bench/bench_python.py [--quick] [--runs N] [--mib M]
                                  [--only start,stream,array,kill]

Every figure is a median over --runs repetitions, the two sides
alternating so that a machine that gets busier hurts both. The package is
imported from python/ next to this directory unless it is installed;
SHMPOOL_LIBRARY names the C library (build/release/libshmpool.so).

Measures (2 workers each):
  stream  trivial tasks, one element per task: shmpool imap_unordered and
          map(chunksize=1) against multiprocessing Pool.map(chunksize=1)
  start   a pool with an initializer, ready, one round trip
  array   a float64 array of --mib MiB summed by 2 workers: multiprocessing's
          RawArray + Pool(initializer=) against shmpool, with the pool
          started in the measure (cold) and already running (warm), the
          segment handed writable and read-only; memory
          (PSS of parent + workers) while the array is in use
  kill    a worker killed mid-task: how long until the call raises
See docs/PERFORMANCE.md, "Python package", for results.
"""
# Only what the task functions need is imported at the top: workers of
# both pools run this file again as their main module (multiprocessing
# always, shmpool when a task names a function defined here), and a program
# using one of the two would not import the other's machinery.
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import shmpool
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
    import shmpool


# ---- task functions (found by workers of both pools in this module) -----

def noop(x):
    return x


def noop_init():
    pass


_ARR = None


def keep(raw):
    """multiprocessing's initializer: the RawArray as a numpy view."""
    global _ARR
    import numpy as np
    _ARR = np.frombuffer(raw, dtype=np.float64)


def raw_sum(bounds):
    lo, hi = bounds
    return float(_ARR[lo:hi].sum())


def seg_sum(seg, lo, hi):
    return float(seg.array[lo:hi].sum())


def pid_of(_):
    return os.getpid()


def import_numpy(_):
    import numpy  # noqa: F401 - warm the worker
    return os.getpid()


def sleeper(seg, seconds):
    seg.array[0] = os.getpid()
    time.sleep(seconds)
    return "not killed"


# ---- helpers ---------------------------------------------------------------

def med(xs):
    import statistics
    return statistics.median(xs)


def pss_kib(pid):
    """Proportional set size of a process, KiB (smaps_rollup)."""
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


# ---- measures ---------------------------------------------------------------

def bench_stream(runs, n):
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    ours_iu, ours_map, theirs = [], [], []
    with shmpool.Pool(2) as sp, ctx.Pool(2) as mpp:
        list(sp.imap_unordered(noop, range(2000)))  # warm up both
        mpp.map(noop, range(2000), chunksize=1)
        for _ in range(runs):
            t = time.perf_counter()
            for _x in sp.imap_unordered(noop, range(n)):
                pass
            ours_iu.append(n / (time.perf_counter() - t))
            t = time.perf_counter()
            sp.map(noop, range(n), chunksize=1)
            ours_map.append(n / (time.perf_counter() - t))
            t = time.perf_counter()
            mpp.map(noop, range(n), chunksize=1)
            theirs.append(n / (time.perf_counter() - t))
    print("stream: %d tasks per run, %d runs; tasks/s" % (n, runs))
    r1 = med(ours_iu) / med(theirs)
    r2 = med(ours_map) / med(theirs)
    print("  shmpool imap_unordered  %10.0f   (%.2fx)" % (med(ours_iu), r1))
    print("  shmpool map(chunksize=1)%10.0f   (%.2fx)" % (med(ours_map), r2))
    print("  multiprocessing map(chunksize=1) %10.0f" % med(theirs))
    print("  target >= 3x:  imap_unordered %.2fx, map %.2fx" % (r1, r2))


def bench_start(runs):
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    ours, theirs = [], []
    for _ in range(runs):
        t = time.perf_counter()
        with shmpool.Pool(2, initializer=noop_init) as p:
            p.submit(noop, 0).result()
            ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        with ctx.Pool(2, initializer=noop_init) as p:
            p.apply(noop, (0,))
            theirs.append(time.perf_counter() - t)
    o, m = med(ours) * 1e3, med(theirs) * 1e3
    print("start: Pool(2, initializer=), one round trip, %d runs" % runs)
    print("  shmpool %.1f ms  multiprocessing %.1f ms  -> %.2fx faster "
          "(target >= 2x)" % (o, m, m / o))
    print("  all runs (ms): shmpool %s; multiprocessing %s"
          % ([round(x * 1e3) for x in ours], [round(x * 1e3) for x in theirs]))


def timed_sum(pool, seg, half, expect, times):
    """Sum seg's two halves in pool's workers; append the time taken."""
    t = time.perf_counter()
    s = sum(pool.starmap(seg_sum, [(seg, lo, hi) for lo, hi in half]))
    times.append(time.perf_counter() - t)
    assert s == expect, (s, expect)


def bench_array(runs, mib):
    import multiprocessing as mp
    import numpy as np
    from multiprocessing.sharedctypes import RawArray
    ctx = mp.get_context("spawn")
    n = mib * (1 << 20) // 8
    half = [(0, n // 2), (n // 2, n)]
    raw_t, cold_t, warm_t, reuse_t, ro_t = [], [], [], [], []
    with shmpool.Pool(2) as warm:
        pids = set(warm.map(import_numpy, range(16)))
        base_workers = {p: pss_kib(p) for p in pids}
        base_parent = pss_kib(os.getpid())
        expect = float(n)
        # Memory: the tree while the workers sum the array (theirs mapped).
        with shmpool.Segment.create(shape=n, dtype="f8") as seg:
            seg.array[:] = 1.0
            timed_sum(warm, seg, half, expect, [])
            tree = pss_kib(os.getpid()) + sum(pss_kib(p) for p in pids)
            mem = (tree, base_parent, base_workers)
        # A segment the pool's workers have used before: new data written
        # into it reaches mappings whose page tables are built.
        kept = shmpool.Segment.create(shape=n, dtype="f8")
        kept.array[:] = 0.0
        warm.starmap(seg_sum, [(kept, lo, hi) for lo, hi in half])
        for r in range(runs):
            # multiprocessing: the array must exist before the pool, and
            # reaches the workers only through the initializer.
            arr = RawArray("d", n)
            v = np.frombuffer(arr, dtype=np.float64)
            v[:] = 1.0
            del v
            t = time.perf_counter()
            with ctx.Pool(2, initializer=keep, initargs=(arr,)) as p:
                s = sum(p.map(raw_sum, half))
            raw_t.append(time.perf_counter() - t)
            assert s == expect, (s, expect)
            del arr

            # shmpool, cold: the pool starts in the measure.
            with shmpool.Segment.create(shape=n, dtype="f8") as seg:
                seg.array[:] = 1.0
                t = time.perf_counter()
                with shmpool.Pool(2) as p:
                    timed_sum(p, seg, half, expect, [])
                cold_t.append(time.perf_counter() - t)

            # shmpool, warm: a running pool is handed a new array.
            with shmpool.Segment.create(shape=n, dtype="f8") as seg:
                seg.array[:] = 1.0
                timed_sum(warm, seg, half, expect, warm_t)

            # shmpool, warm, the workers handed a read-only segment (the
            # tasks only read): their mappings are read-only.
            with shmpool.Segment.create(shape=n, dtype="f8") as seg:
                seg.array[:] = 1.0
                with shmpool.Segment.open(seg.name, readonly=True, dtype="f8",
                                         shape=n) as ro:
                    timed_sum(warm, ro, half, expect, ro_t)

            # shmpool, reused segment: new data, a segment seen before.
            kept.array[:] = 1.0
            timed_sum(warm, kept, half, expect, reuse_t)
            kept.array[:] = 0.0
        kept.close()
    rt, ct, wt, ut = med(raw_t), med(cold_t), med(warm_t), med(reuse_t)
    ot = med(ro_t)
    print("array: %d MiB float64, summed by 2 workers, %d runs" % (mib, runs))
    print("  multiprocessing RawArray + Pool(2, initializer=): %8.1f ms"
          % (rt * 1e3))
    print("  shmpool, pool started in the measure (cold):      %8.1f ms  "
          "(%.3fx)" % (ct * 1e3, ct / rt))
    print("  shmpool, running pool handed the array (warm):    %8.1f ms  "
          "(%.3fx)  target <= 0.1x" % (wt * 1e3, wt / rt))
    print("  shmpool, warm, handed the array read-only:         %8.1f ms  "
          "(%.3fx)" % (ot * 1e3, ot / rt))
    print("  shmpool, new data in a segment the pool used before: %8.1f ms  "
          "(%.3fx)" % (ut * 1e3, ut / rt))
    print("  all runs (ms): RawArray %s; cold %s; warm %s; read-only %s; "
          "reused %s"
          % tuple([round(x * 1e3) for x in xs]
                  for xs in (raw_t, cold_t, warm_t, ro_t, reuse_t)))
    tree, bp, bw = mem
    arr_kib = n * 8 // 1024
    interp = bp + sum(bw.values())
    print("  memory while summing (warm pool): PSS of parent + 2 workers "
          "%.1f MiB" % (tree / 1024))
    print("    array %.1f MiB; the same interpreters before the array: "
          "parent %.1f MiB, workers %s MiB"
          % (arr_kib / 1024, bp / 1024,
             [round(x / 1024, 1) for x in bw.values()]))
    print("    PSS / (array + those interpreters) = %.3f  (target <= 1.05)"
          % (tree / (arr_kib + interp)))


def bench_kill(runs):
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    ours = []
    with shmpool.Pool(2) as p, \
            shmpool.Segment.create(shape=1, dtype="i8") as box:
        for _ in range(runs):
            box.array[0] = 0
            fut = p.submit(sleeper, box, 30)
            while box.array[0] == 0:
                time.sleep(0.001)
            os.kill(int(box.array[0]), 9)  # SIGKILL
            t = time.perf_counter()
            try:
                fut.result(timeout=10)
                raise AssertionError("the task survived SIGKILL")
            except shmpool.WorkerError:
                ours.append(time.perf_counter() - t)
        p.map(noop, range(10))  # and the pool goes on
    print("kill: SIGKILL to a worker mid-task, %d runs" % runs)
    print("  shmpool raised WorkerError after %.1f ms (median; max %.1f ms; "
          "target < 1000 ms)" % (med(ours) * 1e3, max(ours) * 1e3))
    # multiprocessing: the same; its result never comes.
    with shmpool.Segment.create(shape=1, dtype="i8") as box, \
            ctx.Pool(2) as mpp:
        r = mpp.apply_async(sleeper, (box, 30))
        while box.array[0] == 0:
            time.sleep(0.001)
        os.kill(int(box.array[0]), 9)  # SIGKILL
        try:
            r.get(timeout=5)
            print("  multiprocessing: returned (unexpected)")
        except mp.TimeoutError:
            print("  multiprocessing Pool.apply_async().get(): no result and "
                  "no error after 5 s (it waits forever)")
        mpp.terminate()


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smaller run")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--only", default="start,stream,array,kill")
    a = ap.parse_args()
    runs = a.runs or (3 if a.quick else 7)
    only = set(a.only.split(","))
    import platform
    print("shmpool package %s, library %s (%s); Python %s; %d CPUs; %s"
          % (shmpool.__version__, shmpool.library_version(),
             shmpool.library_path, platform.python_version(), os.cpu_count(),
             platform.platform()))
    if "start" in only:
        bench_start(runs)
    if "stream" in only:
        bench_stream(runs, 5000 if a.quick else 50000)
    if "array" in only:
        bench_array(runs, 64 if a.quick else a.mib)
    if "kill" in only:
        bench_kill(runs)


if __name__ == "__main__":
    main()
