#!/bin/sh
# One training step (forward, loss, backward, SGD update) of mpsl and of PyTorch, side by
# side in the same invocation on the same machine, for each model and batch size.
#   bench/compare.sh [BUILDDIR] [REPS] [ROUNDS]
# PyTorch runs the same network as torchvision builds it (ReLU in place) in each memory
# format of VARIANTS (default: contiguous, PyTorch's default, and channels_last); the
# headline is mpsl against the fastest of them. ROUNDS (default 3) rounds each run every
# model, batch and program once, in an order that rotates from round to round, so that a
# noisy neighbour slows all of them rather than one. Each run is a fresh process timing
# REPS steps (default 10) after 3 warm-up steps and reports their median.
# Prints a Markdown table: per program the median over rounds of the per-run medians, with
# the min-max over rounds in brackets; the fastest PyTorch variant; mpsl / fastest (below
# 1: mpsl is faster), with the min-max of the same ratio taken within each round.
# Before each run it waits until the whole CPU was at most IDLE_MAX percent busy (default 25)
# over one second, for at most IDLE_WAIT seconds (default 120; 0: do not wait), and counts
# the runs that had to start on a busy CPU.
# Environment: MODELS, BATCHES, VARIANTS, THREADS (default 2, both sides),
# MPSL_PYTHON (default /usr/bin/python3), MPSL_BENCH_PRELOAD (a library put in LD_PRELOAD
# of both sides, e.g. /usr/lib/x86_64-linux-gnu/libjemalloc.so.2; default none).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
reps=${2:-10}
rounds=${3:-${ROUNDS:-3}}
py=${MPSL_PYTHON:-/usr/bin/python3}
models=${MODELS:-"vgg19_bn-cifar resnet18-cifar"}
batches=${BATCHES:-"32 128"}
variants=${VARIANTS:-"contiguous channels_last"}
threads=${THREADS:-2}
preload=${MPSL_BENCH_PRELOAD:-}
idle_max=${IDLE_MAX:-25}
idle_wait=${IDLE_WAIT:-120}
if [ -n "$preload" ] && [ ! -r "$preload" ]; then
  echo "compare.sh: MPSL_BENCH_PRELOAD=$preload is not readable" >&2
  exit 2
fi
res=$(mktemp)
trap 'rm -f "$res"' EXIT INT TERM

load() { cut -d' ' -f1-3 /proc/loadavg; }
# percent of all cores' time not idle (nor iowait) over the next second
cpu_busy() {
  a=$(head -n 1 /proc/stat)
  sleep 1
  b=$(head -n 1 /proc/stat)
  printf '%s\n%s\n' "$a" "$b" | awk '{ t = 0; for (i = 2; i <= NF; i++) t += $i; tot[NR] = t; idle[NR] = $5 + $6 }
    END { d = tot[2] - tot[1]; printf "%d", (d > 0 ? 100 * (1 - (idle[2] - idle[1]) / d) : 0) }'
}
# wait_idle: returns once the CPU is quiet or idle_wait seconds have passed; busy_starts
# counts the latter
busy_starts=0
wait_idle() {
  waited=0
  busy=-
  while [ "$waited" -lt "$idle_wait" ]; do
    busy=$(cpu_busy)
    [ "$busy" -gt "$idle_max" ] || return 0
    waited=$((waited + 1))
  done
  [ "$idle_wait" -eq 0 ] || busy_starts=$((busy_starts + 1))
}
# run PROGRAM MODEL BATCH: prints the median step seconds of one fresh process
run() {
  if [ "$1" = mpsl ]; then
    out=$(env ${preload:+LD_PRELOAD="$preload"} OMP_NUM_THREADS="$threads" \
      "$build/mpsl" bench --model "$2" --batch "$3" --reps "$reps")
    echo "$out" | sed -n 's/^step_s=//p'
  else
    out=$(env ${preload:+LD_PRELOAD="$preload"} OMP_NUM_THREADS="$threads" \
      "$py" "$here/torch_step.py" --model "$2" --batch "$3" --reps "$reps" --threads "$threads" \
      --memory-format "$1")
    echo "$out" | sed -n 's/^torch_step_s=//p'
  fi
}

load0=$(load)
torchv=$("$py" -c 'import torch; print(torch.__version__)')
debv=$(dpkg-query -W -f '${Version}' python3-torch 2>/dev/null || true)
[ -z "$debv" ] || torchv="$torchv (Debian python3-torch $debv)"
progs="mpsl $variants"
nruns=0
nprogs=$(echo "$progs" | wc -w)
r=1
while [ "$r" -le "$rounds" ]; do
  for m in $models; do
    for b in $batches; do
      # rotate the order of the programs by the round number
      order=$(echo "$progs" | tr ' ' '\n' | awk -v k="$r" -v n="$nprogs" \
        '{ p[NR - 1] = $0 } END { for (i = 0; i < n; i++) print p[(i + k - 1) % n] }')
      for p in $order; do
        wait_idle
        s=$(run "$p" "$m" "$b")
        [ -n "$s" ] || { echo "compare.sh: $p $m batch $b printed no step time" >&2; exit 1; }
        echo "round $r/$rounds $m batch $b $p: $s s (load $(load); CPU $busy % busy before)" >&2
        echo "$m $b $p $r $s" >>"$res"
        nruns=$((nruns + 1))
      done
    done
  done
  r=$((r + 1))
done
load1=$(load)

hdr="| model | batch | mpsl (s) |"
sep="|---|---|---|"
for v in $variants; do
  hdr="$hdr PyTorch $v (s) |"
  sep="$sep---|"
done
echo "$hdr fastest PyTorch | mpsl / fastest |"
echo "$sep---|---|"
for m in $models; do
  for b in $batches; do
    awk -v m="$m" -v b="$b" -v progs="$progs" '
      function median(a, n,   i, j, t) {
        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      }
      function lo(a, n,   i, x) { x = a[1]; for (i = 2; i <= n; i++) if (a[i] < x) x = a[i]; return x }
      function hi(a, n,   i, x) { x = a[1]; for (i = 2; i <= n; i++) if (a[i] > x) x = a[i]; return x }
      $1 == m && $2 == b { t[$3, $4] = $5; if ($4 > nr) nr = $4 }
      END {
        np = split(progs, p, " ")
        for (k = 1; k <= np; k++) {
          for (r = 1; r <= nr; r++) v[r] = t[p[k], r]
          med[k] = median(v, nr); mn[k] = lo(v, nr); mx[k] = hi(v, nr)
        }
        best = 2
        for (k = 3; k <= np; k++) if (med[k] < med[best]) best = k
        for (r = 1; r <= nr; r++) q[r] = t[p[1], r] / t[p[best], r]
        line = sprintf("| %s | %d |", m, b)
        for (k = 1; k <= np; k++) line = line sprintf(" %.3f (%.3f-%.3f) |", med[k], mn[k], mx[k])
        printf "%s %s | %.2f (%.2f-%.2f) |\n", line, p[best], med[1] / med[best], lo(q, nr), hi(q, nr)
      }' "$res"
  done
done
echo
echo "Median over $rounds rounds of each run's median of $reps steps (after 3 warm-up steps), min-max"
echo "over rounds in brackets; mpsl / fastest is the ratio of the medians, in brackets the min-max of"
echo "the ratio within each round. mpsl: \`mpsl bench\` (its own oneDNN engine, blocked layouts inside"
echo "the model, buffers allocated once), OMP_NUM_THREADS=$threads. PyTorch $torchv: bench/torch_step.py,"
echo "the network as torchvision builds it (ReLU in place), $threads threads, each memory format of"
echo "the model and input as named. Allocator, both sides: ${preload:-glibc malloc (none preloaded)}."
echo "Load average (1, 5, 15 min) before: $load0; after: $load1. Runs started on a CPU more than"
echo "$idle_max % busy after waiting ${idle_wait} s for it to be quiet: $busy_starts of $nruns. $(date -u +%Y-%m-%d)."
