#!/bin/sh
# A NaN or an infinity in weights read from a file is refused, naming the file, the tensor
# and where in it: a model given to mpsl train --init, and the checkpoint mpsl run --resume
# goes on from. The files are real ones written by mpsl, changed in one element by h5py.
. "${MPSL_SRCDIR:-.}/tests/testlib.sh"
export OMP_NUM_THREADS=1
py=/usr/bin/python3
"$py" -c 'import h5py' 2>/dev/null || { echo "SKIP: no h5py for $py"; exit 77; }
# poke FILE TENSOR INDEX VALUE: one element of a stored tensor set to VALUE (nan, inf, -inf)
poke() {
  "$py" - "$@" <<'PY' || fail "h5py could not change $1"
import sys, h5py, numpy as np
path, name, index, value = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
with h5py.File(path, "r+") as f:
    d = f[name]
    if d.shape == ():
        d[()] = value
    else:
        a = d[()]
        a.reshape(-1)[index] = value
        d[...] = a
PY
}
train="--model vgg11-cifar --width 0.0625 --batch 8 --steps 1 --test_limit 8 --no-augment"
# shellcheck disable=SC2086
"$mpsl" train $train --save "$tmp/m.h5" >/dev/null 2>"$tmp/err" || fail "mpsl train --save: $(cat "$tmp/err")"
# shellcheck disable=SC2086
"$mpsl" train $train --init "$tmp/m.h5" >/dev/null 2>"$tmp/err" || fail "mpsl train --init of a good file: $(cat "$tmp/err")"
expect_init() { # what to find on the one stderr line
  # shellcheck disable=SC2086
  "$mpsl" train $train --init "$tmp/bad.h5" >/dev/null 2>"$tmp/err" && fail "mpsl train --init took $2"
  rc=$?
  if [ "$rc" -ge 128 ] || [ "$(wc -l <"$tmp/err")" != 1 ] || ! grep -qF -- "$1" "$tmp/err"; then
    fail "mpsl train --init with $2: exit $rc, $(cat "$tmp/err") (expected: $1)"
  fi
}
cp "$tmp/m.h5" "$tmp/bad.h5" && poke "$tmp/bad.h5" features.0.weight 13 nan
expect_init "$tmp/bad.h5: tensor 'features.0.weight' holds NaN at [1,0,1,1] (element 13 of 36): expected finite values" "a NaN"
cp "$tmp/m.h5" "$tmp/bad.h5" && poke "$tmp/bad.h5" classifier.bias 3 inf
expect_init "$tmp/bad.h5: tensor 'classifier.bias' holds +Inf at [3] (element 3 of 10): expected finite values" "an Inf"
cp "$tmp/m.h5" "$tmp/bad.h5" && poke "$tmp/bad.h5" classifier.weight 40 -inf
expect_init "$tmp/bad.h5: tensor 'classifier.weight' holds -Inf at [1,8] (element 40 of 320)" "a -Inf"

# a checkpoint: a run stopped after round 1 of 2, its checkpoint poked, then resumed
cfg="--config $MPSL_SRCDIR/tests/fixtures/tiny-run.ini --set clients=2 --set hops=1 --set output=$tmp/r.h5"
# shellcheck disable=SC2086
np=$("$mpsl" run --ranks $cfg) || fail "mpsl run --ranks"
# shellcheck disable=SC2086
MPSL_ABORT_AFTER_ROUND=1 $MPSL_LAUNCH -np "$np" "$mpsl" run $cfg >"$tmp/log" 2>&1 && fail "the run did not stop"
[ -f "$tmp/r.h5.ckpt" ] || fail "no checkpoint: $(tail -3 "$tmp/log")"
cp "$tmp/r.h5.ckpt" "$tmp/good.ckpt"
resume_fails() { # what the error line says
  $MPSL_LAUNCH -np "$np" "$mpsl" run --resume "$tmp/r.h5" >"$tmp/log" 2>&1 && fail "the run resumed from $2"
  if ! grep -m1 '^mpsl run: error: ' "$tmp/log" | grep -qF -- "$1"; then
    fail "resuming from $2: $(grep error "$tmp/log" | head -2) (expected: $1)"
  fi
  "$mpsl" run --ranks --resume "$tmp/r.h5" >/dev/null 2>"$tmp/err" && fail "run --ranks --resume took $2"
  grep -qF -- "$1" "$tmp/err" || fail "run --ranks --resume with $2: $(cat "$tmp/err")"
}
poke "$tmp/r.h5.ckpt" classifier.weight 7 nan
resume_fails "$tmp/r.h5.ckpt: tensor 'classifier.weight' holds NaN at [0,7]" "a NaN in the model"
cp "$tmp/good.ckpt" "$tmp/r.h5.ckpt" && poke "$tmp/r.h5.ckpt" mpsl.clock 0 inf
resume_fails "$tmp/r.h5.ckpt: tensor 'mpsl.clock' holds +Inf at the scalar" "an infinite clock"
cp "$tmp/good.ckpt" "$tmp/r.h5.ckpt"
$MPSL_LAUNCH -np "$np" "$mpsl" run --resume "$tmp/r.h5" >"$tmp/log" 2>&1 || fail "the good checkpoint: $(tail -3 "$tmp/log")"
echo "ok: NaN and Inf in weights files refused, naming the tensor"
