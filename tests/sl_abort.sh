#!/bin/sh
# An error on a data-owner rank in the middle of training (the loss diverges) ends the
# whole job promptly with "mpsl run: error: rank R (ROLE): reason", and the results file
# says the run did not finish.
. "$(dirname "$0")/testlib.sh"
out=$tmp/diverged.h5
set -- --set model=vgg11-cifar --set width=0.0625 --set clients=2 --set hops=1 --set batch=4 --set batches=30 \
  --set local_epochs=1 --set rounds=1 --set test_limit=16 --set threads=1 --set lr=100 --set momentum=0.99 \
  --set output="$out"
np=$("$mpsl" run --ranks "$@")
start=$(date +%s)
# shellcheck disable=SC2086
timeout 60 $MPSL_LAUNCH -np "$np" "$mpsl" run "$@" >"$tmp/log" 2>&1
rc=$?
took=$(($(date +%s) - start))
fail() {
  echo "FAIL: $*"
  sed 's/^/    /' "$tmp/log" | tail -20
  exit 1
}
[ "$rc" -ne 0 ] || fail "a diverged run exited 0"
[ "$rc" -ne 124 ] || fail "the job did not end within 60 s"
grep -qE '^mpsl run: error: rank [0-9]+ \(data owner\): data owner [0-9]+: the loss became .*nan' "$tmp/log" ||
  fail "no 'mpsl run: error: rank R (data owner): ...' line"
"$mpsl" report "$out" >"$tmp/report" 2>/dev/null
[ $? -eq 3 ] || fail "mpsl report did not exit 3 on the aborted run's file"
head -1 "$tmp/report" | grep -qE "status: (aborted: |interrupted )" || fail "the status should say the run did not finish"
echo "sl_abort: the job ended $took s after starting, $(head -1 "$tmp/report" | sed 's/.*status: //')"
