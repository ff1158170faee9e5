#!/bin/sh
# datasets/: every data set mpsl can read (the values of the dataset key) has a README that
# names its source and licence, where mpsl looks and the files it reads, and the index
# links every folder. The configuration lines the READMEs give (their ```ini block, with
# /data/ moved under a temporary directory) train one step on files laid out as the
# downloads unpack: small IDX and CIFAR files made here, nothing fetched.
. "$(dirname "$0")/testlib.sh"
ds=$MPSL_SRCDIR/datasets
names=$("$mpsl" train --help | sed -n 's/^ *--dataset \([a-z0-9|-]*\) .*/\1/p' | tr '|' ' ')
[ -n "$names" ] || fail "mpsl train --help names no dataset values"
for n in $names; do
  r=$ds/$n/README.md
  [ -f "$r" ] || fail "dataset $n has no $r"
  for h in '**Source**' '**Licence**' '## Where mpsl looks' '## Files, as mpsl reads them'; do
    grep -qF -- "$h" "$r" || fail "$r has no '$h'"
  done
done
for d in "$ds"/*/; do
  n=$(basename "$d")
  [ -f "$d/README.md" ] || fail "datasets/$n has no README.md"
  grep -qF "]($n/README.md)" "$ds/README.md" || fail "datasets/README.md does not link $n/README.md"
done

data=$tmp/data
zeros() { head -c "$1" /dev/zero; }
be32() { printf "\\$(printf %03o $(($1 >> 24 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))"; printf "\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 & 255)))"; }
idx() { # DIR PREFIX COUNT: PREFIX-images-idx3-ubyte and PREFIX-labels-idx1-ubyte, all zero
  { be32 2051; be32 "$3"; be32 28; be32 28; zeros $(($3 * 784)); } >"$1/$2-images-idx3-ubyte"
  { be32 2049; be32 "$3"; zeros "$3"; } >"$1/$2-labels-idx1-ubyte"
}
mkdir -p "$data/mnist" "$data/cifar/cifar-10-batches-bin" "$data/cifar/cifar-100-binary"
idx "$data/mnist" train 16
idx "$data/mnist" t10k 8
gzip "$data/mnist/train-images-idx3-ubyte" # one compressed, the others plain: both are read
for b in 1 2 3 4 5; do zeros $((4 * 3073)) >"$data/cifar/cifar-10-batches-bin/data_batch_$b.bin"; done
zeros $((8 * 3073)) >"$data/cifar/cifar-10-batches-bin/test_batch.bin"
zeros $((16 * 3074)) >"$data/cifar/cifar-100-binary/train.bin"
zeros $((8 * 3074)) >"$data/cifar/cifar-100-binary/test.bin"
if [ -d /usr/share/datasets/fashion-mnist ]; then
  mkdir -p "$data/fashion-mnist"
  ln -s /usr/share/datasets/fashion-mnist/* "$data/fashion-mnist/"
fi

small="--steps 1 --batch 4 --width 0.125 --test_limit 4"
for n in $names; do
  [ "$n" = fashion-mnist ] && [ ! -d "$data/fashion-mnist" ] && continue
  r=$ds/$n/README.md
  awk '/^```ini/ { on = 1; next } on && /^```/ { exit } on' "$r" | sed "s|/data/|$data/|" >"$tmp/$n.ini"
  grep -q "^dataset = $n\$" "$tmp/$n.ini" || fail "the ini block of $r does not say dataset = $n"
  # shellcheck disable=SC2086
  "$mpsl" train --config "$tmp/$n.ini" $small >"$tmp/$n.out" 2>&1 ||
    fail "$r's configuration: $(tail -1 "$tmp/$n.out")"
  grep -q '^epoch 1 step 1 ' "$tmp/$n.out" || fail "$r's configuration trained no step: $(tail -1 "$tmp/$n.out")"
done
# CIFAR: data_dir may also name the folder the archive unpacks to
for x in cifar10:cifar-10-batches-bin cifar100:cifar-100-binary; do
  # shellcheck disable=SC2086
  "$mpsl" train --dataset "${x%%:*}" --data-dir "$data/cifar/${x#*:}" $small >"$tmp/out" 2>&1 ||
    fail "data_dir = the unpacked ${x#*:}: $(tail -1 "$tmp/out")"
done
# the index's command line
line=$(grep -m1 '^mpsl train ' "$ds/README.md" | sed "s|/data/|$data/|g")
[ -n "$line" ] || fail "datasets/README.md shows no mpsl train command"
# shellcheck disable=SC2086
$MPSL_BUILDDIR/$line $small >"$tmp/out" 2>&1 || fail "datasets/README.md: $line: $(tail -1 "$tmp/out")"
# without data_dir CIFAR is refused with the files it expects and where its README is
"$mpsl" train --dataset cifar10 $small >"$tmp/out" 2>&1 && fail "cifar10 without data_dir was accepted"
grep -q 'data_batch_1.bin' "$tmp/out" || fail "cifar10 without data_dir: $(tail -1 "$tmp/out")"
grep -q 'datasets/cifar10/README.md' "$tmp/out" || fail "cifar10 without data_dir names no README: $(tail -1 "$tmp/out")"
echo "datasets: $(echo $names | wc -w) data sets with a README, each read as its README says"
