"""What Python's standard library does on its own: the claims docs/PYTHON.md
makes about multiprocessing (spawn), checked here, so that the guide is
honest about what shmpool adds."""
import os
import signal
import sys
import time

import numpy as np
import pytest

import shmpool

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


def sum_by_name(task):
    """A spawn worker attaches to a SharedMemory named in its argument."""
    from multiprocessing import shared_memory
    name, n, lo, hi = task
    shm = shared_memory.SharedMemory(name=name)
    a = np.ndarray((n,), np.float64, buffer=shm.buf)
    s = float(a[lo:hi].sum())
    del a
    shm.close()
    return s


def nap(seconds, box):
    box.array[0] = os.getpid()
    time.sleep(seconds)
    return "done"


def test_a_shared_memory_name_is_a_fine_task_argument_under_spawn():
    import multiprocessing as mp
    from multiprocessing import shared_memory
    n = 100000
    shm = shared_memory.SharedMemory(create=True, size=n * 8)
    try:
        a = np.ndarray((n,), np.float64, buffer=shm.buf)
        a[:] = np.arange(n)
        with mp.get_context("spawn").Pool(2) as p:
            parts = p.map(sum_by_name, [(shm.name, n, i * n // 4,
                                         (i + 1) * n // 4)
                                        for i in range(4)])
        assert sum(parts) == a.sum()
        del a
    finally:
        shm.close()
        shm.unlink()


@posix
def test_multiprocessing_waits_forever_for_a_killed_workers_task():
    import multiprocessing as mp
    with shmpool.Segment.create(shape=1, dtype="i8") as box, \
            mp.get_context("spawn").Pool(2) as p:
        r = p.apply_async(nap, (30, box))
        while box.array[0] == 0:
            time.sleep(0.01)
        os.kill(int(box.array[0]), signal.SIGKILL)
        with pytest.raises(mp.TimeoutError):
            r.get(timeout=3)  # no error either: the result never comes
        p.terminate()


@posix
def test_multiprocessing_workers_finish_their_task_after_the_parent_died(
        tmp_path):
    import subprocess
    script = tmp_path / "orphan.py"
    script.write_text('''
import multiprocessing as mp, os, time
def nap(x):
    time.sleep(x)
if __name__ == "__main__":
    p = mp.get_context("spawn").Pool(1)
    pid = p.apply(os.getpid)
    p.apply_async(nap, (4,))
    time.sleep(0.5)
    print(pid, flush=True)
    os.kill(os.getpid(), 9)
''')
    out = tmp_path / "out"
    with open(out, "w") as f:  # a file: the orphan keeps no pipe open
        rc = subprocess.call([sys.executable, str(script)], stdout=f,
                             stderr=subprocess.DEVNULL, cwd=str(tmp_path))
    assert rc == -9
    worker = int(out.read_text().split()[0])

    def alive():
        try:
            with open("/proc/%d/stat" % worker) as f:
                return f.read().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False
    time.sleep(1.5)
    assert alive(), "expected the orphaned worker to still run its task"
    deadline = time.monotonic() + 20
    while alive():
        assert time.monotonic() < deadline
        time.sleep(0.1)
