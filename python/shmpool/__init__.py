"""shmpool: named shared-memory segments as numpy arrays, and a spawn-safe
pool of worker processes whose tasks travel through shared memory.

    import numpy as np, shmpool

    def total(seg, lo, hi):                 # runs in a worker
        return float(seg.array[lo:hi].sum())

    if __name__ == "__main__":
        with shmpool.Segment.create(shape=10_000_000, dtype="f8") as seg:
            seg.array[:] = np.arange(seg.array.size)
            with shmpool.Pool(workers=2) as pool:
                parts = pool.starmap(total, [(seg, 0, 5_000_000),
                                             (seg, 5_000_000, 10_000_000)])
            print(sum(parts))

A :class:`Segment` travels inside task arguments *by name*: the worker
attaches to the same memory, nothing is copied. The package is a thin
layer over the C library libshmpool (see docs/PYTHON.md), found through
the environment variable SHMPOOL_LIBRARY, next to this package, or on the
system's library path.
"""

from ._lib import ShmpoolError, path as library_path
from ._errors import (CancelledError, InitializerError, RemoteError,
                      RemoteTraceback, TaskError, WorkerError)
from ._segment import Segment
from ._worker import task_id, worker_index

__version__ = "0.1.0"

__all__ = ["Segment", "Pool", "Future", "ShmpoolError", "WorkerError",
           "RemoteError", "TaskError", "CancelledError", "InitializerError",
           "RemoteTraceback", "worker_index", "task_id", "library_path",
           "library_version"]


def library_version() -> str:
    """The version of the C library actually loaded ("0.1.0")."""
    from ._lib import lib
    return lib.shmpool_version_string().decode()


def __getattr__(name):
    # The pool (threading, secrets...) is imported on first use: a worker
    # process imports this package too, and needs none of it.
    if name in ("Pool", "Future"):
        from . import _pool
        return getattr(_pool, name)
    raise AttributeError("module 'shmpool' has no attribute %r" % name)
