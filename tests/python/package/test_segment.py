"""shmpool.Segment: numpy views of named shared memory."""
import ctypes
import gc
import os
import pickle
import signal
import subprocess
import sys

import numpy as np
import pytest

import shmpool
from conftest import run_script

SHM = "/dev/shm"
linux = pytest.mark.skipif(not os.path.isdir(SHM), reason="needs /dev/shm")


def exists(name):
    return os.path.exists(os.path.join(SHM, name))


def test_create_array_is_a_zeroed_view_at_the_data_offset():
    with shmpool.Segment.create(shape=(100, 3), dtype="f4") as s:
        a = s.array
        assert a.shape == (100, 3) and a.dtype == np.float32
        assert not a.any()
        assert s.owner and not s.readonly and not s.raw
        assert s.size == 1200 and s.nbytes == 1200 and s.data_offset == 64
        # A view, not a copy: the data pointer is the library's.
        assert a.ctypes.data == shmpool._lib.lib.shmpool_seg_data(
            s._mapping.handle)
        assert a.ctypes.data % 64 == 0
        assert s.array is a  # the same array while it lives
        a[:] = 1.5
        assert s.array.sum() == 450.0
        del a


@linux
def test_the_creator_owns_the_name():
    s = shmpool.Segment.create(shape=10, dtype="i8", name="pyt%d-own"
                               % os.getpid())
    assert s.name == "pyt%d-own" % os.getpid()
    assert exists(s.name)
    s.close()
    assert s.closed and not exists(s.name)
    s.close()  # twice is fine
    with pytest.raises(ValueError):
        s.array


def test_open_sees_the_same_memory_and_never_unlinks():
    with shmpool.Segment.create(shape=1000, dtype="f8") as s:
        s.array[:] = np.arange(1000)
        o = shmpool.Segment.open(s.name, dtype="f8")
        assert not o.owner
        assert o.shape == (1000,)
        o.array[5] = -1
        assert s.array[5] == -1
        o.close()
        assert shmpool.Segment.open(s.name).size == 8000  # still there
        b = shmpool.Segment.open(s.name)  # bytes by default
        assert b.dtype == np.uint8 and b.shape == (8000,)
        b.close()


def test_read_only_segment_gives_a_read_only_array():
    with shmpool.Segment.create(shape=10, dtype="f8") as s:
        s.array[:] = 3
        r = shmpool.Segment.open(s.name, readonly=True, dtype="f8")
        a = r.array
        assert not a.flags.writeable
        with pytest.raises(ValueError):
            a[0] = 1
        with pytest.raises(ValueError):
            a.flags.writeable = True
        assert r.buffer.readonly
        assert a.sum() == 30
        del a
        r.close()


@pytest.mark.skipif(os.name != "posix", reason="POSIX signal")
def test_read_only_is_enforced_by_the_os():
    with shmpool.Segment.create(shape=10, dtype="f8") as s:
        r = run_script(
            "import ctypes, shmpool, sys\n"
            "r = shmpool.Segment.open(sys.argv[1], readonly=True)\n"
            "addr = ctypes.addressof(r._mapping.exporter())\n"
            "print('writing', flush=True)\n"
            "ctypes.memset(addr, 1, 1)\n"
            "print('wrote')\n", s.name,
            # Under the asan build's preload, let the signal kill.
            env={"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "")
                 + ":handle_segv=0"})
        assert "writing" in r.stdout and "wrote" not in r.stdout
        assert r.returncode == -signal.SIGSEGV, r
        assert s.array[0] == 0


def test_pickles_by_name_and_read_only_stays_read_only():
    with shmpool.Segment.create(shape=(4, 5), dtype="i2") as s:
        data = pickle.dumps(s)
        assert len(data) < 300  # the name, not the data
        t = pickle.loads(data)
        assert t.name == s.name and t.shape == (4, 5) and t.dtype == "i2"
        t.array[1, 2] = 7
        assert s.array[1, 2] == 7
        r = shmpool.Segment.open(s.name, readonly=True, dtype="i2",
                                 shape=(4, 5))
        r2 = pickle.loads(pickle.dumps(r))
        assert r2.readonly and not r2.array.flags.writeable
        for x in (t, r, r2):
            x.close()


def test_structured_dtypes_travel():
    dt = np.dtype([("x", "<f8"), ("n", "<i4"), ("tag", "S3")])
    with shmpool.Segment.create(shape=3, dtype=dt) as s:
        s.array["n"] = [1, 2, 3]
        t = pickle.loads(pickle.dumps(s))
        assert t.dtype == dt and list(t.array["n"]) == [1, 2, 3]
        t.close()


@linux
def test_close_with_live_views_defers_the_unmap():
    s = shmpool.Segment.create(shape=1000, dtype="f8")
    name = s.name
    v = s.array[10:20]
    v[:] = 4
    s.close()  # views alive: nothing is unmapped under them
    assert exists(name)
    assert v.sum() == 40  # still mapped; would crash otherwise
    v[0] = 5
    del v
    gc.collect()
    assert not exists(name)  # the last view took the mapping with it


@linux
def test_views_survive_the_segment_object_going_away():
    def make():
        s = shmpool.Segment.create(shape=100, dtype="f8")
        s.array[:] = 2
        return s.array[50:], s.name
    v, name = make()
    gc.collect()
    assert exists(name) and v.sum() == 100
    del v
    gc.collect()
    assert not exists(name)


def test_memoryview_buffer_keeps_the_mapping_too():
    s = shmpool.Segment.create(shape=16, dtype="u1")
    mv = s.buffer
    s.close()
    mv[0] = 9
    assert mv[0] == 9
    del mv


def test_errors_are_shmpool_errors_with_codes():
    with pytest.raises(shmpool.ShmpoolError) as e:
        shmpool.Segment.open("pyt-no-such-segment-%d" % os.getpid())
    assert e.value.name == "SHMPOOL_ENOENT" and e.value.code == -4
    with shmpool.Segment.create(shape=1) as s:
        with pytest.raises(shmpool.ShmpoolError) as e:
            shmpool.Segment.create(shape=1, name=s.name)
        assert e.value.name == "SHMPOOL_EEXIST"
    with pytest.raises(shmpool.ShmpoolError) as e:
        shmpool.Segment.create(shape=1, name="bad/name")
    assert e.value.name == "SHMPOOL_EINVAL"
    with shmpool.Segment.create(shape=10, dtype="f8") as s:
        with pytest.raises(ValueError):
            shmpool.Segment.open(s.name, dtype="f8", shape=11)


def test_zero_sized_arrays():
    with shmpool.Segment.create(shape=(0, 4), dtype="f8") as s:
        assert s.array.shape == (0, 4)


def test_shared_memory_interop_raw_both_ways():
    from multiprocessing import shared_memory
    # shmpool makes it, Python's SharedMemory reads and writes it.
    with shmpool.Segment.create(shape=1000, dtype="f8", raw=True) as s:
        s.array[:] = np.arange(1000)
        shm = s.shared_memory()
        a = np.ndarray((1000,), np.float64, buffer=shm.buf)
        assert a[999] == 999.0
        a[0] = -5
        assert s.array[0] == -5
        del a
        shm.close()
    # Python makes it, shmpool attaches.
    shm = shared_memory.SharedMemory(create=True, size=8 * 100)
    try:
        a = np.ndarray((100,), np.float64, buffer=shm.buf)
        a[:] = 7
        g = shmpool.Segment.from_shared_memory(shm, dtype="f8")
        if sys.platform.startswith("linux"):
            assert g.shape == (100,)  # exact size on Linux
        assert g.array[:100].sum() == 700
        g.array[1] = 1
        assert a[1] == 1
        assert not g.owner
        del a
        g.close()
    finally:
        shm.close()
        shm.unlink()  # Python made it: Python removes it


def test_header_segment_seen_through_shared_memory():
    with shmpool.Segment.create(shape=10, dtype="f8") as s:
        s.array[:] = 2.5
        shm = s.shared_memory()
        assert bytes(shm.buf[:8]) == b"SHMPOOL\x1a"
        a = np.ndarray((10,), np.float64, buffer=shm.buf,
                       offset=s.data_offset)
        assert a.sum() == 25
        del a
        shm.close()


@linux
def test_no_resource_tracker_surprises():
    """The package never registers its segments with Python's resource
    tracker, and shared_memory() unregisters what SharedMemory registers:
    a process that attached and exited does not remove the name."""
    with shmpool.Segment.create(shape=10, dtype="f8") as s:
        r = run_script(
            "import sys, shmpool\n"
            "from multiprocessing import resource_tracker as rt\n"
            "t = shmpool.Segment.create(shape=5)\n"
            "o = shmpool.Segment.open(sys.argv[1], dtype='f8')\n"
            "o.array[0] = 1\n"
            "o.close(); t.close()\n"
            "print('tracker pid before interop:', rt._resource_tracker._pid)\n"
            "shm = o2 = shmpool.Segment.open(sys.argv[1]).shared_memory()\n"
            "shm.close()\n", s.name)
        assert r.returncode == 0, r.stderr
        assert "tracker pid before interop: None" in r.stdout
        assert "leaked" not in r.stderr, r.stderr
        assert exists(s.name) and s.array[0] == 1


@linux
@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_child_never_unlinks_the_parents_segment():
    s = shmpool.Segment.create(shape=10, dtype="f8")
    pid = os.fork()
    if pid == 0:  # the child drops its copy of everything, then exits
        try:
            s.close()
            gc.collect()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert exists(s.name)
    s.close()


@linux
def test_an_owner_exiting_with_a_view_alive_removes_the_name():
    r = run_script(
        "import shmpool\n"
        "s = shmpool.Segment.create(shape=100, dtype='f8')\n"
        "KEEP = s.array\n"
        "print(s.name, flush=True)\n")
    assert r.returncode == 0, r.stderr
    name = r.stdout.split()[0]
    assert not exists(name)


def test_library_is_reported():
    assert shmpool.library_version().count(".") == 2
    assert "shmpool" in os.path.basename(shmpool.library_path)


def test_import_error_names_what_was_looked_for():
    env = dict(os.environ)
    env.pop("SHMPOOL_LIBRARY", None)
    env["LD_LIBRARY_PATH"] = ""
    pkg = os.path.dirname(os.path.dirname(shmpool.__file__))
    if any(os.path.exists(os.path.join(pkg, "shmpool", n))
           for n in ("libshmpool.so.0", "libshmpool.so")):
        pytest.skip("a library is installed next to the package")
    r = subprocess.run([sys.executable, "-c", "import shmpool"], env=dict(
        env, PYTHONPATH=pkg), capture_output=True, text=True)
    if r.returncode == 0:
        pytest.skip("libshmpool is installed on the system path")
    assert "ImportError" in r.stderr and "SHMPOOL_LIBRARY" in r.stderr
    assert "libshmpool.so.0" in r.stderr
    bad = subprocess.run([sys.executable, "-c", "import shmpool"], env=dict(
        env, PYTHONPATH=pkg, SHMPOOL_LIBRARY="/nonexistent/libshmpool.so"),
        capture_output=True, text=True)
    assert bad.returncode != 0
    assert "/nonexistent/libshmpool.so" in bad.stderr


def test_unpickling_refuses_a_new_segment_under_the_old_name():
    name = "pyt%d-reuse" % os.getpid()
    s = shmpool.Segment.create(shape=4, dtype="f8", name=name)
    data = pickle.dumps(s)
    s.close()
    with shmpool.Segment.create(shape=4, dtype="f8", name=name):
        with pytest.raises(shmpool.ShmpoolError) as e:
            pickle.loads(data)
        assert e.value.name == "SHMPOOL_ENOENT"
        assert "replaced" in str(e.value)
