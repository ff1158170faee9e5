#!/bin/bash
# experiments/sweep --slurm on a private two-node Slurm: slurmctld and one slurmd on host
# mpsl-a, a second slurmd on host mpsl-b, each host a network namespace with its own
# address and host name (tests/netns.sh), Debian's slurm-wlm, auth/none, everything under
# a temporary directory. Two sweeps whose points ask for --nodes=2:
#   - launcher mpirun: a job array of two 5-rank points, 3 ranks on mpsl-a and 2 on
#     mpsl-b (--ntasks-per-node=3), and a third point that fails on purpose; the figure
#     job (afterany) draws the figure from the finished points, names the failed one and
#     fails;
#   - launcher srun (srun --mpi=pmix): one 5-rank point.
# Every finished results file must record both hosts. Skipped where network namespaces
# cannot be made; like tests/slurm.sh, skipped without root or slurm-wlm, failed under
# CI=true.
. "$(dirname "$0")/testlib.sh"
. "$(dirname "$0")/netns.sh"
. "$(dirname "$0")/slurmlib.sh"
slurm_require slurmctld slurmd sbatch squeue scontrol sinfo srun
command -v nsenter >/dev/null 2>&1 || slurm_skip "nsenter not found (util-linux)"
hosts_up 10.231.8
cleanup() {
  # the jobs of this private cluster, then only the daemons this test started, by the
  # process ids in their pid files (hosts_down kills what else runs on its hosts)
  on_host a scancel --quiet --user=root 2>/dev/null
  # shellcheck disable=SC2046 # one pid per word
  slurm_stop $(cat "$tmp"/slurmd-mpsl-a.pid "$tmp"/slurmd-mpsl-b.pid "$tmp"/slurmctld.pid 2>/dev/null)
  hosts_down
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/slurmctld.log "$tmp"/slurmd-mpsl-*.log "$tmp"/out*/slurm-*.out "$tmp"/out*/emulate_*.log; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }
  done
  exit 1
}
# Slurm's commands talk to slurmctld at mpsl-a's address: they run on mpsl-a
on_a() { on_host a "$@"; }

port=$((22000 + ($$ % 2000) * 2))
mkdir -p "$tmp/state" "$tmp/spool/mpsl-a" "$tmp/spool/mpsl-b" "$tmp/a" "$tmp/b" "$tmp/pmix-a" "$tmp/pmix-b" \
  "$tmp/out" "$tmp/out-srun" "$tmp/fig" "$tmp/fig-srun"
cat >"$tmp/a/slurm.conf" <<CONF
ClusterName=mpsltest2
SlurmctldHost=mpsl-a($ipa)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
$(slurm_conf "$tmp")
NodeName=mpsl-a NodeAddr=$ipa CPUs=4 RealMemory=4000 State=UNKNOWN
NodeName=mpsl-b NodeAddr=$ipb CPUs=4 RealMemory=4000 State=UNKNOWN
PartitionName=mpsltest Nodes=mpsl-a,mpsl-b Default=YES MaxTime=INFINITE State=UP
CONF
# The two hosts share /tmp, where Slurm's PMIx plugin puts a directory per job step: each
# node gets its own through an mpi.conf beside its copy of slurm.conf.
cp "$tmp/a/slurm.conf" "$tmp/b/slurm.conf"
echo "PMIxCliTmpDirBase=$tmp/pmix-a" >"$tmp/a/mpi.conf"
echo "PMIxCliTmpDirBase=$tmp/pmix-b" >"$tmp/b/mpi.conf"
export SLURM_CONF=$tmp/a/slurm.conf
on_a slurmctld -D -f "$tmp/a/slurm.conf" >"$tmp/slurmctld.out" 2>&1 &
on_a slurmd -D -N mpsl-a -f "$tmp/a/slurm.conf" >"$tmp/slurmd-a.out" 2>&1 &
on_host b slurmd -D -N mpsl-b -f "$tmp/b/slurm.conf" >"$tmp/slurmd-b.out" 2>&1 &
for _ in $(seq 60); do
  [ "$(on_a sinfo -h -N -o '%N %T' 2>/dev/null | grep -c ' idle$')" = 2 ] && break
  sleep 1
done
[ "$(on_a sinfo -h -N -o '%N %T' 2>/dev/null | grep -c ' idle$')" = 2 ] ||
  fail "the two nodes did not come up idle: $(on_a sinfo -N 2>&1 | tail -3)"
echo "slurm_multinode: nodes $(on_a sinfo -h -N -o '%N' | sort -u | tr '\n' ' ')idle"

# sweep_ini NAME OUT FIGDIR LAUNCHER AXIS: a sweep of emulate points on both nodes (clients
# and hops are axes of one value: the figure needs them)
sweep_ini() {
  cat <<INI
[sweep]
name = $1
output = $2
mode = emulate
plot = fig1_round_time
base = $MPSL_SRCDIR/tests/fixtures/tiny-run.ini
[axes]
clients = 2
hops = 2
$5
[slurm]
nodes = 2
ntasks_per_node = 3
cpus_per_task = 1
mem = 500M
time = 10:00
partition = mpsltest
setup = export OMPI_MCA_oob_tcp_if_include=$net OMPI_MCA_btl_tcp_if_include=$net OMPI_MCA_btl=self,vader,tcp
launcher = $4
INI
}
# the third point cannot save its model: it trains, then fails
sweep_ini two "$tmp/out" "$tmp/fig" mpirun "save_model = $tmp/m1.h5 | $tmp/m2.h5 | /proc/mpsl-none/m.h5" >"$tmp/two.ini"
sweep_ini srun "$tmp/out-srun" "$tmp/fig-srun" srun "seed = 7" >"$tmp/srun.ini"
cd "$tmp" || fail "cd $tmp"
submit() { # INI FIGDIR: submits on mpsl-a, prints the submission's lines
  on_a "$MPSL_SRCDIR/experiments/sweep" --mpsl "$MPSL_BUILDDIR/mpsl" --slurm --figdir "$2" "$1" >"$1.submit" 2>&1 ||
    { cat "$1.submit"; fail "submission of $1"; }
  cat "$1.submit"
}
submit "$tmp/two.ini" "$tmp/fig"
submit "$tmp/srun.ini" "$tmp/fig-srun"
grep -q '^#SBATCH --nodes=2$' "$tmp/out/slurm/points-np5.sbatch" &&
  grep -q '^#SBATCH --ntasks-per-node=3$' "$tmp/out/slurm/points-np5.sbatch" &&
  grep -q "^export MPSL_LAUNCH='srun --mpi=pmix'$" "$tmp/out-srun/slurm/points-np5.sbatch" ||
  fail "the job scripts lack the [slurm] settings: $(cat "$tmp/out/slurm/points-np5.sbatch")"
fig=$(sed -n 's/.*figure job \([0-9]*\) after.*/\1/p' "$tmp/two.ini.submit")
fig2=$(sed -n 's/.*figure job \([0-9]*\) after.*/\1/p' "$tmp/srun.ini.submit")
[ -n "$fig" ] && [ -n "$fig2" ] || fail "no figure job"
on_a scontrol show job "$fig" | grep -q "Dependency=afterany" || fail "the figure job does not wait with afterany"

# until the queue is empty (15 minutes at most); a slurmctld that stopped answering fails
for _ in $(seq 900); do
  ids=$(on_a squeue -h -o %i 2>"$tmp/squeue.err") || fail "squeue: $(cat "$tmp/squeue.err")"
  [ -z "$ids" ] && break
  sleep 1
done
[ -z "$ids" ] || fail "jobs still queued after 15 minutes: $(on_a squeue)"

for f in "$tmp"/out/emulate_clients=2_hops=2_save_model=*m1.h5.h5 "$tmp"/out/emulate_clients=2_hops=2_save_model=*m2.h5.h5 \
  "$tmp/out-srun/emulate_clients=2_hops=2_seed=7.h5"; do
  [ -f "$f" ] || fail "no results file $f"
  r=$("$MPSL_BUILDDIR/mpsl" report "$f") || fail "report of $f"
  grep -q "status: finished" <<<"$r" || fail "$f is not finished"
  h=$(grep '^hosts:' <<<"$r")
  [ "$h" = "hosts: 2 (mpsl-a: ranks 0-2; mpsl-b: ranks 3-4)" ] || fail "$f: expected ranks 0-2 on mpsl-a and 3-4 on mpsl-b, got '$h'"
  echo "slurm_multinode: $(basename "$f"): $h"
done
[ -s "$tmp/m1.h5" ] && [ -s "$tmp/m2.h5" ] || fail "the finished points saved no model"
on_a scontrol -o show job "$fig" | grep -q "JobState=FAILED" ||
  fail "the figure job should fail when a point failed: $(on_a scontrol -o show job "$fig" | grep -o 'JobState=[A-Z_]*')"
grep -q "1 of 3 point(s) have no finished results" "$tmp"/out/slurm-figures-*.out &&
  grep -q "3 emulate_clients=2_hops=2_save_model=-proc-mpsl-none-m.h5: log" "$tmp"/out/slurm-figures-*.out ||
  fail "the figure job does not name the failed point: $(cat "$tmp"/out/slurm-figures-*.out)"
on_a scontrol -o show job "$fig2" | grep -q "JobState=COMPLETED" || fail "the srun sweep's figure job did not complete"
for d in fig fig-srun; do
  [ "$(head -c 4 "$tmp/$d/fig1_round_time.png" 2>/dev/null | tail -c 3)" = PNG ] || fail "$d: no figure drawn"
done
echo "slurm_multinode: 4 points on 2 nodes with mpirun and srun, the failed one named by the figure job: ok"
