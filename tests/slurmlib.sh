# Sourced by the Slurm tests (slurm.sh, slurm_multinode.sh): what a private Slurm of Debian's
# slurm-wlm needs, and the settings every such test cluster shares.
#   slurm_skip REASON     skip (exit 77), or fail under CI=true, where Slurm must be tested
#   slurm_require CMD...  root and these commands (from /usr/sbin too), else slurm_skip
#   slurm_conf DIR        the shared part of slurm.conf: no authentication, no cgroups, no
#                         accounting, every file of the daemons under DIR (%n: one per node)
#   slurm_stop PID...     stops these daemons: TERM, then KILL after 5 s
slurm_skip() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL (CI): $*"
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}
slurm_require() {
  [ "$(id -u)" = 0 ] || slurm_skip "a private Slurm needs root (SlurmUser=root)"
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || slurm_skip "$c not found (Debian package slurm-wlm)"
  done
  PATH=$PATH:/usr/sbin
}
slurm_conf() {
  cat <<CONF
AuthType=auth/none
CredType=cred/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$1/state
SlurmdSpoolDir=$1/spool/%n
SlurmctldPidFile=$1/slurmctld.pid
SlurmdPidFile=$1/slurmd-%n.pid
SlurmctldLogFile=$1/slurmctld.log
SlurmdLogFile=$1/slurmd-%n.log
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
MinJobAge=3600
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
CONF
}
slurm_stop() {
  local p
  for p in "$@"; do kill "$p" 2>/dev/null; done
  for p in "$@"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$p" 2>/dev/null
  done
}
