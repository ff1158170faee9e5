#!/bin/sh
# experiments/sweep runs every point of a sweep over MPI, writes the index the plots read,
# skips finished points on a rerun, and keeps going past a failed point, which it lists
# with its log before exiting non-zero; a rerun resumes unfinished points, and points over
# a memory cap are reported.
. "$(dirname "$0")/testlib.sh"
sweep=$MPSL_SRCDIR/experiments/sweep
# Two real points (1 and 2 hops) and one whose model does not exist; K = 2, tiny model.
cat >"$tmp/tiny.ini" <<INI
[sweep]
name = tiny
output = $tmp/out
mode = emulate
[base]
width = 0.25
clients = 2
batch = 8
batches = 2
local_epochs = 1
rounds = 1
test_limit = 16
threads = 1
[axes]
model = vgg11-cifar | no-such-model
hops = 1, 2
INI
"$sweep" --mpsl "$mpsl" --count "$tmp/tiny.ini" >"$tmp/count" || fail "--count"
[ "$(cat "$tmp/count")" -eq 4 ] || fail "2 models x 2 hop counts should be 4 points, got $(cat "$tmp/count")"

"$sweep" --mpsl "$mpsl" "$tmp/tiny.ini" >"$tmp/run1" 2>&1
rc=$?
cat "$tmp/run1"
[ $rc -ne 0 ] || fail "a sweep with failed points exited 0"
ok=$(grep -c ': ok in .* | elapsed .* | ETA ' "$tmp/run1")
[ "$ok" -eq 2 ] || fail "expected 2 progress lines with ok, elapsed and ETA, got $ok"
grep -q "2 of 4 point(s) failed" "$tmp/run1" || fail "the failures are not counted at the end"
for h in 1 2; do
  grep -q "emulate_model=no-such-model_hops=$h: log $tmp/out/emulate_model=no-such-model_hops=$h.log" "$tmp/run1" ||
    fail "failed point hops=$h is not listed with its log"
  grep -q "no-such-model" "$tmp/out/emulate_model=no-such-model_hops=$h.log" || fail "the log of the failed point does not say why"
  f=$tmp/out/emulate_model=vgg11-cifar_hops=$h.h5
  "$mpsl" report "$f" | grep -q "status: finished" || fail "$f is not a finished run"
  [ "$("$mpsl" report --csv memory "$f" | awk -F, 'NR > 1 && $3 == 1' | wc -l)" -eq "$h" ] ||
    fail "$f should have $h compute nodes"
done
[ "$(wc -l <"$tmp/out/points.tsv")" -eq 5 ] || fail "points.tsv should hold a header and 4 points"
head -1 "$tmp/out/points.tsv" | grep -q "^index	name	mode	rep	seed	model	hops	file$" || fail "points.tsv header"

# The rerun skips the two finished points and tries the failed ones again.
m1=$(stat -c %Y "$tmp/out/emulate_model=vgg11-cifar_hops=1.h5")
"$sweep" --mpsl "$mpsl" "$tmp/tiny.ini" >"$tmp/run2" 2>&1 && fail "the rerun exited 0"
[ "$(grep -c ': skipped, .* is finished' "$tmp/run2")" -eq 2 ] || { cat "$tmp/run2"; fail "the rerun did not skip the finished points"; }
[ "$(grep -c ': FAILED in ' "$tmp/run2")" -eq 2 ] || fail "the rerun did not retry the failed points"
[ "$(stat -c %Y "$tmp/out/emulate_model=vgg11-cifar_hops=1.h5")" = "$m1" ] || fail "a skipped point's file was rewritten"

# One point alone (what a Slurm array task runs), and a bad definition is one error line.
"$sweep" --mpsl "$mpsl" --point 1 "$tmp/tiny.ini" | grep -q "tiny \[1/1\] emulate_model=vgg11-cifar_hops=1: skipped" ||
  fail "--point 1"
"$sweep" --mpsl "$mpsl" --point 9 "$tmp/tiny.ini" 2>"$tmp/err" && fail "--point 9 of 4 was accepted"
grep -q "expected 1..4" "$tmp/err" || fail "--point 9: $(cat "$tmp/err")"
printf '[sweep]\nreps = many\n' >"$tmp/bad.ini"
"$sweep" --mpsl "$mpsl" "$tmp/bad.ini" 2>"$tmp/err" && fail "reps = many was accepted"
[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "bad.ini:2: reps = 'many': expected a positive integer" "$tmp/err" ||
  fail "bad reps: $(cat "$tmp/err")"

# A point stopped after round 1 of 3 (the test hook MPSL_ABORT_AFTER_ROUND, docs/run.md)
# fails; the rerun resumes it from its file, in either mode, and the result equals an
# uninterrupted run's. A point whose compute node is over its memory cap (memory_check =
# false lets it run) is reported on its progress line and at the end.
printf '[cn1m]\ndescription = a compute node of 1 MiB\nspeed = 1\nmemory = 1M\nsource = test\n' >"$tmp/dev.ini"
cat >"$tmp/resume.ini" <<INI
[sweep]
name = again
output = $tmp/again
[base]
model = vgg11-cifar
width = 0.25
clients = 2
batch = 8
batches = 2
local_epochs = 1
rounds = 3
test_limit = 16
threads = 1
compute = profiled
devices = $tmp/dev.ini
memory_check = false
profile_dir = $tmp/profiles
[axes]
mode = simulate | emulate
cn_devices = host | cn1m
INI
MPSL_ABORT_AFTER_ROUND=1 "$sweep" --mpsl "$mpsl" "$tmp/resume.ini" >"$tmp/again1" 2>&1 && { cat "$tmp/again1"; fail "stopped points did not fail"; }
[ "$(grep -c ': FAILED in ' "$tmp/again1")" -eq 4 ] || { cat "$tmp/again1"; fail "expected 4 stopped points"; }
# the first point measured the host profile, which the others reuse: the ETA leaves it out
grep -q '^again \[1/4\] simulate_cn_devices=host: FAILED in [0-9.]* s, with a host profile measured | elapsed .* | ETA ?$' "$tmp/again1" ||
  { cat "$tmp/again1"; fail "the first point's line does not say it measured a profile"; }
grep -q '^again \[2/4\] simulate_cn_devices=cn1m: FAILED in [0-9.]* s | elapsed .* | ETA [0-9]' "$tmp/again1" ||
  { cat "$tmp/again1"; fail "the second point's line has no ETA"; }
"$sweep" --mpsl "$mpsl" --status "$tmp/resume.ini" >"$tmp/again-st" && fail "--status of stopped points exited 0"
[ "$(grep -c 'unfinished (resumes)' "$tmp/again-st")" -eq 4 ] || { cat "$tmp/again-st"; fail "--status does not say the points resume"; }
"$sweep" --mpsl "$mpsl" "$tmp/resume.ini" >"$tmp/again2" 2>&1 || { cat "$tmp/again2"; fail "the rerun of the stopped points failed"; }
cat "$tmp/again2"
[ "$(grep -c ': ok (resumed after round 1)' "$tmp/again2")" -eq 4 ] || fail "the rerun did not resume the 4 points after round 1"
[ "$(grep -c 'OVER A MEMORY CAP: rank 1 holds' "$tmp/again2")" -eq 2 ] || fail "the 2 points over their cap are not flagged"
grep -q "2 point(s) ran with a rank over its memory cap" "$tmp/again2" || fail "no summary of the points over their cap"
"$sweep" --mpsl "$mpsl" --status "$tmp/resume.ini" >"$tmp/again-st2" || fail "--status after the resume"
[ "$(grep -c 'finished, over a memory cap' "$tmp/again-st2")" -eq 2 ] || { cat "$tmp/again-st2"; fail "--status does not flag the points over their cap"; }
for m in simulate emulate; do
  f=$tmp/again/${m}_cn_devices=host.h5
  [ "$("$mpsl" report --csv rounds "$f" | tail -n +2 | cut -d, -f1 | tr '\n' ' ')" = "1 2 3 " ] || fail "$f: rounds"
done
"$mpsl" simulate --set model=vgg11-cifar --set width=0.25 --set clients=2 --set batch=8 --set batches=2 \
  --set local_epochs=1 --set rounds=3 --set test_limit=16 --set threads=1 --set compute=profiled \
  --set devices="$tmp/dev.ini" --set memory_check=false --set profile_dir="$tmp/profiles" --set cn_devices=host \
  --set output="$tmp/whole.h5" >/dev/null 2>&1 || fail "the uninterrupted simulation"
h5diff -q "$tmp/whole.h5" "$tmp/again/simulate_cn_devices=host.h5" /events /events || fail "the resumed point differs"
echo "sweep: ok"
