#!/bin/sh
# `mpsl simulate --resume`: a simulation stopped after round 2 of 5 and resumed writes the
# uninterrupted simulation's tables row for row and byte for byte (events, rounds, memory,
# links, audit, partition), with the clock going on where it stopped. The stop is the test
# hook MPSL_ABORT_AFTER_ROUND (docs/run.md): the simulation ends with an error after that
# round's rows, as a time limit would end it. A second stop, after round 4, then loses the
# round's row of the rounds table (written last in a round), as a kill just before it
# would: the resume cuts the other tables back to round 3 and plays round 4 again. A
# finished file has nothing to resume; a file of another mode or a missing one is refused.
. "$(dirname "$0")/testlib.sh"
table=csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv
set -- --set model=$table --set batch=4 --set clients=5 --set hops=2 --set pipelines=2 \
  --set owners_per_rank=2 --set batches=2 --set local_epochs=2 --set rounds=5 --set policy=bwd-first \
  --set jitter=0.2 --set do_cn_bw=8Mbit --set do_cn_lat=0.01 --set cn_cn_bw=100Mbit --set do_agg_bw=8Mbit \
  --set profile_dir="$tmp/profiles"
a=$tmp/a.h5 b=$tmp/b.h5
status() { h5dump -a status "$1" | sed -n 's/^ *(0): "\(.*\)"$/\1/p'; }

"$mpsl" simulate "$@" --set output="$a" >"$tmp/a.log" 2>&1 || { cat "$tmp/a.log"; fail "the uninterrupted simulation"; }
MPSL_ABORT_AFTER_ROUND=2 "$mpsl" simulate "$@" --set output="$b" >"$tmp/b1.log" 2>&1 &&
  fail "the simulation did not stop after round 2"
grep -q "MPSL_ABORT_AFTER_ROUND=2: stopped on purpose" "$tmp/b1.log" || { cat "$tmp/b1.log"; fail "no stop"; }
[ "$(status "$b")" = "aborted: MPSL_ABORT_AFTER_ROUND=2: stopped on purpose" ] || fail "status '$(status "$b")'"
[ "$("$mpsl" report --csv rounds "$b" | tail -n +2 | cut -d, -f1 | tr '\n' ' ')" = "1 2 " ] ||
  fail "after the stop the file holds rounds $("$mpsl" report --csv rounds "$b" | cut -d, -f1 | tr '\n' ' ')"
MPSL_ABORT_AFTER_ROUND=4 "$mpsl" simulate --resume "$b" >"$tmp/b2.log" 2>&1 && fail "the resume did not stop after round 4"
grep -q "^# resuming $b after round 2 of 5" "$tmp/b2.log" || { cat "$tmp/b2.log"; fail "the resume began elsewhere"; }
/usr/bin/python3 -c 'import h5py, sys
with h5py.File(sys.argv[1], "r+") as f:
    assert f["rounds"].shape == (4,), f["rounds"].shape
    f["rounds"].resize((3,))' "$b" || fail "cannot drop round 4 from the rounds table"
"$mpsl" simulate --resume "$b" >"$tmp/b3.log" 2>&1 || { cat "$tmp/b3.log"; fail "the second resume"; }
grep -q "^# resuming $b after round 3 of 5" "$tmp/b3.log" || { cat "$tmp/b3.log"; fail "the second resume began elsewhere"; }
[ "$(status "$b")" = finished ] || fail "status after the resume: '$(status "$b")'"
h5dump -a resumed_after "$b" >"$tmp/ra" && grep -q 'DATATYPE  H5T_STD_I64LE' "$tmp/ra" || fail "resumed_after type"
[ "$(sed -n 's/^ *(0): \([0-9, ]*\)$/\1/p' "$tmp/ra")" = "2, 3" ] || fail "resumed_after $(cat "$tmp/ra")"
for d in events rounds memory links audit partition; do
  h5diff -q "$a" "$b" "/$d" "/$d" || fail "table $d differs from the uninterrupted simulation's"
done
# the printed rounds are the same too
grep '^round ' "$tmp/a.log" | tail -n 2 >"$tmp/a.rounds"
grep '^round ' "$tmp/b3.log" >"$tmp/b.rounds"
cmp -s "$tmp/a.rounds" "$tmp/b.rounds" || fail "rounds 4-5 printed differently: $(cat "$tmp/b.rounds")"

# a finished file has nothing to resume and is left as it was
cp "$b" "$tmp/c.h5"
"$mpsl" simulate --resume "$b" >"$tmp/b4.log" 2>&1 || fail "--resume of a finished simulation failed"
grep -q "finished, all 5 rounds: nothing to resume" "$tmp/b4.log" || fail "$(cat "$tmp/b4.log")"
h5diff -q "$b" "$tmp/c.h5" || fail "--resume of a finished simulation changed the file"

# refused: a missing file, a file that is not a simulation's, other arguments beside it
"$mpsl" simulate --resume "$tmp/none.h5" >"$tmp/e1" 2>&1 && fail "resumed a missing file"
grep -q "none.h5" "$tmp/e1" || fail "the error does not name the file: $(cat "$tmp/e1")"
"$mpsl" run --ranks --resume "$a" >"$tmp/e2" 2>&1 && fail "mpsl run resumed a simulation's file"
grep -q "a results file of mpsl simulate, not of mpsl run" "$tmp/e2" || fail "$(cat "$tmp/e2")"
"$mpsl" simulate --resume "$b" --set rounds=6 >"$tmp/e3" 2>&1 && fail "took --set beside --resume"
grep -q "expected nothing beside it" "$tmp/e3" || fail "$(cat "$tmp/e3")"
echo ok
