#!/bin/sh
# The fuzz leg of CI (tools/test-all.sh fuzz): build the libFuzzer targets
# in fuzz/ with clang into build/fuzz, run the seed-corpus smoke tests, then
# fuzz each target for FUZZ_SECONDS (default 30) on a copy of its seed
# corpus. Exit status 1 if anything crashed or an invariant failed; the
# crashing input is left in build/fuzz/artifacts/<target>/ (see
# fuzz/README.md to reproduce it).
#
#   sh tools/fuzz.sh                 FUZZ_SECONDS=300 sh tools/fuzz.sh
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
b="$root/build/fuzz"
seconds=${FUZZ_SECONDS:-30}
targets="fuzz_name fuzz_header fuzz_control"

CC=clang cmake -S "$root" -B "$b" -G Ninja \
  -DSHMPOOL_BUILD_FUZZ=ON -DSHMPOOL_BUILD_TESTS=OFF \
  -DSHMPOOL_BUILD_EXAMPLES=OFF -DSHMPOOL_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$b"

# Every committed seed once (ctest -L fuzz).
(cd "$b" && ctest -L fuzz --output-on-failure)

# Fuzzing works on copies: the committed corpus never changes in CI.
work="$b/run"
rm -rf "$work"
mkdir -p "$work"
total=0
failed=0
for t in $targets; do
  total=$((total + 1))
  bin="$b/fuzz/$t"
  if [ ! -x "$bin" ]; then
    echo "fuzz $t: executable not found under $b"
    failed=$((failed + 1))
    continue
  fi
  cp -R "$root/fuzz/corpus/$t" "$work/$t-corpus"
  rm -rf "$b/artifacts/$t"
  mkdir -p "$b/artifacts/$t"
  log="$work/$t.log"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$b/artifacts/$t/" \
       "$work/$t-corpus" >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed=$((failed + 1))
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
  printf 'fuzz %-13s %-6s %ss  execs %s (%s/s)  %s  corpus %s files\n' \
    "$t" "$status" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-cov: ?}" \
    "$(ls "$work/$t-corpus" | wc -l | tr -d ' ')"
  if [ "$status" = FAILED ]; then
    echo "---- $t: $(grep -m 1 -E 'invariant violated|ERROR:|runtime error' "$log" || true)"
    echo "---- $t: last lines of $log ----"
    tail -n 40 "$log"
    echo "---- crashing inputs: $(ls "$b/artifacts/$t" 2>/dev/null | tr '\n' ' ')"
  fi
done

passed=$((total - failed))
echo "$((passed * 100 / total))% tests passed, $failed tests failed out of $total"
[ "$failed" -eq 0 ] || exit 1
