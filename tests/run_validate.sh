#!/bin/sh
# `mpsl run --ranks` refuses every configuration `mpsl run` refuses before its first round,
# with the same error line, and prints the count for the good ones: both call one check
# (sl_run_validate). Each bad configuration of the table below is tried with --ranks and
# with a run of one rank (the check comes before the rank count); a sample also with
# the full count of ranks under the launcher.
. "${MPSL_SRCDIR:-.}/tests/testlib.sh"
export OMP_NUM_THREADS=1
src=$MPSL_SRCDIR
base="--config $src/tests/fixtures/tiny-run.ini --set clients=2 --set hops=1 --set output=$tmp/out/r.h5"
prof="--set compute=profiled --set profile_dir=$tmp/profiles"
table=$src/tests/fixtures/vgg11-cifar-w0.25-c1-b8.csv

# what the table refers to
: >"$tmp/file"
mkdir -p "$tmp/adir" "$tmp/ck.h5.ckpt" "$tmp/empty" "$tmp/badmagic" "$tmp/short" "$tmp/profiles" "$tmp/stale"
fm=/usr/share/datasets/fashion-mnist
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  printf 'not an IDX file at all' >"$tmp/badmagic/$f"
  cp "$fm/$f.gz" "$tmp/short/$f.gz"
done
gzip -dc "$fm/t10k-images-idx3-ubyte.gz" | head -c 5000 | gzip >"$tmp/short/t10k-images-idx3-ubyte.gz"
echo "this is not HDF5" >"$tmp/garbage.h5"
"$mpsl" profile --model vgg11-cifar --width 0.0625 --channels 1 --batch 8 --reps 1 --warmup 0 \
  --output "$tmp/profiles/vgg11-cifar-b8-s32x1-c10-w0.0625.h5" 2>/dev/null >/dev/null || fail "mpsl profile"
"$mpsl" profile --model vgg11-cifar --width 0.0625 --channels 1 --batch 4 --reps 1 --warmup 0 \
  --output "$tmp/b4.h5" 2>/dev/null >/dev/null || fail "mpsl profile at batch 4"
cp "$tmp/b4.h5" "$tmp/stale/vgg11-cifar-b8-s32x1-c10-w0.0625.h5" # a cache file of another batch
cat >"$tmp/tiny.ini" <<'INI'
[tiny]
description = a device far too small for any part
memory = 1K
speed = 1
source = a test
INI
printf '[fast]\ndescription = d\nmemory = 4G\nspeed = quick\nsource = a test\n' >"$tmp/badspeed.ini"
printf '[m]\ndescription = d\nmemory = lots\nspeed = 1\nsource = a test\n' >"$tmp/badmem.ini"
printf '[k]\ndescription = d\nmemory = 4G\nspeed = 1\nsource = a test\ncolour = red\n' >"$tmp/badkey.ini"
printf '[n]\ndescription = d\nmemory = 4G\nsource = a test\n' >"$tmp/nospeed.ini"
printf 'speed = 1\n' >"$tmp/noheader.ini"
printf '[a b]\ndescription = d\nmemory = 4G\nspeed = 1\nsource = a test\n' >"$tmp/badname.ini"
printf '[r]\ndescription = d\nmemory = 4G\nref_step_vgg19_b128 = -3\nsource = a test\n' >"$tmp/badref.ini"
printf '[e]\ndescription = d\nmemory = 4G\nspeed = 1\nsource = a test\njust words\n' >"$tmp/noequals.ini"

# one bad configuration a line: the --set values beside $base
cat >"$tmp/cases" <<EOT
--set do_cn_bw=8
--set do_cn_bw=fast
--set cn_cn_bw=-1Mbit
--set do_agg_bw=10Mbit/h
--set cn_cn_bw=Mbit
--set do_agg_bw=1e999Mbit
--set do_links=8Mbit@0.02:1
--set do_links=8Mbit@0.02:x
--set do_links=8Mbit@abc:2
--set do_links=8Mbit
--set do_links=8@0.01:2
--set do_links=8Mbit@0.02:3
--set do_devices=nosuch
--set do_devices=rpi4b:1
--set do_devices=rpi4b:1,rpi3b:2
--set do_devices=rpi4b:x,host:2
--set do_devices=rpi4b,host
--set cn_devices=nosuch
--set cn_devices=host:2
--set agg_device=nosuch
--set agg_device=host:2
--set devices=$tmp/missing.ini
--set devices=$tmp/badspeed.ini
--set devices=$tmp/badmem.ini
--set devices=$tmp/badkey.ini
--set devices=$tmp/nospeed.ini
--set devices=$tmp/noheader.ini
--set devices=$tmp/badname.ini
--set devices=$tmp/badref.ini
--set devices=$tmp/noequals.ini
--set devices=$tmp/file
--set devices=$tmp/adir
--set devices=$tmp/tiny.ini --set do_devices=tiny
--set devices=$tmp/tiny.ini --set cn_devices=tiny
--set devices=$tmp/tiny.ini --set agg_device=tiny
--set cn_devices=rpi3b --set model=vgg19 --set width=1 --set batch=32
--set data_dir=$tmp/empty
--set data_dir=$tmp/nowhere
--set data_dir=$tmp/badmagic
--set data_dir=$tmp/short
--set dataset=cifar10 --set data_dir=$tmp/empty
--set dataset=mnist --set data_dir=$tmp/badmagic
--set dataset=cifar100
--set partition=dirichlet --set alpha=1e-6 --set clients=5000
--set clients=70000
$prof --set profile=$tmp/missing.h5
$prof --set profile=$tmp/garbage.h5
$prof --set profile=$tmp/b4.h5
$prof --set profile=$tmp/adir
$prof --set profile_dir=$tmp/stale
$prof --set profile_dir=$tmp/file/profiles
$prof --set profile_dir=$tmp/file
--set do_devices=rpi4b --set profile_dir=$tmp/file/profiles
$prof --set save_model=$tmp/m.h5
--set cuts=1,2,3
--set cuts=5,3
--set cuts=1,400
--set cuts=plan:5,3
--set hops=40
--set pipelines=3
--set pipelines=2 --set distribution=1
--set pipelines=2 --set distribution=1,2
--set pipelines=2 --set distribution=0,2
--set fail_round=99
--set fail_round=1 --set fail_node=2
--set output=$tmp/file/r.h5
--set output=$tmp/adir
--set save_model=$tmp/file/m.h5
--set save_model=$tmp/adir
--set output=$tmp/ck.h5
--set events=owners:0
--set events=some
--set events=owners:x
--set model=csv:$tmp/missing.csv
--set model=csv:$table --set width=1
--set model=csv:$table --set compute=profiled --set width=2
--set model=csv:$table --set compute=profiled --set width=1 --set profile=$tmp/b4.h5
--set model=csv:$table --set compute=profiled --set width=1 --set batch=4
--set model=csv:$table --set compute=profiled --set width=1 --set cn_devices=rpi4b
--set model=vgg12
--set batch=0
EOT

first_error() { grep -m1 '^mpsl run: error: ' "$1"; }
n=0 bad=0
while IFS= read -r args; do
  n=$((n + 1))
  # shellcheck disable=SC2086 # the table's words are arguments
  if "$mpsl" run --ranks $base $args >"$tmp/ranks.out" 2>"$tmp/ranks.err"; then
    echo "FAIL: run --ranks $args printed $(cat "$tmp/ranks.out") but the configuration is bad"
    bad=$((bad + 1))
    continue
  fi
  rc=$?
  # shellcheck disable=SC2086
  "$mpsl" run $base $args >"$tmp/run.out" 2>"$tmp/run.err"
  runrc=$?
  want=$(first_error "$tmp/run.err")
  got=$(first_error "$tmp/ranks.err")
  if [ "$rc" -ge 128 ] || [ "$runrc" -ne 1 ] || [ -z "$want" ] || [ "$got" != "$want" ]; then
    echo "FAIL: $args: run --ranks exit $rc, '$got'; run exit $runrc, '$want'"
    bad=$((bad + 1))
  fi
done <"$tmp/cases"
[ "$n" -ge 60 ] || fail "only $n cases were read"

# a sample with as many ranks as the configuration would have
for args in "--set do_cn_bw=8" "--set data_dir=$tmp/badmagic" "--set devices=$tmp/tiny.ini --set cn_devices=tiny"; do
  # shellcheck disable=SC2086
  "$mpsl" run --ranks $base $args 2>"$tmp/ranks.err" && fail "run --ranks $args"
  # shellcheck disable=SC2086
  $MPSL_LAUNCH -np 4 "$mpsl" run $base $args >"$tmp/run.out" 2>"$tmp/run.err" && fail "a run of 4 ranks with $args"
  [ "$(first_error "$tmp/run.err")" = "$(first_error "$tmp/ranks.err")" ] ||
    fail "4 ranks with $args: '$(first_error "$tmp/run.err")', --ranks: '$(first_error "$tmp/ranks.err")'"
  [ "$(grep -c '^mpsl run: error: ' "$tmp/run.err")" = 1 ] || fail "4 ranks with $args: not one error line"
done

# good configurations still give their count
good() {
  want=$1
  shift
  # shellcheck disable=SC2086
  got=$("$mpsl" run --ranks $base "$@" 2>"$tmp/err") || { echo "FAIL: run --ranks $*: $(cat "$tmp/err")"; bad=$((bad + 1)); return; }
  [ "$got" = "$want" ] || { echo "FAIL: run --ranks $*: $got, expected $want"; bad=$((bad + 1)); }
}
good 4
good 4 --set do_devices=rpi4b:1,host:1 --set do_cn_bw=8Mbit --set do_links=2Mbit@0.05:2 --set profile_dir="$tmp/new/p"
# shellcheck disable=SC2086 # $prof is several arguments
good 4 $prof
# shellcheck disable=SC2086
good 4 $prof --set profile_dir="$tmp/not/yet" # measured by the run, when it starts
# shellcheck disable=SC2086
good 4 $prof --set cuts=plan
good 7 --set clients=4 --set pipelines=2 --set distribution=1,3
good 4 --set devices="$tmp/tiny.ini" --set do_devices=tiny --set memory_check=false
good 4 --set model=csv:"$table" --set compute=profiled --set width=1
[ ! -e "$tmp/not" ] || fail "run --ranks made the profile folder"
[ ! -e "$tmp/out" ] || fail "run --ranks made the output folder"
[ "$bad" = 0 ] || fail "$bad of $n bad configurations (and the good ones) disagree"
echo "ok: $n bad configurations refused alike by run --ranks and run; good ones counted"
