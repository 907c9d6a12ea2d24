"""What a Python pool's parent and its workers say to each other, through
the C pool's task and result slots.

A task is the C task ``"py"``; its argument is one byte of flags and then a
pickle of ``(kind, fn, data, kwargs)``, where ``fn`` is itself the bytes of
the function's pickle (made once per map, and unpickled once per worker
when ``kind`` has the ``FN_CACHE`` bit: it names no segment). The kinds:

* ``CALL``: ``fn(*data, **kwargs)``;
* ``CHUNK``: ``[fn(x) for x in data]``;
* ``STARCHUNK``: ``[fn(*x) for x in data]``.

If the pickle does not fit in the pool's ``max_arg_size``, the flags say
``ARG_SPILLED`` and the pickle is the whole data of the task's last
segment, a temporary segment the parent created for it (the C pool keeps it
until the task completes).

A reply is one byte of kind (``REPLY_VALUE`` or ``REPLY_ERROR``, the latter
with task status ``STATUS_EXCEPTION``) and then a pickle: the value, or
``(the exception's own pickle or None, type name, message, traceback
text)``. A reply larger
than ``max_reply_size`` is written by the worker into a segment named
``spill_name(token, task id)``; the reply then carries the ``SPILLED`` bit
and nothing else. The parent reads the segment as soon as the result
arrives and unlinks it; the worker, which created it, keeps it open until it
sees the name unlinked (and at its exit leaves it to the parent, so that a
recycled worker cannot remove a reply not yet read). The parent also
unlinks that name for every task that ends without a normal reply (a worker
died, a cancel) or is still in flight when the pool is destroyed, in case
the worker got as far as creating it. If the parent itself dies first, the
segment is left, owned by a worker that is gone too: ``shmpool gc``
removes it.

The initializer is the C task ``"pyinit"``, whose argument is one byte of
flags and a pickle of the dict ``prepare()`` reads (sys.path, the main
module, the user's initializer pickled separately), spilled the same way
into a segment the pool keeps for its whole life (replacement workers run
the initializer too) and whose name then follows the flags byte.
"""

TASK = b"py"
INIT_TASK = b"pyinit"

ARG_INLINE = 0
ARG_SPILLED = 1

CALL = 0
CHUNK = 1
STARCHUNK = 2
OP_MASK = 0x0F
FN_CACHE = 0x10

REPLY_VALUE = 0
REPLY_ERROR = 1
SPILLED = 0x80

STATUS_EXCEPTION = 1
STATUS_INIT_FAILED = 2

PROTOCOL = 5  # pickle protocol: Python 3.8+


def spill_name(token: str, task_id: int) -> str:
    """The segment a worker spills task ``task_id``'s large reply into:
    ``spy`` + the pool's 8-character token + ``.`` + the id in hex, at most
    28 characters (the portable limit is 30)."""
    return "spy%s.%x" % (token, task_id)


def init_error_name(token: str) -> str:
    """Where a worker whose initializer failed leaves the exception."""
    return "spy%s.init" % token
