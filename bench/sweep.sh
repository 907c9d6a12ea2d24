#!/bin/sh
# Sum arrays of growing size with bench_pool and print one line per size:
#   size_mib first_use_ms after_first_use_ms two_threads_ms threads_fresh_ms
# (the data behind docs/perf_sum.png; plot with bench/plot.gp).
#   bench/sweep.sh [bench_pool] > build/sweep.dat
set -eu
bench=${1:-build/release/bench/bench_pool}
echo "# size_mib first_ms steady_ms threads_ms threads_first_ms"
for mib in 64 128 256 512 1024 2048; do
  gib=$(awk "BEGIN { print $mib / 1024 }")
  "$bench" --only sum --gib "$gib" | awk -v mib="$mib" '
    $1 == "sum_first_ms" { f = $2 } $1 == "sum_ms" { s = $2 }
    $1 == "threads_sum_ms" { t = $2 } $1 == "threads_first_ms" { tf = $2 }
    END { print mib, f, s, t, tf }'
done
