"""tests/python/acceptance.py (issue #15's acceptance script), run as a
program, leaving nothing behind."""
import os
import subprocess
import sys

import shmpool
from shmpool import _lib

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "acceptance.py")


def test_acceptance_script():
    before = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") \
        else set()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(shmpool.__file__))] +
        [p for p in [os.environ.get("PYTHONPATH")] if p]))
    p = subprocess.Popen([sys.executable, SCRIPT], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=env)
    out, _ = p.communicate(timeout=300)
    print(out)
    assert p.returncode == 0, out
    assert "acceptance: all checks passed" in out
    if os.path.isdir("/dev/shm"):
        info = _lib.init_sized(_lib.shmpool_seg_info_init_sized,
                               _lib.SegInfo())
        left = [n for n in set(os.listdir("/dev/shm")) - before
                if _lib.shmpool_seg_inspect(n.encode(), 0, info) == 0
                and info.creator_pid == p.pid]
        assert not left, left
