#!/bin/sh
# Configuration errors name where the value came from: a key read from a file is reported
# as FILE:LINE: KEY = VALUE: what is wrong (expected ...), also when the problem is found
# after parsing (a cut count, a device mix, a bandwidth, a data folder); the same key given
# on the command line has no file to name. Input quoted in a message never carries a raw
# control byte: an escape sequence or a tab in a catalogue, a config file or an argument
# is shown escaped (\x1b, \t).
. "${MPSL_SRCDIR:-.}/tests/testlib.sh"
export OMP_NUM_THREADS=1
bad=0
ESC=$(printf '\033')
TAB=$(printf '\t')

# expect WHAT -- ARGS: exit 1..127, exactly one stderr line, holding WHAT, with no control byte
expect() {
  what=$1
  shift 2
  "$mpsl" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ "$rc" -lt 1 ] || [ "$rc" -ge 128 ] || [ "$(wc -l <"$tmp/err")" != 1 ] || ! grep -qF -- "$what" "$tmp/err" ||
    tr -d '\n' <"$tmp/err" | LC_ALL=C grep -q '[[:cntrl:]]'; then
    echo "FAIL: mpsl $* -> exit $rc, stderr: $(od -c "$tmp/err" | head -4)"
    echo "    (expected one line containing: $what)"
    bad=$((bad + 1))
  fi
}

# run.ini LINE: a good configuration with one line of the case at line 4
conf() {
  printf '# a test\n[run]\n\n%s\nbatch = 8\n' "$1" >"$tmp/c.ini"
}
base="--config $MPSL_SRCDIR/tests/fixtures/tiny-run.ini --set clients=2 --set hops=1 --set output=$tmp/r.h5"
c=$tmp/c.ini
mkdir -p "$tmp/empty" "$tmp/adir"

# errors found after parsing, of keys set in a file
while IFS='|' read -r line what; do
  conf "$line"
  # shellcheck disable=SC2086
  expect "mpsl run: error: $c:4: $what" -- run --ranks $base --config "$c"
done <<EOT
cuts = 1,2,3|cuts = 1,2,3: 3 value(s) but 1 hop(s) need 2 (expected M_1 | hop 1 | ... | hop 1 | M_P)
cuts = 5,3|cuts = 5,3: cuts must be strictly increasing: 3 follows 5
cuts = 1,400|cuts = 1,400: cut 400 is out of range: vgg11-cifar has 23 layers, so a cut lies in 1..22
cuts = plan:5,3|cuts = plan:5,3: expected 1 <= FIRST and LAST <= 22
hops = 40|hops = 40: vgg11-cifar has 23 layers: too few
pipelines = 3|pipelines = 3: 3 pipelines for 2 data owners
distribution = 1,1|distribution = 1,1: 2 value(s) but there are 1 pipelines (expected one count per pipeline)
do_cn_bw = 8|do_cn_bw = 8: expected a bandwidth such as 8Mbit, 100MB/s, 1Gbit or inf
cn_cn_bw = fast|cn_cn_bw = fast: expected a bandwidth
do_links = 8Mbit@0.02:1|do_links = 8Mbit@0.02:1: the counts add up to 1 but there are 2 data owners
do_devices = rpi4b:3|do_devices = rpi4b:3: the counts add up to 3 but there are 2 slots
cn_devices = nosuch|cn_devices = nosuch: unknown device 'nosuch'
agg_device = host:2|agg_device = host:2: the counts add up to 2 but there are 1 slot
events = some|events = some: expected all, none or owners:N
output = $tmp/adir|output = $tmp/adir: a folder (expected the path of a file to write)
save_model = $tmp/c.ini/m.h5|save_model = $tmp/c.ini/m.h5: $tmp/c.ini is not a folder
data_dir = $tmp/empty|data_dir = $tmp/empty: $tmp/empty/t10k-labels-idx1-ubyte: not found
model = vgg12|model = vgg12: unknown model 'vgg12'
EOT
# a rank over its cap, named by the key that chose its device
printf '[tiny]\ndescription = d\nmemory = 1K\nspeed = 1\nsource = a test\n' >"$tmp/tiny.ini"
conf "cn_devices = tiny"
# shellcheck disable=SC2086
expect "mpsl run: error: $c:4: cn_devices = tiny: rank 1 (compute node, pipeline 0 hop 1," -- run --ranks $base --set devices="$tmp/tiny.ini" --config "$c"
conf "do_devices = rpi4b"
# shellcheck disable=SC2086
expect "mpsl run: error: $c:4: do_devices = rpi4b: device 'rpi4b' derives its speed from its step time of" -- run --ranks $base --set profile_dir="$c/p" --config "$c"
# a profile given in a file
printf 'compute = profiled\nprofile = %s/none.h5\n' "$tmp" >"$tmp/p.ini"
# shellcheck disable=SC2086
expect "$tmp/p.ini:2: profile = $tmp/none.h5:" -- run --ranks $base --config "$tmp/p.ini"
# the same key given on the command line names no file
# shellcheck disable=SC2086
expect "mpsl run: error: cuts = 1,2,3: 3 value(s)" -- run --ranks $base --set cuts=1,2,3
# a file's value overridden on the command line is the command line's
conf "cuts = 1,2"
# shellcheck disable=SC2086
expect "mpsl run: error: do_cn_bw = 8:" -- run --ranks $base --config "$c" --set do_cn_bw=8
# the other commands that read the configuration, and the run itself (one rank: the check comes first)
conf "do_cn_bw = 8"
table="--set model=csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.25-c1-b8.csv --set width=1 --set compute=profiled"
# shellcheck disable=SC2086
expect "mpsl simulate: error: $c:4: do_cn_bw = 8:" -- simulate $base $table --config "$c"
# shellcheck disable=SC2086
expect "mpsl estimate: error: $c:4: do_cn_bw = 8:" -- estimate $base $table --config "$c"
# shellcheck disable=SC2086
expect "mpsl run: error: $c:4: do_cn_bw = 8:" -- run $base --config "$c"
printf 'clients = 2\nhops = 2\n\ncuts = 2,9,9\n' >"$c"
# shellcheck disable=SC2086
expect "mpsl plan: error: $c:4: cuts = 2,9,9: cuts must be strictly increasing: 9 follows 9" -- plan $base $table --config "$c"

# a device catalogue: every line's value is reported at its own line
printf '[m]\ndescription = d\nspeed = 1\nmemory = lots\nsource = a test\n' >"$tmp/m.ini"
# shellcheck disable=SC2086
expect "$tmp/m.ini:4: device 'm': memory: 'lots' is not a size" -- run --ranks $base --set devices="$tmp/m.ini"
printf '[s]\ndescription = d\nmemory = 1G\nspeed = quick\nsource = a test\n' >"$tmp/s.ini"
# shellcheck disable=SC2086
expect "$tmp/s.ini:4: speed: 'quick' is not a number" -- run --ranks $base --set devices="$tmp/s.ini"

# control bytes from every kind of input, escaped
printf '[a%s[31mb]\ndescription = d\n' "$ESC" >"$tmp/e1.ini"
# shellcheck disable=SC2086
expect "$tmp/e1.ini:1: [a\\x1b[31mb]: a device name is" -- run --ranks $base --set devices="$tmp/e1.ini"
printf '[r]\ndescription = d\nmemory = 1G\nref_step_vgg19_b128 = 3%s[0m\nsource = x\n' "$ESC" >"$tmp/e2.ini"
# shellcheck disable=SC2086
expect "$tmp/e2.ini:4: ref_step_vgg19_b128: '3\\x1b[0m' is not a time" -- run --ranks $base --set devices="$tmp/e2.ini"
printf '[r]\ndescription = d\nmemory = 1G\nspe%sed = 1\nsource = x\n' "$TAB" >"$tmp/e3.ini"
# shellcheck disable=SC2086
expect "$tmp/e3.ini:4: unknown key 'spe\\ted'" -- run --ranks $base --set devices="$tmp/e3.ini"
printf '[r]\ndescription = d%s]0;title\a\nmemory = 1G\nspeed = 1\nsource = x\n' "$ESC" >"$tmp/e4.ini"
# shellcheck disable=SC2086
expect "$tmp/e4.ini:2: description: 'd\\x1b]0;title\\x07' contains a control character" -- run --ranks $base --set devices="$tmp/e4.ini"
printf 'clients = 2\njust%swords\n' "$ESC" >"$tmp/e5.ini"
# shellcheck disable=SC2086
expect "$tmp/e5.ini:2: expected 'key = value', got 'just\\x1bwords'" -- run --ranks $base --config "$tmp/e5.ini"
printf 'model = vgg%s\n' "$(printf '\a')" >"$tmp/e6.ini"
# shellcheck disable=SC2086
expect "$tmp/e6.ini:1: model: 'vgg\\x07' contains a control character" -- run --ranks $base --config "$tmp/e6.ini"
printf 'index,lay%ser\n' "$ESC" >"$tmp/e7.csv"
# shellcheck disable=SC2086
expect "lay\\x1ber" -- run --ranks $base --set model=csv:"$tmp/e7.csv"
# shellcheck disable=SC2086
expect "do_devices: 'a\\tb' contains a control character" -- run --ranks $base --set do_devices="a${TAB}b"
expect "unknown command 'fr\\x1bob'" -- "fr${ESC}ob"
# shellcheck disable=SC2086
expect "unknown key 'x\\x1by'" -- run --ranks $base --set "x${ESC}y=1"

[ "$bad" = 0 ] || fail "$bad case(s) above"
echo "ok: errors name file:line, key and value, and escape control bytes"
