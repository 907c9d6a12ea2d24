#!/bin/sh
# Sum arrays of growing size with bench_pool and print one line per size:
#   size_mib first_use_ms after_first_use_ms two_threads_ms threads_fresh_ms
#   python_ms
# (the data behind docs/perf_sum.png; plot with bench/plot.gp). python_ms is
# Python's Pool(2).map over the array's two halves, pickled to the workers
# (bench/compare.py --python-sum); NaN where Python or numpy is missing.
#   bench/sweep.sh [bench_pool] > build/sweep.dat
set -eu
bench=${1:-build/release/bench/bench_pool}
py=${PYTHON:-/usr/bin/python3}
here=$(dirname "$0")
echo "# size_mib first_ms steady_ms threads_ms threads_first_ms python_ms"
for mib in 64 128 256 512 1024 2048; do
  gib=$(awk "BEGIN { print $mib / 1024 }")
  pyms=$("$py" "$here/compare.py" --python-sum "$mib" 2>/dev/null |
    awk '$1 == "python_sum_ms" { print $2 }') || pyms=""
  "$bench" --only sum --gib "$gib" | awk -v mib="$mib" -v py="${pyms:-NaN}" '
    $1 == "sum_first_ms" { f = $2 } $1 == "sum_ms" { s = $2 }
    $1 == "threads_sum_ms" { t = $2 } $1 == "threads_first_ms" { tf = $2 }
    END { print mib, f, s, t, tf, py }'
done
