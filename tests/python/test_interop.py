"""Python <-> shmpool interoperability tests (CTest label "python").

    test_interop.py --helper PATH CASE

PATH is the interop_helper executable (the C side, see interop_helper.c);
CASE is one of the cases below. Exit status 0: passed; 1: failed; 77: skipped
(numpy missing). Every segment name contains this process's pid, and every
case checks at the end that it left nothing in /dev/shm (removing leftovers
and failing if there were any).

Patterns, shared with interop_helper.c (exact in binary, so == is safe):
    P(i) = i * 0.25 - 3           C writes it
    W    = 1000 + i at i % 3 == 0  Python writes it over P
    Q(i) = (i % 100) * 0.5 - 7    Python writes it
"""
import argparse
import os
import struct
import subprocess
import sys
import time

try:
    import numpy as np
except ImportError:  # pragma: no cover
    print("SKIP: numpy is not available for", sys.executable)
    sys.exit(77)

from multiprocessing import resource_tracker, shared_memory

# Not a multiple of the page size: a RAW open on Linux must still be exact.
COUNT = 100003
HDR = 64
MAGIC = b"SHMPOOL\x1a"

HELPER = None
NAMES = []  # every segment name this run used, for the leftover check


def pat_p(n):
    return np.arange(n, dtype=np.float64) * 0.25 - 3.0


def pat_q(n):
    return (np.arange(n) % 100).astype(np.float64) * 0.5 - 7.0


def pat_w(n):
    v = pat_p(n)
    v[0::3] = 1000.0 + np.arange(0, n, 3, dtype=np.float64)
    return v


def seg_name(tag):
    name = "shmpool-py%d-%s" % (os.getpid(), tag)
    assert len(name) <= 30, name
    NAMES.append(name)
    return name


def shm_path(name):
    return "/dev/shm/" + name


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def helper(*args, expect_rc=0):
    r = subprocess.run([HELPER] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=60)
    sys.stdout.write("".join("  C> " + l + "\n" for l in r.stdout.splitlines()))
    sys.stderr.write(r.stderr)
    if expect_rc is not None and r.returncode != expect_rc:
        raise AssertionError("helper %s exited %d, expected %d"
                             % (" ".join(map(str, args)), r.returncode,
                                expect_rc))
    return r.stdout


class Server:
    """A C process that creates a segment and holds it until told to stop."""

    def __init__(self, *args):
        self.p = subprocess.Popen([HELPER] + [str(a) for a in args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        line = self.p.stdout.readline()
        print("  C> " + line.rstrip())
        if not line.startswith("READY"):
            self.p.kill()
            raise AssertionError("server did not start: %r" % line)
        self.size = int(line.split()[1])

    def finish(self):
        out, _ = self.p.communicate("done\n", timeout=60)
        sys.stdout.write("".join("  C> " + l + "\n" for l in out.splitlines()))
        return self.p.returncode, out


def attach(name):
    """Attach to a segment that C owns, and stop this process's resource
    tracker from unlinking it at exit (Python 3.8-3.12 register attached
    segments too; 3.13+ could pass track=False instead)."""
    shm = shared_memory.SharedMemory(name=name)
    resource_tracker.unregister(shm._name, "shared_memory")
    return shm


def zero_copy_view(shm, count, offset):
    """A float64 view of shm at offset, and proof that nothing was copied."""
    arr = np.ndarray((count,), dtype=np.float64, buffer=shm.buf, offset=offset)
    raw = np.frombuffer(shm.buf, dtype=np.uint8)
    check(not arr.flags.owndata, "the array does not own its data")
    check(arr.__array_interface__["data"][0]
          == raw.__array_interface__["data"][0] + offset,
          "the array starts at mapping + %d" % offset)
    # A write through numpy is a write into the shared mapping.
    old = arr[1]
    arr[1] = 12345.5
    seen = struct.unpack_from("=d", shm.buf, offset + 8)[0]
    arr[1] = old
    check(seen == 12345.5, "a write through the array is in shm.buf")
    del raw
    return arr


# ---- a: C creates a RAW segment, Python reads it and writes back -----------

def case_raw_c_alive():
    """a (kept alive): C holds a RAW segment open while Python works on it."""
    name = seg_name("a1")
    srv = Server("serve-raw", name, COUNT)
    check(srv.size == COUNT * 8, "C reports the raw size")
    shm = attach(name)
    check(shm.size == COUNT * 8, "Python sees the exact size %d" % shm.size)
    arr = zero_copy_view(shm, COUNT, 0)
    check(np.array_equal(arr, pat_p(COUNT)), "Python reads C's values")
    arr[0::3] = 1000.0 + np.arange(0, COUNT, 3, dtype=np.float64)
    del arr
    shm.close()
    rc, out = srv.finish()
    check(rc == 0 and "CHECKED 0 bad" in out, "C reads Python's writes")
    check(not os.path.exists(shm_path(name)), "C's close unlinked it")


def case_raw_c_persist():
    """a (PERSIST): C creates a persistent RAW segment and exits."""
    name = seg_name("a2")
    helper("create-raw", name, COUNT)
    check(os.path.exists(shm_path(name)), "the segment outlives its creator")
    st = os.stat(shm_path(name))
    check(st.st_mode & 0o777 == 0o600, "mode 0600")
    shm = attach(name)
    arr = zero_copy_view(shm, COUNT, 0)
    check(np.array_equal(arr, pat_p(COUNT)), "Python reads C's values")
    arr[0::3] = 1000.0 + np.arange(0, COUNT, 3, dtype=np.float64)
    del arr
    shm.close()
    out = helper("check-raw", name, COUNT)
    check("CHECKED 0 bad" in out and "UNLINK 0" in out,
          "C reads Python's writes and unlinks")


# ---- b: Python creates, C opens it RAW -------------------------------------

def case_raw_py():
    name = seg_name("b")
    shm = shared_memory.SharedMemory(name=name, create=True, size=COUNT * 8)
    try:
        check(os.stat(shm_path(name)).st_mode & 0o777 == 0o600,
              "Python's segment has mode 0600 (same owner: C may open it)")
        arr = zero_copy_view(shm, COUNT, 0)
        arr[:] = pat_q(COUNT)
        out = helper("check-py", name, COUNT)
        check("OPEN-NO-RAW SHMPOOL_EFORMAT" in out,
              "C opening it without RAW fails with SHMPOOL_EFORMAT")
        check("SIZE %d" % (COUNT * 8) in out, "C's RAW open: exact size")
        check("CHECKED 0 bad" in out, "C read Python's values")
        expect = pat_q(COUNT)
        expect[1::2] *= 2.0
        check(np.array_equal(arr, expect), "Python reads C's writes")
        check(os.path.exists(shm_path(name)),
              "C (an opener) did not unlink it")
        out = helper("pool-sum", name, COUNT)
        check("SUM %.17g" % float(arr.sum()) in out,
              "a C pool's workers (RAW, read-only) sum it as numpy does")
        del arr
    finally:
        shm.close()
        shm.unlink()  # the creator unlinks (and unregisters from the tracker)

    # An object too short to hold a header is refused just as cleanly.
    tiny_name = seg_name("b16")
    tiny = shared_memory.SharedMemory(name=tiny_name, create=True, size=16)
    try:
        out = helper("open", tiny_name, expect_rc=3)
        check("OPEN SHMPOOL_EFORMAT" in out, "a 16-byte object: EFORMAT")
    finally:
        tiny.close()
        tiny.unlink()


# ---- c: a shmpool (header) segment viewed with numpy -----------------------

def fnv1a32(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def case_header():
    name = seg_name("c")
    helper("create-hdr", name, COUNT)
    shm = attach(name)
    buf = shm.buf
    magic = bytes(buf[0:8])
    version, hdr_size, state, size = struct.unpack_from("=HHIQ", buf, 8)
    attrs, = struct.unpack_from("=I", buf, 48)
    reserved, = struct.unpack_from("=Q", buf, 52)
    checksum, = struct.unpack_from("=I", buf, 60)
    check(magic == MAGIC, "magic")
    check(version == 1 and hdr_size == HDR, "version 1, hdr_size 64")
    check(state & 0x1 and not state & 0x2, "state: READY, not UNLINKED")
    check(attrs & 0x1, "attrs: PERSIST")
    check(reserved == 0, "reserved is zero")
    check(checksum == fnv1a32(bytes(buf[0:12]) + bytes(buf[16:60])),
          "FNV-1a checksum as docs/FORMAT.md describes it")
    check(size == COUNT * 8, "header size field = the exact user size")
    check(shm.size >= HDR + size, "the object holds header + data (%d)"
          % shm.size)
    arr = zero_copy_view(shm, size // 8, HDR)
    check(np.array_equal(arr, pat_p(COUNT)), "values at offset 64")
    arr[0::3] = 1000.0 + np.arange(0, COUNT, 3, dtype=np.float64)
    del arr, buf
    shm.close()
    out = helper("check-hdr", name, COUNT)
    check("CHECKED 0 bad" in out and "UNLINK 0" in out,
          "C (validated open) reads Python's writes, then unlinks")


# ---- d: the resource tracker -----------------------------------------------

CHILD = r"""
import sys
from multiprocessing import resource_tracker, shared_memory
name, mode = sys.argv[1], sys.argv[2]
if mode == "track-false":
    shm = shared_memory.SharedMemory(name=name, track=False)   # 3.13+
else:
    shm = shared_memory.SharedMemory(name=name)
    if mode == "unregister":
        resource_tracker.unregister(shm._name, "shared_memory")
print("size", shm.size)
print("tracker", resource_tracker._resource_tracker._pid)
shm.close()
"""


def pid_gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def attach_in_child(name, mode):
    """A separate Python process attaches to name and exits; wait until its
    resource tracker (which unlinks what it still tracks) has exited too."""
    r = subprocess.run([sys.executable, "-c", CHILD, name, mode],
                       capture_output=True, text=True, timeout=60)
    sys.stdout.write("".join("  py> " + l + "\n" for l in r.stdout.splitlines()))
    sys.stdout.write("".join("  py! " + l + "\n" for l in r.stderr.splitlines()))
    if r.returncode != 0:
        raise AssertionError("child python failed (%s)" % mode)
    pid = [l.split()[1] for l in r.stdout.splitlines() if l.startswith("tracker")]
    if pid and pid[0] != "None":
        deadline = time.monotonic() + 20
        while not pid_gone(int(pid[0])):
            if time.monotonic() > deadline:
                raise AssertionError("resource tracker %s still runs" % pid[0])
            time.sleep(0.02)
    return r.stderr


def case_tracker():
    modes = ["unregister"]
    if sys.version_info >= (3, 13):
        modes.append("track-false")
    else:
        print("note: track=False needs Python 3.13; this is",
              sys.version.split()[0])

    # C owns a segment (a running C process, not PERSIST).
    name = seg_name("d")
    srv = Server("serve-hdr", name, 1000)
    for mode in modes:
        attach_in_child(name, mode)
        out = helper("open", name, expect_rc=None)
        check("OPEN 0" in out, "after a Python process attached (%s) and "
              "exited, C can still open the segment" % mode)

    # The problem itself: without the workaround, the tracker of a process
    # that merely attached unlinks the segment when that process exits.
    err = attach_in_child(name, "none")
    out = helper("open", name, expect_rc=None)
    if "OPEN SHMPOOL_ENOENT" in out:
        print("demonstrated: Python %s's resource tracker unlinked a segment "
              "C owns (tracker said: %s)" % (sys.version.split()[0],
                                              "leaked shared_memory" in err))
    else:
        check(sys.version_info >= (3, 14),
              "Python <= 3.13 unlinks an attached segment at exit")
        print("note: this Python did not unlink it")
    rc, out = srv.finish()
    check(rc == 0, "the C owner closes cleanly even though its name is gone")
    check(not os.path.exists(shm_path(name)), "nothing left")

    # The same with a PERSIST segment that no process holds.
    name = seg_name("d2")
    helper("create-hdr", name, 1000)
    for mode in modes:
        attach_in_child(name, mode)
        check("OPEN 0" in helper("open", name, expect_rc=None),
              "PERSIST segment survives a Python attach (%s)" % mode)
    check("UNLINK 0" in helper("unlink", name), "C unlinks it")


CASES = {
    "raw-c-alive": case_raw_c_alive,
    "raw-c-persist": case_raw_c_persist,
    "raw-py": case_raw_py,
    "header": case_header,
    "tracker": case_tracker,
}


def main():
    global HELPER
    ap = argparse.ArgumentParser()
    ap.add_argument("--helper", required=True)
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args()
    HELPER = a.helper
    print("python", sys.version.split()[0], "numpy", np.__version__)
    failed = False
    try:
        CASES[a.case]()
    except Exception as e:  # report, then still clean up
        import traceback
        traceback.print_exc()
        failed = True
    for name in NAMES:
        if os.path.exists(shm_path(name)):
            print("FAIL: leftover /dev/shm/%s (removed)" % name)
            os.unlink(shm_path(name))
            failed = True
    print("FAILED" if failed else "PASSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
