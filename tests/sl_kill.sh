#!/bin/sh
# Killing one compute node in the middle of a run ends the whole job within seconds and
# leaves a results file that holds every finished round and says the run did not finish:
# aborted by the launcher's SIGTERM, or interrupted when rank 0 got no chance to say so.
. "$(dirname "$0")/testlib.sh"
out=$tmp/killed.h5
set -- --set model=vgg11_bn-cifar --set width=0.0625 --set clients=2 --set hops=2 --set batch=4 \
  --set batches=40 --set local_epochs=1 --set rounds=100000 --set test_limit=16 --set threads=1 --set output="$out"
np=$("$mpsl" run --ranks "$@") || { echo "FAIL: mpsl run --ranks"; exit 1; }
# shellcheck disable=SC2086
$MPSL_LAUNCH -np "$np" "$mpsl" run "$@" >"$tmp/log" 2>&1 &
job=$!

fail() {
  echo "FAIL: $*"
  sed 's/^/    /' "$tmp/log" | tail -20
  kill -9 "$job" 2>/dev/null
  exit 1
}

# round 1 on disk (a read that overlaps a write just fails and is retried)
i=0
while :; do
  rows=$("$mpsl" report --csv rounds "$out" 2>/dev/null | wc -l)
  [ "$rows" -ge 2 ] && break
  kill -0 "$job" 2>/dev/null || fail "the job ended before finishing a round"
  i=$((i + 1))
  [ $i -lt 1200 ] || fail "no round finished within 120 s"
  sleep 0.1
done

# rank 1 is the first compute node: find it by the rank its launcher put in its environment
victim=
for p in $(pgrep -f -- "$out"); do
  if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxE 'OMPI_COMM_WORLD_RANK=1|PMIX_RANK=1|SLURM_PROCID=1'; then
    victim=$p
  fi
done
[ -n "$victim" ] || fail "cannot find the process of rank 1"
kill -9 "$victim"
killed_at=$(date +%s)

i=0
while kill -0 "$job" 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 300 ] || fail "the job still runs 30 s after rank 1 was killed"
  sleep 0.1
done
wait "$job"
rc=$?
[ "$rc" -ne 0 ] || fail "the job exited 0 after losing a rank"
echo "job ended $(($(date +%s) - killed_at)) s after rank 1 was killed (exit status $rc)"

rows=$("$mpsl" report --csv rounds "$out" | wc -l) || fail "mpsl report cannot read the file of the killed run"
[ "$rows" -ge 2 ] || fail "the results file lost the finished rounds"
"$mpsl" report "$out" >"$tmp/report" 2>/dev/null
[ $? -eq 3 ] || fail "mpsl report did not exit 3 on the killed run's file"
head -1 "$tmp/report" | grep -qE "status: (aborted: |interrupted )" ||
  fail "the status does not say the run did not finish: $(head -1 "$tmp/report")"
echo "sl_kill: $((rows - 1)) finished round(s) kept, $(head -1 "$tmp/report" | sed 's/.*status: //')"
