#!/bin/sh
# mpsl simulate at the scale of the brief: 10,000 data owners through one pipeline of 5
# hops, batch 16, B = 16, r = 2, one round, on a fixed layer table (tests/fixtures). It must finish with every task in the events
# table (10,000 x 32 batches x (4 + 2 x 5) tasks) and an audit row per data owner. Its
# time is printed, not asserted: the machine may be busy.
. "$(dirname "$0")/testlib.sh"
# every hop holds 10,000 copies of its part: over this host's memory, which the memory
# plan would refuse; the test is about the simulator, so the check only warns
start=$(date +%s.%N)
"$mpsl" simulate --set model=csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b16.csv --set batch=16 \
  --set clients=10000 --set hops=5 --set batches=16 --set local_epochs=2 --set rounds=1 --set memory_check=false \
  --set output="$tmp/big.h5" >"$tmp/log" 2>"$tmp/err" ||
  { tail -5 "$tmp/log" "$tmp/err"; fail "mpsl simulate"; }
end=$(date +%s.%N)
rows() { h5dump -H -d "/$1" "$tmp/big.h5" | sed -n 's/.*DATASPACE  SIMPLE { ( \([0-9]*\) ).*/\1/p'; }
[ "$(rows events)" = 4480000 ] || fail "events has $(rows events) rows, expected 4480000"
[ "$(rows audit)" = 10000 ] || fail "audit has $(rows audit) rows, expected 10000"
[ "$(rows rounds)" = 1 ] || fail "rounds has $(rows rounds) rows, expected 1"
grep -q '^# simulated 4480000 tasks' "$tmp/log" || fail "$(grep '^# simulated' "$tmp/log")"
grep '^round 1\|^# simulated' "$tmp/log"
echo "sim_scale: ok ($(awk "BEGIN { print $end - $start }") s for the whole command)"
