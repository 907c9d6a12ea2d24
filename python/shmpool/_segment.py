"""Named shared-memory segments viewed as numpy arrays.

A :class:`Segment` wraps one ``shmpool_seg`` handle. Three objects take part
in keeping memory safe:

* ``_Mapping`` owns the C handle. It is closed (``shmpool_seg_close``:
  unmapped, and unlinked if this process created it) when the last Python
  object that needs it goes: the :class:`Segment`, every numpy view, a pool
  that keeps it for its workers' initializer.
* the *exporter*, a ctypes byte array at the mapping's data address, is what
  numpy views are made from; it holds the ``_Mapping``. Every view of the
  segment leads to it through ``.base``, so a live view keeps the memory
  mapped: ``Segment.close()`` with views alive only drops the segment's own
  reference, and the unmapping happens when the last view is collected.
  Unmapping under a live view (a crash) cannot happen through this package.
* the :class:`Segment`, which knows the array's shape and dtype and pickles
  *by name*: unpickling attaches to the same memory (read-only stays
  read-only), so a segment can travel inside task arguments.

numpy is imported only when an array is asked for, so workers that never
touch ``.array`` do not pay for it.
"""

from __future__ import annotations

import atexit
import ctypes
import os
from _thread import _local, allocate_lock, start_new_thread

from . import _lib
from ._lib import ShmpoolError, check, lib

__all__ = ["Segment"]

HEADER_SIZE = 64  # docs/FORMAT.md: the data of a header segment starts here
_STATE_OFFSET = 12
_CREATION_ID_OFFSET = 40
_STATE_UNLINKED = 0x2

# Segments this process created and owns (not persistent): unlinked at exit
# even if something still holds them, so a name never outlives its owner.
# A weakref.WeakSet made on first use (workers rarely create segments, and
# their start-up time counts).
_owned = None


def _weakref():
    import weakref
    return weakref

# Set in pool workers: segments unpickled there come from this cache.
_worker_cache: Optional["_WorkerCache"] = None

# While a pool pickles task arguments, the segments met are collected here
# (per thread) so that the task names them to the C pool, which then keeps
# them alive (and their names linked) until the task completes.
_tls = _local()


class _Mapping:
    """One C segment handle and the memory it maps."""

    __slots__ = ("handle", "addr", "size", "name", "flags", "owner", "pid",
                 "_exp", "__weakref__")

    def __init__(self, handle: int, owner: bool):
        self.handle = handle
        self.addr = lib.shmpool_seg_data(handle)
        self.size = lib.shmpool_seg_size(handle)
        self.name = lib.shmpool_seg_name(handle).decode()
        self.flags = lib.shmpool_seg_flags(handle)
        self.owner = owner
        self.pid = os.getpid()
        self._exp = None
        if owner and not self.flags & _lib.SEG_PERSIST:
            global _owned
            if _owned is None:
                _owned = _weakref().WeakSet()
            _owned.add(self)

    # -- the memory ---------------------------------------------------------

    def exporter(self) -> ctypes.Array:
        """The byte array numpy views are made from (shared by all views)."""
        e = self._exp() if self._exp is not None else None
        if e is None:
            if self.handle is None:
                raise ValueError("segment %s is closed" % self.name)
            e = (ctypes.c_ubyte * self.size).from_address(self.addr)
            e._shmpool_mapping = self  # a view keeps the mapping
            self._exp = _weakref().ref(e)
        return e

    def has_views(self) -> bool:
        """Whether a numpy view (or memoryview) of the memory is alive."""
        return self._exp is not None and self._exp() is not None

    @property
    def raw(self) -> bool:
        return bool(self.flags & _lib.SEG_RAW)

    def creation_id(self) -> int:
        """The header's creation id (0 for a raw segment)."""
        if self.raw or self.handle is None:
            return 0
        return ctypes.c_uint64.from_address(
            self.addr - HEADER_SIZE + _CREATION_ID_OFFSET).value

    def unlinked(self) -> bool:
        """Whether the name was removed (a header segment's UNLINKED bit,
        set by every unlink on every platform). Raw segments: unknown,
        False."""
        if self.raw or self.handle is None:
            return False
        return _header_unlinked(self.addr)

    # -- the end --------------------------------------------------------------

    def release(self) -> int:
        """Close the C handle once. In a process forked from the one that
        opened it, only forget it: closing would unlink the parent's name."""
        h, self.handle = self.handle, None
        if h is None:
            return 0
        if _owned is not None:
            _owned.discard(self)
        if self.pid != os.getpid():
            return 0
        return lib.shmpool_seg_close(h)

    def __del__(self):
        try:
            self.release()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def _header_unlinked(data_addr: int) -> bool:
    """The UNLINKED bit of the header before data_addr (docs/FORMAT.md)."""
    state = ctypes.c_uint32.from_address(
        data_addr - HEADER_SIZE + _STATE_OFFSET).value
    return bool(state & _STATE_UNLINKED)


def _unlink_owned_at_exit() -> None:
    """Remove the names of segments this process owns that something still
    holds at exit (a view in a global, say). The memory stays mapped until
    the process ends; only the name goes, as the owner's exit promises."""
    for m in list(_owned or ()):
        if m.handle is not None and m.pid == os.getpid():
            lib.shmpool_seg_unlink_flags(m.name.encode(),
                                         m.flags & _lib.SEG_GLOBAL)


atexit.register(_unlink_owned_at_exit)


def _numpy():
    import numpy  # noqa: deferred on purpose (workers, start-up time)
    return numpy


def _descr(dtype) -> Any:
    """A picklable description of a dtype that needs no numpy to carry."""
    np = _numpy()
    return np.lib.format.dtype_to_descr(np.dtype(dtype))


def _from_descr(descr):
    np = _numpy()
    if isinstance(descr, str):
        return np.dtype(descr)
    return np.lib.format.descr_to_dtype(descr)


def _name_bytes(name: str) -> bytes:
    if not isinstance(name, str):
        raise TypeError("a segment name is a str, not %s"
                        % type(name).__name__)
    return name.encode("ascii", "replace")


class Segment:
    """A named shared-memory segment holding one numpy array.

    Create one with :meth:`Segment.create` (this process owns it: closing
    it, or the process ending, removes the name) or attach to an existing
    one with :meth:`Segment.open`. ``.array`` is a numpy view of the data
    (no copy); the segment pickles by name, so it can be passed inside the
    arguments of a :class:`shmpool.Pool` task, where the worker attaches to
    the same memory.

    Closing is safe while views exist: :meth:`close` gives up this object's
    hold, and the memory is unmapped (and an owned name unlinked) when the
    last numpy view of it is gone.
    """

    __slots__ = ("_mapping", "_shape", "_descr", "_readonly", "_array",
                 "_name", "__weakref__")

    def __init__(self, *args, **kwargs):
        raise TypeError("use Segment.create(...) or Segment.open(...)")

    @classmethod
    def _wrap(cls, mapping: _Mapping, shape, descr, readonly: bool
              ) -> "Segment":
        self = object.__new__(cls)
        self._mapping = mapping
        self._name = mapping.name
        self._shape = tuple(shape) if shape is not None else None
        self._descr = descr
        self._readonly = readonly
        self._array = None
        return self

    # -- construction ----------------------------------------------------------

    @classmethod
    def create(cls, shape: Union[int, Sequence[int]], dtype: Any = "float64",
               name: Optional[str] = None, *, raw: bool = False,
               persist: bool = False, noreserve: bool = False
               ) -> "Segment":
        """Create a new segment for an array of ``shape`` and ``dtype``,
        zero-filled, and map it read-write.

        name: 1 to 30 characters of ``[A-Za-z0-9._-]``; ``None`` (the
        default) generates an unguessable name. Creation is exclusive: an
        existing name raises :class:`ShmpoolError` (``SHMPOOL_EEXIST``).

        This process owns the segment: :meth:`close` (or the last view
        going, or the process exiting) removes the name, unless
        ``persist=True``. ``raw=True`` makes a segment without shmpool's
        64-byte header, as :mod:`multiprocessing.shared_memory` expects.
        The memory is reserved now (``ShmpoolError`` ``SHMPOOL_ENOSPC`` if
        it cannot be), unless ``noreserve=True``.
        """
        np = _numpy()
        dt = np.dtype(dtype)
        shape = (int(shape),) if np.ndim(shape) == 0 else tuple(
            int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise ValueError("negative dimension in shape %r" % (shape,))
        nbytes = dt.itemsize
        for s in shape:
            nbytes *= s
        flags = ((_lib.SEG_RAW if raw else 0)
                 | (_lib.SEG_PERSIST if persist else 0)
                 | (_lib.SEG_NORESERVE if noreserve else 0))
        h = ctypes.c_void_p()
        check(lib.shmpool_seg_create(
            ctypes.byref(h), _name_bytes(name) if name is not None else None,
            max(nbytes, 1), flags), "creating segment %s" % (name or "(new)"))
        return cls._wrap(_Mapping(h.value, owner=True), shape,
                         _descr(dt), False)

    @classmethod
    def open(cls, name: str, readonly: bool = False, *, dtype: Any = None,
             shape: Optional[Union[int, Sequence[int]]] = None,
             raw: bool = False) -> "Segment":
        """Attach to an existing segment by name. Never creates, never
        unlinks on close.

        readonly: map it read-only; the array is then read-only too, and
        the operating system refuses writes through any other route.
        dtype / shape: how to view the data; by default bytes (``uint8``)
        or, with only a dtype, as many whole items as fit. A segment that
        arrives pickled (inside task arguments) already knows both.
        raw: the object has no shmpool header (one made by
        :mod:`multiprocessing.shared_memory` or with ``raw=True``); its size
        is what the OS reports (exact on Linux, whole pages elsewhere).
        """
        flags = ((_lib.SEG_READONLY if readonly else 0)
                 | (_lib.SEG_RAW if raw else 0))
        h = ctypes.c_void_p()
        check(lib.shmpool_seg_open(ctypes.byref(h), _name_bytes(name), flags),
              "opening segment %s" % name)
        m = _Mapping(h.value, owner=False)
        descr = _descr(dtype) if dtype is not None else None  # None: bytes
        seg = cls._wrap(m, None, descr, readonly)
        if shape is not None:
            np = _numpy()
            seg._shape = ((int(shape),) if np.ndim(shape) == 0
                          else tuple(int(s) for s in shape))
            if seg.nbytes > m.size:
                m.release()
                raise ValueError(
                    "shape %r of %s needs %d bytes; segment %s has %d"
                    % (seg._shape, _from_descr(descr), seg.nbytes, name,
                       m.size))
        return seg

    # -- what it is ------------------------------------------------------------

    @property
    def name(self) -> str:
        """The portable name (``"foo"``, not ``"/foo"``)."""
        return self._name

    @property
    def closed(self) -> bool:
        return self._mapping is None

    @property
    def readonly(self) -> bool:
        return self._readonly

    @property
    def raw(self) -> bool:
        """Whether the segment has no shmpool header (data at offset 0)."""
        return self._m().raw

    @property
    def owner(self) -> bool:
        """Whether this process created the segment (and removes its name)."""
        return self._m().owner

    @property
    def size(self) -> int:
        """The segment's data size in bytes, as the library reports it."""
        return self._m().size

    @property
    def data_offset(self) -> int:
        """Where the data starts in the OS object: 64, or 0 for raw."""
        return 0 if self.raw else HEADER_SIZE

    @property
    def dtype(self):
        """The numpy dtype of :attr:`array`."""
        return _from_descr(self._descr if self._descr is not None
                           else "|u1")

    @property
    def shape(self) -> Tuple[int, ...]:
        """The shape of :attr:`array`."""
        if self._shape is not None:
            return self._shape
        itemsize = self.dtype.itemsize
        return (self._m().size // itemsize,)

    @property
    def nbytes(self) -> int:
        n = self.dtype.itemsize
        for s in self.shape:
            n *= s
        return n

    def _m(self) -> _Mapping:
        m = self._mapping
        if m is None:
            raise ValueError("segment %s is closed" % self._name)
        return m

    # -- views -------------------------------------------------------------------

    @property
    def array(self):
        """A numpy view of the data (no copy), at the data offset.

        The same array object is returned while it is alive. A read-only
        segment gives a read-only array. The view keeps the memory mapped
        even after :meth:`close`.
        """
        a = self._array() if self._array is not None else None
        if a is not None:
            return a
        np = _numpy()
        m = self._m()
        dt = self.dtype
        shape = self.shape
        count = 1
        for s in shape:
            count *= s
        buf = m.exporter()
        if self._readonly:
            buf = memoryview(buf).toreadonly()
        a = np.frombuffer(buf, dtype=dt, count=count).reshape(shape)
        self._array = _weakref().ref(a)
        return a

    @property
    def buffer(self) -> memoryview:
        """The data as a flat memoryview of bytes (no numpy needed);
        read-only for a read-only segment. Keeps the memory mapped while
        it lives."""
        mv = memoryview(self._m().exporter()).cast("B")
        return mv.toreadonly() if self._readonly else mv

    # -- the end -------------------------------------------------------------------

    def close(self) -> None:
        """Give up this object's hold on the segment.

        If nothing else holds it, the memory is unmapped now and, if this
        process created it (without ``persist``), the name is removed. If
        numpy views (or a pool's initializer arguments) still hold it,
        that happens when the last of them goes. Closing twice is fine.
        """
        m, self._mapping = self._mapping, None
        self._array = None
        if m is None:
            return
        # References: m here, the argument of getrefcount. Anything more is
        # a view's exporter, another Segment, a pool or a worker's cache.
        if not m.has_views() and _refcount(m) <= 2:
            check(m.release(), "closing segment %s" % self._name)

    def unlink(self) -> None:
        """Remove the name now (for a persistent segment, or one whose
        creator died). Mappings stay valid; new opens fail."""
        check(lib.shmpool_seg_unlink_flags(_name_bytes(self._name), 0),
              "unlinking segment %s" % self._name)

    def __enter__(self) -> "Segment":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- pickling by name -------------------------------------------------------------

    def __reduce__(self):
        m = self._m()
        segs = getattr(_tls, "segs", None)
        if segs is not None:
            segs.append(m)
        flags = (m.flags & (_lib.SEG_RAW | _lib.SEG_GLOBAL)) | (
            _lib.SEG_READONLY if self._readonly else 0)
        return (_rebuild, (self._name, flags, m.creation_id(), self._descr,
                           self._shape))

    # -- interop with multiprocessing.shared_memory ---------------------------------

    def shared_memory(self):
        """A :class:`multiprocessing.shared_memory.SharedMemory` attached to
        the same object, not registered with Python's resource tracker (so
        it never unlinks this segment). Its buffer starts at the OS object's
        first byte: the data is at :attr:`data_offset`. Close it (after its
        views) when done; never call its ``unlink()`` for a segment this
        package owns."""
        return attach_shared_memory(self._name)

    @classmethod
    def from_shared_memory(cls, shm, readonly: bool = False, *,
                           dtype: Any = None, shape=None) -> "Segment":
        """Attach to the object behind a ``SharedMemory`` (a raw segment:
        no shmpool header). The ``SharedMemory`` stays its owner."""
        return cls.open(shm.name.lstrip("/"), readonly, dtype=dtype,
                        shape=shape, raw=True)

    def __repr__(self) -> str:
        if self._mapping is None:
            return "<shmpool.Segment %s closed>" % self._name
        what = []
        if self._readonly:
            what.append("read-only")
        if self.raw:
            what.append("raw")
        if self.owner:
            what.append("owner")
        desc = (" %s %s" % (self.shape, self.dtype)
                if self._descr is not None else " %d bytes" % self.size)
        return "<shmpool.Segment %s%s%s>" % (
            self._name, desc, (" " + ",".join(what)) if what else "")


def _refcount(obj) -> int:
    import sys
    return sys.getrefcount(obj) - 1  # minus the argument of this call


def attach_shared_memory(name: str):
    """``SharedMemory(name=name)`` without resource tracking: Python 3.13+
    is asked not to track it, older versions are made to forget it at once
    (docs/PYTHON.md, "Python's resource tracker")."""
    from multiprocessing import shared_memory
    try:
        return shared_memory.SharedMemory(name=name, track=False)
    except TypeError:  # Python < 3.13
        pass
    shm = shared_memory.SharedMemory(name=name)
    if os.name == "posix":
        from multiprocessing import resource_tracker
        resource_tracker.unregister(shm._name, "shared_memory")
    return shm


def _open_mapping(name: str, flags: int) -> _Mapping:
    h = ctypes.c_void_p()
    check(lib.shmpool_seg_open(ctypes.byref(h), _name_bytes(name), flags),
          "opening segment %s" % name)
    return _Mapping(h.value, owner=False)


def _rebuild(name, flags, creation_id, descr, shape):
    """Unpickle a Segment: attach to the same memory by name."""
    readonly = bool(flags & _lib.SEG_READONLY)
    if _worker_cache is not None:
        m = _worker_cache.get(name, flags, creation_id)
    else:
        m = _open_mapping(name, flags)
        if creation_id and m.creation_id() != creation_id:
            m.release()
            raise ShmpoolError(_lib.ENOENT, "segment %s was replaced by "
                               "another of the same name" % name)
    return Segment._wrap(m, shape, descr, readonly)


class _WorkerCache:
    """A pool worker's mappings of the segments its tasks name.

    Reused across tasks, so a worker maps a segment and builds its page
    tables once (like the C worker's own cache). A mapping is dropped when
    its name is unlinked (the parent closed it): checked at every task end
    and, while the cache is not empty, twice a second by a small thread,
    so an idle worker does not keep a closed segment's memory alive. Raw
    segments carry no unlink mark and are dropped at the end of each task.
    Dropping only gives up the cache's hold: a view the task kept keeps
    its mapping.
    """

    LIMIT = 64
    WATCH_S = 0.5

    def __init__(self):
        self._lock = allocate_lock()
        self._entries: "dict[tuple, _Mapping]" = {}
        self._spills: list = []  # C handles of replies the parent will read
        self._watching = False

    def _watch_soon(self) -> None:
        if not self._watching:  # with the lock held
            self._watching = True
            start_new_thread(self._watch, ())

    def add_spill(self, handle: int) -> None:
        """Keep a spilled reply's segment (created by this worker) until
        the parent has read it and unlinked its name."""
        with self._lock:
            self._spills.append(handle)
            self._watch_soon()

    def get(self, name: str, flags: int, creation_id: int) -> _Mapping:
        key = (name, flags & (_lib.SEG_READONLY | _lib.SEG_RAW
                              | _lib.SEG_GLOBAL))
        with self._lock:
            m = self._entries.pop(key, None)
            if m is not None and (
                    m.handle is None or m.unlinked()
                    or (creation_id and m.creation_id() != creation_id)):
                m = None
            if m is None:
                m = _open_mapping(name, key[1])
                if creation_id and m.creation_id() != creation_id:
                    m.release()
                    raise ShmpoolError(_lib.ENOENT, "segment %s was replaced"
                                       " by another of the same name" % name)
            self._entries[key] = m  # most recently used last
            while len(self._entries) > self.LIMIT:
                del self._entries[next(iter(self._entries))]
            self._watch_soon()
        return m

    def sweep(self, task_end: bool = False) -> None:
        """Drop mappings whose name is gone (and raw ones at a task end);
        close spilled replies the parent has taken."""
        with self._lock:
            for key in [k for k, m in self._entries.items()
                        if m.unlinked() or (task_end and m.raw)]:
                del self._entries[key]
            if self._spills:
                taken = [h for h in self._spills if _header_unlinked(
                    lib.shmpool_seg_data(h))]
                for h in taken:
                    self._spills.remove(h)
                    lib.shmpool_seg_close(h)  # marked unlinked: not again

    def busy(self) -> bool:
        return bool(self._entries or self._spills)

    def clear(self) -> None:
        """At the worker's exit: drop the mappings; spilled replies the
        parent has not read yet stay (the process's end unmaps them, the
        name stays for the parent)."""
        with self._lock:
            self._entries.clear()
            self._spills = []

    def _watch(self) -> None:
        import time
        while True:
            time.sleep(self.WATCH_S)
            self.sweep()
            with self._lock:
                if not self._entries and not self._spills:
                    self._watching = False
                    return
