#!/bin/sh
# Simulation against emulation: the same small configurations, on a fixed layer table
# (tests/fixtures, the host's columns), a device catalogue and narrow links, through `mpsl simulate` and through `mpsl run` with
# profiled compute, must agree within 5 % on every round's time_s. The emulation plays
# each configuration at a time_scale that makes its round last about 3 wall seconds, so
# the waits it emulates dominate the cost of messages and polling on a busy host.
. "$(dirname "$0")/testlib.sh"
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
  scale=$(awk "BEGIN { print 3 / $longest }")
  # shellcheck disable=SC2086
  np=$("$mpsl" run --ranks $common "$@") || fail "$name: mpsl run --ranks"
  # shellcheck disable=SC2086
  $MPSL_LAUNCH -np "$np" "$mpsl" run $common "$@" --set time_scale="$scale" --set output="$tmp/$name-run.h5" \
    >"$tmp/$name-run.log" 2>&1 || { cat "$tmp/$name-run.log"; fail "$name: mpsl run"; }
  if ! grep -q '^# emulation:' "$tmp/$name-run.log"; then
    echo "SKIP: mpsl run does not emulate devices and links in this build"
    exit 77
  fi
  "$mpsl" report --csv rounds "$tmp/$name-run.h5" >"$tmp/$name-run.csv" || fail "$name: report of the run"
  paste -d, "$tmp/$name-sim.csv" "$tmp/$name-run.csv" | awk -F, -v name="$name" -v scale="$scale" '
    NR == 1 { next }
    { s = $3; e = $10; d = (e - s) / s; if (d < 0) d = -d
      printf "%s round %d: simulate %.4f s, emulate %.4f s (time_scale %.4g): %+.2f %%\n", name, $1, s, e, scale,
        100 * (e - s) / s
      if (d > 0.05) bad = 1; n++ }
    END { exit bad || n != 2 }' || fail "$name: simulate and emulate differ by more than 5 %"
}

compare 1do-1hop --set clients=1 --set hops=1
compare 1do-2hops --set clients=1 --set hops=2
compare 2do-1hop --set clients=2 --set hops=1
compare 2pipelines --set clients=2 --set hops=1 --set pipelines=2
echo "sim_emulate: ok"
