"""shmpool: named shared-memory segments as numpy arrays.

A :class:`Segment` travels inside pickles *by name*: unpickling attaches to
the same memory, nothing is copied. The package is a thin layer over the C
library libshmpool (see docs/PYTHON.md), found through the environment
variable SHMPOOL_LIBRARY, next to this package, or on the system's library
path.
"""

from ._lib import ShmpoolError, path as library_path
from ._segment import Segment

__version__ = "0.1.0"

__all__ = ["Segment", "ShmpoolError", "library_path", "library_version"]


def library_version() -> str:
    """The version of the C library actually loaded ("0.1.0")."""
    from ._lib import lib
    return lib.shmpool_version_string().decode()
