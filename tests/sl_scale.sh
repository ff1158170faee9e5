#!/bin/sh
# 32 ranks oversubscribed on a small machine complete a round: 1 aggregator, 2 pipelines
# of 3 hops, 25 data-owner ranks.
. "$(dirname "$0")/testlib.sh"
out=$tmp/scale.h5
set -- --set model=vgg11_bn-cifar --set width=0.0625 --set clients=25 --set pipelines=2 --set hops=3 \
  --set batch=4 --set batches=2 --set local_epochs=1 --set rounds=1 --set test_limit=16 --set threads=1 \
  --set output="$out"
np=$("$mpsl" run --ranks "$@")
[ "$np" -eq 32 ] || { echo "FAIL: expected 32 ranks, got $np"; exit 1; }
# shellcheck disable=SC2086
$MPSL_LAUNCH -np 32 "$mpsl" run "$@" >"$tmp/log" 2>&1 || { tail -20 "$tmp/log"; echo "FAIL: 32-rank run"; exit 1; }
"$mpsl" report "$out" >"$tmp/report" || { echo "FAIL: report"; exit 1; }
grep -q "status: finished" "$tmp/report" || { echo "FAIL: status"; exit 1; }
[ "$("$mpsl" report --csv memory "$out" | wc -l)" -eq 33 ] || { echo "FAIL: memory rows of 32 ranks"; exit 1; }
[ "$("$mpsl" report --csv rounds "$out" | wc -l)" -eq 2 ] || { echo "FAIL: one round"; exit 1; }
echo "sl_scale: 32 ranks finished a round"
