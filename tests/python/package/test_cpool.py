"""shmpool.Pool(worker_path=...): C tasks run from Python, over shared
numpy arrays. The workers are tests/python/c_worker.c and, for the tasks
over segments, examples/worker_exe/worker.c."""
import os
import signal
import struct
import time

import numpy as np
import pytest

import shmpool

WORKER = os.environ.get("SHMPOOL_TEST_C_WORKER")
pytestmark = pytest.mark.skipif(
    not WORKER or not os.path.exists(WORKER),
    reason="SHMPOOL_TEST_C_WORKER does not name tests/python/c_worker")
EXAMPLE = os.environ.get("SHMPOOL_TEST_EXAMPLE_WORKER")
needs_example = pytest.mark.skipif(
    not EXAMPLE or not os.path.exists(EXAMPLE),
    reason="SHMPOOL_TEST_EXAMPLE_WORKER does not name worker_exe_worker "
           "(examples not built)")

SPAN = struct.Struct("=QQd")  # examples/worker_exe/worker.c: struct span


@pytest.fixture
def pool():
    # One per test: a pool keeps a spare scratch segment for its next map,
    # which the leftover check would see while the pool lives.
    with shmpool.Pool(workers=2, worker_path=WORKER) as p:
        yield p


@pytest.fixture
def example_pool():
    with shmpool.Pool(workers=2, worker_path=EXAMPLE) as p:
        yield p


@needs_example
def test_submit_with_segments_and_bytes(example_pool):
    pool = example_pool
    n = 100000
    with shmpool.Segment.create(shape=n, dtype="f8") as seg:
        seg.array[:] = 1.0
        futs = [pool.submit("scale", SPAN.pack(i * n // 4, n // 4, 3.0),
                            [seg]) for i in range(4)]
        parts = [struct.unpack("=d", f.result())[0] for f in futs]
        assert sum(parts) == 3.0 * n
        assert seg.array.sum() == 3.0 * n  # the C workers wrote our array


def test_map_with_progress_and_a_result_dtype(pool):
    assert pool.submit("echo", b"hello").result() == b"hello"
    seen = []
    out = pool.map("square", n=1000, result_dtype="f8",
                   progress=lambda d, t: seen.append((d, t)))
    assert isinstance(out, np.ndarray)
    assert (out == np.arange(1000.0) ** 2).all()
    assert seen and seen[-1] == (1000, 1000)


@needs_example
def test_map_over_a_segment(example_pool):
    pool = example_pool
    n = 80000
    with shmpool.Segment.create(shape=n, dtype="f8") as seg:
        seg.array[:] = np.arange(n) % 7
        spans = [SPAN.pack(i * n // 8, n // 8, 1.0) for i in range(8)]
        sums = pool.map("sum", spans, [seg], result_size=8, chunksize=1,
                        schedule="dynamic")
        assert sum(struct.unpack("=d", s)[0] for s in sums) == \
            seg.array.sum()
        arr = np.array([SPAN.unpack(s) for s in spans],
                       dtype=[("start", "u8"), ("count", "u8"),
                              ("factor", "f8")])
        sums2 = pool.map("sum", arr, [seg], result_dtype="f8")
        assert sums2.sum() == seg.array.sum()


def test_failures(pool):
    with pytest.raises(shmpool.TaskError) as e:
        pool.submit("fail").result()
    assert e.value.status == 7 and e.value.message == "fail: asked to"
    with pytest.raises(shmpool.WorkerError) as w:
        pool.submit("crash").result()
    if os.name == "posix":
        assert w.value.term_signal == signal.SIGABRT
    with pytest.raises(shmpool.ShmpoolError) as u:
        pool.submit("no_such_task").result()
    assert u.value.name == "SHMPOOL_ENOTASK"
    with pytest.raises(shmpool.TaskError) as m:
        pool.map("fail", n=10, result_size=8)
    assert m.value.status == 7
    with pytest.raises(TimeoutError):
        pool.submit("nap", struct.pack("=I", 5000), deadline=0.2).result()
    assert pool.submit("echo", b"still here").result() == b"still here"


def test_cancel(pool):
    f = pool.submit("nap", struct.pack("=I", 30000))
    time.sleep(0.1)
    assert f.cancel()
    with pytest.raises(shmpool.CancelledError):
        f.result()
    assert pool.submit("echo", b"x").result() == b"x"


def test_initializer_task():
    with shmpool.Pool(workers=2, worker_path=WORKER, initializer="init",
                      initargs=b"ok") as p:
        assert p.submit("echo", b"1").result() == b"1"
    with pytest.raises(shmpool.InitializerError, match="status 9"):
        shmpool.Pool(workers=2, worker_path=WORKER, initializer="init",
                     initargs=b"bad")


def test_python_only_calls_are_refused(pool):
    with pytest.raises(TypeError):
        pool.submit(len, b"x")
    with pytest.raises(TypeError):
        list(pool.imap_unordered(len, [b"x"]))
    with pytest.raises(TypeError):
        pool.starmap(len, [])
    with pytest.raises(ValueError):
        pool.map("echo", [b"ab", b"abc"])
