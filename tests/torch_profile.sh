#!/bin/sh
# python/torch_profile.py writes a layer table (docs/table.md) of a torchvision model and of
# a user's nn.Sequential factory: the structure, the layer rows and their exact byte counts
# are checked, never the times (only that they are finite and >= 0), and mpsl reads the
# tables back when it can. Skipped without Debian's python3-torch; the torchvision part is
# skipped without python3-torchvision.
. "$(dirname "$0")/testlib.sh"
py=${MPSL_PYTHON:-/usr/bin/python3}
script=$MPSL_SRCDIR/python/torch_profile.py
pass=0
nfail=0
ok() { pass=$((pass + 1)); }
bad() {
  nfail=$((nfail + 1))
  echo "FAIL: $*"
}
if ! [ -x "$py" ] || ! "$py" -c 'import torch' 2>/dev/null; then
  echo "SKIP: $py has no torch (Debian: python3-torch)"
  exit 77
fi
[ -f "$script" ] || fail "no $script"
header() { echo "index,layer,activation_kib,parameter_kib,$1_fwd_ms,$1_bwd_ms,$1_opt_ms"; }

# check_table FILE BATCH DEVICE LAYER...: metadata, header, the named rows 1..n in order, and
# every time cell a plain non-negative decimal (so neither nan, inf nor negative)
check_table() {
  f=$1 b=$2 d=$3
  shift 3
  grep -qx "# batch = $b" "$f" && ok || bad "$f: no '# batch = $b' line"
  for key in source model host date; do
    grep -q "^# $key = ." "$f" && ok || bad "$f: no '# $key = ...' line"
  done
  grep -q "^# whole-model check: .*ratio [0-9.]*$" "$f" && ok || bad "$f: no whole-model check comment"
  [ "$(grep -v '^#' "$f" | head -1)" = "$(header "$d")" ] && ok || bad "$f: header is '$(grep -v '^#' "$f" | head -1)'"
  n=$(grep -vc '^#' "$f")
  [ "$n" -eq $(($# + 1)) ] && ok || bad "$f: $n lines, expected a header and $# rows"
  names=$(grep -v '^#' "$f" | awk -F, 'NR > 1 { printf "%s%s", sep, $2; sep = " " }')
  [ "$names" = "$*" ] && ok || bad "$f: layers '$names', expected '$*'"
  grep -v '^#' "$f" | awk -F, 'NR > 1 {
      if (NF != 7 || $1 != NR - 1) exit 1
      for (i = 3; i <= 7; i++) if ($i !~ /^[0-9]+(\.[0-9]+)?$/) exit 2 }' && ok ||
    bad "$f: a row with another index, width or a cell that is not a number >= 0 (awk $?)"
}

# cell FILE LAYER COLUMN: the value of that column (3 activation_kib, 4 parameter_kib)
cell() { awk -F, -v l="$2" -v c="$3" '!/^#/ && $2 == l { print $c }' "$1"; }
# exact FILE LAYER COLUMN VALUE WHAT: n/256 KiB are exact in a double, so == is the test
exact() {
  got=$(cell "$1" "$2" "$3")
  awk -v g="$got" -v w="$4" 'BEGIN { exit !(g != "" && g + 0 == w + 0) }' && ok ||
    bad "$1: $2 $5 is '$got', expected $4"
}

# reads_back FILE: mpsl layers csv:FILE, when this mpsl knows layer tables
reads_back() {
  if ! [ -x "$mpsl" ]; then
    echo "note: no $mpsl, mpsl layers csv: not checked"
    return
  fi
  if "$mpsl" layers "csv:$1" >"$tmp/layers" 2>"$tmp/lerr"; then
    ok
  elif grep -q "unknown model 'csv:" "$tmp/lerr"; then
    echo "note: this mpsl has no layer tables, mpsl layers csv: not checked"
  else
    bad "mpsl layers csv:$1: $(cat "$tmp/lerr")"
  fi
}

# expect WHAT -- ARGS...: exit status 1..127, one stderr line containing WHAT
expect() {
  what=$1
  shift 2
  "$py" "$script" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ "$rc" -ge 1 ] && [ "$rc" -lt 128 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -qF -- "$what" "$tmp/err"; then
    ok
  else
    bad "torch_profile.py $* -> exit $rc, stderr: $(cat "$tmp/err") (expected one line containing: $what)"
  fi
}

# --- a user's factory: nn.Sequential children named 0..3, here on 1x8x8 inputs, 5 classes
cat >"$tmp/factory.py" <<'PY'
import torch.nn as nn


def tiny(num_classes, channels, size):
    return nn.Sequential(nn.Flatten(1), nn.Linear(channels * size * size, 16), nn.ReLU(inplace=True),
                         nn.Linear(16, num_classes))


class Residual(nn.Module):
    """Its forward is not its children in order: the script must refuse it."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)
        self.input_shape = (8,)

    def forward(self, x):
        return self.b(self.a(x)) + x


def residual():
    return Residual()
PY
small="--batch 3 --size 8 --channels 1 --classes 5 --reps 1 --warmup 0"
# shellcheck disable=SC2086
if "$py" "$script" --module "$tmp/factory.py:tiny" $small --device vm >"$tmp/tiny.csv" 2>"$tmp/err"; then ok; else
  bad "--module factory.py:tiny exited $?: $(cat "$tmp/err")"
fi
grep -q "whole-model check: .*ratio" "$tmp/err" && ok || bad "no whole-model check on stderr: $(cat "$tmp/err")"
check_table "$tmp/tiny.csv" 3 vm 0 1 2 3
exact "$tmp/tiny.csv" 0 3 0.75 "activation (3x64 floats)"
exact "$tmp/tiny.csv" 0 4 0 "parameters"
exact "$tmp/tiny.csv" 1 3 0.1875 "activation (3x16 floats)"
exact "$tmp/tiny.csv" 1 4 4.0625 "parameters (64x16 + 16)"
exact "$tmp/tiny.csv" 3 3 0.05859375 "activation (3x5 floats)"
exact "$tmp/tiny.csv" 3 4 0.33203125 "parameters (16x5 + 5)"
reads_back "$tmp/tiny.csv"
# MOD:FUNC as a module name, imported from the current directory
# shellcheck disable=SC2086
(cd "$tmp" && "$py" "$script" --module factory:tiny $small --output "$tmp/byname.csv" 2>"$tmp/err") &&
  [ "$(grep -vc '^#' "$tmp/byname.csv")" -eq 5 ] && ok || bad "--module factory:tiny: $(cat "$tmp/err")"
# shellcheck disable=SC2086
expect "not its layers in order" -- --module "$tmp/factory.py:residual" $small
expect "has no function 'nosuch'" -- --module "$tmp/factory.py:nosuch"
expect "no file '$tmp/none.py'" -- --module "$tmp/none.py:tiny"
expect "is not MOD:FUNC" -- --module factory
expect "--batch: '0' is below 1" -- --module "$tmp/factory.py:tiny" --batch 0
expect "--reps: 'x' is not a whole number" -- --module "$tmp/factory.py:tiny" --reps x
expect "--warmup: '-1' is below 0" -- --module "$tmp/factory.py:tiny" --warmup -1
expect "--device: 'a,b' is not" -- --module "$tmp/factory.py:tiny" --device a,b
expect "cannot write there" -- --module "$tmp/factory.py:tiny" --output "$tmp/no/such/dir.csv"
expect "one of the arguments --model --module is required" --

# --- torchvision's resnet18 at batch 2 on 3x32x32: 15 rows, the blocks as one row each
if "$py" -c 'import torchvision' 2>/dev/null; then
  if "$py" "$script" --model resnet18 --batch 2 --size 32 --reps 1 --warmup 0 --output "$tmp/r18.csv" \
    >"$tmp/out" 2>"$tmp/err"; then ok; else bad "--model resnet18 exited $?: $(cat "$tmp/err")"; fi
  [ ! -s "$tmp/out" ] && ok || bad "--output FILE also wrote to stdout"
  check_table "$tmp/r18.csv" 2 host conv1 bn1 relu maxpool layer1.0 layer1.1 layer2.0 layer2.1 layer3.0 layer3.1 \
    layer4.0 layer4.1 avgpool flatten fc
  exact "$tmp/r18.csv" conv1 4 36.75 "parameters (64x3x7x7)"
  exact "$tmp/r18.csv" conv1 3 128 "activation (2x64x16x16 floats)"
  exact "$tmp/r18.csv" bn1 4 0.5 "parameters (2x64)"
  exact "$tmp/r18.csv" maxpool 3 32 "activation (2x64x8x8 floats)"
  exact "$tmp/r18.csv" layer4.1 3 4 "activation (2x512x1x1 floats)"
  exact "$tmp/r18.csv" fc 4 20.0390625 "parameters (512x10 + 10)"
  exact "$tmp/r18.csv" fc 3 0.078125 "activation (2x10 floats)"
  total=$(awk -F, '!/^#/ && NR > 1 && $1 != "index" { s += $4 } END { printf "%.7f", s }' "$tmp/r18.csv")
  [ "$total" = "43678.2890625" ] && ok || bad "resnet18 parameters sum to $total KiB, not 11181642 x 4 / 1024"
  reads_back "$tmp/r18.csv"
  expect "unknown model 'nosuch'" -- --model nosuch
  expect "--model: not allowed with argument --module" -- --module "$tmp/factory.py:tiny" --model resnet18
else
  echo "note: $py has no torchvision (Debian: python3-torchvision), --model not checked"
  expect "--model needs torchvision" -- --model resnet18
fi

echo "torch_profile: $pass passed, $nfail failed"
[ "$nfail" -eq 0 ]
