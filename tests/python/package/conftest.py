"""Shared fixtures of the Python package's tests (run by CTest as
python_package; see tests/python/CMakeLists.txt).

Environment: SHMPOOL_LIBRARY names the C library under test; the package is
imported from python/ in the source tree unless it is installed;
SHMPOOL_TEST_C_WORKER names tests/python/c_worker (the C pool tests skip
without it).
"""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
try:
    import shmpool  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import shmpool  # noqa: F401

from shmpool import _lib  # noqa: E402

SHM = "/dev/shm"

# The tokens of the pools this process made: a spilled reply's name
# (spy<token>.<task id>) says which pool it belongs to. Another test
# process running at the same time (ctest -j) has pools of its own, and
# their spills are not this one's to report or remove.
_tokens = set()
_pool_init = shmpool.Pool.__init__


def _recording_init(self, *args, **kwargs):
    try:
        _pool_init(self, *args, **kwargs)
    finally:
        token = getattr(self, "_token", None)
        if token:
            _tokens.add(token)


shmpool.Pool.__init__ = _recording_init


def _ours(name, pids):
    """Whether a shared-memory object was left by this test: created by
    this process or one of its workers (the header says), or a spilled
    reply of one of this process's pools."""
    if name.startswith("spy"):
        return name[3:].split(".", 1)[0] in _tokens
    info = _lib.init_sized(_lib.shmpool_seg_info_init_sized, _lib.SegInfo())
    if _lib.shmpool_seg_inspect(name.encode(), 0, info) != 0:
        return False
    return info.kind != 3 and info.creator_pid in pids


@pytest.fixture(autouse=True)
def no_leftovers(request):
    """Fail a test that leaves a segment behind (objects other engineers'
    processes create meanwhile are told apart by their creator pid)."""
    if not os.path.isdir(SHM):
        yield
        return
    before = set(os.listdir(SHM))
    yield
    import gc
    gc.collect()
    pids = {os.getpid()} | set(getattr(request.node, "worker_pids", ()))
    left = [n for n in set(os.listdir(SHM)) - before if _ours(n, pids)]
    for n in left:
        _lib.shmpool_seg_unlink_flags(n.encode(), 0)
    assert not left, "segments left behind: %s" % left


def run_script(code, *args, timeout=120, env=None):
    """Run Python code as a script (its own __main__) with this
    interpreter; returns the CompletedProcess."""
    import subprocess
    import tempfile
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(shmpool.__file__))]
        + ([e["PYTHONPATH"]] if e.get("PYTHONPATH") else []))
    if env:
        e.update(env)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "script.py")
        with open(path, "w") as f:
            f.write(code)
        return subprocess.run([sys.executable, path] + [str(a) for a in args],
                              capture_output=True, text=True, timeout=timeout,
                              env=e, cwd=d)
