"""shmpool.Pool running Python functions in spawned interpreters."""
import os
import signal
import threading
import time

import numpy as np
import pytest

import shmpool
from conftest import run_script

SHM = "/dev/shm"


# ---- task functions: found by the workers in this module ------------------

def square(x):
    return x * x


def add(a, b=0):
    return a + b


def pid(_=None):
    return os.getpid()


def who(_=None):
    return shmpool.worker_index(), shmpool.task_id(), os.getpid()


def boom(x):
    raise ValueError("boom %r" % (x,))


class Unpicklable(Exception):
    def __init__(self, a, b):  # pickles, but cannot be rebuilt from args
        super().__init__("%s-%s" % (a, b))


def boom_unpicklable(_):
    raise Unpicklable(1, 2)


def die(code=3):
    os._exit(code)


def die_on(x, bad):
    if x == bad:
        os._exit(4)
    time.sleep(0.05)
    return x


def nap(seconds, box=None):
    if box is not None:
        box.array[0] = os.getpid()
    time.sleep(seconds)
    return seconds


def blob(n):
    return b"x" * n


def length(b):
    return len(b)


def seg_sum(seg, lo, hi):
    return float(seg.array[lo:hi].sum())


def seg_write(src, dst, i):
    dst.array[i] = src.array[i] * 2
    return shmpool.worker_index()


def try_write(seg):
    seg.array[0] = 1


_G = None


def init_keep(seg, tag):
    global _G
    _G = (seg, tag)


def from_init(i):
    seg, tag = _G
    return float(seg.array[i]), tag


def init_fails(msg):
    raise KeyError(msg)


def mapped(name):
    """Whether this worker has segment name mapped (Linux)."""
    with open("/proc/self/maps") as f:
        return any(line.rstrip().endswith("/dev/shm/" + name) or
                   ("/dev/shm/" + name + " ") in line for line in f)


def returns_segment(seg):
    return seg


def keep_view(seg):
    global _KEPT
    _KEPT = seg.array[:10]
    return float(_KEPT.sum())


def kept_sum(_):
    kept = globals().get("_KEPT")
    return None if kept is None else float(kept.sum())


@pytest.fixture(scope="module")
def pool():
    with shmpool.Pool(workers=2) as p:
        yield p


def note_workers(request, p):
    request.node.worker_pids = set(p.map(pid, range(8)))


# ---- maps --------------------------------------------------------------------

def test_map_variants(pool):
    assert pool.workers == 2
    assert pool.map(square, range(100)) == [x * x for x in range(100)]
    assert pool.map(square, range(100), chunksize=7) == [x * x for x in
                                                         range(100)]
    assert pool.map(square, []) == []
    assert pool.map(square, iter(range(5))) == [0, 1, 4, 9, 16]
    assert pool.starmap(add, [(1, 2), (3, 4)]) == [3, 7]
    assert pool.starmap(add, [(i, i) for i in range(50)], chunksize=8) == \
        [2 * i for i in range(50)]
    assert list(pool.imap(square, range(50))) == [x * x for x in range(50)]
    assert list(pool.imap(square, range(50), chunksize=3)) == \
        [x * x for x in range(50)]
    assert sorted(pool.imap_unordered(square, range(50))) == \
        [x * x for x in range(50)]
    assert pool.apply(add, (1,), {"b": 5}) == 6


def test_progress_is_reported(pool):
    seen = []
    pool.map(square, range(40), progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (40, 40) and len(seen) == 40
    assert [d for d, _ in seen] == list(range(1, 41))
    seen.clear()
    pool.map(square, iter(range(10)), chunksize=3,
             progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (10, 10)


def test_both_workers_take_part_and_know_who_they_are(pool):
    out = pool.map(who, range(200))
    assert {w for w, _, _ in out} == {0, 1}
    assert len({p for _, _, p in out}) == 2
    assert all(t is not None for _, t, _ in out)
    assert shmpool.worker_index() is None  # not in a worker here


# ---- futures -------------------------------------------------------------------

def test_submit_and_futures(pool):
    f = pool.submit(add, 2, b=3)
    assert f.result(timeout=30) == 5 and f.done() and not f.cancelled()
    assert f.exception() is None
    called = []
    g = pool.submit(square, 9)
    g.add_done_callback(lambda fut: called.append(fut.result()))
    assert g.result() == 81 and called == [81]
    g.add_done_callback(lambda fut: called.append("late"))
    assert called == [81, "late"]
    slow = pool.submit(nap, 0.5)
    with pytest.raises(TimeoutError):
        slow.result(timeout=0.05)
    assert slow.result(timeout=30) == 0.5


def test_exceptions_come_back_with_type_and_remote_traceback(pool):
    f = pool.submit(boom, 7)
    e = f.exception()
    assert type(e) is ValueError and str(e) == "boom 7"
    assert isinstance(e.__cause__, shmpool.RemoteTraceback)
    assert "in boom" in str(e.__cause__)
    with pytest.raises(ValueError, match="boom 1"):
        pool.map(boom, [1])
    with pytest.raises(shmpool.RemoteError) as r:
        pool.submit(boom_unpicklable, 0).result()
    assert "Unpicklable" in r.value.type_name
    assert "boom_unpicklable" in r.value.remote_traceback
    # A function the worker cannot find, a result it cannot pickle.
    with pytest.raises(Exception):
        pool.submit(lambda: 1)
    with pytest.raises(Exception, match="pickle"):
        pool.submit(threading.Lock).result()


def test_a_map_stops_at_the_first_failure(pool):
    t = time.monotonic()
    with pytest.raises(ValueError):
        pool.map(boom, range(1000))
    assert time.monotonic() - t < 20
    assert pool.map(square, range(10)) == [x * x for x in range(10)]


def test_timeouts(pool):
    with pytest.raises(TimeoutError):
        pool.map(nap, [0.3] * 20, timeout=0.2)
    assert pool.map(square, [3]) == [9]  # the rest was canceled


# ---- crashes --------------------------------------------------------------------

def test_a_dying_worker_fails_only_its_task(request):
    with shmpool.Pool(workers=2) as p:
        note_workers(request, p)
        t = time.monotonic()
        with pytest.raises(shmpool.WorkerError) as e:
            p.submit(die, 3).result(timeout=30)
        assert time.monotonic() - t < 5
        assert e.value.exit_code == 3
        # Tasks running on the other worker at the same time complete.
        futs = [p.submit(nap, 0.3) for _ in range(4)]
        bad = p.submit(die, 5)
        assert [f.result(timeout=30) for f in futs] == [0.3] * 4
        with pytest.raises(shmpool.WorkerError):
            bad.result()
        # In a map: raised for that element; the pool goes on.
        with pytest.raises(shmpool.WorkerError):
            p.starmap(die_on, [(i, 7) for i in range(20)])
        assert p.map(square, range(10)) == [x * x for x in range(10)]
        note_workers(request, p)


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_a_killed_worker_raises_within_a_second(request):
    with shmpool.Pool(workers=2) as p, \
            shmpool.Segment.create(shape=1, dtype="i8") as box:
        f = p.submit(nap, 30, box)
        while box.array[0] == 0:
            time.sleep(0.001)
        os.kill(int(box.array[0]), signal.SIGKILL)
        t = time.monotonic()
        with pytest.raises(shmpool.WorkerError) as e:
            f.result(timeout=10)
        assert time.monotonic() - t < 1.0
        assert e.value.term_signal == signal.SIGKILL
        assert p.map(square, [2, 3]) == [4, 9]
        note_workers(request, p)


# ---- cancel -------------------------------------------------------------------------

def test_cancel(request):
    with shmpool.Pool(workers=1) as p:
        note_workers(request, p)
        running = p.submit(nap, 30)
        queued = p.submit(square, 4)
        time.sleep(0.2)
        assert queued.cancel() and queued.cancelled()
        with pytest.raises(shmpool.CancelledError):
            queued.result()
        t = time.monotonic()
        assert running.cancel()  # kills the worker running it
        with pytest.raises(shmpool.CancelledError):
            running.result()
        done = p.submit(square, 5)
        assert done.result(timeout=30) == 25
        assert time.monotonic() - t < 20
        assert not done.cancel()  # already completed
        futs = [p.submit(nap, 30) for _ in range(3)]
        time.sleep(0.1)
        assert p.cancel_all() >= 3
        for f in futs:
            with pytest.raises(shmpool.CancelledError):
                f.result(timeout=30)
        assert p.map(square, [6]) == [36]
        note_workers(request, p)


def test_abandoning_an_iterator_cancels_the_rest(pool):
    it = pool.imap_unordered(nap, [0.01] * 5 + [30] * 10)
    next(it)
    t = time.monotonic()
    it.close()
    assert pool.map(square, [7]) == [49]
    assert time.monotonic() - t < 20


# ---- big arguments and results --------------------------------------------------

def test_large_arguments_and_results_travel_through_segments(request, pool):
    big = 5 * 1024 * 1024
    assert pool.submit(length, b"y" * big).result() == big
    assert len(pool.submit(blob, big).result()) == big
    assert [len(b) for b in pool.map(blob, [10, 100000, 20])] == \
        [10, 100000, 20]
    arr = np.arange(100000.0)
    assert pool.submit(np.sum, arr).result() == arr.sum()
    note_workers(request, pool)


def test_spilled_replies_outlive_a_recycled_worker(request):
    # Each worker exits after one task, before the parent reads its reply.
    with shmpool.Pool(workers=1, max_tasks_per_worker=1) as p:
        futs = [p.submit(blob, 100000 + i) for i in range(3)]
        time.sleep(1.0)
        assert [len(f.result()) for f in futs] == [100000, 100001, 100002]
        # Results nobody collects are removed with the pool.
        p.submit(blob, 200000)


# ---- segments in tasks -----------------------------------------------------------

def test_segments_in_arguments_are_shared_not_copied(pool):
    n = 1 << 20
    with shmpool.Segment.create(shape=n, dtype="f8") as src, \
            shmpool.Segment.create(shape=n, dtype="f8") as dst:
        src.array[:] = np.arange(n)
        parts = pool.starmap(seg_sum, [(src, i * n // 4, (i + 1) * n // 4)
                                       for i in range(4)])
        assert sum(parts) == src.array.sum()
        pool.starmap(seg_write, [(src, dst, i) for i in range(0, n, 4096)])
        assert dst.array[4096] == 8192 and dst.array[1] == 0
        ro = shmpool.Segment.open(src.name, readonly=True, dtype="f8")
        with pytest.raises(ValueError, match="read-only"):
            pool.submit(try_write, ro).result()
        ro.close()
        # A segment sent back comes back by name, to the same memory.
        back = pool.submit(returns_segment, src).result()
        assert back.name == src.name and back.array[5] == 5
        back.close()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="Linux /proc")
def test_workers_let_go_of_a_closed_segment(request):
    with shmpool.Pool(workers=2) as p:
        seg = shmpool.Segment.create(shape=1000, dtype="f8")
        name = seg.name
        p.starmap(seg_sum, [(seg, 0, 10)] * 10)
        assert any(p.map(mapped, [name] * 10))
        seg.close()
        deadline = time.monotonic() + 5
        while any(p.map(mapped, [name] * 10)):
            assert time.monotonic() < deadline, "a worker kept the mapping"
            time.sleep(0.1)
        note_workers(request, p)


def test_a_view_kept_by_a_task_stays_valid(pool):
    seg = shmpool.Segment.create(shape=100, dtype="f8")
    seg.array[:] = 1
    assert set(pool.map(keep_view, [seg] * 20)) == {10.0}
    seg.close()  # unlinked; the workers' cache lets go, the views stay
    time.sleep(1.2)
    sums = set(pool.map(kept_sum, range(20)))
    assert sums <= {10.0, None} and 10.0 in sums


# ---- initializer ------------------------------------------------------------------

def test_initializer_with_a_segment(request):
    seg = shmpool.Segment.create(shape=10, dtype="f8")
    seg.array[:] = np.arange(10)
    with shmpool.Pool(workers=2, initializer=init_keep,
                      initargs=(seg, "hello"), max_tasks_per_worker=5) as p:
        seg.close()  # the pool keeps it for replacement workers
        out = p.map(from_init, range(10))
        assert out == [(float(i), "hello") for i in range(10)]
        # Recycled workers (max_tasks_per_worker) run it again.
        assert len(set(p.map(pid, range(30)))) > 2
        note_workers(request, p)


def test_a_failing_initializer_stops_the_start():
    with pytest.raises(shmpool.InitializerError) as e:
        shmpool.Pool(workers=2, initializer=init_fails, initargs=("nope",))
    assert isinstance(e.value.__cause__, KeyError)
    assert "init_fails" in str(e.value.__cause__.__cause__)


def test_argument_checks():
    with pytest.raises(TypeError):
        shmpool.Pool(workers=1, initializer="not callable")
    with pytest.raises(ValueError):
        shmpool.Pool(workers=0)
    with shmpool.Pool(workers=1) as p:
        with pytest.raises(TypeError):
            p.submit("square")
        with pytest.raises(TypeError):
            p.map_c("square", n=1)
        segs = [shmpool.Segment.create(shape=1) for _ in range(17)]
        with pytest.raises(ValueError, match="16"):
            p.submit(length, segs)
        for s in segs:
            s.close()
    with pytest.raises(ValueError, match="closed"):
        p.submit(square, 1)


# ---- lifetime ---------------------------------------------------------------------

def test_close_waits_and_terminate_cancels():
    p = shmpool.Pool(workers=2)
    futs = [p.submit(nap, 0.2) for _ in range(4)]
    p.close()
    assert [f.result() for f in futs] == [0.2] * 4
    p.close()
    p = shmpool.Pool(workers=1)
    f = p.submit(nap, 30)
    t = time.monotonic()
    p.terminate()
    assert time.monotonic() - t < 10
    with pytest.raises(shmpool.CancelledError):
        f.result()


def test_threads_share_a_pool(pool):
    errors = []

    def work(k):
        try:
            for i in range(20):
                assert pool.submit(add, k, i).result(timeout=60) == k + i
            assert pool.map(square, range(k, k + 30)) == \
                [x * x for x in range(k, k + 30)]
        except Exception as e:  # noqa
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k * 100,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors


def test_main_script_functions_and_guard():
    r = run_script('''
import os, sys, shmpool

class Point:
    def __init__(self, x): self.x = x

def double(p):
    return Point(p.x * 2)

RUNS = os.environ.get("RUNS_FILE")
if RUNS:
    with open(RUNS, "a") as f:
        f.write("%s\\n" % __name__)

if __name__ == "__main__":
    with shmpool.Pool(workers=2) as p:
        out = p.map(double, [Point(i) for i in range(10)])
        print("result", [q.x for q in out], type(out[0]).__name__)
    with shmpool.Pool(workers=2, lazy_main=False) as p:
        print("eager", p.submit(double, Point(5)).result().x)
''', env={"RUNS_FILE": os.path.join(os.getcwd(), "runs-%d" % os.getpid())})
    runs_file = os.path.join(os.getcwd(), "runs-%d" % os.getpid())
    try:
        assert r.returncode == 0, r.stderr
        assert "result [0, 2, 4, 6, 8, 10, 12, 14, 16, 18] Point" in r.stdout
        assert "eager 10" in r.stdout
        with open(runs_file) as f:
            names = f.read().split()
        # The parent once as __main__; each worker of the lazy pool that got
        # a task, and both of the eager pool, as __mp_main__ (never
        # __main__: the guarded block did not run in a worker).
        assert names.count("__main__") == 1
        assert 2 <= names.count("__mp_main__") <= 4
    finally:
        if os.path.exists(runs_file):
            os.unlink(runs_file)


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_workers_die_with_the_parent():
    # Both workers are in the middle of a 30 s task when the parent dies
    # (multiprocessing's workers would finish it first).
    r = run_script('''
import os, shmpool, time
def pid(_):
    time.sleep(0.02)
    return os.getpid()
if __name__ == "__main__":
    p = shmpool.Pool(workers=2)
    pids = set(p.map(pid, range(20)))
    futs = [p.submit(time.sleep, 30) for _ in range(2)]
    time.sleep(0.5)
    print(" ".join(map(str, pids)), flush=True)
    os.kill(os.getpid(), 9)
''')
    assert r.returncode == -9
    pids = [int(x) for x in r.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 5
    for p in pids:
        while os.path.exists("/proc/%d" % p) and \
                open("/proc/%d/stat" % p).read().split()[2] != "Z":
            assert time.monotonic() < deadline, "worker %d outlived" % p
            time.sleep(0.05)
