#!/bin/sh
# The measurements of docs/SCALING.md: one computation (random lookups of
# KEYS keys in a read-only table of TABLE_MIB MiB that every computing
# process reads) run three ways on one host, by examples/mpi_hybrid:
#
#   mpi     pure MPI: 2 ranks, each holds a copy of the table
#   hybrid  1 rank + a pool of 2 workers: one copy, in a shmpool segment
#   window  2 ranks sharing one copy in an MPI-3 shared window
#
# Each way runs RUNS times, the three taking turns; the script prints, per
# way, the median over the runs (and the range) of: the setup (table made
# and broadcast, keys made, pool started), the first round of lookups, the
# steady rounds (each run's median of rounds 2-5), and the PSS of the ranks
# and workers (/proc/PID/smaps_rollup, measured after the rounds while
# everything is still mapped), with the launcher's (mpirun's) own PSS
# apart.
#
#   bench/mpi_scaling.sh MPI_HYBRID [RUNS] [TABLE_MIB] [KEYS]
#
# MPI_HYBRID is the built example, e.g. build/release/examples/mpi_hybrid;
# the defaults are 5 runs, a 1024 MiB table and 16777216 keys. Run it on a
# quiet machine: it prints the load average before and after.
set -eu
if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 MPI_HYBRID [RUNS] [TABLE_MIB] [KEYS]" >&2
  exit 2
fi
exe=$1
runs=${2:-5}
mib=${3:-1024}
keys=${4:-16777216}
# Open MPI refuses to run as root unless told twice.
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The median of the numbers on stdin, then their range in brackets.
stats() {
  sort -n | awk '{ v[NR] = $1 }
    END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%.1f [%.1f-%.1f]", m, v[1], v[NR] }'
}

# One number from each run's output: grab FILE SED-SCRIPT.
grab() {
  sed -n "$2" "$1"
}

# One run of one way: run_way NAME RUN "MPIRUN OPTIONS" "PROGRAM OPTIONS".
# Its figures are appended to $tmp/NAME.*; the first run's report is kept.
run_way() {
  # Word splitting of the two option strings is wanted here.
  # shellcheck disable=SC2086
  if ! mpirun $3 "$exe" --table-mib "$mib" --keys "$keys" --rounds 5 $4 \
       >"$tmp/out" 2>"$tmp/err" ||
     [ "$(tail -n 1 "$tmp/out")" != "check: ok" ]; then
    cat "$tmp/out" "$tmp/err"
    echo "$1: run $2 failed" >&2
    exit 1
  fi
  o=$tmp/out
  grab "$o" 's/^table: .* in \([0-9.]*\) ms$/\1/p' >>"$tmp/$1.table"
  grab "$o" 's/^keys: .* in \([0-9.]*\) ms$/\1/p' >>"$tmp/$1.keys"
  grab "$o" 's/^pool: .* in \([0-9.]*\) ms$/\1/p' >>"$tmp/$1.pool"
  grab "$o" 's/^time: first \([0-9.]*\) ms.*/\1/p' >>"$tmp/$1.first"
  grab "$o" 's/^time: .*, steady \([0-9.]*\) ms.*/\1/p' >>"$tmp/$1.steady"
  grab "$o" 's/^memory: .* PSS \([0-9.]*\) MiB in all.*/\1/p' >>"$tmp/$1.pss"
  grab "$o" 's/^memory: .*; launcher \([0-9.]*\) MiB more$/\1/p' \
    >>"$tmp/$1.launcher"
  [ "$2" = 1 ] && grep -E '^(mpi_hybrid|rank|memory)' "$o" >"$tmp/$1.report"
  return 0
}

# report NAME "MPIRUN OPTIONS" "PROGRAM OPTIONS"
report() {
  [ -s "$tmp/$1.pool" ] || echo 0 >"$tmp/$1.pool"
  echo "$1 (mpirun $2 mpi_hybrid ... $3), median [range] of $runs runs:"
  sed 's/^/  /' "$tmp/$1.report"
  echo "  setup ms: table $(stats <"$tmp/$1.table"), keys" \
    "$(stats <"$tmp/$1.keys"), pool $(stats <"$tmp/$1.pool")"
  echo "  lookups ms: first $(stats <"$tmp/$1.first"), steady" \
    "$(stats <"$tmp/$1.steady")"
  echo "  PSS MiB: ranks + workers $(stats <"$tmp/$1.pss"), launcher" \
    "$(stats <"$tmp/$1.launcher")"
}

echo "$(uname -sr), $(nproc) CPUs; $(mpirun --version | head -n 1)"
echo "table $mib MiB, $keys keys; load average before: $(cut -d' ' -f1-3 \
  /proc/loadavg)"
# Open MPI binds each rank to a core by default: right for pure MPI, while
# the hybrid rank must be left unbound for its workers to use the host.
# The ways take turns, run by run, so that whatever else loads the machine
# meanwhile weighs on all three alike.
mpi_opts="-np 2"
hybrid_opts="-np 1 --bind-to none"
window_opts="-np 2"
i=0
while [ "$i" -lt "$runs" ]; do
  i=$((i + 1))
  run_way mpi "$i" "$mpi_opts" "--mode mpi"
  run_way hybrid "$i" "$hybrid_opts" "--workers 2"
  run_way window "$i" "$window_opts" "--mode window"
done
report mpi "$mpi_opts" "--mode mpi"
report hybrid "$hybrid_opts" "--workers 2"
report window "$window_opts" "--mode window"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
