#!/bin/sh
# The Python package installs offline into a venv made by Debian's Python,
# and finds the C library each documented way (CTest: python_venv_install).
#
#   tests/python/venv_install.sh SOURCE_DIR LIBRARY [PYTHON]
#
# SOURCE_DIR is the repository, LIBRARY a built libshmpool.so, PYTHON the
# interpreter that makes the venvs (default /usr/bin/python3). Exit status
# 77 (skipped) when the interpreter cannot make a venv with pip, or has no
# setuptools. The installs run without network where `unshare -n` works
# (root, or a user namespace), and always with --no-index and a proxy that
# refuses connections, so a download attempt fails the test.
set -eu
src=$(cd "$1" && pwd)
lib=$2
py=${3:-/usr/bin/python3}

skip() { echo "SKIP: $*"; exit 77; }
"$py" -c "import ensurepip, venv" 2>/dev/null ||
  skip "$py cannot make a venv with pip (Debian: apt-get install python3-venv)"
"$py" -c "import setuptools" 2>/dev/null ||
  skip "$py has no setuptools (Debian: apt-get install python3-setuptools)"
"$py" -c "import numpy" 2>/dev/null ||
  skip "$py has no numpy (Debian: apt-get install python3-numpy)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" # nothing of the source tree is importable from here
unset PYTHONPATH SHMPOOL_LIBRARY

offline=""
if unshare -n true 2>/dev/null; then
  offline="unshare -n"
  echo "installing with no network (unshare -n)"
else
  echo "unshare -n is not available: --no-index and a refusing proxy only"
fi

# A copy of python/ without build leftovers; the build happens in the copy.
copy() {
  mkdir -p "$1"
  cp "$src/python/pyproject.toml" "$src/python/README.md" "$1/"
  mkdir "$1/shmpool"
  cp "$src"/python/shmpool/*.py "$src/python/shmpool/py.typed" "$1/shmpool/"
}

install() { # install VENV PKGDIR
  "$py" -m venv --system-site-packages "$1"
  # No index, no local wheel directories or config files either: what
  # is installed is built from the copy, with Debian's setuptools.
  env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
    $offline "$1/bin/pip" install --no-index --no-build-isolation "$2"
}

echo "== 1. pip install --no-index --no-build-isolation, SHMPOOL_LIBRARY"
copy "$tmp/pkg"
install "$tmp/v1" "$tmp/pkg"
SHMPOOL_LIBRARY=$lib "$tmp/v1/bin/python" -c "
import shmpool, sys
assert shmpool.__file__.startswith('$tmp/v1/'), shmpool.__file__
assert shmpool.library_path == '$lib', shmpool.library_path
print('imported', shmpool.__file__, 'library', shmpool.library_path)"
# Workers are the venv's interpreter, which finds the installed package.
SHMPOOL_LIBRARY=$lib "$tmp/v1/bin/python" "$src/tests/python/acceptance.py"

echo "== 2. the library installed next to the package"
copy "$tmp/pkg2"
cp "$lib" "$tmp/pkg2/shmpool/libshmpool.so.0"
install "$tmp/v2" "$tmp/pkg2"
"$tmp/v2/bin/python" -c "
import shmpool, os
assert shmpool.library_path.startswith('$tmp/v2/'), shmpool.library_path
print('library', shmpool.library_path)
s = shmpool.Segment.create(shape=4)
with shmpool.Pool(workers=1) as p:
    assert p.map(len, ['ab', 'abc']) == [2, 3]
s.close()"

echo "== 3. the library on the system's search path"
mkdir "$tmp/libdir"
cp "$lib" "$tmp/libdir/libshmpool.so.0"
LD_LIBRARY_PATH=$tmp/libdir "$tmp/v1/bin/python" -c "
import shmpool
assert shmpool.library_path == 'libshmpool.so.0', shmpool.library_path
with shmpool.Pool(workers=1) as p:
    assert p.submit(abs, -3).result() == 3
print('library', shmpool.library_path)"

echo "== 4. no library anywhere: an ImportError that says what it tried"
if "$tmp/v1/bin/python" -c "import shmpool" 2>"$tmp/err"; then
  echo "libshmpool is installed system-wide: case 4 not checked"
else
  cat "$tmp/err"
  grep -q "ImportError: shmpool: cannot find the C library" "$tmp/err"
  grep -q "SHMPOOL_LIBRARY" "$tmp/err"
fi
echo "venv install: ok"
