"""A pool of worker processes, for Python functions or for a C worker
executable's task table.

There is no background thread: results are collected by whichever call
needs one (``map``, ``Future.result()``, ``close()``...), which waits in the
C library with the GIL released and hands every result it receives to its
owner (a future, a running map), so several threads may use one pool.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
import weakref
from _pickle import dumps, loads
from ctypes import byref, c_char_p, c_int, c_size_t, c_uint64, c_void_p
from typing import (Any, Callable, Iterable, Iterator, List, Optional,
                    Sequence, Tuple)

from . import _lib, _segment, _wire
from ._errors import (CancelledError, InitializerError, RemoteError,
                      RemoteTraceback, TaskError, WorkerError)
from ._lib import ShmpoolError, check, lib

__all__ = ["Pool", "Future"]

# A blocking wait on the main thread wakes this often (ms), so that a
# Ctrl-C reaches the program while it waits for long tasks.
_SLICE_MS = 200

_live_pools: "weakref.WeakSet[Pool]" = weakref.WeakSet()
_MAIN_IDENT = threading.main_thread().ident


# ---- futures ---------------------------------------------------------------

_PENDING, _DONE, _CANCELLED = 0, 1, 2


class Future:
    """The result of :meth:`Pool.submit`, to come.

    Like :class:`concurrent.futures.Future`: :meth:`result`,
    :meth:`exception`, :meth:`done`, :meth:`cancel`, :meth:`cancelled`,
    :meth:`add_done_callback`. Unlike it, :meth:`cancel` also stops a task
    that is already running (its worker is killed and replaced).
    """

    __slots__ = ("_pool", "id", "_state", "_raw", "_value", "_error",
                 "_decoded", "_callbacks", "__weakref__")

    def __init__(self, pool: "Pool", task_id: int):
        self._pool = pool
        self.id = task_id
        self._state = _PENDING
        self._raw = None  # (status, data, message, exit_code, term_signal)
        self._value = None
        self._error: Optional[BaseException] = None
        self._decoded = False
        self._callbacks: Optional[list] = None

    # called by the pool, under its lock
    def _complete(self, raw) -> None:
        if self._state == _PENDING:
            self._raw = raw
            self._state = _DONE
        else:  # canceled meanwhile: the task's late result is not wanted
            self._pool._discard(self.id, raw)

    def _run_callbacks(self) -> None:
        cbs, self._callbacks = self._callbacks, None
        for cb in cbs or ():
            try:
                cb(self)
            except Exception:  # as concurrent.futures: log and go on
                import logging
                logging.getLogger("shmpool").exception(
                    "exception in a future's done callback")

    def done(self) -> bool:
        """Whether the task completed (or was canceled). Never blocks."""
        if self._state == _PENDING:
            self._pool._poll(self)
        return self._state != _PENDING

    def cancelled(self) -> bool:
        return self._state == _CANCELLED

    def running(self) -> bool:
        """Not known for a queued task: False once done, else True."""
        return not self.done()

    def cancel(self) -> bool:
        """Cancel the task: a queued task is removed, a running one's worker
        is killed and replaced. True if it was canceled, False if it had
        already completed."""
        return self._pool._cancel_future(self)

    def result(self, timeout: Optional[float] = None) -> Any:
        """The task's return value; re-raises its exception (with the
        remote traceback as ``__cause__``), :class:`WorkerError` if its
        worker died, :class:`CancelledError`, or :class:`TimeoutError` if
        ``timeout`` seconds pass first."""
        if self._state == _PENDING:
            self._pool._wait_future(self, timeout)
        if self._state == _CANCELLED:
            raise CancelledError("task %d was canceled" % self.id)
        if not self._decoded:
            self._decode()
        if self._error is not None:
            raise self._error
        return self._value

    def exception(self, timeout: Optional[float] = None
                  ) -> Optional[BaseException]:
        """The task's exception, or None if it returned."""
        try:
            self.result(timeout)
        except (CancelledError, TimeoutError):
            raise
        except BaseException as e:  # noqa: it is the answer
            return e
        return None

    def add_done_callback(self, fn: Callable[["Future"], Any]) -> None:
        """Call fn(future) when it completes: now if it has, else in the
        thread whose pool call collects its result."""
        with self._pool._lock:
            if self._state == _PENDING:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(fn)
                return
        fn(self)

    def _decode(self) -> None:
        self._decoded = True
        try:
            self._value = self._pool._decode(self.id, self._raw)
        except BaseException as e:  # noqa: delivered by result()
            self._error = e
        self._raw = None

    def __repr__(self) -> str:
        state = {_PENDING: "pending", _DONE: "done",
                 _CANCELLED: "cancelled"}[self._state]
        return "<shmpool.Future task %d %s>" % (self.id, state)


class _Run:
    """The state of one map / imap over a pool: its tasks in flight, by
    id, and the results that arrived for them (possibly collected by
    another thread's wait)."""

    __slots__ = ("ids", "arrived", "closed")

    def __init__(self):
        self.ids: dict = {}      # task id -> element (chunk) index
        self.arrived: list = []  # (index, task id, raw result)
        self.closed = False

    def _complete(self, task_id, raw, pool) -> None:
        index = self.ids.pop(task_id, None)
        if index is None or self.closed:
            pool._discard(task_id, raw)
        else:
            self.arrived.append((index, task_id, raw))


# ---- the pool ---------------------------------------------------------------

class Pool:
    """A pool of worker processes.

    **Python functions** (the default): ``Pool(workers=None,
    initializer=None, initargs=())``. Every worker is a new interpreter
    (``sys.executable``, spawn-safe on every OS) with the parent's
    ``sys.path``; functions are found by module and name, including those
    defined in the ``__main__`` script (whose ``if __name__ ==
    "__main__":`` block does not run in workers). Arguments and results are
    pickled and travel through the C pool's shared-memory queues; a
    :class:`Segment` inside them travels by name and the worker attaches to
    the same memory. ``workers=None`` means one per CPU this process may
    run on.

    **A C worker executable**: ``Pool(worker_path=path)`` runs the task table
    of a separate program that calls ``shmpool_is_worker()`` /
    ``shmpool_worker_main()``; tasks are named by string and take bytes and
    segments (:meth:`submit`, :meth:`map`). ``initializer`` is then a task
    name and ``initargs`` its bytes argument.

    Use it as a context manager: leaving the block waits for submitted
    tasks and stops the workers (:meth:`close`), or, when leaving by an
    exception, cancels them first (:meth:`terminate`). Workers die with the
    parent whatever happens to it.

    Options (keyword only): ``worker_args`` (C mode: arguments between the
    executable and the worker's own), ``max_tasks_per_worker`` (replace a
    worker after that many tasks, like ``maxtasksperchild``), ``lazy_main``
    (import the parent's main module in a worker only when a pickle needs
    something from it; False imports it at start, as multiprocessing
    does), ``max_arg_size`` / ``max_reply_size`` (bytes a task's pickled
    arguments / result may take in the queue; larger ones go through a
    temporary segment), ``queue_depth`` (tasks queued per worker),
    ``start_timeout`` / ``shutdown_timeout`` (seconds).
    """

    def __init__(self, workers: Optional[int] = None,
                 initializer: Any = None, initargs: Any = (), *,
                 worker_path: Optional[str] = None,
                 worker_args: Optional[Sequence[str]] = None,
                 max_tasks_per_worker: int = 0, lazy_main: bool = True,
                 max_arg_size: int = 8192, max_reply_size: int = 8192,
                 queue_depth: int = 32, start_timeout: float = 60.0,
                 shutdown_timeout: float = 5.0):
        self._h: Optional[int] = None
        self._lock = threading.Lock()     # owners, orphans, states
        self._pump_lock = threading.Lock()  # the one thread in a C wait
        self._cond = threading.Condition(threading.Lock())
        self._followers = 0
        self._owners: dict = {}   # task id -> Future or _Run
        self._orphans: dict = {}  # results that arrived before their owner
        self._tls = threading.local()
        self._closed = False
        self._pins: list = []     # mappings the initializer's args name
        self._c_mode = worker_path is not None
        self._token = os.urandom(4).hex()  # names its spilled replies
        self._max_arg = int(max_arg_size)
        self._max_reply = int(max_reply_size)
        if self._max_arg < 64 or self._max_reply < 64:
            raise ValueError("max_arg_size and max_reply_size must be at "
                             "least 64")
        if workers is not None and int(workers) < 1:
            raise ValueError("workers must be at least 1")
        self._log_cb = _lib.LOG_FN(_log)  # kept alive with the pool

        opts = _lib.init_sized(lib.shmpool_options_init_sized, _lib.Options())
        opts.workers = 0 if workers is None else int(workers)
        opts.max_arg_size = self._max_arg
        opts.max_reply_size = self._max_reply
        opts.queue_depth = int(queue_depth)
        opts.start_timeout_ms = int(start_timeout * 1000)
        opts.shutdown_timeout_ms = int(shutdown_timeout * 1000)
        opts.max_tasks_per_worker = int(max_tasks_per_worker)
        opts.log = self._log_cb

        if self._c_mode:
            exe = os.fsencode(worker_path)
            args = [os.fsencode(a) for a in (worker_args or ())]
            if initializer is not None:
                if not isinstance(initializer, str):
                    raise TypeError("with worker_path, initializer is the "
                                    "name of a task in the worker")
                init_arg = bytes(initargs or b"")
                opts.init_task = initializer.encode()
            else:
                init_arg = b""
        else:
            if worker_args is not None:
                raise TypeError("worker_args is for a C worker executable "
                                "(worker_path=...)")
            if initializer is not None and not callable(initializer):
                raise TypeError("initializer must be callable")
            exe, args = _python_command()
            init_arg = self._init_arg(initializer, tuple(initargs), lazy_main)
            opts.init_task = _wire.INIT_TASK
        argv = (c_char_p * (len(args) + 1))(*args, None)
        opts.worker_path = exe
        opts.worker_args = argv
        init_buf = ctypes.create_string_buffer(init_arg, len(init_arg))
        if init_arg:
            opts.init_arg = ctypes.cast(init_buf, c_void_p)
            opts.init_arg_len = len(init_arg)

        if not self._c_mode:
            # Functions of the parent's script pickle as __main__.f; the
            # workers send back objects of __mp_main__ (as multiprocessing
            # arranges in its parent too).
            main = sys.modules.get("__main__")
            if main is not None:
                sys.modules.setdefault("__mp_main__", main)

        h = c_void_p()
        rc = lib.shmpool_create(byref(h), byref(opts))
        if rc != 0:
            self._pins = []
            self._fail_start(rc)
        self._h = h.value
        self._workers = int(lib.shmpool_workers(self._h))
        _live_pools.add(self)

    # -- start --------------------------------------------------------------------

    def _init_arg(self, initializer, initargs, lazy_main) -> bytes:
        """The initializer's argument: flags, token, pickled preparation data
        (spilled into a segment kept for the pool's life if too long)."""
        init = None
        if initializer is not None:
            init, segs = _pickle_collecting((initializer, initargs))
            self._pins.extend(segs)  # replacement workers open them too
        main = _main_module()
        prep = {
            "sys_path": list(sys.path),
            "sys_argv": list(sys.argv),
            "main": main,
            "main_code": _main_code(main),
            "lazy_main": bool(lazy_main),
            "max_reply": self._max_reply,
            "init": init,
        }
        body = dumps(prep, _wire.PROTOCOL)
        head = bytes([_wire.ARG_INLINE]) + self._token.encode()
        if len(head) + len(body) <= self._max_arg:
            return head + body
        m = _temp_segment(body)
        self._pins.append(m)
        return bytes([_wire.ARG_SPILLED]) + self._token.encode() + \
            m.name.encode()

    def _fail_start(self, rc: int):
        if rc > 0 and not self._c_mode:
            cause = self._read_init_error()
            e = InitializerError("the pool's initializer failed in a worker")
            raise e from cause
        if rc > 0:
            raise InitializerError(
                "the initializer task failed in a worker with status %d" % rc)
        raise ShmpoolError(rc, "starting the pool", lib.shmpool_last_os_error())

    def _read_init_error(self) -> Optional[BaseException]:
        name = _wire.init_error_name(self._token)
        data = _take_segment(name)
        if data is None:
            return None
        try:
            return _exception_from(data[1:])
        except BaseException as e:  # noqa
            return e

    # -- what it is ---------------------------------------------------------------

    @property
    def workers(self) -> int:
        """The number of worker processes."""
        return self._workers

    @property
    def control_name(self) -> str:
        """The name of the pool's control segment (``shmpool ls`` shows it)."""
        return lib.shmpool_control_name(self._handle()).decode()

    def _handle(self) -> int:
        h = self._h
        if h is None or self._closed:
            raise ValueError("the pool is closed")
        return h

    def _res(self) -> _lib.Result:
        r = getattr(self._tls, "res", None)
        if r is None:
            r = self._tls.res = _lib.init_sized(lib.shmpool_result_init_sized,
                                                _lib.Result())
        return r

    # -- submitting -------------------------------------------------------------

    def _submit(self, task: bytes, arg: bytes, maps: Sequence, owner,
                index: int = 0, sub_opts=None) -> int:
        """Queue one C task and register its owner; returns the task id."""
        h = self._handle()
        n = len(maps)
        if n > _lib.TASK_SEGS_MAX:
            raise ValueError("a task can name at most %d segments (this one "
                             "names %d)" % (_lib.TASK_SEGS_MAX, n))
        segs = (c_void_p * n)(*[m.handle for m in maps]) if n else None
        tid = c_uint64()
        if sub_opts is None:
            rc = lib.shmpool_submit(h, task, arg, len(arg), segs, n,
                                    byref(tid))
        else:
            rc = lib.shmpool_submit_ex(h, task, arg, len(arg), segs, n,
                                       byref(sub_opts), byref(tid))
        if rc != 0:
            check(rc, "submitting task %s" % task.decode())
        i = tid.value
        with self._lock:
            # A thread collecting results may have received it already.
            raw = self._orphans.pop(i, None)
            if isinstance(owner, _Run):
                owner.ids[i] = index
                if raw is None:
                    self._owners[i] = owner
                else:
                    owner._complete(i, raw, self)
            else:
                owner.id = i
                if raw is None:
                    self._owners[i] = owner
                else:
                    owner._complete(raw)
        return i

    def _py_task(self, kind: int, fnb: bytes, fn_maps: list, data,
                 kw) -> Tuple[bytes, list]:
        """The argument and segments of one Python task."""
        body, maps = _pickle_collecting((kind, fnb, data, kw))
        maps = _dedupe(fn_maps + maps)
        if len(body) + 1 <= self._max_arg:
            return bytes([_wire.ARG_INLINE]) + body, maps
        m = _temp_segment(body)
        return bytes([_wire.ARG_SPILLED]), maps + [m]

    def submit(self, fn, /, *args, **kwargs) -> Future:
        """Run ``fn(*args, **kwargs)`` in a worker; returns a
        :class:`Future`.

        With ``worker_path`` (a C worker executable):
        ``submit(task, arg=b"", segments=(), *, deadline=None,
        affinity=0)``: the task named ``task`` with the bytes ``arg`` and up
        to 16 :class:`Segment` objects; the future's result is the task's
        reply (bytes), and a nonzero status raises :class:`TaskError`.
        ``deadline`` (seconds) fails the task with TimeoutError (killing
        its worker) if it has not finished by then.
        """
        if self._c_mode:
            return self._submit_c(fn, *args, **kwargs)
        if not callable(fn):
            raise TypeError("submit() needs a callable, not %r" % (fn,))
        fnb, fn_maps, kind = _pickle_fn(fn)
        arg, maps = self._py_task(kind | _wire.CALL, fnb, fn_maps, args,
                                  kwargs or None)
        fut = Future(self, 0)
        fut.id = self._submit(_wire.TASK, arg, maps, fut)
        _close_temp(maps, arg)
        return fut

    def apply(self, fn, args: Sequence = (), kwds: Optional[dict] = None):
        """``fn(*args, **kwds)`` in a worker, waiting for the result."""
        return self.submit(fn, *args, **(kwds or {})).result()

    def _submit_c(self, task: str, arg: bytes = b"", segments=(), *,
                  deadline: Optional[float] = None, affinity: int = 0
                  ) -> Future:
        if not isinstance(task, str):
            raise TypeError("a pool over a C worker runs tasks by name (str)")
        maps = [s._m() for s in segments]
        sub = None
        if deadline is not None or affinity:
            sub = _lib.init_sized(lib.shmpool_submit_options_init_sized,
                                  _lib.SubmitOptions())
            if deadline is not None:
                sub.deadline_ms = max(1, int(deadline * 1000))
            sub.affinity = int(affinity)
        fut = Future(self, 0)
        fut.id = self._submit(task.encode(), bytes(arg), maps, fut, 0, sub)
        return fut

    # -- collecting -----------------------------------------------------------------

    def _route(self, res: _lib.Result) -> None:
        """Hand one result to its owner (copying it out of the C buffer). A
        reply spilled into a segment is read and the segment removed now,
        so that none is left behind by a result nobody asks for."""
        data = ctypes.string_at(res.data, res.len) if res.len else b""
        if data and not self._c_mode and data[0] & _wire.SPILLED:
            body = _take_segment(_wire.spill_name(self._token, res.id))
            if body is not None:
                data = bytes([data[0] & ~_wire.SPILLED]) + body
        raw = (res.status, data, res.message.decode("utf-8", "replace")
               if res.message else None, res.exit_code, res.term_signal)
        i = res.id
        with self._lock:
            owner = self._owners.pop(i, None)
            if owner is None:
                self._orphans[i] = raw
                return
            if isinstance(owner, _Run):
                owner._complete(i, raw, self)
                return
            owner._complete(raw)
            callbacks = owner._callbacks is not None
        if callbacks:
            owner._run_callbacks()

    def _pump(self, timeout_ms: int) -> int:
        """Wait for any one result and route it: 0, ETIMEDOUT or EIDLE.
        Only with _pump_lock held (see _wait_until)."""
        res = self._res()
        rc = lib.shmpool_wait(self._handle(), byref(res), timeout_ms)
        if rc == 0:
            self._route(res)
        elif rc not in (_lib.ETIMEDOUT, _lib.EIDLE):
            check(rc, "waiting for a result")
        return rc

    def _wait_until(self, pred: Callable[[], Any], deadline: Optional[float],
                    what: str, idle_ok: bool = False) -> None:
        """Collect results until pred() holds (TimeoutError at the
        deadline; with idle_ok, also return once nothing is in flight).

        One thread at a time waits inside the C library (the leader) and
        hands every result it receives to its owner; other threads sleep on
        a condition the leader signals after each result, and one of them
        leads when the leader leaves. (Written so to avoid a defect of
        the C library, since fixed, in which threads waiting at the same
        time could be handed one another's results; see docs/PYTHON.md.)
        """
        main = threading.get_ident() == _MAIN_IDENT
        while not pred():
            ms = _slice(deadline, main)
            if deadline is not None and ms == 0:
                raise TimeoutError(what)
            if self._h is None or self._closed:
                raise CancelledError("the pool was closed")
            if self._pump_lock.acquire(False):
                try:
                    rc = _lib.ETIMEDOUT if pred() else self._pump(ms)
                finally:
                    self._pump_lock.release()
                    if self._followers:
                        with self._cond:
                            self._cond.notify_all()
                if rc == _lib.EIDLE and not pred():
                    if idle_ok:
                        return
                    # What we wait for is being handed over by a thread
                    # that submitted it (see _submit): a moment.
                    time.sleep(0.0005)
            else:
                with self._cond:
                    self._followers += 1
                    try:
                        if not pred() and self._pump_lock.locked():
                            self._cond.wait(None if ms < 0 else ms / 1000.0)
                    finally:
                        self._followers -= 1

    def _wake_followers(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _poll(self, fut: Future) -> None:
        """Collect what has already completed, without blocking."""
        if self._h is None or self._closed:
            return
        if self._pump_lock.acquire(False):
            try:
                while fut._state == _PENDING and self._pump(0) == 0:
                    pass
            finally:
                self._pump_lock.release()
            if self._followers:
                self._wake_followers()

    def _wait_future(self, fut: Future, timeout: Optional[float]) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wait_until(lambda: fut._state != _PENDING, deadline,
                         "task %d did not complete in %gs"
                         % (fut.id, timeout or 0))

    def _cancel_future(self, fut: Future) -> bool:
        with self._lock:
            if fut._state != _PENDING:
                return fut._state == _CANCELLED
        if self._h is None or self._closed:
            return False
        if lib.shmpool_cancel(self._h, fut.id) != 0:
            return False  # it completed: its result is there to collect
        with self._lock:
            if fut._state == _PENDING:
                fut._state = _CANCELLED
        self._wake_followers()
        fut._run_callbacks()
        return True

    def _discard(self, task_id: int, raw) -> None:
        """A result nobody wants (canceled, a map that failed): remove what
        the worker may have spilled for it."""
        status, data = raw[0], raw[1]
        if not self._c_mode and (status < 0 or (data and data[0] &
                                                _wire.SPILLED)):
            self._unlink_spill(task_id)

    def _unlink_spill(self, task_id: int) -> None:
        lib.shmpool_seg_unlink_flags(
            _wire.spill_name(self._token, task_id).encode(), 0)

    # -- results ----------------------------------------------------------------

    def _decode(self, task_id: int, raw) -> Any:
        """A task's value, or raise what it means."""
        status, data, message, exit_code, term_signal = raw
        if status == 0:
            if self._c_mode:
                return data
            return loads(self._body(task_id, data))
        if status < 0:
            if not self._c_mode:
                self._unlink_spill(task_id)
            raise _library_status(status, task_id, message, exit_code,
                                  term_signal)
        if self._c_mode:
            raise TaskError("?", status, message)
        if status == _wire.STATUS_EXCEPTION and data:
            raise _exception_from(self._body(task_id, data))
        raise RemoteError("?", message or "status %d" % status, "")

    def _body(self, task_id: int, data: bytes) -> bytes:
        if data[0] & _wire.SPILLED:
            body = _take_segment(_wire.spill_name(self._token, task_id))
            if body is None:
                raise ShmpoolError(_lib.ENOENT, "the spilled reply of task %d "
                                   "is gone" % task_id)
            return body
        return data[1:]

    # -- maps --------------------------------------------------------------------

    def map(self, fn, iterable=None, *args, **kwargs):
        """``map(fn, iterable, chunksize=1, *, progress=None,
        timeout=None)``: ``[fn(x) for x in iterable]``, computed by the
        workers, returned as a list in order.

        ``chunksize`` elements go to a worker as one task (1: each element
        is its own task). ``progress(done, total)`` is called as elements
        complete (``total`` is None until the end for an iterable without
        a length). The first element to fail (in completion order) stops
        the map: the remaining elements are canceled and its exception is
        raised (:class:`WorkerError` if its worker died). ``timeout``
        (seconds) bounds the whole map (:class:`TimeoutError`).

        With ``worker_path`` (a C worker), the arguments are those of
        :meth:`map_c`.
        """
        if self._c_mode:
            return self.map_c(fn, iterable, *args, **kwargs)
        return self._map_py(fn, iterable, *args, **kwargs)

    def _map_py(self, fn, iterable, chunksize: int = 1, *,
                progress: Optional[Callable[[int, Optional[int]], Any]] = None,
                timeout: Optional[float] = None) -> list:
        if iterable is None:
            raise TypeError("map() needs an iterable")
        return self._collect_ordered(fn, iterable, chunksize, False,
                                     progress, timeout)

    def starmap(self, fn, iterable, chunksize: int = 1, *,
                progress=None, timeout=None) -> list:
        """``[fn(*x) for x in iterable]`` in order (see :meth:`map`)."""
        self._python_only("starmap")
        return self._collect_ordered(fn, iterable, chunksize, True,
                                     progress, timeout)

    def imap(self, fn, iterable, chunksize: int = 1, *, progress=None,
             timeout=None) -> Iterator:
        """Like :meth:`map`, yielding results in order as they become
        available. Abandoning the iterator cancels what is left."""
        self._python_only("imap")
        pending: dict = {}
        nxt = 0
        for index, values in self._stream(fn, iterable, chunksize, False,
                                          progress, timeout):
            pending[index] = values
            while nxt in pending:
                yield from pending.pop(nxt)
                nxt += 1

    def imap_unordered(self, fn, iterable, chunksize: int = 1, *,
                       progress=None, timeout=None) -> Iterator:
        """Like :meth:`imap`, yielding results in completion order."""
        self._python_only("imap_unordered")
        for _, values in self._stream(fn, iterable, chunksize, False,
                                      progress, timeout):
            yield from values

    def _python_only(self, what: str) -> None:
        if self._c_mode:
            raise TypeError("%s() runs Python functions; this pool runs a C "
                            "worker (use submit / map with a task name)"
                            % what)

    def _collect_ordered(self, fn, iterable, chunksize, star, progress,
                         timeout) -> list:
        parts: dict = {}
        for index, values in self._stream(fn, iterable, chunksize, star,
                                          progress, timeout):
            parts[index] = values
        out: list = []
        for i in range(len(parts)):
            out.extend(parts[i])
        return out

    def _stream(self, fn, iterable, chunksize, star, progress, timeout
                ) -> Iterator[Tuple[int, list]]:
        """Run fn over iterable in tasks of chunksize elements, keeping at
        most workers x queue depth in flight; yield (chunk index, values)
        as chunks complete. Cancels what is left on any way out."""
        if not callable(fn):
            raise TypeError("map needs a callable, not %r" % (fn,))
        chunksize = max(1, int(chunksize))
        try:
            total = len(iterable)
        except TypeError:
            total = None
        fnb, fn_maps, fkind = _pickle_fn(fn)
        if chunksize == 1 and not star:
            kind, chunks = fkind | _wire.CALL, ((x,) for x in iterable)
        else:
            kind = fkind | (_wire.STARCHUNK if star else _wire.CHUNK)
            chunks = _chunks(iterable, chunksize)
        per_chunk = chunksize > 1 or star  # values come back as lists
        run = _Run()
        deadline = None if timeout is None else time.monotonic() + timeout
        window = max(2, self._workers * 16)
        done = submitted = index = 0
        exhausted = False
        try:
            while True:
                while not exhausted and len(run.ids) < window:
                    try:
                        data = next(chunks)
                    except StopIteration:
                        exhausted = True
                        total = submitted
                        break
                    submitted += len(data)
                    arg, maps = self._py_task(kind, fnb, fn_maps, data, None)
                    self._submit(_wire.TASK, arg, maps, run, index)
                    _close_temp(maps, arg)
                    index += 1
                with self._lock:
                    arrived, run.arrived = run.arrived, []
                if arrived:
                    arrived.reverse()
                    try:
                        while arrived:
                            chunk, tid, raw = arrived.pop()
                            value = self._decode(tid, raw)
                            values = value if per_chunk else [value]
                            done += len(values)
                            if progress is not None:
                                progress(done, total)
                            yield chunk, values
                    finally:
                        if arrived:  # left early: _end_run discards them
                            with self._lock:
                                run.arrived[:0] = arrived
                    continue
                if exhausted and not run.ids:
                    return
                self._wait_until(
                    lambda: run.arrived or (not exhausted and
                                            len(run.ids) < window),
                    deadline, "map did not complete in %gs" % (timeout or 0))
        finally:
            self._end_run(run)

    def _end_run(self, run: _Run) -> None:
        """Cancel the tasks of a run that is left early; their results are
        discarded when they arrive."""
        with self._lock:
            run.closed = True
            left = list(run.ids)
            arrived, run.arrived = run.arrived, []
        for tid, raw in ((a[1], a[2]) for a in arrived):
            self._discard(tid, raw)
        if left and self._h is not None and not self._closed:
            for tid in left:
                lib.shmpool_cancel(self._h, tid)

    # -- C maps ------------------------------------------------------------------

    def map_c(self, task: str, args=None, segments=(), *,
              n: Optional[int] = None, result_size: int = 0,
              result_dtype: Any = None, chunksize: int = 0,
              schedule: str = "static", timeout: Optional[float] = None,
              progress: Optional[Callable[[int, int], Any]] = None):
        """Run the C task ``task`` on n elements (``shmpool_map``): a pool
        over a C worker executable only.

        args: a sequence of equal-length bytes-like objects, or a numpy
        array whose first axis indexes the elements, or None with ``n``
        (the task then tells elements apart by its id). segments: up to 16
        :class:`Segment` objects every element sees. Each element's reply
        is at most ``result_size`` bytes (or ``result_dtype``'s item size);
        the results come back as a numpy array of ``result_dtype`` if
        given, else a list of bytes. ``progress(done, total)`` is called as
        chunks complete. A failing element raises :class:`TaskError` (or
        WorkerError...) for the first failing index after all completed.
        """
        if not self._c_mode:
            raise TypeError("map_c() runs a C worker's task; this pool runs "
                            "Python functions")
        h = self._handle()
        args_buf, arg_size, count = _map_args(args, n)
        if result_dtype is not None:
            import numpy as np
            rdt = np.dtype(result_dtype)
            result_size = result_size or rdt.itemsize
        results = ctypes.create_string_buffer(max(1, count * result_size))
        statuses = (c_int * max(1, count))()
        maps = [s._m() for s in segments]
        segs = (c_void_p * len(maps))(*[m.handle for m in maps]) \
            if maps else None
        mo = _lib.init_sized(lib.shmpool_map_options_init_sized,
                             _lib.MapOptions())
        mo.chunk_size = int(chunksize)
        mo.schedule = {"static": _lib.SCHEDULE_STATIC,
                       "dynamic": _lib.SCHEDULE_DYNAMIC}[schedule]
        if timeout is not None:
            mo.timeout_ms = max(1, int(timeout * 1000))
        job = c_void_p()
        check(lib.shmpool_map_start(h, byref(job), task.encode(), args_buf,
                                    arg_size, count, segs, len(maps),
                                    results, result_size, statuses,
                                    byref(mo)), "starting map %s" % task)
        main = threading.get_ident() == _MAIN_IDENT
        finished = False
        try:
            done, total = c_size_t(), c_size_t()
            while True:
                rc = lib.shmpool_map_next(job, None, None,
                                          _SLICE_MS if main else -1)
                if rc == _lib.EIDLE:
                    break
                if rc == 0 and progress is not None:
                    lib.shmpool_map_progress(job, byref(done), byref(total))
                    progress(done.value, total.value)
                elif rc not in (0, _lib.ETIMEDOUT):
                    check(rc, "map %s" % task)
            finished = True
            rc = lib.shmpool_map_finish(job)
        finally:
            if not finished:  # an exception (Ctrl-C) while waiting
                lib.shmpool_map_cancel(job)
                lib.shmpool_map_finish(job)
        if rc != 0:
            bad = next((i for i in range(count) if statuses[i] != 0), None)
            if bad is None:
                check(rc, "map %s" % task)
            st = statuses[bad]
            if st < 0:
                raise _library_status(st, bad, None, -1, 0)
            raise TaskError(task, st, "element %d" % bad)
        raw = results.raw[:count * result_size]
        if result_dtype is not None:
            import numpy as np
            return np.frombuffer(raw, dtype=rdt, count=count).copy()
        return [raw[i * result_size:(i + 1) * result_size]
                for i in range(count)]

    # -- control ---------------------------------------------------------------

    def cancel_all(self) -> int:
        """Cancel every task in flight and every running map (like
        ``terminate()`` without stopping the pool): workers running one are
        killed and replaced. Returns how many were canceled."""
        n = lib.shmpool_cancel_all(self._handle())
        return check(n, "canceling")

    def close(self) -> None:
        """Wait for every submitted task (their futures get their
        results), then stop the workers and free the pool. Idempotent."""
        if self._h is None or self._closed:
            return
        try:
            self._wait_until(lambda: not self._owners, None, "", idle_ok=True)
        finally:
            self._destroy()

    def terminate(self) -> None:
        """Cancel everything in flight (their futures raise
        :class:`CancelledError`), stop the workers and free the pool."""
        if self._h is None or self._closed:
            return
        try:
            lib.shmpool_cancel_all(self._h)
        finally:
            self._destroy()

    def join(self) -> None:
        """For multiprocessing-style ``close(); join()``: close() already
        waited, so this returns at once."""

    def _destroy(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            owners, self._owners = self._owners, {}
            self._orphans.clear()
        h, self._h = self._h, None
        lib.shmpool_destroy(h)
        # Whatever was still in flight is gone: tell its owners, and remove
        # replies a worker may have spilled for it.
        for tid, owner in owners.items():
            if not self._c_mode:
                self._unlink_spill(tid)
            if isinstance(owner, Future):
                with self._lock:
                    if owner._state == _PENDING:
                        owner._state = _CANCELLED
        self._wake_followers()
        self._pins = []
        _live_pools.discard(self)

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.terminate()

    def __del__(self):
        try:
            if self._h is not None and not self._closed:
                self.terminate()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __repr__(self) -> str:
        if self._h is None:
            return "<shmpool.Pool closed>"
        return "<shmpool.Pool %d workers%s>" % (
            self._workers, " (C worker)" if self._c_mode else "")

    def __reduce__(self):
        raise TypeError("a shmpool.Pool cannot be pickled or sent to a "
                        "worker")


# ---- helpers ---------------------------------------------------------------

def _slice(deadline: Optional[float], main: bool) -> int:
    """How long one wait may block (ms): until the deadline, and at most
    _SLICE_MS on the main thread (so signals are seen)."""
    if deadline is None:
        return _SLICE_MS if main else -1
    left = int((deadline - time.monotonic()) * 1000)
    if left <= 0:
        return 0
    return min(left, _SLICE_MS) if main else left


def _chunks(iterable, size: int) -> Iterator[list]:
    it = iter(iterable)
    while True:
        chunk = []
        for x in it:
            chunk.append(x)
            if len(chunk) == size:
                break
        if not chunk:
            return
        yield chunk


def _pickle_collecting(obj) -> Tuple[bytes, list]:
    """Pickle obj; return the bytes and the mappings of the segments it
    names (see Segment.__reduce__)."""
    prev = getattr(_segment._tls, "segs", None)
    _segment._tls.segs = segs = []
    try:
        return dumps(obj, _wire.PROTOCOL), segs
    finally:
        _segment._tls.segs = prev


def _pickle_fn(fn) -> Tuple[bytes, list, int]:
    """The function's pickle, the segments it names, and FN_CACHE if a
    worker may keep it unpickled (it names no segment)."""
    fnb, maps = _pickle_collecting(fn)
    return fnb, maps, (0 if maps else _wire.FN_CACHE)


def _dedupe(maps: list) -> list:
    if len(maps) < 2:
        return maps
    seen, out = set(), []
    for m in maps:
        if id(m) not in seen:
            seen.add(id(m))
            out.append(m)
    return out


def _temp_segment(body: bytes) -> "_segment._Mapping":
    """A new segment (generated name) holding body."""
    h = c_void_p()
    check(lib.shmpool_seg_create(byref(h), None, max(1, len(body)), 0),
          "creating a segment for %d bytes of arguments" % len(body))
    m = _segment._Mapping(h.value, owner=True)
    ctypes.memmove(m.addr, body, len(body))
    return m


def _close_temp(maps: list, arg: bytes) -> None:
    """After submit: a spilled argument's segment is the C pool's to keep
    (until the task completes); drop ours."""
    if arg and arg[0] & _wire.ARG_SPILLED:
        maps[-1].release()


def _take_segment(name: str) -> Optional[bytes]:
    """Read and remove a segment a worker left (a spilled reply)."""
    h = c_void_p()
    if lib.shmpool_seg_open(byref(h), name.encode(), _lib.SEG_READONLY) != 0:
        return None
    try:
        return ctypes.string_at(lib.shmpool_seg_data(h),
                                lib.shmpool_seg_size(h))
    finally:
        lib.shmpool_seg_unlink_flags(name.encode(), 0)
        lib.shmpool_seg_close(h)


def _exception_from(body: bytes) -> BaseException:
    """The exception a worker sent: itself with its remote traceback as
    __cause__, or a RemoteError if it cannot be rebuilt here."""
    exc_pickle, type_name, message, tb = loads(body)
    exc = None
    if exc_pickle is not None:
        try:
            exc = loads(exc_pickle)
        except BaseException as e:  # noqa: it cannot be rebuilt here
            tb += "\n(the exception could not be unpickled: %r)" % e
    if not isinstance(exc, BaseException):
        return RemoteError(type_name, message, tb)
    exc.__cause__ = RemoteTraceback(tb)
    return exc


def _library_status(status: int, task_id, message, exit_code, term_signal
                    ) -> BaseException:
    if status == _lib.EWORKER:
        how = ("killed by signal %d" % term_signal if term_signal else
               "exit status %d" % exit_code if exit_code >= 0 else
               "unknown exit")
        return WorkerError("the worker running task %s died (%s)"
                           % (task_id, how), exit_code, term_signal, task_id)
    if status == _lib.ECANCELED:
        return CancelledError("task %s was canceled" % task_id)
    if status == _lib.ETIMEDOUT:
        return TimeoutError("task %s passed its deadline" % task_id)
    return ShmpoolError(status, message or "task %s" % task_id)


def _main_module() -> Optional[Tuple[str, str]]:
    """How a worker finds the parent's __main__ (as multiprocessing's
    spawn.get_preparation_data does): by module name if it was run with
    -m, else by the script's path; None for an interactive session."""
    main = sys.modules.get("__main__")
    if main is None:
        return None
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if name:
        if name == "__main__" or name.endswith(".__main__"):
            return None  # a package's __main__ cannot be re-imported
        return ("name", name)
    path = getattr(main, "__file__", None)
    if path is None or getattr(sys, "frozen", False):
        return None
    return ("path", os.path.normpath(os.path.abspath(path)))


_main_codes: dict = {}


def _main_code(main) -> Optional[bytes]:
    """The parent's main script compiled, marshalled for its workers, so
    that a worker which needs it runs it without compiling it again (or
    importing runpy): a few milliseconds of every worker's start. None for
    anything but a plain .py file (runpy handles those in the worker)."""
    if main is None or main[0] != "path" or not main[1].endswith(".py"):
        return None
    path = main[1]
    try:
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size)
        code = _main_codes.get(key)
        if code is None:
            import marshal
            with open(path, "rb") as f:
                source = f.read()
            code = marshal.dumps(compile(source, path, "exec",
                                         dont_inherit=True))
            _main_codes[key] = code
        return code
    except (OSError, SyntaxError, ValueError):
        return None


def _python_command() -> Tuple[bytes, List[bytes]]:
    """The interpreter and arguments that start a Python worker: the
    parent's interpreter options, then code that puts this package on
    sys.path, loads the same C library and calls shmpool._worker.main."""
    exe = sys.executable
    if os.name == "nt" and getattr(sys, "_base_executable", exe) != exe:
        # A Windows venv's python.exe is a launcher that starts the real
        # interpreter as its child; start the real one (sys.path comes
        # from the parent anyway), as multiprocessing does.
        exe = sys._base_executable
    if not exe:
        raise RuntimeError("sys.executable is not set: cannot start Python "
                           "workers")
    try:
        import subprocess
        flags = subprocess._args_from_interpreter_flags()
    except Exception:  # pragma: no cover - a private helper
        flags = []
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = "import sys;sys.path.insert(0,%r);" % pkg_parent
    if os.path.isabs(_lib.path):
        code += "import os;os.environ['SHMPOOL_LIBRARY']=%r;" % _lib.path
    code += "from shmpool._worker import main;main()"
    return os.fsencode(exe), [os.fsencode(a) for a in flags + ["-c", code]]


def _map_args(args, n) -> Tuple[Optional[bytes], int, int]:
    """A C map's argument buffer, arg_size and count."""
    if args is None:
        if n is None:
            raise TypeError("map_c needs args or n")
        return None, 0, int(n)
    if hasattr(args, "__array_interface__"):
        import numpy as np
        a = np.ascontiguousarray(args)
        count = a.shape[0] if a.ndim else 1
        buf = a.tobytes()
        return buf, (len(buf) // count if count else 0), count
    items = [bytes(x) for x in args]
    if not items:
        return None, 0, 0
    size = len(items[0])
    if any(len(x) != size for x in items):
        raise ValueError("map_c arguments must all have the same length")
    if n is not None and int(n) != len(items):
        raise ValueError("n does not match the number of arguments")
    return b"".join(items), size, len(items)


def _log(ctx, level: int, message: bytes) -> None:
    """The C pool's diagnostics, to the "shmpool" logger (which, as a
    library's logger should, prints nothing unless the program configures
    logging)."""
    try:
        import logging
        logger = logging.getLogger("shmpool")
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
        lvl = {_lib.LOG_ERROR: logging.ERROR, _lib.LOG_WARN: logging.WARNING,
               _lib.LOG_INFO: logging.INFO}.get(level, logging.INFO)
        logger.log(lvl, "%s", message.decode("utf-8", "replace"))
    except Exception:  # pragma: no cover - never raise into C
        pass


def _terminate_all_at_exit() -> None:
    for p in list(_live_pools):
        try:
            p.terminate()
        except Exception:  # pragma: no cover
            pass


import atexit  # noqa: E402 - registered after _segment's handler, so it runs first
atexit.register(_terminate_all_at_exit)
