#!/bin/sh
# The configuration digest (docs/results.md, config_sha256): every results file holds the
# SHA-256 of its `config` text; `mpsl run --resume` and `mpsl simulate --resume` compute it
# again and refuse a file whose text was edited since (here with h5py), or whose digest is
# gone, with one line naming the file; the untouched file resumes.
. "$(dirname "$0")/testlib.sh"
py=/usr/bin/python3
"$py" -c 'import h5py' 2>/dev/null || { echo "skip: /usr/bin/python3 has no h5py (python3-h5py)"; exit 77; }
cfg="--config $MPSL_SRCDIR/tests/fixtures/tiny-run.ini --set clients=2 --set hops=1 --set rounds=4"
# shellcheck disable=SC2086
MPSL_ABORT_AFTER_ROUND=2 "$mpsl" simulate $cfg --set output="$tmp/sim.h5" >/dev/null 2>&1 && fail "simulate did not stop"
# shellcheck disable=SC2086
np=$("$mpsl" run --ranks $cfg) || fail "mpsl run --ranks"
# shellcheck disable=SC2086
MPSL_ABORT_AFTER_ROUND=2 $MPSL_LAUNCH -np "$np" "$mpsl" run $cfg --set output="$tmp/run.h5" >"$tmp/run.log" 2>&1 &&
  fail "the run did not stop"
for m in sim run; do
  digest=$("$py" -c 'import h5py, sys; print(h5py.File(sys.argv[1], "r").attrs["config"].decode(), end="")' "$tmp/$m.h5" |
    sha256sum | cut -d' ' -f1)
  h5dump -a config_sha256 "$tmp/$m.h5" | grep -q "\"$digest\"" || fail "$m: config_sha256 is not the digest of config"
  cp "$tmp/$m.h5" "$tmp/$m-edited.h5"
  cp "$tmp/$m.h5" "$tmp/$m-nodigest.h5"
  # rounds = 4 becomes rounds = 9, written back as the fixed-length text mpsl writes
  "$py" - "$tmp/$m-edited.h5" "$tmp/$m-nodigest.h5" <<'EOF' || fail "$m: h5py could not edit the files"
import sys, h5py, numpy
with h5py.File(sys.argv[1], "r+") as f:
    text = f.attrs["config"].decode()
    assert "\nrounds = 4\n" in text, text
    f.attrs.create("config", numpy.bytes_(text.replace("\nrounds = 4\n", "\nrounds = 9\n")))
with h5py.File(sys.argv[2], "r+") as f:
    del f.attrs["config_sha256"]
EOF
done
refused() { # file, what the line says after "FILE: "
  "$mpsl" simulate --resume "$tmp/sim-$1.h5" >/dev/null 2>"$tmp/err" && fail "simulate --resume took the $1 file"
  grep -q "^mpsl simulate: error: $tmp/sim-$1.h5: $2" "$tmp/err" || fail "simulate, $1: $(cat "$tmp/err")"
  "$mpsl" run --ranks --resume "$tmp/run-$1.h5" >/dev/null 2>"$tmp/err" && fail "run --ranks --resume took the $1 file"
  grep -q "^mpsl run: error: $tmp/run-$1.h5: $2" "$tmp/err" || fail "run --ranks, $1: $(cat "$tmp/err")"
  $MPSL_LAUNCH -np "$np" "$mpsl" run --resume "$tmp/run-$1.h5" >/dev/null 2>"$tmp/err" && fail "run --resume took the $1 file"
  grep -q "^mpsl run: error: $tmp/run-$1.h5: $2" "$tmp/err" || fail "run, $1: $(cat "$tmp/err")"
}
refused edited "its configuration does not match its digest (config_sha256 "
refused nodigest "no config_sha256, the digest of its configuration"
"$mpsl" simulate --resume "$tmp/sim.h5" >"$tmp/log" 2>&1 || { tail -3 "$tmp/log"; fail "the untouched simulation"; }
$MPSL_LAUNCH -np "$np" "$mpsl" run --resume "$tmp/run.h5" >"$tmp/log" 2>&1 || { tail -3 "$tmp/log"; fail "the untouched run"; }
grep -q "^# resuming $tmp/run.h5 after round 2 of 4" "$tmp/log" || fail "the untouched run resumed elsewhere"
# a finished file has nothing to resume, with its digest or without it (a file older than it)
cp "$tmp/sim.h5" "$tmp/sim-old.h5"
"$py" -c 'import h5py, sys; f = h5py.File(sys.argv[1], "r+"); del f.attrs["config_sha256"]' "$tmp/sim-old.h5" ||
  fail "h5py could not delete the digest"
for f in sim sim-old; do
  "$mpsl" simulate --resume "$tmp/$f.h5" >"$tmp/log" 2>&1 || { tail -3 "$tmp/log"; fail "$f: resuming a finished file failed"; }
done
echo "resume digest: edited and digest-less files refused by simulate, run --ranks and run; untouched ones resumed"
