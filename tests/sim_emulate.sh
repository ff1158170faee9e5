#!/bin/sh
# Simulation against emulation: the same small configurations, on a fixed layer table
# (tests/fixtures, the host's columns), a device catalogue and narrow links, through `mpsl
# simulate` and through `mpsl run` with profiled compute, must give the same tasks at the
# same model times and the same round times, to 1e-9 of a round (tests/same_events.py),
# and the same bytes over the same links.
# The emulation is exact however busy the host: a compute node picks its next task only
# once every message due by then has arrived (docs/timing.md), so it is played fast, each
# round in about 0.3 wall seconds, where the host cannot keep up with the wall clock.
. "$(dirname "$0")/testlib.sh"
py=${MPSL_PYTHON:-/usr/bin/python3}
# data owners 20 times slower than the table's host, compute nodes 5 times slower
common="--set model=csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv --set batch=4 --set batches=2
  --set local_epochs=2 --set rounds=2 --set test_limit=8 --set threads=1 --set compute=profiled
  --set devices=$MPSL_SRCDIR/tests/fixtures/slow-devices.ini --set do_devices=do_test --set cn_devices=cn_test
  --set do_cn_bw=8Mbit --set do_cn_lat=0.005 --set cn_cn_bw=40Mbit --set policy=fifo"

compare() { # name, then the configuration's own keys
  name=$1
  shift
  # shellcheck disable=SC2086
  "$mpsl" simulate $common "$@" --set output="$tmp/$name-sim.h5" >"$tmp/$name-sim.log" 2>&1 ||
    { cat "$tmp/$name-sim.log"; fail "$name: mpsl simulate"; }
  "$mpsl" report --csv rounds "$tmp/$name-sim.h5" >"$tmp/$name-sim.csv" || fail "$name: report"
  longest=$(awk -F, 'NR > 1 && $3 > m { m = $3 } END { print m }' "$tmp/$name-sim.csv")
  scale=$(awk "BEGIN { print 0.3 / $longest }")
  # shellcheck disable=SC2086
  np=$("$mpsl" run --ranks $common "$@") || fail "$name: mpsl run --ranks"
  # shellcheck disable=SC2086
  $MPSL_LAUNCH -np "$np" "$mpsl" run $common "$@" --set time_scale="$scale" --set output="$tmp/$name-run.h5" \
    >"$tmp/$name-run.log" 2>&1 || { cat "$tmp/$name-run.log"; fail "$name: mpsl run"; }
  if ! grep -q '^# emulation:' "$tmp/$name-run.log"; then
    echo "SKIP: mpsl run does not emulate devices and links in this build"
    exit 77
  fi
  grep 'warning: .* message(s) reached' "$tmp/$name-run.log" && fail "$name: the emulation missed messages"
  printf '%s (time_scale %.3g): ' "$name" "$scale"
  "$py" "$MPSL_SRCDIR/tests/same_events.py" "$tmp/$name-sim.h5" "$tmp/$name-run.h5" ||
    fail "$name: simulate and emulate differ"
  # the same messages over the same links, the end of the round's states included
  "$mpsl" report --csv links "$tmp/$name-sim.h5" >"$tmp/$name-sim-links.csv" || fail "$name: report links"
  "$mpsl" report --csv links "$tmp/$name-run.h5" >"$tmp/$name-run-links.csv" || fail "$name: report links"
  [ "$(wc -l <"$tmp/$name-run-links.csv")" -gt 1 ] || fail "$name: no links table"
  diff "$tmp/$name-sim-links.csv" "$tmp/$name-run-links.csv" || fail "$name: simulate and emulate sent other bytes"
  # both name the layer table their times came from, with the SHA-256 of its bytes
  want=$(sha256sum "$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv" | cut -d' ' -f1)
  for f in sim run; do
    h5dump -a profile_sha256 "$tmp/$name-$f.h5" | grep -q "\"$want\"" || fail "$name: $f: profile_sha256 is not $want"
    h5dump -a profile "$tmp/$name-$f.h5" | grep -q "vgg11-cifar-w0.0625-c1-b4.csv\"" || fail "$name: $f: profile"
  done
}

compare 1do-1hop --set clients=1 --set hops=1
compare 1do-2hops --set clients=1 --set hops=2
compare 2do-1hop --set clients=2 --set hops=1
compare 2pipelines --set clients=2 --set hops=1 --set pipelines=2
# every task of every hop has a choice to make: 5 owners on 3 hops, bwd-first, 2 ms links
compare 5do-3hops-bwd --set clients=5 --set hops=3 --set policy=bwd-first --set do_cn_lat=0.002 --set cn_cn_lat=0.002
compare 6do-2x2 --set clients=6 --set hops=2 --set pipelines=2 --set owners_per_rank=2
# data owners sitting out rounds (absence): fewer tasks, fewer states to average
compare 6do-2x2-absent --set clients=6 --set hops=2 --set pipelines=2 --set owners_per_rank=2 --set absence=0.4 \
  --set rounds=3
# stragglers: some owners' tasks take 3 times as long in some rounds
compare 5do-3hops-straggle --set clients=5 --set hops=3 --set policy=bwd-first --set straggler_rate=0.4 \
  --set straggler_factor=3 --set rounds=3
# a compute node of pipeline 2 fails 0.2 s into round 2: its owners stop after the batches
# in flight, send stops down the chain and to the aggregator, and are left out of FedAvg
compare 6do-2x2-fail --set clients=6 --set hops=2 --set pipelines=2 --set owners_per_rank=2 --set fail_round=2 \
  --set fail_node=3 --set fail_at=0.2
stopped=$("$mpsl" report --csv audit "$tmp/6do-2x2-fail-sim.h5" |
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["round"] == 2 && $c["model"] == 0 { printf "%s:%s ", $c["owner"], $c["activation"] }')
[ "$stopped" = "1:2 3:2 5:2 " ] ||
  fail "6do-2x2-fail: owner:batches that stopped mid-round are '$stopped', not pipeline 2's 1 3 5 after 2 batches each"
echo "sim_emulate: ok"
