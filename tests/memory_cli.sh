#!/bin/sh
# mpsl run --memory: the plan of every rank as a table, without an MPI job or the dataset
# files; copies multiply the per-copy bytes; ranks over their cap are marked and explained;
# a bad device key is a one-line error with a non-zero exit.
. "$(dirname "$0")/testlib.sh"
printf '[small]\ndescription = a test device\nmemory = 64M\nspeed = 1\nsource = a test catalogue\n' >"$tmp/small.ini"
set -- --set model=vgg11-cifar --set width=0.5 --set clients=10 --set hops=2 --set batch=32 \
  --set owners_per_rank=4 --set threads=1 --set data_dir="$tmp/nowhere" --set devices="$tmp/small.ini" \
  --set cn_devices=host:1,small:1
"$mpsl" run --memory "$@" >"$tmp/plan" 2>"$tmp/err" || { cat "$tmp/err"; fail "mpsl run --memory"; }
cat "$tmp/plan"
# 1 aggregator + 2 hops + ceil(10 / 4) data-owner ranks
[ "$(grep -c '^ *[0-9]' "$tmp/plan")" -eq 6 ] || fail "expected 6 rank lines"
grep -q '^ *0 aggregator .* 1 .* yes$' "$tmp/plan" || fail "aggregator line"
grep -q '^ *1 cn p0 h1 *host .* 10 .* yes$' "$tmp/plan" || fail "hop 1 line"
grep -q '^ *2 cn p0 h2 *small .* 10 .* 64 MiB *NO$' "$tmp/plan" || fail "hop 2 should not fit 64 MiB"
grep -q '^ *5 do 8..9 .* 2 ' "$tmp/plan" || fail "the last data-owner rank hosts owners 8 and 9"
grep -q "^# over the cap: rank 2 (compute node, pipeline 0 hop 2, part layers .*): needs .* for 10 copies but device 'small' has 64 MiB$" \
  "$tmp/plan" || fail "explanation of rank 2"
[ "$(grep -c '^# over the cap' "$tmp/plan")" -eq 1 ] || fail "only rank 2 is over its cap"
grep -q '^# one instance of the model' "$tmp/plan" || fail "per-instance line"

"$mpsl" run --memory "$@" --set cn_devices=nosuch >"$tmp/out" 2>"$tmp/err" && fail "an unknown device was accepted"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "the error should be one line: $(cat "$tmp/err")"
grep -q "cn_devices = nosuch" "$tmp/err" || fail "the error should name the key and value: $(cat "$tmp/err")"
echo "memory_cli: ok"
