#!/bin/sh
# The status of a results file tells the truth (docs/results.md): while a run runs,
# `mpsl report` says so and names rank 0's pid and host; SIGTERM to every rank (what Slurm
# sends at a time limit or scancel) leaves `aborted: signal TERM (15) at ...`; SIGTERM to
# mpirun leaves the same, or, when Open MPI's mpirun ends rank 0 with SIGKILL before it
# passed the SIGTERM on (it does, now and then), `running` with rank 0 gone; SIGKILL of rank
# 0 leaves `running`, which `mpsl report` calls interrupted, since that process is gone.
# On an unfinished run `mpsl report` prints the summary and exits 3.
. "$(dirname "$0")/testlib.sh"
set -- --set model=vgg11-cifar --set width=0.0625 --set clients=2 --set hops=2 --set batch=4 --set batches=20 \
  --set local_epochs=1 --set rounds=100000 --set test_limit=16 --set threads=1
np=$("$mpsl" run --ranks "$@") || fail "mpsl run --ranks"

start() { # the results file, then the configuration; waits until the file holds two rounds
  out=$1
  shift
  # shellcheck disable=SC2086
  $MPSL_LAUNCH -np "$np" "$mpsl" run "$@" --set output="$out" >"$out.log" 2>&1 &
  job=$!
  i=0
  while [ "$("$mpsl" report --csv rounds "$out" 2>/dev/null | wc -l)" -lt 3 ]; do
    kill -0 "$job" 2>/dev/null || { tail -5 "$out.log"; fail "the job ended before two rounds"; }
    i=$((i + 1))
    [ $i -lt 1200 ] || fail "no two rounds within 120 s"
    sleep 0.1
  done
}
ended() { # waits for the job (at most 30 s)
  i=0
  while kill -0 "$job" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 300 ] || fail "the job still runs 30 s after the signal"
    sleep 0.1
  done
  wait "$job" && fail "the job exited 0"
  # mpirun may return before its ranks are gone
  while pgrep -f -- "output=$out" >/dev/null; do
    i=$((i + 1))
    [ $i -lt 300 ] || fail "ranks of the job still run 30 s after the signal"
    sleep 0.1
  done
}
status() { h5dump -a status "$1" | sed -n 's/^ *(0): "\(.*\)"$/\1/p'; }

# running, and said so
a=$tmp/term.h5
start "$a" "$@"
"$mpsl" report "$a" >"$tmp/r1" || fail "mpsl report of a running run exited $?"
head -1 "$tmp/r1" | grep -q "status: running (rank 0 of the run, pid [0-9]* on $(hostname), runs; last heartbeat 20" ||
  fail "running: $(head -1 "$tmp/r1")"
# SIGTERM to every rank, as Slurm sends it: rank 0 says why before it goes
pkill -TERM -f -- "^$mpsl run .*output=$a" || fail "no rank to signal" # the ranks, not mpirun
ended
status "$a" | grep -q '^aborted: signal TERM (15) at 20' || fail "after SIGTERM the status is '$(status "$a")'"
"$mpsl" report "$a" >"$tmp/r2" 2>"$tmp/e2"
[ $? -eq 3 ] || fail "mpsl report of an aborted run did not exit 3"
grep -q "the run did not finish" "$tmp/e2" || fail "no 'did not finish' line: $(cat "$tmp/e2")"
[ "$(wc -l <"$tmp/r2")" -gt 3 ] || fail "no summary of the aborted run"

# SIGTERM to mpirun: aborted, or interrupted; never a run that looks alive or finished
c=$tmp/mpirun.h5
start "$c" "$@"
kill -TERM "$job"
ended
"$mpsl" report "$c" >"$tmp/r4" 2>/dev/null
[ $? -eq 3 ] || fail "mpsl report after SIGTERM to mpirun did not exit 3: $(head -1 "$tmp/r4")"
head -1 "$tmp/r4" | grep -qE "status: (aborted: signal TERM \(15\)|interrupted \(rank 0)" ||
  fail "after SIGTERM to mpirun: $(head -1 "$tmp/r4")"
echo "SIGTERM to mpirun: $(head -1 "$tmp/r4" | sed 's/.*status: \([a-z]*\).*/\1/')"

# SIGKILL of rank 0: nobody can write; the file says running and its writer is gone
b=$tmp/kill.h5
start "$b" "$@"
pid=$(h5dump -a writer_pid "$b" | sed -n 's/^ *(0): \([0-9]*\)$/\1/p') # an integer attribute
[ -n "$pid" ] && kill -0 "$pid" || fail "writer_pid '$pid' is not a live process"
kill -KILL "$pid"
ended
[ "$(status "$b")" = running ] || fail "after SIGKILL of rank 0 the status is '$(status "$b")'"
"$mpsl" report "$b" >"$tmp/r3" 2>/dev/null
[ $? -eq 3 ] || fail "mpsl report of an interrupted run did not exit 3"
head -1 "$tmp/r3" | grep -q "status: interrupted (rank 0 of the run, pid $pid on $(hostname), is gone" ||
  fail "interrupted: $(head -1 "$tmp/r3")"
echo "sl_status: ok"
