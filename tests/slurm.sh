#!/bin/bash
# experiments/sweep --slurm against a real single-node Slurm started here (slurmctld and
# slurmd from Debian's slurm-wlm, auth/none, everything under a temporary directory):
# a sweep of 4 tiny emulate points of 3 to 5 ranks runs as job arrays (one per rank
# count), every point's results file is finished, and the figure job ran after all of
# them (afterany) and drew its figure; a point longer than its job's time limit is stopped
# before the limit, requeued and resumed until it finishes. Needs root (SlurmUser=root);
# without root or slurm-wlm the test is skipped, and fails under CI=true.
set -u
: "${MPSL_BUILDDIR:=.}" "${MPSL_SRCDIR:=.}"
. "$(dirname "$0")/slurmlib.sh"
fail() {
  echo "FAIL: $*"
  [ -n "${tmp:-}" ] && for f in "$tmp"/slurmctld.log "$tmp"/slurmd-*.log "$tmp"/out/slurm-*.out "$tmp"/limit/slurm-*.out "$tmp"/limit/*.log; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }
  done
  exit 1
}
slurm_require slurmctld slurmd sbatch squeue scontrol

tmp=$(mktemp -d)
ctld= slurmd_pid=
cleanup() {
  # Only the daemons this test started, by their process ids.
  slurm_stop $slurmd_pid $ctld
  rm -rf "$tmp"
}
trap cleanup EXIT

# Ports from the process id, so that two test suites running at once do not meet.
port=$((20000 + ($$ % 2000) * 2))
node=$(hostname -s)
mkdir -p "$tmp/state" "$tmp/spool/$node" "$tmp/out" "$tmp/fig"
export SLURM_CONF=$tmp/slurm.conf
cat >"$SLURM_CONF" <<CONF
ClusterName=mpsltest
SlurmctldHost=$node
SlurmctldPort=$port
SlurmdPort=$((port + 1))
$(slurm_conf "$tmp")
NodeName=$node CPUs=8 State=UNKNOWN
PartitionName=mpsltest Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -D -f "$SLURM_CONF" >"$tmp/slurmctld.out" 2>&1 &
ctld=$!
slurmd -D -f "$SLURM_CONF" >"$tmp/slurmd.out" 2>&1 &
slurmd_pid=$!
for _ in $(seq 60); do
  sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)' && break
  sleep 1
done
sinfo -h -o %T 2>/dev/null | grep -Eq '^idle' || fail "the node did not come up idle: $(sinfo 2>&1 | tail -2)"

# 4 points: (K, H) in {1,2} x {1,2}: 1 + H + K = 3, 4, 4 and 5 ranks.
cat >"$tmp/tiny.ini" <<INI
[sweep]
name = slurmtest
output = $tmp/out
mode = emulate
plot = fig1_round_time
base = $MPSL_SRCDIR/tests/fixtures/tiny-run.ini
[axes]
hops = 1, 2
clients = 1, 2
INI
cd "$tmp" || fail "cd $tmp"
"$MPSL_SRCDIR/experiments/sweep" --mpsl "$MPSL_BUILDDIR/mpsl" --slurm --figdir "$tmp/fig" "$tmp/tiny.ini" >"$tmp/submit" 2>&1 ||
  { cat "$tmp/submit"; fail "submission"; }
cat "$tmp/submit"
[ "$(grep -c 'array job' "$tmp/submit")" -eq 3 ] || fail "expected one job array per rank count (3, 4, 5)"
arrays=$(sed -n 's/.*array job \([0-9]*\),.*/\1/p' "$tmp/submit")
fig=$(sed -n 's/.*figure job \([0-9]*\) after.*/\1/p' "$tmp/submit")
[ -n "$fig" ] || fail "no figure job"
scontrol show job "$fig" | grep -q "Dependency=afterany" || fail "the figure job does not depend on the arrays: $(scontrol show job "$fig")"
for a in $arrays; do
  scontrol show job "$fig" | grep -q "$a" || fail "the figure job does not wait for array $a"
done

# Wait for the queue to empty (a hung daemon should not hang the suite: 20 minutes at most).
for _ in $(seq 1200); do
  [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
  sleep 1
done
[ -z "$(squeue -h -o %i)" ] || fail "jobs still queued: $(squeue)"

for a in $arrays; do
  scontrol -o show job "$a" | grep -v "JobState=COMPLETED" | grep -q . && fail "array $a: $(scontrol -o show job "$a" | grep -o 'JobState=[A-Z]*' | sort | uniq -c)"
done
scontrol -o show job "$fig" | grep -q "JobState=COMPLETED" || fail "figure job: $(scontrol -o show job "$fig" | grep -o 'JobState=[A-Z_]*')"
for f in emulate_hops={1,2}_clients={1,2}.h5; do
  "$MPSL_BUILDDIR/mpsl" report "$tmp/out/$f" 2>/dev/null | grep -q "status: finished" || fail "$f is not finished"
done
# Each array task had the ranks of its point: 1 + H + K.
for h in 1 2; do
  for k in 1 2; do
    n=$(grep -l "^point .* $((1 + h + k)) tasks on 1 node" "$tmp"/out/slurm-*_*.out | wc -l)
    [ "$n" -ge 1 ] || fail "no array task of $((1 + h + k)) tasks"
  done
done
# The figure job started when the last point had ended (seconds resolution, both from slurmctld).
epoch() { date -d "$1" +%s; }
last_end=0
for a in $arrays; do
  for e in $(scontrol -o show job "$a" | sed -n 's/.* EndTime=\([^ ]*\) .*/\1/p'); do
    t=$(epoch "$e")
    [ "$t" -gt "$last_end" ] && last_end=$t
  done
done
fig_start=$(epoch "$(scontrol -o show job "$fig" | sed -n 's/.* StartTime=\([^ ]*\) .*/\1/p')")
[ "$fig_start" -ge "$last_end" ] || fail "the figure job started at $fig_start, before the last point ended at $last_end"
for ext in png pdf; do
  [ -s "$tmp/fig/fig1_round_time.$ext" ] || fail "the figure job did not write fig1_round_time.$ext"
done
[ "$(head -c 4 "$tmp/fig/fig1_round_time.png" | tail -c 3)" = PNG ] || fail "fig1_round_time.png is not a PNG"

# A time limit: one point that needs about 100 s (10 emulated rounds of about 10 s of wall
# time each; profiled compute, so its ranks mostly sleep) in jobs of 2 minutes. Slurm
# signals the job's shell `grace` = 30 s before the limit (up to a minute earlier: between
# 30 and 90 s after the start), the point is stopped and its job requeued, and the next
# start resumes it: the point finishes after two or three starts, with each round once. A
# requeued job waits two minutes before it may start again; the test lets it start at once
# (scontrol update StartTime=now), as an administrator could.
cat >"$tmp/limit.ini" <<INI
[sweep]
name = limit
output = $tmp/limit
mode = emulate
[base]
model = csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv
batch = 4
batches = 2
rounds = 10
clients = 2
hops = 1
compute = profiled
time_scale = 15
devices = $MPSL_SRCDIR/tests/fixtures/slow-devices.ini
do_devices = do_test
cn_devices = cn_test
do_cn_bw = 8Mbit
do_cn_lat = 0.005
threads = 1
[slurm]
time = 2
grace = 30
INI
"$MPSL_SRCDIR/experiments/sweep" --mpsl "$MPSL_BUILDDIR/mpsl" --slurm "$tmp/limit.ini" >"$tmp/submit2" 2>&1 ||
  { cat "$tmp/submit2"; fail "submission of the time-limited point"; }
job=$(sed -n 's/.*array job \([0-9]*\),.*/\1/p' "$tmp/submit2")
[ -n "$job" ] || fail "no array job: $(cat "$tmp/submit2")"
grep -q -- '--requeue' "$tmp/limit/slurm/points-np4.sbatch" && grep -q -- '--signal=B:USR1@30' "$tmp/limit/slurm/points-np4.sbatch" ||
  fail "the job script asks for no requeue or signal: $(grep SBATCH "$tmp/limit/slurm/points-np4.sbatch")"
for _ in $(seq 900); do
  [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
  for j in $(squeue -h -t PD -o '%i %r' 2>/dev/null | awk '$2 == "BeginTime" { print $1 }'); do
    scontrol update JobId="$j" StartTime=now 2>/dev/null
  done
  sleep 1
done
[ -z "$(squeue -h -o %i)" ] || fail "the time-limited point is still queued after 15 minutes: $(squeue)"
info=$(scontrol -o show job "$job")
echo "$info" | grep -q "JobState=COMPLETED" || fail "the time-limited point's job: $(echo "$info" | grep -o 'JobState=[A-Z_]*')"
restarts=$(echo "$info" | sed -n 's/.* Restarts=\([0-9]*\) .*/\1/p')
[ "${restarts:-0}" -ge 1 ] || fail "the job was never requeued (Restarts=${restarts:-?})"
f=$tmp/limit/$(awk -F'\t' 'NR == 2 { print $NF }' "$tmp/limit/points.tsv")
"$MPSL_BUILDDIR/mpsl" report "$f" 2>/dev/null | grep -q "status: finished" || fail "$f is not finished"
[ "$("$MPSL_BUILDDIR/mpsl" report --csv rounds "$f" | tail -n +2 | cut -d, -f1 | tr '\n' ' ')" = "1 2 3 4 5 6 7 8 9 10 " ] ||
  fail "$f: rounds $("$MPSL_BUILDDIR/mpsl" report --csv rounds "$f" | cut -d, -f1 | tr '\n' ' ')"
h5dump -a resumed_after "$f" >/dev/null 2>&1 || fail "$f was not resumed"
grep -q "its time limit is near" "$tmp"/limit/slurm-*.out 2>/dev/null || grep -q "its time limit is near" "$tmp"/slurm-*.out 2>/dev/null ||
  fail "no job said its time limit was near"
echo "slurm: 4 points in 3 job arrays, then the figure job; a point over its time limit requeued $restarts time(s) and resumed: ok"
