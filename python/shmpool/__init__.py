"""shmpool: named shared-memory segments as numpy arrays, and a spawn-safe
pool of worker processes whose tasks travel through shared memory.

    import numpy as np, shmpool

    def total(task):                        # runs in a worker
        seg, lo, hi = task
        return float(seg.array[lo:hi].sum())

    if __name__ == "__main__":
        with shmpool.Segment.create(shape=10_000_000, dtype="f8") as seg:
            seg.array[:] = np.arange(seg.array.size)
            with shmpool.Pool(workers=2) as pool:
                parts = pool.map(total, [(seg, 0, 5_000_000),
                                         (seg, 5_000_000, 10_000_000)])
            print(sum(parts))

A :class:`Segment` travels inside task arguments *by name*: the worker
attaches to the same memory, nothing is copied. The package is a thin
layer over the C library libshmpool (see docs/PYTHON.md), found through
the environment variable SHMPOOL_LIBRARY, next to this package, or on the
system's library path.
"""

from ._lib import ShmpoolError, path as library_path
from ._segment import Segment

__version__ = "0.2.0"

__all__ = ["Segment", "Pool", "Future", "ShmpoolError", "WorkerError",
           "RemoteError", "TaskError", "CancelledError", "InitializerError",
           "RemoteTraceback", "worker_index", "task_id", "library_path",
           "library_version"]

# Imported on first use: every worker process imports this package, and its
# start-up time is what a pool's start costs.
_LAZY = {
    "Pool": "_pool", "Future": "_pool",
    "WorkerError": "_errors", "RemoteError": "_errors",
    "TaskError": "_errors", "CancelledError": "_errors",
    "InitializerError": "_errors", "RemoteTraceback": "_errors",
    "worker_index": "_worker", "task_id": "_worker",
}


def library_version() -> str:
    """The version of the C library actually loaded ("0.2.0")."""
    from ._lib import lib
    return lib.shmpool_version_string().decode()


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError("module 'shmpool' has no attribute %r" % name)
    import importlib
    return getattr(importlib.import_module("." + module, __name__), name)


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
