#!/bin/sh
# How many data owners this machine emulates in real time: `mpsl run` with profiled compute at
# time_scale = 1 on the fixed test scenario (tests/fixtures: a narrow VGG-11 layer table at
# batch 4, data owners 20 and hops 5 times slower than the table's host, 8 Mbit/s + 5 ms
# links to the hops, 40 Mbit/s between them; 2 hops, B = 2, r = 1, 2 rounds), for K = 2, 4,
# 8, ... data owners and 1, 2 and 4 owners per rank, until a run reports tasks that began late
# (more than 10 ms of wall time after their model time: the host could not keep up).
#   bench/emu_capacity.sh [BUILDDIR] [MAXK]      (OPRS="1 2 4" and START=2 choose the runs)
# Prints one line per run and, per owners-per-rank, the largest K without late tasks. A
# benchmark: it reports what it measured on this machine, now; nothing is asserted.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
max=${2:-256}
launch=${MPSL_LAUNCH:-mpirun --oversubscribe}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fx=$here/../tests/fixtures
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for opr in ${OPRS:-1 2 4}; do
  best=0
  k=${START:-2}
  while [ "$k" -le "$max" ]; do
    set -- --set model="csv:$fx/vgg11-cifar-w0.0625-c1-b4.csv" --set batch=4 --set batches=2 --set local_epochs=1 \
      --set rounds=2 --set clients="$k" --set hops=2 --set owners_per_rank="$opr" --set compute=profiled \
      --set devices="$fx/slow-devices.ini" --set do_devices=do_test --set cn_devices=cn_test --set do_cn_bw=8Mbit \
      --set do_cn_lat=0.005 --set cn_cn_bw=40Mbit --set time_scale=1 --set threads=1 --set output="$tmp/k.h5"
    np=$("$build/mpsl" run --ranks "$@") || exit 1
    # shellcheck disable=SC2086
    $launch -np "$np" "$build/mpsl" run "$@" >"$tmp/log" 2>&1 || { echo "opr=$opr K=$k: the run failed"; break; }
    late=$(sed -n 's/.*warning: \([0-9]*\) task(s) began more than.*by up to \([0-9.]*\) ms.*/\1 late, worst \2 ms/p' "$tmp/log")
    echo "owners_per_rank=$opr K=$k ranks=$np: ${late:-no late task}"
    [ -n "$late" ] && break
    best=$k
    k=$((k * 2))
  done
  echo "owners_per_rank=$opr: largest K without late tasks: $best"
done
