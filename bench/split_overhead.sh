#!/bin/sh
# The cost of splitting over MPI on this host: one data owner and H = 1, 2, 3 hops of real
# compute (no emulation), `mpsl run` over MPI against the same batches trained unsplit in
# one process (`mpsl run --reference`, which trains exactly what the split run trains: the
# bit-identity tests hold them equal), side by side in one invocation.
#   bench/split_overhead.sh [BUILDDIR] [ROUNDS] [REPS]
# Each run trains ROUNDS rounds (default 3) of BATCHES batches (default 16, one local epoch)
# and the first is dropped as a warm-up (first touch of every buffer); a run's figure is the
# median of the others. REPS (default 1) repeats every split and unsplit run, alternating;
# the table gives the median over the repetitions. Both sides evaluate the first TEST_LIMIT
# test samples (default 32, one batch) at the end of every round, which is in the round's
# time on both sides.
# Transfer: this host's memory bandwidth is measured with a copy of 256 MiB (numpy's copyto
# in MPSL_PYTHON, best of 5; a shared-memory message costs at least one such copy), and the
# round's bytes between the data owner and the compute nodes and between compute nodes
# (the cut activations and gradients; the `links` table of the results file) at that rate
# are the transfer the split cannot avoid. The overhead beyond transfer is (split round -
# unsplit round - transfer) / unsplit round.
# Where the time goes, from the per-rank events (`mpsl report --csv events`): compute is
# the sum over ranks of their tasks' wall time (one data owner: the tasks run one after
# another, so it is what the pipeline computes), against the unsplit round; gaps is the
# time between tasks while the round runs (messages, and ranks waking up to take them);
# tail is from the last task's end to the round's end (the states to the aggregator,
# FedAvg, evaluation, gathering the round's rows into the results file).
# Both sides are `mpsl run`, which limits libgomp's spinning (GOMP_SPINCOUNT=10000, docs/run.md)
# unless GOMP_SPINCOUNT or OMP_WAIT_POLICY is set.
# Environment: MODEL (default vgg11-cifar), BATCH (32), BATCHES (16), HOPS ("1 2 3"),
# THREADS (OpenMP threads per rank, both sides; default 2, this host's cores), TEST_LIMIT,
# MPSL_LAUNCH (default "mpirun --oversubscribe"), MPSL_PYTHON (default /usr/bin/python3),
# EXTRA (more `--set key=value` words for both sides).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
rounds=${2:-3}
reps=${3:-1}
mpsl=$build/mpsl
py=${MPSL_PYTHON:-/usr/bin/python3}
launch=${MPSL_LAUNCH:-mpirun --oversubscribe}
model=${MODEL:-vgg11-cifar}
batch=${BATCH:-32}
batches=${BATCHES:-16}
hops=${HOPS:-"1 2 3"}
threads=${THREADS:-2}
test_limit=${TEST_LIMIT:-32}
extra=${EXTRA:-}
[ "$rounds" -ge 2 ] || { echo "split_overhead.sh: ROUNDS must be at least 2 (the first is a warm-up)" >&2; exit 2; }
[ "$(id -u)" -ne 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM

load() { cut -d' ' -f1-3 /proc/loadavg; }

# bytes per second of one copy of 256 MiB
bandwidth() {
  "$py" -c '
import time
import numpy as np
a = np.ones(1 << 26, dtype=np.float32)
b = np.empty_like(a)
best = float("inf")
for _ in range(5):
    t = time.perf_counter()
    np.copyto(b, a)
    best = min(best, time.perf_counter() - t)
print("%.0f" % (a.nbytes / best))'
}

# conf H FILE: the configuration words of both sides
conf() {
  echo "--set model=$model --set clients=1 --set hops=$1 --set batch=$batch --set batches=$batches" \
    "--set local_epochs=1 --set rounds=$rounds --set test_limit=$test_limit --set threads=$threads" \
    "--set checkpoint_every=0 --set output=$2 $extra"
}

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# median wall_s over rounds 2.. of a results file
round_s() { "$mpsl" report --csv rounds "$1" | awk -F, 'NR > 2 { print $2 }' | median; }

# the split run's attribution, medians over rounds 2..: cut bytes, compute, gaps, tail
attribute() {
  "$mpsl" report --csv rounds "$1" >"$dir/rounds.csv"
  "$mpsl" report --csv links "$1" >"$dir/links.csv"
  "$mpsl" report --csv events "$1" >"$dir/events.csv"
  awk -F, '
    FILENAME ~ /rounds/ && FNR > 1 { wall[$1] = $2; n = $1 }
    FILENAME ~ /links/ && FNR > 1 && $2 != 0 && $3 != 0 { cut[$1] += $4 }
    FILENAME ~ /links/ && FNR > 1 && ($2 == 0 || $3 == 0) { state[$1] += $4 }
    FILENAME ~ /events/ && FNR > 1 {
      r = $1; comp[r] += $9 - $8; per[r, $2] += $9 - $8; ranks[$2] = 1
      if (!(r in first) || $8 < first[r]) first[r] = $8
      if (!(r in last) || $9 > last[r]) last[r] = $9
    }
    END {
      begin = 0
      for (r = 1; r <= n; r++) {
        # rounds follow one another on rank 0 clock from 0 (no checkpoints in between)
        end = begin + wall[r]
        if (r > 1) printf "%d %.0f %.0f %.6f %.6f %.6f %.6f", r, cut[r], state[r], comp[r], \
          last[r] - begin - comp[r], end - last[r], first[r] - begin
        if (r > 1) for (k in ranks) printf " %s:%.6f", k, per[r, k]
        if (r > 1) printf "\n"
        begin = end
      }
    }' "$dir/rounds.csv" "$dir/links.csv" "$dir/events.csv"
}

load0=$(load)
bw=$(bandwidth)
echo "memory bandwidth: $(awk -v b="$bw" 'BEGIN { printf "%.2f", b / 1e9 }') GB/s (one copy of 256 MiB, best of 5; load $(load))" >&2
: >"$dir/res"
rep=1
while [ "$rep" -le "$reps" ]; do
  for h in $hops; do
    # shellcheck disable=SC2046
    set -- $(conf "$h" "$dir/split.h5")
    np=$("$mpsl" run --ranks "$@")
    rm -f "$dir/split.h5" "$dir/ref.h5"
    l0=$(load)
    $launch -np "$np" "$mpsl" run "$@" >"$dir/split.log" 2>&1 || { tail -20 "$dir/split.log" >&2; exit 1; }
    # shellcheck disable=SC2046
    "$mpsl" run --reference $(conf "$h" "$dir/ref.h5") >"$dir/ref.log" 2>&1 || { tail -20 "$dir/ref.log" >&2; exit 1; }
    s=$(round_s "$dir/split.h5")
    u=$(round_s "$dir/ref.h5")
    echo "rep $rep/$reps H=$h ($np ranks): split round $s s, unsplit $u s (load before $l0, after $(load))" >&2
    attribute "$dir/split.h5" | while read -r r cut state comp gaps tail start ranks; do
      echo "$h $rep $r $s $u $cut $state $comp $gaps $tail $start $ranks" >>"$dir/res"
    done
  done
  rep=$((rep + 1))
done
load1=$(load)

echo "| H | ranks | split round (s) | unsplit round (s) | overhead | cut bytes / round | transfer at $(awk -v b="$bw" 'BEGIN { printf "%.1f", b / 1e9 }') GB/s (s) | overhead beyond transfer | compute (s) | compute vs unsplit | gaps (s) | tail (s) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for h in $hops; do
  awk -v h="$h" -v bw="$bw" '
    function med(a, n,   i, j, t) {
      for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $1 == h {
      if (!seen[$2]++) { ns++; S[ns] = $4; U[ns] = $5 }
      n++; cut[n] = $6; comp[n] = $8; gaps[n] = $9; tail[n] = $10
    }
    END {
      s = med(S, ns); u = med(U, ns); c = med(cut, n); tr = c / bw
      printf "| %d | %d | %.3f | %.3f | %+.1f %% | %.1f MB | %.3f | %+.1f %% | %.3f | %+.1f %% | %.3f | %.3f |\n",
        h, h + 2, s, u, 100 * (s - u) / u, c / 1e6, tr, 100 * (s - u - tr) / u, med(comp, n),
        100 * (med(comp, n) - u) / u, med(gaps, n), med(tail, n)
    }' "$dir/res"
done
echo
echo "Per rank, compute seconds per round (median over rounds 2..$rounds and repetitions; rank 0 is the"
echo "aggregator, ranks 1..H the compute nodes, H+1 the data owner):"
for h in $hops; do
  awk -v h="$h" '$1 == h { for (i = 12; i <= NF; i++) { split($i, a, ":"); v[a[1]] = v[a[1]] " " a[2] } }
    END { printf "  H=%d:", h; for (k = 0; k <= h + 1; k++) if (k in v) printf " rank %d %s", k, v[k]; printf "\n" }' "$dir/res" |
    sed 's/  */ /g'
done
echo
echo "$model, batch $batch, $batches batches a round (one local epoch), one data owner, rounds 2..$rounds of"
echo "each run (round 1 a warm-up), median over $reps repetition(s); OMP threads = $threads per rank on both sides"
echo "($(nproc) CPUs here); both evaluate $test_limit test samples a round. Split: \`$launch -np H+2 mpsl run\`;"
echo "unsplit: \`mpsl run --reference\` of the same configuration. Overhead: (split - unsplit) / unsplit;"
echo "beyond transfer: the same less the cut bytes at one copy at the measured bandwidth. compute: the"
echo "ranks' tasks summed; gaps: between tasks; tail: after the last task (aggregation, evaluation,"
echo "results). Load average (1, 5, 15 min) before: $load0; after: $load1. $(date -u '+%Y-%m-%d %H:%M UTC')."
