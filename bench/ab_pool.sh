#!/bin/sh
# Two builds of bench_pool against each other in one run: they take turns,
# so a machine that gets busier hurts both; prints the median of every
# figure for each side and the ratio new / old.
#
#   bench/ab_pool.sh OLD_BENCH NEW_BENCH [RUNS]
#
# Each run is `bench_pool --quick` plus `bench_pool --only start` (15
# starts) for each side. Old: a bench_pool built from an earlier commit,
# e.g. git worktree add /tmp/old 6d5f53f && cmake -S /tmp/old -B
# /tmp/old/build -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/old/build.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 OLD_BENCH NEW_BENCH [RUNS]" >&2; exit 2; }
old=$1 new=$2 runs=${3:-9}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
i=1
while [ "$i" -le "$runs" ]; do
  for side in old new; do
    eval "b=\$$side"
    { "$b" --quick; "$b" --only start | sed 's/^start_ms/start15_ms/'; } \
      >"$out/$side.$i"
  done
  i=$((i + 1))
done
python3 - "$out" "$runs" <<'PY'
import statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def load(side):
    d = {}
    for i in range(1, runs + 1):
        for line in open(f"{out}/{side}.{i}"):
            p = line.split()
            if len(p) >= 2:
                d.setdefault(p[0], []).append(float(p[1]))
    return d
o, n = load("old"), load("new")
print(f"# medians of {runs} runs each, taking turns")
for k in o:
    if k in n:
        mo, mn = statistics.median(o[k]), statistics.median(n[k])
        print(f"{k:20s} old {mo:14.3f}  new {mn:14.3f}  new/old {mn / mo:6.3f}"
              f"  old [{min(o[k]):.3f}, {max(o[k]):.3f}]"
              f"  new [{min(n[k]):.3f}, {max(n[k]):.3f}]")
PY
