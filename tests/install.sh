#!/bin/sh
# make install into a staging directory (DESTDIR) puts the binary, its man page, the data
# under $(pkgdatadir) and the documentation in place; the installed mpsl, run from another
# directory, reads its own device catalogue, layer tables and experiment files and nothing
# of the source or build tree; the installed sweep and reproduce tools run on them; a copy of
# the binary in an unrelated place falls back to the configured $(pkgdatadir); the build
# tree's mpsl keeps reading the source tree; make uninstall removes every file.
. "$(dirname "$0")/testlib.sh"
unset MPSL_DATADIR MPSL
: "${MAKE:=make}" "${MPSL_INSTALL_BINDIR:?}" "${MPSL_INSTALL_PKGDATADIR:?}" "${MPSL_INSTALL_DOCDIR:?}"
: "${MPSL_INSTALL_MAN1DIR:?}"
stage=$tmp/stage
# the outer make's jobserver is not ours: a plain make, silent
env -u MAKEFLAGS -u MFLAGS $MAKE -s -C "$MPSL_BUILDDIR" install DESTDIR="$stage" >"$tmp/install.log" 2>&1 ||
  fail "make install DESTDIR=$stage: $(tail -5 "$tmp/install.log")"
bin=$stage$MPSL_INSTALL_BINDIR/mpsl
data=$stage$MPSL_INSTALL_PKGDATADIR
[ -x "$bin" ] || fail "make install put no executable at $bin"
for f in experiments/devices.ini experiments/demo.ini experiments/emulate.ini experiments/sweeps/paper.ini \
  experiments/sweeps/paper-hops.ini experiments/sweeps/small.ini experiments/slurm/point.sbatch \
  experiments/slurm/figures.sbatch datasets/edgesys/vgg19.csv datasets/edgesys/resnet101.csv \
  datasets/edgesys/README.md datasets/README.md datasets/fashion-mnist/README.md datasets/mnist/README.md \
  datasets/cifar10/README.md datasets/cifar100/README.md plots/lib.sh; do
  [ -f "$data/$f" ] || fail "make install put no $data/$f"
done
cmp -s "$stage$MPSL_INSTALL_MAN1DIR/mpsl.1" "$MPSL_BUILDDIR/mpsl.1" ||
  fail "make install put no copy of mpsl.1 at $stage$MPSL_INSTALL_MAN1DIR/mpsl.1"
sed 's/\\-/-/g; s/\\[:%&]//g' "$stage$MPSL_INSTALL_MAN1DIR/mpsl.1" | grep -qF "$MPSL_INSTALL_PKGDATADIR/experiments/devices.ini" ||
  fail "the installed man page does not name the installed catalogue $MPSL_INSTALL_PKGDATADIR/experiments/devices.ini"
for f in README.md docs/run.md docs/results.md docs/img/fig1_round_time.png; do
  [ -f "$stage$MPSL_INSTALL_DOCDIR/$f" ] || fail "make install put no $stage$MPSL_INSTALL_DOCDIR/$f"
done
for f in experiments/sweep experiments/reproduce python/torch_profile.py plots/figures.sh plots/reproduce.sh \
  plots/fig1_round_time.sh plots/fig7_accuracy.sh plots/train_curve.sh; do
  [ -x "$data/$f" ] || fail "make install put no executable $data/$f"
done

# No path of the source or build tree is compiled into the binary (debug info aside, which
# names the build directory by design): unless the prefix itself lies inside one of them.
inside() { case $1 in "$2"/*) return 0 ;; esac; return 1; }
strip -g -o "$tmp/mpsl.nodebug" "$bin" || fail "strip -g $bin"
for d in "$MPSL_SRCDIR" "$MPSL_BUILDDIR" "$(cd "$MPSL_SRCDIR" && pwd -P)" "$(cd "$MPSL_BUILDDIR" && pwd -P)"; do
  inside "$MPSL_INSTALL_PKGDATADIR" "$d" || inside "$MPSL_INSTALL_BINDIR" "$d" && continue
  ! grep -aqF "$d" "$tmp/mpsl.nodebug" || fail "the installed mpsl holds the path $d"
done

# A probe device added to the installed catalogue only: whoever can use it read that file.
cat >>"$data/experiments/devices.ini" <<'INI'

[install_probe]
description = a device only the installed catalogue of this test has: the vm columns at half speed
columns = vm
speed = 0.5
memory = 16G
source = tests/install.sh
INI
mkdir "$tmp/elsewhere"
cd "$tmp/elsewhere" || fail "cd $tmp/elsewhere"
# the closed form of a small VGG-19 configuration on the authors' table; column NAME of its CSV
est() { # BINARY TABLE CN_DEVICE
  "$1" estimate --set model=csv:"$2" --set dataset=cifar10 --set batch=128 --set batches=2 --set local_epochs=1 \
    --set clients=4 --set hops=1 --set do_devices=rpi4b --set cn_devices="$3" --set agg_device=vm \
    --set memory_check=false --csv
}
col() { awk -F, -v n="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next } c { print $c }' "$2"; }

# csv:datasets/... is the installed table, found from a directory that has none
est "$bin" datasets/edgesys/vgg19.csv vm >vm.csv 2>err || fail "installed mpsl estimate with cn_devices=vm: $(cat err)"
est "$bin" datasets/edgesys/vgg19.csv install_probe >probe.csv 2>err ||
  fail "the installed mpsl did not read the installed catalogue: $(cat err)"
a=$(col procT_fwd_1 vm.csv) b=$(col procT_fwd_1 probe.csv)
awk -v a="$a" -v b="$b" 'BEGIN { exit !(a > 0 && b > 1.999999 * a && b < 2.000001 * a) }' ||
  fail "the probe device at half the vm's speed: hop forward $b s, expected twice the vm's $a s"
# the shipped experiment files too: the demo is 1 aggregator + 2 hops + 4 data owners
[ "$("$bin" run --ranks experiments/demo.ini 2>err)" = 7 ] || fail "installed mpsl run --ranks experiments/demo.ini: $(cat err)"
"$bin" layers csv:datasets/edgesys/resnet101.csv >layers.txt 2>err || fail "installed mpsl layers: $(cat err)"
grep -q '^ *36 ' layers.txt || fail "installed mpsl layers csv:datasets/edgesys/resnet101.csv printed no layer 36"
# a data set without a default place: the refusal names the installed README of it
"$bin" train --dataset cifar100 --steps 1 >/dev/null 2>err && fail "installed mpsl trained on cifar100 without data_dir"
grep -qF "$data/datasets/cifar100/README.md" err || fail "installed mpsl, cifar100 without data_dir: $(cat err)"

# the build tree's mpsl reads the source tree's catalogue, which has no probe device
est "$mpsl" datasets/edgesys/vgg19.csv vm >build.csv 2>err || fail "build-tree mpsl from elsewhere: $(cat err)"
[ "$(col procT_fwd_1 build.csv)" = "$a" ] || fail "build-tree and installed mpsl differ on the same table"
if est "$mpsl" datasets/edgesys/vgg19.csv install_probe >/dev/null 2>err; then
  fail "the build-tree mpsl read the installed catalogue"
fi
grep -q install_probe err || fail "build-tree mpsl: unexpected error $(cat err)"
# $MPSL_DATADIR points any binary elsewhere
MPSL_DATADIR=$data est "$mpsl" datasets/edgesys/vgg19.csv install_probe >/dev/null 2>err ||
  fail "MPSL_DATADIR=$data: $(cat err)"

# a copy outside any prefix has only the configured $(pkgdatadir) to go by
mkdir -p copy && cp "$bin" copy/mpsl
if [ -f "$MPSL_INSTALL_PKGDATADIR/experiments/devices.ini" ]; then
  est copy/mpsl "$data/datasets/edgesys/vgg19.csv" vm >/dev/null 2>err ||
    fail "a copy of mpsl with $MPSL_INSTALL_PKGDATADIR installed: $(cat err)"
else
  if est copy/mpsl "$data/datasets/edgesys/vgg19.csv" vm >/dev/null 2>err; then
    fail "a copy of mpsl found a device catalogue although $MPSL_INSTALL_PKGDATADIR has none"
  fi
  grep -qF "$MPSL_INSTALL_PKGDATADIR/experiments/devices.ini" err ||
    fail "a copy of mpsl should look in the configured $MPSL_INSTALL_PKGDATADIR, said: $(cat err)"
fi

# The installed tools find the installed mpsl beside them (PREFIX/bin) and write into the
# current directory. A two-point sweep on the installed paper.ini (its tables are the
# installed ones), simulated:
cat >tiny.ini <<INI
[sweep]
name = tiny
base = $data/experiments/sweeps/paper.ini
mode = simulate
[base]
batches = 2
local_epochs = 1
[axes]
hops = 1, 2
clients = 2
INI
# with no mpsl on this PATH (and no build/ beside the installed tools) the one the tools
# can run is $bin
sys=$(PATH=/usr/bin:/bin command -v mpsl) && fail "$sys is on the system PATH: cannot tell which mpsl the tools run"
PATH=/usr/bin:/bin "$data/experiments/sweep" tiny.ini >sweep.log 2>&1 || fail "installed sweep: $(tail -5 sweep.log)"
PATH=/usr/bin:/bin "$data/experiments/sweep" --status tiny.ini >/dev/null 2>&1 || fail "installed sweep: points not finished"
[ "$(ls results/sweeps/tiny/*.h5 | wc -l)" = 2 ] || fail "installed sweep: expected 2 results in results/sweeps/tiny"
plot=--no-plot
command -v gnuplot >/dev/null 2>&1 && plot=
PATH=/usr/bin:/bin "$data/experiments/reproduce" $plot edgesys-fig6 >fig6 2>err || fail "installed reproduce: $(cat err)"
[ "$(grep -c '^model=' fig6)" = 12 ] || fail "installed reproduce edgesys-fig6 printed $(grep -c '^model=' fig6) points, not 12"
[ -s results/reproduce/edgesys-fig6.tsv ] || fail "installed reproduce wrote no results/reproduce/edgesys-fig6.tsv here"
[ -n "$plot" ] || [ -s results/figures/edgesys-fig6.png ] || fail "installed reproduce drew no results/figures/edgesys-fig6.png"

# make uninstall leaves no file behind (the probe lives in an installed file)
env -u MAKEFLAGS -u MFLAGS $MAKE -s -C "$MPSL_BUILDDIR" uninstall DESTDIR="$stage" >"$tmp/uninstall.log" 2>&1 ||
  fail "make uninstall: $(tail -5 "$tmp/uninstall.log")"
left=$(find "$stage" -type f | head -5)
[ -z "$left" ] || fail "make uninstall left $left"
echo "install: binary, data, tools and documentation in $stage; uninstall removed them"
