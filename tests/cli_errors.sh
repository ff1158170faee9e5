#!/bin/sh
# Bad input gets one line that names the problem and a non-zero exit, never a crash.
set -u
mpsl="${MPSL_BUILDDIR:-.}/mpsl"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

# expect WHAT -- ARGS...: exit status 1..127 (not a signal), one stderr line containing WHAT
expect() {
  what=$1
  shift 2
  "$mpsl" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  lines=$(wc -l <"$tmp/err")
  if [ "$rc" -ge 1 ] && [ "$rc" -lt 128 ] && [ "$lines" -eq 1 ] && grep -qF -- "$what" "$tmp/err"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: mpsl $* -> exit $rc, stderr:"
    sed 's/^/    /' "$tmp/err"
    echo "    (expected one line containing: $what)"
  fi
}

expect "unknown command 'frobnicate'" -- frobnicate
expect "unknown model 'vgg12'" -- layers vgg12
expect "expected one MODEL" -- layers
expect "too small" -- layers vgg11-cifar --size 16
expect "--classes" -- layers resnet18 --classes 0
expect "'abc' is not an integer" -- train --batch abc
expect "--batch" -- train --batch 0
expect "--lr" -- train --lr -1
expect "'foo' is not one of" -- train --dataset foo
expect "unknown option" -- train --hops 3
expect "--model" -- bench
expect "unknown model 'resnet19'" -- bench --model resnet19
expect "cut 40 is out of range" -- bench --model vgg11-cifar --cuts 40 --reps 1 --warmup 0
expect "strictly increasing" -- bench --model vgg11-cifar --cuts 5,3 --reps 1 --warmup 0
expect "--cuts: '0'" -- bench --model vgg11-cifar --cuts 0 --reps 1 --warmup 0
expect "$tmp/none" -- train --data-dir "$tmp/none" --steps 1

# a truncated file, a malformed one, a missing one
fm=/usr/share/datasets/fashion-mnist
mkdir -p "$tmp/trunc" "$tmp/junk" "$tmp/half"
cp "$fm"/*.gz "$tmp/trunc/"
gzip -dc "$fm/train-images-idx3-ubyte.gz" | head -c 100000 >"$tmp/trunc/train-images-idx3-ubyte"
rm "$tmp/trunc/train-images-idx3-ubyte.gz"
expect "truncated" -- train --data-dir "$tmp/trunc" --steps 1
cp "$fm"/*.gz "$tmp/junk/"
head -c 5000 /dev/urandom >"$tmp/junk/t10k-labels-idx1-ubyte"
rm "$tmp/junk/t10k-labels-idx1-ubyte.gz"
expect "t10k-labels-idx1-ubyte" -- train --data-dir "$tmp/junk" --steps 1
cp "$fm/train-images-idx3-ubyte.gz" "$tmp/half/"
expect "train-labels-idx1-ubyte" -- train --data-dir "$tmp/half" --steps 1

# weights that are missing, not HDF5, or of another model
expect "$tmp/missing.h5" -- train --steps 1 --init "$tmp/missing.h5"
echo "not hdf5" >"$tmp/junk.h5"
expect "$tmp/junk.h5" -- train --steps 1 --init "$tmp/junk.h5"
"$mpsl" train --model resnet18-cifar --width 0.0625 --steps 1 --batch 8 --test-limit 8 --save "$tmp/r.h5" >/dev/null 2>&1
expect "no tensor 'features.0.weight'" -- train --steps 1 --init "$tmp/r.h5"
expect "shape" -- train --model resnet18-cifar --width 0.125 --steps 1 --init "$tmp/r.h5"
[ -e "$tmp/r.h5.tmp" ] && { echo "FAIL: a .tmp file was left behind"; fail=$((fail + 1)); }

expect "lr_schedule: 'step' is not one of constant|cosine" -- run --ranks --set lr_schedule=step

# files a run writes at its end are checked before it starts (and by --ranks)
expect "compute = profiled trains no model to save" -- run --ranks --set compute=profiled --set save_model="$tmp/m.h5"
: >"$tmp/file"
expect "save_model = $tmp/file/m.h5: $tmp/file is not a folder" -- run --ranks --set save_model="$tmp/file/m.h5"
expect "output = $tmp/file/a/r.h5: $tmp/file is not a folder" -- run --ranks --set output="$tmp/file/a/r.h5"
# a folder that does not exist yet is made when the file is written, not when asked about
[ "$("$mpsl" run --ranks --set output="$tmp/new/deeper/r.h5")" = 7 ] && [ ! -e "$tmp/new" ] ||
  { echo "FAIL: --ranks with a new folder"; fail=$((fail + 1)); }
"$mpsl" simulate --set model="csv:${MPSL_SRCDIR:-.}/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv" --set batch=4 \
  --set output="$tmp/new/deeper/s.h5" >/dev/null 2>&1 && [ -s "$tmp/new/deeper/s.h5" ] ||
  { echo "FAIL: the results file's folders were not made"; fail=$((fail + 1)); }

echo "cli_errors: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
