#!/bin/sh
# The MinGW-w64 (MSYS2) leg of appveyor.yml: shared and static builds,
# ctest, install, and a find_package consumer. Runs in MSYS2's MINGW64 shell.
set -eu
for shared in ON OFF; do
  b=build-$shared
  cmake -S . -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DBUILD_SHARED_LIBS=$shared -DSHMPOOL_WERROR=ON
  cmake --build "$b"
  ctest --test-dir "$b" --output-on-failure --timeout 600
  cmake --install "$b" --prefix "$PWD/prefix-$shared"
  c=consumer-$shared
  cmake -S tests/consumers/find_package -B "$c" -G Ninja \
    -DCMAKE_PREFIX_PATH="$PWD/prefix-$shared"
  cmake --build "$c"
  if [ "$shared" = ON ]; then
    cp prefix-$shared/bin/*.dll "$c/"
  fi
  ctest --test-dir "$c" --output-on-failure
done
