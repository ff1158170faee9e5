#!/bin/sh
# A disk that fills up during a run (docs/results.md, "Durability"): `mpsl run` and `mpsl
# simulate` write their results to small tmpfs file systems, sized so that the disk fills
# while the file is created, while a round's rows are written (before the first round and
# in the middle of the run), at a checkpoint, and at the end (the saved model); and a
# simulation is resumed on a disk filled to the last byte. Each job that cannot write
# exits non-zero with exactly one error line naming the file, never crashes, and leaves a
# results file that h5py reads with every round the job printed: the rounds table's rows
# 1..N and every other table's rows of those rounds, the same as the rows of a run on a
# disk with room (counted per round for `mpsl run`, whose times differ from run to run;
# equal row for row for `mpsl simulate`). Its status then says why it stopped.
#
# Besides that one line, stderr may hold what Open MPI's mpirun prints itself when a rank
# calls MPI_Abort or exits non-zero: a note between two lines of dashes, and now and then
# an "ORTE_ERROR_LOG" line from mpirun's own message relay. Those are filtered out, and
# nothing else is.
. "$(dirname "$0")/testlib.sh"
py=${MPSL_PYTHON:-/usr/bin/python3}
"$py" -c 'import h5py' 2>/dev/null || {
  echo "SKIP: no h5py for $py"
  exit 77
}
mnt=$tmp/mnt
mkdir "$mnt"
mount -t tmpfs -o size=64k tmpfs "$mnt" 2>/dev/null || {
  echo "SKIP: cannot mount a tmpfs (needs root)"
  exit 77
}
umount "$mnt"
trap 'umount "$mnt" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

# what a job says on stderr, but mpirun's own notes
own_lines() {
  awk '/^--------------------*$/ { note = !note; next }
    !note && !/^\[[^]]*\] \[\[[0-9]+,[0-9]+\],[0-9]+\] ORTE_ERROR_LOG: /' "$1"
}

# Rows per round of every table in file $1 for rounds 1..$2, one line per table; with
# $3 = exact, the rows themselves (a simulation's rows do not depend on when it ran).
rows() {
  "$py" - "$@" <<'EOF'
import sys, hashlib, h5py
path, n, exact = sys.argv[1], int(sys.argv[2]), len(sys.argv) > 3
f = h5py.File(path, "r")
for t in ("rounds", "events", "memory", "links", "audit"):
    r = f[t][()]
    keep = r[r["round"] <= n]
    if exact:
        what = hashlib.sha256(repr(keep.tolist()).encode()).hexdigest()  # the values, not the padding
    else:
        what = " ".join(str(int((keep["round"] == k).sum())) for k in range(1, n + 1))
    print(t, what)
EOF
}
status() { "$py" -c 'import sys, h5py; print(h5py.File(sys.argv[1], "r").attrs["status"].decode())' "$1"; }
rounds_in() { "$py" -c 'import sys, h5py; print(" ".join(str(x) for x in h5py.File(sys.argv[1], "r")["rounds"]["round"]))' "$1"; }

seen=""
# name, size of the file system (KiB), rounds of the job, `exact` or `counts`, the
# reference file, then the command (its output goes to $mnt/r.h5)
job() {
  name=$1 kb=$2 R=$3 how=$4 ref=$5
  shift 5
  mount -t tmpfs -o size="${kb}k" tmpfs "$mnt" || fail "$name: mount"
  out=$tmp/$name.out err=$tmp/$name.err f=$mnt/r.h5
  "$@" >"$out" 2>"$err"
  rc=$?
  n=$(grep -c '^round ' "$out")
  if grep -Eiq 'segmentation fault|signal 11|received signal|core dumped' "$out" "$err" || [ $rc -gt 128 ]; then
    cat "$err"
    fail "$name: crashed (exit $rc)"
  fi
  own_lines "$err" >"$tmp/$name.own"
  if [ $rc -eq 0 ]; then
    [ -s "$tmp/$name.own" ] && fail "$name: exit 0 with $(head -1 "$tmp/$name.own")"
    [ "$n" = "$R" ] || fail "$name: exit 0 after $n rounds of $R"
    [ "$(status "$f")" = finished ] || fail "$name: exit 0 with status '$(status "$f")'"
    what=complete
  else
    [ "$(wc -l <"$tmp/$name.own")" = 1 ] || { cat "$err"; fail "$name: not exactly one line on stderr"; }
    grep -Eq "^mpsl (run|simulate): error: .*$mnt/[^ ]*: .*No space left on device" "$tmp/$name.own" ||
      fail "$name: the line does not name the file and the full disk: $(cat "$tmp/$name.own")"
    line=$(cat "$tmp/$name.own")
    case $line in
    *"cannot write the results file"*) what=create ;;
    *.ckpt*) what=checkpoint ;;
    *.model*) what=model ;;
    *"cannot append"*) [ "$n" = 0 ] && what=rows-before-round-1 || what=rows-mid-run ;;
    *) fail "$name: an unexpected failure: $line" ;;
    esac
  fi
  if [ "$what" = create ]; then
    # nothing that looks like a results file is left
    [ "$n" = 0 ] && [ ! -e "$f" ] || fail "$name: a file is left after its creation failed"
  else
    [ "$(rounds_in "$f")" = "$(seq -s ' ' 1 "$n")" ] || fail "$name: $n rounds printed, the file has $(rounds_in "$f")"
    rows "$f" "$n" $([ "$how" = exact ] && echo exact) >"$tmp/$name.rows" || fail "$name: h5py cannot read the file"
    rows "$ref" "$n" $([ "$how" = exact ] && echo exact) >"$tmp/$name.want"
    cmp -s "$tmp/$name.rows" "$tmp/$name.want" ||
      fail "$name: the rows of rounds 1..$n differ from a run with room: $(diff "$tmp/$name.want" "$tmp/$name.rows" | tr '\n' ' ')"
    if [ "$what" != complete ]; then
      status "$f" | grep -q "^aborted: .*No space left on device" || fail "$name: status '$(status "$f")'"
    fi
  fi
  umount "$mnt" || fail "$name: umount"
  echo "$name: ${kb} KiB: $what after $n of $R rounds"
  seen="$seen $what"
}
saw() { case " $seen " in *" $1 "*) ;; *) fail "$2: no job failed as '$1' (saw:$seen)" ;; esac; }

# mpsl run: 6 rounds, 4 ranks; its file takes about 124 KiB (16 KiB before round 1, 60
# KiB with the first round's events), a checkpoint 156 KiB (twice, while the next is
# written), the saved model as much
set -- --config "$MPSL_SRCDIR/tests/fixtures/tiny-run.ini" --set clients=2 --set hops=1 --set rounds=6
np=$("$mpsl" run --ranks "$@") || fail "mpsl run --ranks"
# shellcheck disable=SC2086
$MPSL_LAUNCH -np "$np" "$mpsl" run "$@" --set checkpoint_every=0 --set output="$tmp/run.h5" >"$tmp/run.log" 2>&1 ||
  { tail -5 "$tmp/run.log"; fail "mpsl run with room"; }
for case in create:8:0 first:32:0 mid:104:0 checkpoint:200:1 model:200:0 room:400:0; do
  name=${case%%:*} rest=${case#*:}
  kb=${rest%:*} every=${rest#*:}
  extra=
  [ "$name" = model ] && extra="--set save_model=$mnt/m.model"
  # shellcheck disable=SC2086
  job "run-$name" "$kb" 6 counts "$tmp/run.h5" $MPSL_LAUNCH -np "$np" "$mpsl" run "$@" --set checkpoint_every="$every" \
    $extra --set output="$mnt/r.h5"
done
for w in create rows-before-round-1 rows-mid-run checkpoint model complete; do saw "$w" "mpsl run"; done

# mpsl simulate: 20 rounds; its file takes about 1.4 MiB, 70 KiB a round
set -- --set model="csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv" --set batch=4 --set rounds=20
"$mpsl" simulate "$@" --set output="$tmp/sim.h5" >"$tmp/sim.log" 2>&1 || { tail -5 "$tmp/sim.log"; fail "mpsl simulate with room"; }
seen=""
for kb in 8 48 300 700 1100 1600; do
  job "sim-$kb" "$kb" 20 exact "$tmp/sim.h5" "$mpsl" simulate "$@" --set output="$mnt/r.h5"
done
for w in create rows-before-round-1 rows-mid-run complete; do saw "$w" "mpsl simulate"; done

# a disk full to the last byte: a resume fails in one line; the file keeps its five rounds,
# and is either as it was, byte for byte (the resume could not begin) or says in its status
# that the disk is full (the resume began in the room the file keeps for its status and
# stopped at its first rows). With room again it goes on to the end, row for row the
# simulation that never stopped.
mount -t tmpfs -o size=1600k tmpfs "$mnt" || fail "mount"
MPSL_ABORT_AFTER_ROUND=5 "$mpsl" simulate "$@" --set output="$mnt/r.h5" >"$tmp/stop.log" 2>&1 &&
  fail "the simulation did not stop after round 5"
cp "$mnt/r.h5" "$tmp/stopped.h5"
dd if=/dev/zero of="$mnt/fill" bs=4096 2>/dev/null
[ "$(df -k "$mnt" | awk 'NR == 2 { print $4 }')" = 0 ] || fail "the disk is not full"
"$mpsl" simulate --resume "$mnt/r.h5" >"$tmp/full.out" 2>"$tmp/full.err" && fail "a resume on a full disk exited 0"
[ "$(wc -l <"$tmp/full.err")" = 1 ] && grep -q "^mpsl simulate: error: $mnt/r.h5: .*No space left on device" "$tmp/full.err" ||
  fail "a resume on a full disk: $(cat "$tmp/full.err")"
if ! cmp -s "$mnt/r.h5" "$tmp/stopped.h5"; then
  status "$mnt/r.h5" | grep -q "^aborted: .*No space left on device" || fail "a resume on a full disk: status $(status "$mnt/r.h5")"
fi
[ "$(rounds_in "$mnt/r.h5")" = "1 2 3 4 5" ] || fail "a resume on a full disk left rounds $(rounds_in "$mnt/r.h5")"
rows "$mnt/r.h5" 5 exact >"$tmp/five.rows"
rows "$tmp/sim.h5" 5 exact >"$tmp/five.want"
cmp -s "$tmp/five.rows" "$tmp/five.want" || fail "a resume on a full disk changed the rows of rounds 1..5"
rm "$mnt/fill"
"$mpsl" simulate --resume "$mnt/r.h5" >"$tmp/resume.log" 2>&1 || { tail -3 "$tmp/resume.log"; fail "the resume with room"; }
[ "$(status "$mnt/r.h5")" = finished ] || fail "the resumed simulation: status $(status "$mnt/r.h5")"
rows "$mnt/r.h5" 20 exact >"$tmp/resumed.rows"
rows "$tmp/sim.h5" 20 exact >"$tmp/sim.rows"
cmp -s "$tmp/resumed.rows" "$tmp/sim.rows" || fail "the resumed simulation's rows differ"
umount "$mnt"
echo "sim-resume: on a full disk stopped in one line, its rounds kept; with room finished, rows equal"
