#!/usr/bin/env python3
"""numpy_view: read an array that a C program made, with numpy, without
copying it.

    numpy_view.py --make-array PATH [--n N]   run PATH (examples/make_array)
                                              to make the array, read it,
                                              then have C unlink it
    numpy_view.py --name NAME                 read an existing shmpool
                                              segment; leave it alone

A shmpool segment is a shared-memory object with a 64-byte header: the
exact size of the data is the 8-byte integer at offset 16, and the data
starts at offset 64 (docs/FORMAT.md). multiprocessing.shared_memory maps
the object; numpy views the mapping in place.

SPDX-License-Identifier: MIT
"""
import argparse
import os
import struct
import subprocess
import sys

import numpy as np
from multiprocessing import resource_tracker, shared_memory

HEADER = 64
MAGIC = b"SHMPOOL\x1a"


def attach(name):
    """Attach to a segment some other program owns."""
    shm = shared_memory.SharedMemory(name=name)
    if os.name == "posix":
        # Python 3.8-3.12 register attached segments with the resource
        # tracker, which unlinks them when this process exits: not ours to
        # remove. (3.13+: SharedMemory(name=name, track=False).)
        resource_tracker.unregister(shm._name, "shared_memory")
    return shm


def view(shm):
    """The segment's float64 data as a numpy array, not a copy."""
    if bytes(shm.buf[:8]) != MAGIC:
        raise SystemExit("numpy_view: %s is not a shmpool segment" % shm.name)
    size, = struct.unpack_from("=Q", shm.buf, 16)  # exact user size
    return np.ndarray((size // 8,), dtype=np.float64, buffer=shm.buf,
                      offset=HEADER)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--make-array", metavar="PATH",
                   help="the make_array executable")
    g.add_argument("--name", help="an existing shmpool segment")
    ap.add_argument("--n", type=int, default=1000000,
                    help="doubles for make_array to make")
    a = ap.parse_args()

    maker, c_sum = None, None
    name = a.name
    if a.make_array:
        # make_array prints name/n/sum, then exits (POSIX: the segment is
        # PERSIST) or, on Windows, holds it until we close its stdin.
        maker = subprocess.Popen([a.make_array, "--n", str(a.n)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True)
        info = {}
        for line in maker.stdout:
            key, value = line.split(None, 1)
            info[key] = value.strip()
            if key == "sum":
                break
        name, c_sum = info["name"], float(info["sum"])
        print("C made segment %s: %s doubles, sum %s" % (name, info["n"],
                                                         info["sum"]))

    shm = attach(name)
    try:
        arr = view(shm)
        print("numpy: %d doubles at offset %d of a %d-byte mapping; "
              "owns its data: %s" % (arr.size, HEADER, shm.size,
                                     arr.flags.owndata))
        total = float(arr.sum())
        print("numpy sum: %.17g" % total)
        del arr  # release the view before closing the mapping
    finally:
        shm.close()

    if maker is not None:
        # The C side owns the name: it removes it.
        subprocess.run([a.make_array, "--unlink", name], check=True)
        maker.stdin.close()
        maker.wait(timeout=60)
        if total != c_sum:
            print("WRONG: C said %.17g" % c_sum)
            return 1
        print("check: matches C's sum")
    return 0


if __name__ == "__main__":
    sys.exit(main())
