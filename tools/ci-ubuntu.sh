#!/bin/sh
# The Ubuntu leg of appveyor.yml: the native presets (dev, asan).
#
# CMakePresets.json needs CMake >= 3.25. Ubuntu 22.04's own package is
# 3.22, so installing "cmake" with apt would shadow nothing useful; the
# image's preinstalled CMake varies with the image version. Take the
# PyPI build instead, pinned to a range, into ~/.local, ahead on PATH,
# and check the version before using it.
set -eu
sudo apt-get update -q
sudo apt-get install -y -q libcmocka-dev ninja-build python3-pip
python3 -m pip install --user --quiet "cmake>=3.25,<3.31"
PATH="$HOME/.local/bin:$PATH"
export PATH
v=$(cmake --version | awk 'NR == 1 { print $3 }')
case $v in
3.2[5-9].* | 3.30.*) echo "ci-ubuntu: cmake $v from $(command -v cmake)" ;;
*)
  echo "ci-ubuntu: cmake $v is not >= 3.25" >&2
  exit 1
  ;;
esac
cmake --workflow --preset dev
cmake --workflow --preset asan
