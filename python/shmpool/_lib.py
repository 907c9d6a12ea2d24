"""Loading the C library and declaring the part of its API the package uses.

The library is looked for, in order:

1. the file named by the environment variable ``SHMPOOL_LIBRARY``;
2. a copy installed next to this package (``libshmpool.so.0`` /
   ``libshmpool.so`` on Linux and the BSDs, ``libshmpool.0.dylib`` /
   ``libshmpool.dylib`` on macOS, ``shmpool.dll`` (MSVC) /
   ``libshmpool.dll`` (MinGW) on Windows);
3. the system's search path (the dynamic loader by file name, then
   ``ctypes.util.find_library("shmpool")``).

If none loads, importing :mod:`shmpool` raises :class:`ImportError` naming
everything that was tried.

Every struct below mirrors ``include/shmpool.h`` field by field and is
initialised through the library's exported ``*_init_sized`` function, so a
library that knows a different size of the struct refuses it
(``SHMPOOL_EINVAL``) instead of misreading it.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_int, c_size_t,
                    c_uint, c_uint64, c_void_p)

__all__ = ["lib", "path", "ShmpoolError", "check", "err_name", "strerror"]

# Error codes used by name in the package (include/shmpool.h, stable ABI).
EINVAL = -1
EEXIST = -3
ENOENT = -4
EAGAIN = -10
ETIMEDOUT = -11
ENOTASK = -12
EWORKER = -13
EMSGSIZE = -14
EBUSY = -18
EIDLE = -20
ECANCELED = -21
EFORK = -22

SEG_READONLY = 0x1
SEG_PERSIST = 0x2
SEG_RAW = 0x4
SEG_GLOBAL = 0x8
SEG_NORESERVE = 0x10

NAME_MAX = 30
TASK_SEGS_MAX = 16
MESSAGE_MAX = 255

LOG_ERROR = 1
LOG_WARN = 2
LOG_INFO = 3

SCHEDULE_STATIC = 0
SCHEDULE_DYNAMIC = 1


def _candidates() -> list[str]:
    """File names of the library on this platform, most specific first."""
    if os.name == "nt":
        return ["shmpool.dll", "libshmpool.dll"]
    if sys.platform == "darwin":
        return ["libshmpool.0.dylib", "libshmpool.dylib"]
    return ["libshmpool.so.0", "libshmpool.so"]


def _load() -> tuple[ctypes.CDLL, str]:
    tried: list[str] = []
    env = os.environ.get("SHMPOOL_LIBRARY")
    if env:
        try:
            return ctypes.CDLL(env), env
        except OSError as e:
            raise ImportError(
                "shmpool: cannot load the C library named by SHMPOOL_LIBRARY "
                "(%s): %s" % (env, e)) from e
    here = os.path.dirname(os.path.abspath(__file__))
    for name in _candidates():
        p = os.path.join(here, name)
        if os.path.exists(p):
            try:
                return ctypes.CDLL(p), p
            except OSError as e:
                tried.append("%s (%s)" % (p, e))
        else:
            tried.append(p)
    # Windows: Python 3.8+ loads a DLL named without a path from the
    # application and system directories only (not PATH): a DLL elsewhere
    # must be named by SHMPOOL_LIBRARY or put next to the package.
    for name in _candidates():
        try:
            lib = ctypes.CDLL(name)
            return lib, getattr(lib, "_name", name)
        except OSError:
            tried.append(name + " (system search path)")
    try:
        from ctypes import util as ctypes_util  # runs ldconfig: last resort
        found = ctypes_util.find_library("shmpool")
    except Exception:  # pragma: no cover - find_library runs tools
        found = None
    if found:
        try:
            return ctypes.CDLL(found), found
        except OSError as e:
            tried.append("%s (find_library: %s)" % (found, e))
    else:
        tried.append("ctypes.util.find_library('shmpool') (nothing found)")
    raise ImportError(
        "shmpool: cannot find the C library libshmpool. Set SHMPOOL_LIBRARY "
        "to its path (e.g. build/release/libshmpool.so), copy it next to "
        "the package, or install it on the system path. Tried: "
        + "; ".join(tried))


#: The loaded library, and the file (or name, when the system's loader found
#: it) it was loaded from. Workers load the same: they get this value and
#: inherit the environment the loader searched.
_cdll, path = _load()


# ---- structs ----------------------------------------------------------------

class TaskDef(Structure):
    """shmpool_task_def"""
    _fields_ = [("name", c_char_p), ("fn", c_void_p)]


LOG_FN = CFUNCTYPE(None, c_void_p, c_int, c_char_p)
TASK_FN = CFUNCTYPE(c_int, c_void_p)


class Options(Structure):
    """shmpool_options"""
    _fields_ = [
        ("struct_size", c_size_t),
        ("workers", c_uint),
        ("tasks", POINTER(TaskDef)),
        ("worker_path", c_char_p),
        ("worker_args", POINTER(c_char_p)),
        ("init_task", c_char_p),
        ("init_arg", c_void_p),
        ("init_arg_len", c_size_t),
        ("max_arg_size", c_size_t),
        ("max_reply_size", c_size_t),
        ("queue_depth", c_uint),
        ("max_segments", c_uint),
        ("start_timeout_ms", c_int),
        ("shutdown_timeout_ms", c_int),
        ("max_tasks_per_worker", c_uint),
        ("log", LOG_FN),
        ("log_ctx", c_void_p),
    ]


class SubmitOptions(Structure):
    """shmpool_submit_options"""
    _fields_ = [
        ("struct_size", c_size_t),
        ("timeout_ms", c_int),
        ("deadline_ms", c_int),
        ("affinity", c_uint64),
    ]


class Result(Structure):
    """shmpool_result"""
    _fields_ = [
        ("struct_size", c_size_t),
        ("id", c_uint64),
        ("status", c_int),
        ("data", c_void_p),
        ("len", c_size_t),
        ("exit_code", c_int),
        ("term_signal", c_int),
        ("message", c_char_p),
    ]


class MapOptions(Structure):
    """shmpool_map_options"""
    _fields_ = [
        ("struct_size", c_size_t),
        ("chunk_size", c_size_t),
        ("schedule", c_int),
        ("timeout_ms", c_int),
    ]


class SegInfo(Structure):
    """shmpool_seg_info"""
    _fields_ = [
        ("struct_size", c_size_t),
        ("kind", c_int),
        ("creator_alive", c_int),
        ("size", c_uint64),
        ("os_size", c_uint64),
        ("data_offset", c_uint64),
        ("creator_pid", c_uint64),
        ("creator_start", c_uint64),
        ("creation_id", c_uint64),
        ("state", c_uint),
        ("persistent", c_int),
    ]


# ---- functions ----------------------------------------------------------------

P = c_void_p  # every opaque handle
PP = POINTER(c_void_p)

# Each function's (restype, *argtypes), applied when it is first used: a
# worker, whose start-up time counts, needs a dozen of them.
_SIGNATURES = {
    "shmpool_strerror": lambda: (c_char_p, c_int),
    "shmpool_err_name": lambda: (c_char_p, c_int),
    "shmpool_last_os_error": lambda: (c_int,),
    "shmpool_version_string": lambda: (c_char_p,),
    "shmpool_seg_create": lambda: (c_int, PP, c_char_p, c_size_t, c_uint),
    "shmpool_seg_open": lambda: (c_int, PP, c_char_p, c_uint),
    "shmpool_seg_data": lambda: (c_void_p, P),
    "shmpool_seg_size": lambda: (c_size_t, P),
    "shmpool_seg_name": lambda: (c_char_p, P),
    "shmpool_seg_flags": lambda: (c_uint, P),
    "shmpool_seg_close": lambda: (c_int, P),
    "shmpool_seg_unlink_flags": lambda: (c_int, c_char_p, c_uint),
    "shmpool_name_check": lambda: (c_int, c_char_p),
    "shmpool_seg_info_init_sized": lambda: (None, POINTER(SegInfo), c_size_t),
    "shmpool_seg_inspect": lambda: (c_int, c_char_p, c_uint, POINTER(SegInfo)),
    "shmpool_options_init_sized": lambda: (None, POINTER(Options), c_size_t),
    "shmpool_create": lambda: (c_int, PP, POINTER(Options)),
    "shmpool_submit_options_init_sized": lambda: (
        None, POINTER(SubmitOptions), c_size_t),
    "shmpool_submit_ex": lambda: (c_int, P, c_char_p, c_void_p, c_size_t, PP,
        c_size_t, POINTER(SubmitOptions), POINTER(c_uint64)),
    "shmpool_submit": lambda: (c_int, P, c_char_p, c_void_p, c_size_t, PP,
        c_size_t, POINTER(c_uint64)),
    "shmpool_result_init_sized": lambda: (None, POINTER(Result), c_size_t),
    "shmpool_wait": lambda: (c_int, P, POINTER(Result), c_int),
    "shmpool_wait_id": lambda: (c_int, P, c_uint64, POINTER(Result), c_int),
    "shmpool_cancel": lambda: (c_int, P, c_uint64),
    "shmpool_cancel_all": lambda: (c_int, P),
    "shmpool_map_options_init_sized": lambda: (None, POINTER(MapOptions),
        c_size_t),
    "shmpool_map_start": lambda: (c_int, P, PP, c_char_p, c_void_p, c_size_t,
        c_size_t, PP, c_size_t, c_void_p, c_size_t, c_void_p,
        POINTER(MapOptions)),
    "shmpool_map_next": lambda: (c_int, P, POINTER(c_size_t),
        POINTER(c_size_t), c_int),
    "shmpool_map_progress": lambda: (None, P, POINTER(c_size_t),
        POINTER(c_size_t)),
    "shmpool_map_cancel": lambda: (c_int, P),
    "shmpool_map_finish": lambda: (c_int, P),
    "shmpool_workers": lambda: (c_uint, P),
    "shmpool_control_name": lambda: (c_char_p, P),
    "shmpool_destroy": lambda: (c_int, P),
    "shmpool_is_worker": lambda: (c_int, c_int, POINTER(c_char_p)),
    "shmpool_worker_main": lambda: (c_int, c_int, POINTER(c_char_p),
        POINTER(TaskDef)),
    "shmpool_task_arg": lambda: (c_void_p, P, POINTER(c_size_t)),
    "shmpool_task_id": lambda: (c_uint64, P),
    "shmpool_task_worker": lambda: (c_uint, P),
    "shmpool_task_nsegs": lambda: (c_size_t, P),
    "shmpool_task_seg": lambda: (c_void_p, P, c_size_t, POINTER(c_size_t)),
    "shmpool_task_reply": lambda: (c_int, P, c_void_p, c_size_t),
    "shmpool_task_fail": lambda: (c_int, P, c_int, c_char_p),
}


class _Library:
    """The C library with every function typed on first use (from
    _SIGNATURES); ``lib.shmpool_seg_open(...)`` and so on."""

    def __init__(self, cdll: ctypes.CDLL):
        self._cdll = cdll

    def __getattr__(self, name: str):
        try:
            sig = _SIGNATURES[name]()
        except KeyError:
            raise AttributeError(name) from None
        f = getattr(self._cdll, name)
        f.restype = sig[0]
        f.argtypes = list(sig[1:])
        setattr(self, name, f)  # next time, found without __getattr__
        return f


lib = _Library(_cdll)


def __getattr__(name: str):
    # _lib.shmpool_* for the tests and the rest of the package.
    if name.startswith("shmpool_"):
        return getattr(lib, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def init_sized(init_fn, struct):
    """Run a ``*_init_sized`` function on struct with its ctypes size."""
    init_fn(ctypes.byref(struct), ctypes.sizeof(struct))
    return struct


# ---- errors -------------------------------------------------------------------

def err_name(code: int) -> str:
    """The symbolic name of a library error code ("SHMPOOL_ENOENT")."""
    return lib.shmpool_err_name(code).decode()


def strerror(code: int) -> str:
    """The library's sentence for an error code."""
    return lib.shmpool_strerror(code).decode()


class ShmpoolError(OSError):
    """A call into the C library failed.

    ``code`` is the negative ``SHMPOOL_E*`` value, ``name`` its symbolic
    name, and ``os_error`` the raw ``errno`` / ``GetLastError()`` behind it
    (0 when the failure did not come from the operating system).
    """

    def __init__(self, code: int, what: str = "", os_error: int = 0):
        self.code = code
        self.name = err_name(code)
        self.os_error = os_error
        text = "%s (%s)" % (strerror(code), self.name)
        if what:
            text = "%s: %s" % (what, text)
        if os_error:
            text += " [OS error %d]" % os_error
        super().__init__(text)

    def __reduce__(self):
        return (_rebuild_error, (self.code, self.args[0], self.os_error))


def _rebuild_error(code, text, os_error):
    e = ShmpoolError.__new__(ShmpoolError)
    OSError.__init__(e, text)
    e.code, e.name, e.os_error = code, err_name(code), os_error
    return e


def check(rc: int, what: str = "") -> int:
    """Raise :class:`ShmpoolError` for a negative return code."""
    if rc < 0:
        raise ShmpoolError(rc, what, lib.shmpool_last_os_error())
    return rc
