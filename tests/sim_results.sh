#!/bin/sh
# mpsl simulate: two runs of the same simulation write the same results file apart from
# the simulator's own speed (sim_wall_s, sim_events_per_s), its start and end times
# (started, ended), the command line and who wrote it (writer_pid, writer_start,
# heartbeat), compared as h5dump prints
# every attribute, type and row; mpsl report and every --csv export read the file; the
# tables hold what the protocol implies.
. "$(dirname "$0")/testlib.sh"
out=$tmp/sim.h5
# two pipelines, two hops, owners sharing ranks, bwd-first, jitter and narrow links: every
# rule that could depend on something other than the input takes part
table=csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv
set -- --set model=$table --set batch=4 --set clients=5 --set hops=2 --set pipelines=2 \
  --set owners_per_rank=2 --set batches=2 --set local_epochs=2 --set rounds=2 --set policy=bwd-first \
  --set jitter=0.2 --set do_cn_bw=8Mbit --set do_cn_lat=0.01 --set cn_cn_bw=100Mbit --set do_agg_bw=8Mbit \
  --set profile_dir="$tmp/profiles" --set output="$out"

"$mpsl" simulate "$@" >"$tmp/a.log" 2>"$tmp/a.err" || { cat "$tmp/a.log" "$tmp/a.err"; fail "first simulation"; }
# a layer table is all the simulator needs: no host profile is measured, none is cached
[ ! -e "$tmp/profiles" ] || fail "simulating a layer table created $tmp/profiles: $(ls "$tmp/profiles")"
grep -q "measuring a host profile" "$tmp/a.err" && fail "simulating a layer table measured a host profile"
mv "$out" "$tmp/a.h5"
"$mpsl" simulate "$@" >"$tmp/b.log" 2>"$tmp/b.err" || { cat "$tmp/b.log" "$tmp/b.err"; fail "second simulation"; }
mv "$out" "$tmp/b.h5"

# the first line names the file; h5dump prints an attribute as a block from
# `ATTRIBUTE "name" {` to the `}` at its indent
strip() {
  h5dump "$1" | awk 'NR == 1 { next }
    skip && $0 == end { skip = 0; next }
    skip { next }
    /ATTRIBUTE "(sim_wall_s|sim_events_per_s|started|ended|command|heartbeat|writer_pid|writer_start)"/ {
      skip = 1; match($0, /^ */); end = substr($0, 1, RLENGTH) "}"; next }
    { print }'
}
h5dump "$tmp/a.h5" >"$tmp/a.full" || fail "h5dump cannot read the file"
grep -q 'ATTRIBUTE "sim_events_per_s"' "$tmp/a.full" || fail "no sim_events_per_s attribute"
grep -q 'ATTRIBUTE "sim_wall_s"' "$tmp/a.full" || fail "no sim_wall_s attribute"
strip "$tmp/a.h5" >"$tmp/a.dump"
strip "$tmp/b.h5" >"$tmp/b.dump"
grep -q 'sim_' "$tmp/a.dump" && fail "the speed attributes were not stripped"
grep -q 'DATASET "events"' "$tmp/a.dump" || fail "no events in the dump"
grep -q 'DATASET "partition"' "$tmp/a.dump" || fail "no partition in the dump"
[ "$(wc -l <"$tmp/a.dump")" -gt 1000 ] || fail "the dump is too short to hold the rows"
diff "$tmp/a.dump" "$tmp/b.dump" >"$tmp/diff" || { head -40 "$tmp/diff"; fail "two runs of one simulation differ"; }
grep -v '^# simulated' "$tmp/a.log" >"$tmp/a.out"
grep -v '^# simulated' "$tmp/b.log" >"$tmp/b.out"
cmp -s "$tmp/a.out" "$tmp/b.out" || fail "the printed rounds differ"
grep -q '^# simulated .* events/s' "$tmp/a.log" || fail "no speed line on stdout"
grep -q '^round 2 time_s=' "$tmp/a.log" || fail "no line for round 2"

# mpsl report reads it like a run's file
"$mpsl" report "$tmp/a.h5" >"$tmp/report" || fail "mpsl report"
grep -q "status: finished" "$tmp/report" || fail "status"
grep -q "input 0, label 0" "$tmp/report" || fail "audit line"
grep -q "compute=profiled" "$tmp/report" || fail "the configuration should say compute=profiled"
for t in rounds events memory links audit; do
  "$mpsl" report --csv "$t" "$tmp/a.h5" >"$tmp/$t.csv" || fail "--csv $t"
done
[ "$(wc -l <"$tmp/rounds.csv")" -eq 3 ] || fail "rounds.csv should hold a header and 2 rounds"
# 5 owners x 2 rounds x 4 batches x (4 data-owner tasks + 2 hops x 2)
[ "$(wc -l <"$tmp/events.csv")" -eq 321 ] || fail "events.csv has $(wc -l <"$tmp/events.csv") lines, expected 321"
# 1 aggregator + 2 x 2 hops + 3 data-owner ranks, each round
[ "$(wc -l <"$tmp/memory.csv")" -eq 17 ] || fail "memory.csv has $(wc -l <"$tmp/memory.csv") lines, expected 17"
[ "$(wc -l <"$tmp/audit.csv")" -eq 11 ] || fail "audit.csv has $(wc -l <"$tmp/audit.csv") lines, expected 11"
# wall_s = time_s, losses NaN, no overruns
awk -F, 'NR > 1 && ($2 != $3 || $2 <= 0 || $4 != "nan" || $7 != 0) { bad = 1 } END { exit bad }' "$tmp/rounds.csv" ||
  fail "rounds rows: $(cat "$tmp/rounds.csv")"
# every owner sent 4 activations, 4 gradients and its model each round
awk -F, 'NR > 1 && ($3 != 4 || $4 != 4 || $5 != 1 || $6 != 0 || $7 != 0) { bad = 1 } END { exit bad }' \
  "$tmp/audit.csv" || fail "audit rows: $(cat "$tmp/audit.csv")"
# a task ends after it starts, and a data owner's tasks never wait
awk -F, 'NR > 1 && ($9 < $8 || $10 < 0 || ($3 == 2 && $10 != 0)) { bad = 1 } END { exit bad }' "$tmp/events.csv" ||
  fail "an event row breaks the timing rules"
h5dump -a /mode "$tmp/a.h5" | grep -q '"simulate"' || fail "mode attribute"

# the configuration file route gives the same file as the flags
printf 'model = %s\nclients = 5\n' "$table" >"$tmp/c.ini"
"$mpsl" simulate "$tmp/c.ini" --set batch=4 --set hops=2 --set pipelines=2 --set owners_per_rank=2 --set batches=2 \
  --set local_epochs=2 --set rounds=2 --set policy=bwd-first --set jitter=0.2 --set do_cn_bw=8Mbit \
  --set do_cn_lat=0.01 --set cn_cn_bw=100Mbit --set do_agg_bw=8Mbit --set profile_dir="$tmp/profiles" \
  --set output="$out" >"$tmp/c.log" 2>&1 || { cat "$tmp/c.log"; fail "simulation from a file"; }
strip "$out" >"$tmp/c.dump"
diff "$tmp/a.dump" "$tmp/c.dump" >/dev/null || fail "CONFIG.ini and flags give different files"

# without the dataset there is no partition table, and --csv partition says so
"$mpsl" simulate --set model=$table --set batch=4 --set clients=3 --set hops=2 --set rounds=1 \
  --set data_dir="$tmp/nodata" --set output="$tmp/np.h5" >"$tmp/np.log" 2>&1 || fail "simulation without the dataset"
grep -q "^# no partition table: " "$tmp/np.log" || fail "no note of the missing partition: $(cat "$tmp/np.log")"
"$mpsl" report --csv partition "$tmp/np.h5" >"$tmp/np.csv" 2>"$tmp/err" && fail "--csv partition of a file without one"
[ ! -s "$tmp/np.csv" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "np.h5: no partition table" "$tmp/err" ||
  fail "--csv partition without a partition: $(cat "$tmp/err")"

# mistakes are one line naming the key
"$mpsl" simulate --set hops=0 >"$tmp/err" 2>&1 && fail "hops=0 was accepted"
[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "hops" "$tmp/err" || fail "bad hops: $(cat "$tmp/err")"
"$mpsl" simulate --set do_cn_bw=fast --set model=$table --set batch=4 >"$tmp/err" 2>&1 && fail "do_cn_bw=fast was accepted"
grep -q "do_cn_bw" "$tmp/err" || fail "bad bandwidth: $(cat "$tmp/err")"
echo "sim_results: ok"
