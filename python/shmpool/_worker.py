"""The worker side of a Python pool.

A :class:`shmpool.Pool` starts each worker as a new interpreter
(``sys.executable``, with the parent's interpreter options) running
:func:`main`, which hands the process to the C library's
``shmpool_worker_main`` with two tasks written in Python:

* ``"pyinit"``, the pool's initializer: it sets ``sys.path`` and
  ``sys.argv`` to the parent's, arranges for the parent's main module to be
  found as ``__main__`` / ``__mp_main__`` (as multiprocessing's spawn does:
  a script's ``if __name__ == "__main__":`` block does not run), then runs
  the user's initializer;
* ``"py"``, one call (or one chunk of a map), see :mod:`shmpool._wire`.

The main module is imported lazily by default: only when a pickle names
something in it (a function defined in the script), so a pool whose tasks
live in importable modules never re-runs the script, and numpy is imported
only by a task that needs it.

This module imports only what every worker needs (ctypes, the C pickle
module); the rest waits for the first task that needs it.
"""

from __future__ import annotations

import ctypes
import os
import sys
from _pickle import dumps, loads
from ctypes import byref, c_char_p, c_size_t, c_void_p, string_at

from . import _lib, _segment, _wire
from ._lib import lib

__all__ = ["main", "worker_index", "task_id"]

# The task this worker is running (a shmpool_task pointer) or None.
_current: Optional[int] = None
# Set by the initializer from the parent's data.
_token = ""
_max_reply = 0
# Functions by their pickle, for tasks whose function pickles without
# segments (a module-level function, say): unpickled once per worker.
_fns: dict = {}


def worker_index() -> Optional[int]:
    """The index of the pool worker running the current task, 0 to
    workers - 1, stable across the worker's replacement (for per-worker
    scratch space); None outside a task."""
    t = _current
    return None if t is None else int(lib.shmpool_task_worker(t))


def task_id() -> Optional[int]:
    """The id of the task running in this worker, None outside a task."""
    t = _current
    return None if t is None else int(lib.shmpool_task_id(t))


# ---- replies ------------------------------------------------------------------

def _cut(text: str, limit: int = _lib.MESSAGE_MAX) -> bytes:
    b = text.encode("utf-8", "replace")
    if len(b) <= limit:
        return b
    return b[:limit - 3].decode("utf-8", "ignore").encode() + b"..."


def _error_reply(e: BaseException, limit: int = 0) -> tuple:
    """(reply bytes, short summary) for an exception a task raised. With a
    limit, a reply that would be longer is cut down to the exception's type,
    message and the end of its traceback."""
    import traceback
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    type_name = "%s.%s" % (type(e).__module__, type(e).__qualname__)
    try:
        message = str(e)
    except Exception:  # a broken __str__
        message = "<unprintable %s>" % type(e).__name__
    try:  # pickled apart, so the text survives an exception that cannot
        exc = dumps(e, _wire.PROTOCOL)  # be rebuilt in the parent
    except Exception as pe:
        exc = None
        tb += "\n(the exception could not be pickled: %r)" % pe
    body = dumps((exc, type_name, message, tb), _wire.PROTOCOL)
    if limit and len(body) >= limit:
        keep = max(limit // 4, 16)
        body = dumps((None, type_name, message[:keep], tb[-keep:]),
                     _wire.PROTOCOL)
    summary = "%s: %s" % (type(e).__qualname__, message)
    return bytes([_wire.REPLY_ERROR]) + body, summary


def _spill(t: int, reply: bytes) -> bytes:
    """Put a reply too large for the result slot into a segment (see
    _wire.py); returns what goes into the slot instead. The worker owns the
    segment and keeps it open until the parent has read it and removed the
    name (its cache notices); at exit it leaves it to the parent."""
    name = _wire.spill_name(_token, int(lib.shmpool_task_id(t)))
    h = c_void_p()
    _lib.check(lib.shmpool_seg_create(byref(h), name.encode(), len(reply) - 1,
                                      0),
               "creating segment %s for a %d-byte reply"
               % (name, len(reply) - 1))
    ctypes.memmove(lib.shmpool_seg_data(h), reply[1:], len(reply) - 1)
    _segment._worker_cache.add_spill(h.value)
    return bytes([reply[0] | _wire.SPILLED])


def _send(t: int, reply: bytes) -> None:
    if len(reply) > _max_reply:
        reply = _spill(t, reply)
    rc = _task_reply(t, reply, len(reply))
    if rc != 0:
        _lib.check(rc, "replying")


# ---- the task -----------------------------------------------------------------

# Hot path: a trivial task costs a few microseconds of Python here, so the
# C functions are looked up once and the argument length has one home.
_task_arg = lib.shmpool_task_arg
_task_reply = lib.shmpool_task_reply
_arg_len = c_size_t()
_VALUE = bytes([_wire.REPLY_VALUE])


def _spilled_payload(t: int) -> bytes:
    size = c_size_t()
    p = lib.shmpool_task_seg(t, lib.shmpool_task_nsegs(t) - 1, byref(size))
    return string_at(p, size.value)


def _run(t: int) -> bytes:
    arg = string_at(_task_arg(t, byref(_arg_len)), _arg_len.value)
    if arg[0] & _wire.ARG_SPILLED:
        kind, fnb, data, kw = loads(_spilled_payload(t))
    else:
        kind, fnb, data, kw = loads(memoryview(arg)[1:])
    fn = _fns.get(fnb)
    if fn is None:
        fn = loads(fnb)
        if kind & _wire.FN_CACHE:
            if len(_fns) >= 256:
                _fns.clear()
            _fns[fnb] = fn
    kind &= _wire.OP_MASK
    if kind == _wire.CALL:
        value = fn(*data, **kw) if kw else fn(*data)
    elif kind == _wire.CHUNK:
        value = [fn(x) for x in data]
    else:
        value = [fn(*x) for x in data]
    del fn, fnb, data, kw
    return _VALUE + dumps(value, _wire.PROTOCOL)


def _task(t: int) -> int:
    """The C task "py": run one call or chunk, reply with its pickled value
    or its exception. Never lets an exception out (ctypes would print it and
    return 0)."""
    global _current
    _current = t
    status = 0
    try:
        try:
            reply = _run(t)
        except BaseException as e:  # noqa: a task's SystemExit too
            reply, summary = _error_reply(e)
            del e
            status = lib.shmpool_task_fail(t, _wire.STATUS_EXCEPTION,
                                           _cut(summary))
        try:
            _send(t, reply)
        except BaseException as e:  # e.g. no room for a spill segment
            reply, summary = _error_reply(e, _max_reply)
            del e
            status = lib.shmpool_task_fail(t, _wire.STATUS_EXCEPTION,
                                           _cut(summary))
            lib.shmpool_task_reply(t, reply, len(reply))
    except BaseException:  # pragma: no cover - last resort
        status = _wire.STATUS_EXCEPTION
    finally:
        _current = None
        cache = _segment._worker_cache
        if cache is not None and cache.busy():
            cache.sweep(task_end=True)
    return status


# ---- the initializer --------------------------------------------------------------

def _install_main(kind: str, value: str, lazy: bool,
                  code: Optional[bytes] = None) -> None:
    """Make the parent's main module importable as __main__ and __mp_main__,
    run under the name "__mp_main__" (so its main block does not run):
    now, or on the first attribute a pickle asks of it. A plain script
    comes compiled by the parent (``code``, marshalled) and runs in the
    module itself, as an import would; anything else goes through runpy,
    as in multiprocessing."""
    mod = type(sys)("__mp_main__")
    mod.__spec__ = None
    mod.__loader__ = None
    if kind == "path":
        mod.__file__ = value

    def load() -> None:
        mod.__dict__.pop("__getattr__", None)
        sys.modules["__main__"] = sys.modules["__mp_main__"] = mod
        if code is not None:
            import marshal
            mod.__dict__.update(__cached__=None, __package__="")
            exec(marshal.loads(code), mod.__dict__)
            return
        import runpy
        if kind == "path":
            content = runpy.run_path(value, run_name="__mp_main__")
        else:
            content = runpy.run_module(value, run_name="__mp_main__",
                                       alter_sys=True)
        mod.__dict__.update(content)

    def lazy_getattr(name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        load()
        try:
            return mod.__dict__[name]
        except KeyError:
            raise AttributeError("module '__main__' (%s) has no attribute %r"
                                 % (value, name)) from None

    sys.modules["__main__"] = sys.modules["__mp_main__"] = mod
    if lazy:
        mod.__getattr__ = lazy_getattr
    else:
        load()


def _prepare(prep: dict) -> None:
    if prep.get("sys_path") is not None:
        sys.path[:] = prep["sys_path"]
    if prep.get("sys_argv") is not None:
        sys.argv[:] = prep["sys_argv"]
    main = prep.get("main")
    if main is not None:
        _install_main(main[0], main[1], prep.get("lazy_main", True),
                      prep.get("main_code"))


def _leave_init_error(e: BaseException) -> None:
    """Put the initializer's exception where the parent looks for it."""
    reply, _ = _error_reply(e)
    name = _wire.init_error_name(_token).encode()
    h = c_void_p()
    rc = lib.shmpool_seg_create(byref(h), name, len(reply), _lib.SEG_PERSIST)
    if rc == _lib.EEXIST:
        return  # another worker's failure is already there
    if rc != 0:
        sys.stderr.write("shmpool worker: the initializer failed:\n")
        sys.stderr.write(loads(reply[1:])[3])
        return
    ctypes.memmove(lib.shmpool_seg_data(h), reply, len(reply))
    lib.shmpool_seg_close(h)


def _init(t: int) -> int:
    """The C task "pyinit" (see the module docstring)."""
    global _token, _max_reply
    try:
        n = c_size_t()
        p = lib.shmpool_task_arg(t, byref(n))
        arg = string_at(p, n.value)
        _token = arg[1:9].decode()
        body = arg[9:]
        if arg[0] & _wire.ARG_SPILLED:
            h = c_void_p()
            _lib.check(lib.shmpool_seg_open(byref(h), body,
                                            _lib.SEG_READONLY),
                       "opening the initializer's segment")
            body = string_at(lib.shmpool_seg_data(h),
                             lib.shmpool_seg_size(h))
            lib.shmpool_seg_close(h)
        prep = loads(body)
        _max_reply = prep["max_reply"]
        _prepare(prep)
        if prep.get("init") is not None:
            fn, args = loads(prep["init"])
            fn(*args)
        return 0
    except BaseException as e:  # noqa: the parent gets it
        try:
            _leave_init_error(e)
        except BaseException:  # pragma: no cover
            pass
        return _wire.STATUS_INIT_FAILED


_TASK_CB = _lib.TASK_FN(_task)
_INIT_CB = _lib.TASK_FN(_init)


def main() -> None:
    """Serve tasks until the pool shuts down or the parent dies (the
    command line ends with ``--shmpool-worker CONTROL``)."""
    argv = sys.argv
    if len(argv) < 2 or argv[-2] != "--shmpool-worker":
        sys.stderr.write("shmpool._worker: a pool worker; shmpool.Pool "
                         "starts it\n")
        sys.exit(2)
    c_argv = (c_char_p * 4)((sys.executable or "python").encode(),
                            b"--shmpool-worker", argv[-1].encode(), None)
    table = (_lib.TaskDef * 3)(
        _lib.TaskDef(_wire.TASK, ctypes.cast(_TASK_CB, c_void_p)),
        _lib.TaskDef(_wire.INIT_TASK, ctypes.cast(_INIT_CB, c_void_p)),
        _lib.TaskDef(None, None))
    _segment._worker_cache = _segment._WorkerCache()
    rc = lib.shmpool_worker_main(3, c_argv, table)
    _segment._worker_cache.clear()
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:  # pragma: no cover
            pass
    sys.exit(rc)


if __name__ == "__main__":  # python -m shmpool._worker ... --shmpool-worker X
    main()
