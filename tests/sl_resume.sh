#!/bin/sh
# Checkpoints and `mpsl run --resume`: a run stopped after round 2 of 6 and again after
# round 4, each time resumed, ends at the uninterrupted run's global model bit for bit, and
# its results file holds each of the six rounds once with the same losses and accuracies.
# The stop is MPI_Abort from rank 0 right after a round's checkpoint
# (MPSL_ABORT_AFTER_ROUND, docs/run.md): the whole job dies as under a kill, at a known
# round. An emulated run (profiled compute) resumed the same way goes on with the model
# clock where it stopped.
. "$(dirname "$0")/testlib.sh"
rounds() { "$mpsl" report --csv rounds "$1" | cut -d, -f"$2"; }

status() { h5dump -a status "$1" | sed -n 's/^ *(0): "\(.*\)"$/\1/p'; }
tasks() {
  "$mpsl" report --csv events "$1" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { print $c["round"], $c["rank"], $c["role"], $c["owner"], $c["batch"], $c["direction"], $c["part"] }' | sort
}

check() { # name, model (save it: yes or no), the two stops, the rounds each resume goes on after, then the configuration
  name=$1 save=$2 s1=$3 s2=$4 r1=$5 r2=$6
  shift 6
  sa= sb=
  [ "$save" = yes ] && sa="--set save_model=$tmp/$name-a.model" sb="--set save_model=$tmp/$name-b.model"
  np=$("$mpsl" run --ranks "$@") || fail "$name: mpsl run --ranks"
  # shellcheck disable=SC2086
  $MPSL_LAUNCH -np "$np" "$mpsl" run "$@" --set output="$tmp/$name-a.h5" $sa >"$tmp/$name-a.log" 2>&1 || { tail -5 "$tmp/$name-a.log"; fail "$name: the uninterrupted run"; }
  b=$tmp/$name-b.h5
  # shellcheck disable=SC2086
  MPSL_ABORT_AFTER_ROUND=$s1 $MPSL_LAUNCH -np "$np" "$mpsl" run "$@" --set output="$b" $sb >"$tmp/$name-b1.log" 2>&1 &&
    fail "$name: the run did not stop after round $s1"
  grep -q "MPSL_ABORT_AFTER_ROUND=$s1: stopped on purpose" "$tmp/$name-b1.log" || { tail -5 "$tmp/$name-b1.log"; fail "$name: no stop"; }
  [ "$(status "$b")" = "aborted: MPSL_ABORT_AFTER_ROUND=$s1: stopped on purpose" ] || fail "$name: status '$(status "$b")'"
  [ "$(rounds "$b" 1 | tail -n +2 | tr '\n' ' ')" = "$(seq -s ' ' 1 "$s1") " ] ||
    fail "$name: after the stop the file has rounds $(rounds "$b" 1 | tr '\n' ' ')"
  [ "$("$mpsl" run --ranks --resume "$b")" = "$np" ] || fail "$name: mpsl run --ranks --resume"
  # shellcheck disable=SC2086
  MPSL_ABORT_AFTER_ROUND=$s2 $MPSL_LAUNCH -np "$np" "$mpsl" run --resume "$b" >"$tmp/$name-b2.log" 2>&1 &&
    fail "$name: the resumed run did not stop after round $s2"
  grep -q "^# resuming $b after round $r1 of 6" "$tmp/$name-b2.log" || { tail -5 "$tmp/$name-b2.log"; fail "$name: resume 1"; }
  # shellcheck disable=SC2086
  $MPSL_LAUNCH -np "$np" "$mpsl" run --resume "$b" >"$tmp/$name-b3.log" 2>&1 ||
    { tail -5 "$tmp/$name-b3.log"; fail "$name: the second resume"; }
  grep -q "^# resuming $b after round $r2 of 6" "$tmp/$name-b3.log" || fail "$name: the second resume began elsewhere"
  # a list of integers: the rounds each resume went on after
  h5dump -a resumed_after "$b" >"$tmp/ra" && grep -q 'DATATYPE  H5T_STD_I64LE' "$tmp/ra" || fail "$name: resumed_after type"
  [ "$(sed -n 's/^ *(0): \([0-9, ]*\)$/\1/p' "$tmp/ra")" = "$r1, $r2" ] || fail "$name: resumed_after $(cat "$tmp/ra")"
  h5dump -a resumed_command "$b" | grep -q -- "--resume $b" || fail "$name: resumed_command"
  # every table holds each round once (rows past a checkpoint were cut back and played again)
  for t in events memory links audit; do
    "$mpsl" report --csv $t "$b" | awk -F, 'NR > 1 { print $1 }' | uniq | tr '\n' ' ' >"$tmp/rb"
    [ "$(cat "$tmp/rb")" = "1 2 3 4 5 6 " ] || fail "$name: table $t holds rounds $(cat "$tmp/rb")"
  done
  # the same rounds, once each, with the same numbers; the same model
  for col in 1 4 5 6; do
    [ "$(rounds "$tmp/$name-a.h5" $col)" = "$(rounds "$b" $col)" ] ||
      fail "$name: rounds column $col differs: $(rounds "$tmp/$name-a.h5" $col | tr '\n' ' ') vs $(rounds "$b" $col | tr '\n' ' ')"
  done
  [ "$(h5dump -a status "$b" | grep -c finished)" = 1 ] || fail "$name: not finished"
  # the same tasks: each with its round, rank, role, data owner, batch (counted over the
  # run), direction and part
  tasks "$tmp/$name-a.h5" >"$tmp/ev-a"
  tasks "$b" >"$tmp/ev-b"
  cmp -s "$tmp/ev-a" "$tmp/ev-b" || fail "$name: the tasks differ: $(diff "$tmp/ev-a" "$tmp/ev-b" | head -3 | tr '\n' ' ')"
  # and a finished run has nothing to resume
  "$mpsl" run --resume "$b" >"$tmp/$name-b4.log" 2>&1 || fail "$name: --resume of a finished run failed"
  grep -q "finished, all 6 rounds: nothing to resume" "$tmp/$name-b4.log" || fail "$name: $(cat "$tmp/$name-b4.log")"
  echo "$name: ok"
}

# real compute: dropout, augmentation and batch order go on where they were
check real yes 2 4 2 4 --config "$MPSL_SRCDIR/tests/fixtures/tiny-run.ini" --set clients=3 --set hops=2 --set rounds=6 \
  --set augment=true
h5diff "$tmp/real-a.model" "$tmp/real-b.model" || fail "real: the resumed run's model differs"
# emulation with profiled compute (its round times depend on the wall-clock gaps between
# rounds, so they are not compared)
check emulated no 2 4 2 4 --set model="csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv" --set batch=4 \
  --set batches=2 --set rounds=6 --set clients=2 --set hops=2 --set compute=profiled --set time_scale=0.02 \
  --set devices="$MPSL_SRCDIR/tests/fixtures/slow-devices.ini" --set do_devices=do_test --set cn_devices=cn_test \
  --set do_cn_bw=8Mbit --set do_cn_lat=0.005 --set cn_cn_bw=40Mbit --set threads=1 --set test_limit=8
# the model clock goes on from the checkpoint's: no task of a resumed round starts before
# the last task of the round before it ended (a clock that restarted would begin at 0)
"$mpsl" report --csv events "$tmp/emulated-b.h5" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  { r = $c["round"]; if (!(r in lo) || $c["start"] < lo[r]) lo[r] = $c["start"]; if ($c["end"] > hi[r]) hi[r] = $c["end"] }
  END { for (r = 2; r <= 6; r++) if (!(lo[r] >= hi[r - 1])) { print "round " r ": starts at " lo[r] " before " hi[r - 1]; bad = 1 }
        exit bad }' || fail "emulated: the resumed clock went back"
# a stop after a round that reached no checkpoint: its rows are cut and played again; with
# no checkpoint at all the run starts over
check every2 yes 3 5 2 4 --config "$MPSL_SRCDIR/tests/fixtures/tiny-run.ini" --set clients=2 --set hops=1 --set rounds=6 \
  --set checkpoint_every=2
h5diff "$tmp/every2-a.model" "$tmp/every2-b.model" || fail "every2: the resumed run's model differs"
check never yes 2 4 0 0 --config "$MPSL_SRCDIR/tests/fixtures/tiny-run.ini" --set clients=2 --set hops=1 --set rounds=6 \
  --set checkpoint_every=0
h5diff "$tmp/never-a.model" "$tmp/never-b.model" || fail "never: the model of the run started over differs"
[ ! -e "$tmp/never-b.h5.ckpt" ] || fail "never: a checkpoint was written"
# a new run with the output of an earlier one does not inherit its checkpoint
[ -e "$tmp/every2-b.h5.ckpt" ] || fail "every2: no checkpoint"
np=$("$mpsl" run --ranks --config "$MPSL_SRCDIR/tests/fixtures/tiny-run.ini" --set clients=2 --set hops=1)
# shellcheck disable=SC2086
MPSL_ABORT_AFTER_ROUND=1 $MPSL_LAUNCH -np "$np" "$mpsl" run --config "$MPSL_SRCDIR/tests/fixtures/tiny-run.ini" \
  --set clients=2 --set hops=1 --set checkpoint_every=0 --set output="$tmp/every2-b.h5" >/dev/null 2>&1
[ ! -e "$tmp/every2-b.h5.ckpt" ] || fail "a new run kept an earlier run's checkpoint"

# what cannot be resumed is refused in one line naming the file
"$mpsl" run --resume "$tmp/none.h5" 2>"$tmp/e1" && fail "--resume of a missing file succeeded"
grep -q "none.h5" "$tmp/e1" || fail "--resume of a missing file: $(cat "$tmp/e1")"
"$mpsl" run --resume "$tmp/real-b.h5" --set rounds=9 2>"$tmp/e2" && fail "--resume with another key succeeded"
grep -q "takes the configuration from the file" "$tmp/e2" || fail "--resume with a key: $(cat "$tmp/e2")"
"$mpsl" simulate --set model="csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv" --set batch=4 \
  --set output="$tmp/sim.h5" >/dev/null 2>&1 || fail "mpsl simulate"
"$mpsl" run --resume "$tmp/sim.h5" 2>"$tmp/e3" && fail "--resume of a simulation succeeded"
grep -q "not of mpsl run" "$tmp/e3" || fail "--resume of a simulation: $(cat "$tmp/e3")"
# a file of the older layout (no format_version: its tables counted rounds from 0) is not
# appended to
py=${MPSL_PYTHON:-/usr/bin/python3}
if "$py" -c 'import h5py' 2>/dev/null; then
  # shellcheck disable=SC2086
  MPSL_ABORT_AFTER_ROUND=1 $MPSL_LAUNCH -np "$np" "$mpsl" run --config "$MPSL_SRCDIR/tests/fixtures/tiny-run.ini" \
    --set clients=2 --set hops=1 --set rounds=3 --set output="$tmp/old.h5" >/dev/null 2>&1
  "$py" -c 'import sys, h5py; f = h5py.File(sys.argv[1], "r+"); del f.attrs["format_version"]' "$tmp/old.h5" ||
    fail "cannot make a file of the older layout"
  # shellcheck disable=SC2086
  $MPSL_LAUNCH -np "$np" "$mpsl" run --resume "$tmp/old.h5" >"$tmp/e4" 2>&1 && fail "--resume of a format 1 file succeeded"
  grep -q "old.h5: a results file of format 1, this mpsl writes format 2" "$tmp/e4" ||
    fail "--resume of a format 1 file: $(cat "$tmp/e4")"
  [ "$("$mpsl" report --csv rounds "$tmp/old.h5" | wc -l)" -eq 2 ] || fail "the refused resume changed the file"
fi
echo "sl_resume: ok"
