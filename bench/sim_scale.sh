#!/bin/sh
# How mpsl simulate scales with the number of data owners K: one round of VGG-19 (the
# EdgeSys'25 authors' layer table, batch 128, B = 16, r = 2) on one pipeline of 5 hops,
# rpi4b data owners, vm hops, with events = none, for K = 10^2 .. 10^MAX.
#   bench/sim_scale.sh [BUILDDIR] [OUTDIR] [MAX]
# Writes OUTDIR/sim-scale.tsv (K, tasks, heap events, simulation seconds, tasks per
# second, seconds of the whole command, peak resident bytes) and OUTDIR/sim-scale.png/.pdf
# (tasks per second and peak memory against K). A benchmark: it reports what it measured
# on this machine, now; nothing is asserted.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
out=${2:-results/bench}
max=${3:-6}
mkdir -p "$out"
tsv=$out/sim-scale.tsv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -n), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >"$tsv"
printf 'K\ttasks\theap_events\tsim_s\ttasks_per_s\tcommand_s\tpeak_rss\n' >>"$tsv"
e=2
while [ "$e" -le "$max" ]; do
  k=$(awk -v e="$e" 'BEGIN { printf "%d", 10 ^ e }')
  /usr/bin/time -f '%e %M' -o "$tmp/time" "$build/mpsl" simulate \
    --set model="csv:$here/../datasets/edgesys/vgg19.csv" --set batch=128 --set hops=5 --set batches=16 \
    --set local_epochs=2 --set rounds=1 --set memory_check=false --set do_devices=rpi4b --set cn_devices=vm \
    --set agg_device=vm --set clients="$k" --set events=none --set output="$tmp/k.h5" >"$tmp/log"
  # "# simulated T tasks (E heap events) in S s including the results file: ..."
  sed -n 's/^# simulated \([0-9]*\) tasks (\([0-9]*\) heap events) in \([0-9.]*\) s.*/\1 \2 \3/p' "$tmp/log" |
    awk -v k="$k" -v t="$(cat "$tmp/time")" 'BEGIN { split(t, w, " ") }
      { printf "%d\t%d\t%d\t%.3f\t%.4g\t%.2f\t%d\n", k, $1, $2, $3, $1 / $3, w[1], w[2] * 1024 }' >>"$tsv"
  tail -1 "$tsv"
  e=$((e + 1))
done
. "$here/../plots/lib.sh"
cat >"$tmp/body.gp" <<GP
set multiplot layout 1,2 title "mpsl simulate, events = none: VGG-19 (EdgeSys table), batch 128, B = 16, r = 2, 5 hops, one round"
set logscale x
set format x "10^{%L}"
set xlabel "data owners K"
set grid
unset key
set ylabel "simulated tasks per second (millions)"
plot "$tsv" using 1:(\$5 / 1e6) every ::0 with linespoints pt 7 lw 2
set ylabel "peak resident memory (MiB)"
set logscale y
plot "$tsv" using 1:(\$7 / 1048576) every ::0 with linespoints pt 7 lw 2
unset multiplot
GP
render "$out/sim-scale" "$tmp/body.gp" 1100 480
