"""The exceptions a pool raises for its tasks."""

from __future__ import annotations


__all__ = ["WorkerError", "RemoteError", "TaskError", "CancelledError",
           "InitializerError", "RemoteTraceback"]


class WorkerError(Exception):
    """The worker process running the task died (a crash, ``os._exit``, a
    signal) before the task completed. Only the tasks that worker was
    running fail; the pool replaces the worker and goes on.

    ``exit_code`` is the worker's exit status (-1 if a signal killed it or
    it is unknown); ``term_signal`` the POSIX signal that killed it, else 0.
    """

    def __init__(self, message: str, exit_code: int = -1,
                 term_signal: int = 0, task_id: Optional[int] = None):
        super().__init__(message)
        self.exit_code = exit_code
        self.term_signal = term_signal
        self.task_id = task_id

    def __reduce__(self):
        return (type(self), (self.args[0], self.exit_code, self.term_signal,
                             self.task_id))


class RemoteError(Exception):
    """A task raised an exception that could not be sent back as itself
    (it, or its arguments, could not be pickled or unpickled).

    ``type_name`` is the remote exception's qualified type name and
    ``remote_traceback`` its formatted traceback.
    """

    def __init__(self, type_name: str, message: str, remote_traceback: str):
        super().__init__("%s: %s" % (type_name, message))
        self.type_name = type_name
        self.message = message
        self.remote_traceback = remote_traceback

    def __reduce__(self):
        return (type(self), (self.type_name, self.message,
                             self.remote_traceback))

    def __str__(self) -> str:
        return "%s: %s\n\nRemote traceback:\n%s" % (
            self.type_name, self.message, self.remote_traceback.rstrip())


class TaskError(Exception):
    """A C task (a pool over a C worker executable) completed with a
    nonzero status. ``status`` is the task's own status, ``message`` what
    it gave to ``shmpool_task_fail`` (or None)."""

    def __init__(self, task: str, status: int, message: Optional[str] = None):
        text = "task %s failed with status %d" % (task, status)
        if message:
            text += ": " + message
        super().__init__(text)
        self.task = task
        self.status = status
        self.message = message


class CancelledError(Exception):
    """The task was canceled (:meth:`Future.cancel`, :meth:`Pool.cancel_all`,
    or a map that stopped at another element's failure)."""


class InitializerError(Exception):
    """The pool's initializer failed in a worker, so the pool did not
    start. The remote exception, when it could be sent back, is the
    ``__cause__``."""


class RemoteTraceback(Exception):
    """Carries a task's remote traceback text; set as the ``__cause__`` of
    an exception re-raised in the parent, so that printing it shows where
    in the worker it happened (as :mod:`concurrent.futures` does)."""

    def __init__(self, tb: str):
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return self.tb
