#!/bin/sh
# Drop-out from a trace file (the availability key, docs/run.md "Faults on purpose"): the
# owners it lists sit out exactly those rounds in `mpsl run` (real and emulated), `mpsl run
# --reference` and `mpsl simulate` alike (the split model equals the reference's bit for
# bit; the audit tables' zero rows are the file's pairs); the results file names the
# trace and holds its SHA-256; a run stopped after round 2 and resumed ends at the
# uninterrupted run's model, and a trace changed in between is refused; a bad trace is
# refused by run --ranks, run, the reference and simulate with one line naming FILE:LINE,
# the value and what was expected.
. "$(dirname "$0")/testlib.sh"
cat >"$tmp/trace.txt" <<'EOF'
# the data owners that sit out each round
1: 0 3
2:            # everyone trains
4: 3 1 2      # three of four, in any order
EOF
cfg="--config $MPSL_SRCDIR/tests/fixtures/tiny-run.ini --set clients=4 --set hops=2 --set rounds=4
  --set availability=$tmp/trace.txt"
audit() { # the (round, owner) pairs of a results file's audit table that sat out
  "$mpsl" report --csv audit "$1" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["activation"] + $c["gradient"] + $c["model"] == 0 { print $c["round"], $c["owner"] }' | sort -n
}
printf '1 0\n1 3\n4 1\n4 2\n4 3\n' >"$tmp/want"

# shellcheck disable=SC2086
np=$("$mpsl" run --ranks $cfg) || fail "mpsl run --ranks"
# shellcheck disable=SC2086
split_run run $cfg
# shellcheck disable=SC2086
ref_run ref $cfg
same_model ref run
# shellcheck disable=SC2086
"$mpsl" simulate $cfg --set output="$tmp/sim.h5" >"$tmp/sim.log" 2>&1 || { cat "$tmp/sim.log"; fail "mpsl simulate"; }
for m in run sim; do
  audit "$tmp/$m.h5" >"$tmp/$m.audit"
  cmp -s "$tmp/want" "$tmp/$m.audit" || fail "$m: sat out $(tr '\n' ',' <"$tmp/$m.audit"), the trace says $(tr '\n' ',' <"$tmp/want")"
done
# emulation (profiled compute on a layer table, a hundredth of real time) too
emu="$cfg --set model=csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv --set width=1 --set batch=4 --set compute=profiled
  --set time_scale=0.01"
# shellcheck disable=SC2086
$MPSL_LAUNCH -np "$np" "$mpsl" run $emu --set output="$tmp/emu.h5" >"$tmp/emu.log" 2>&1 || { cat "$tmp/emu.log"; fail "the emulated run"; }
grep -q "^# emulation: " "$tmp/emu.log" || fail "the run with profiled compute was not emulated"
[ "$(audit "$tmp/emu.h5")" = "$(cat "$tmp/want")" ] || fail "emulation: sat out $(audit "$tmp/emu.h5" | tr '\n' ',')"
# the trace the rounds were played with: its path and digest, in every mode
digest=$(sha256sum "$tmp/trace.txt" | cut -d' ' -f1)
for m in run ref sim; do
  h5dump -a availability_sha256 "$tmp/$m.h5" | grep -q "\"$digest\"" || fail "$m: no availability_sha256 $digest"
  h5dump -a availability "$tmp/$m.h5" | grep -q "\"$tmp/trace.txt\"" || fail "$m: no availability attribute"
done

# stopped after round 2, resumed: the uninterrupted run's model; a changed trace is refused
# shellcheck disable=SC2086
MPSL_ABORT_AFTER_ROUND=2 $MPSL_LAUNCH -np "$np" "$mpsl" run $cfg --set output="$tmp/b.h5" \
  --set save_model="$tmp/b.model" >"$tmp/b1.log" 2>&1 && fail "the run did not stop after round 2"
cp "$tmp/trace.txt" "$tmp/trace.orig"
echo "3: 0" >>"$tmp/trace.txt"
"$mpsl" run --ranks --resume "$tmp/b.h5" >"$tmp/out" 2>"$tmp/err" && fail "a resume with a changed trace was accepted"
grep -q "^mpsl run: error: $tmp/b.h5: availability = $tmp/trace.txt has changed since the run began" "$tmp/err" ||
  fail "a changed trace: $(cat "$tmp/err")"
cp "$tmp/trace.orig" "$tmp/trace.txt"
$MPSL_LAUNCH -np "$np" "$mpsl" run --resume "$tmp/b.h5" >"$tmp/b2.log" 2>&1 || { tail -5 "$tmp/b2.log"; fail "the resume"; }
grep -q "^# resuming $tmp/b.h5 after round 2 of 4" "$tmp/b2.log" || fail "the resume began elsewhere"
h5diff "$tmp/run.model" "$tmp/b.model" >/dev/null || fail "the resumed run ends elsewhere than the uninterrupted one"
[ "$(audit "$tmp/b.h5")" = "$(cat "$tmp/want")" ] || fail "the resumed run: sat out $(audit "$tmp/b.h5" | tr '\n' ',')"
# shellcheck disable=SC2086
MPSL_ABORT_AFTER_ROUND=3 "$mpsl" simulate $cfg --set output="$tmp/sb.h5" >/dev/null 2>&1 && fail "simulate did not stop"
"$mpsl" simulate --resume "$tmp/sb.h5" >"$tmp/sb.log" 2>&1 || { tail -3 "$tmp/sb.log"; fail "simulate --resume"; }
[ "$(audit "$tmp/sb.h5")" = "$(cat "$tmp/want")" ] || fail "the resumed simulation: sat out $(audit "$tmp/sb.h5" | tr '\n' ',')"

# bad traces: the file, its line, the value, what was expected
bad() { # name, contents (printf format), the message after "FILE:"
  printf "$2" >"$tmp/$1.txt"
  want="availability = $tmp/$1.txt: $tmp/$1.txt:$3"
  # shellcheck disable=SC2086
  "$mpsl" run --ranks $cfg --set availability="$tmp/$1.txt" >/dev/null 2>"$tmp/err" && fail "$1: run --ranks accepted it"
  [ "$(cat "$tmp/err")" = "mpsl run: error: $want" ] || fail "$1: run --ranks: $(cat "$tmp/err"), expected $want"
  # shellcheck disable=SC2086
  "$mpsl" run $cfg --set availability="$tmp/$1.txt" --set output= >/dev/null 2>"$tmp/err" && fail "$1: run accepted it"
  [ "$(cat "$tmp/err")" = "mpsl run: error: $want" ] || fail "$1: run: $(cat "$tmp/err")"
  # shellcheck disable=SC2086
  "$mpsl" run --reference $cfg --set availability="$tmp/$1.txt" --set output="$tmp/bad.h5" >/dev/null 2>"$tmp/err" &&
    fail "$1: the reference accepted it"
  [ "$(cat "$tmp/err")" = "mpsl run: error: $want" ] || fail "$1: reference: $(cat "$tmp/err")"
  [ ! -e "$tmp/bad.h5" ] || fail "$1: the reference made its results file first"
  # shellcheck disable=SC2086
  "$mpsl" simulate $cfg --set availability="$tmp/$1.txt" --set output= >/dev/null 2>"$tmp/err" &&
    fail "$1: simulate accepted it"
  grep -qxF "mpsl simulate: error: $want" "$tmp/err" || fail "$1: simulate: $(cat "$tmp/err")"
}
bad owner '1: 0\n2: 4\n' "2: owner '4' of round 2: expected a data owner 0..3 (clients = 4)"
bad negative '3: -1\n' "1: owner '-1' of round 3: expected a data owner 0..3 (clients = 4)"
bad word '# a comment\n\n1: one\n' "3: owner 'one' of round 1: expected a data owner 0..3 (clients = 4)"
bad late '5: 0\n' "1: round '5': expected a round 1..4 (rounds = 4)"
bad zero '0: 1\n' "1: round '0': expected a round 1..4 (rounds = 4)"
bad again '1: 0\n2: 1\n1: 2\n' "3: round 1 again (first at line 1): expected each round on one line"
bad twice '2: 1 3 1\n' "1: owner 1 of round 2 twice: expected each owner once a round"
bad nocolon '1 2 3\n' "1: '1 2 3': expected ROUND: OWNER ... (the data owners that sit out round ROUND)"
bad nul '1: 0\n2: 1\0 2\n' "2: a NUL byte at column 5: expected a text file"
# shellcheck disable=SC2086
"$mpsl" run --ranks $cfg --set absence=0.25 2>"$tmp/err" && fail "both absence and availability were accepted"
grep -q "^mpsl run: error: availability = $tmp/trace.txt: absence = 0.25 is given too: expected one of them" "$tmp/err" ||
  fail "absence and availability: $(cat "$tmp/err")"
# shellcheck disable=SC2086
"$mpsl" run --ranks $cfg --set availability="$tmp/none.txt" 2>"$tmp/err" && fail "a missing trace was accepted"
grep -q "^mpsl run: error: availability = $tmp/none.txt: cannot open it (No such file or directory)" "$tmp/err" ||
  fail "a missing trace: $(cat "$tmp/err")"
# set in a configuration file: its line comes first
printf '[run]\navailability = %s\n' "$tmp/owner.txt" >"$tmp/bad.ini"
# shellcheck disable=SC2086
"$mpsl" run --ranks $cfg --config "$tmp/bad.ini" 2>"$tmp/err" && fail "a bad trace named in a file was accepted"
grep -q "^mpsl run: error: $tmp/bad.ini:2: availability = $tmp/owner.txt: $tmp/owner.txt:2: owner '4'" "$tmp/err" ||
  fail "a bad trace named in a file: $(cat "$tmp/err")"
echo "availability: 5 owner-rounds of the trace sat out in run, emulation, reference and simulate; resumed; bad traces refused"
