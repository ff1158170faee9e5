#!/bin/sh
# A figure script writes, beside its PNG and PDF, the numbers it plots (NAME.tsv, a header
# naming the columns) and a caption with its scenario (NAME.txt); it draws error bars only
# where a point has three repetitions or more that differ; FIG_WIDTH, FIG_HEIGHT and FIG_FORMATS set its
# size and formats. From tiny simulations on the authors' tables: deterministic.
. "$(dirname "$0")/testlib.sh"
command -v gnuplot >/dev/null 2>&1 || { echo "SKIP: no gnuplot"; exit 77; }
src=$MPSL_SRCDIR
sweep=$src/experiments/sweep
cat >"$tmp/tiny.ini" <<INI
[sweep]
name = tiny
base = $src/experiments/sweeps/paper.ini
mode = simulate
plot = fig1_round_time fig5_gantt
[base]
batches = 2
local_epochs = 1
[axes]
hops = 1, 2
clients = 2, 4
INI
"$sweep" --mpsl "$mpsl" --out "$tmp/res" "$tmp/tiny.ini" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "the tiny sweep"; }
"$sweep" --mpsl "$mpsl" --out "$tmp/res" --plot --figdir "$tmp/fig" "$tmp/tiny.ini" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "--plot"; }
for f in fig1_round_time fig5_gantt; do
  for e in png pdf tsv txt; do [ -s "$tmp/fig/$f.$e" ] || fail "$f: no $f.$e beside the figure"; done
done

# fig1: one row per point under its header, the value of each the round time of its file
d=$tmp/fig/fig1_round_time.tsv
[ "$(head -n 1 "$d")" = "panel	series	clients	round_time_s	sd_s	runs" ] || fail "fig1 data header: $(head -n 1 "$d")"
[ "$(tail -n +2 "$d" | wc -l)" = 4 ] || fail "fig1 data: $(tail -n +2 "$d" | wc -l) rows, not 4"
t=$("$mpsl" report --csv rounds "$tmp/res/simulate_hops=2_clients=4.h5" | awk -F, 'NR == 2 { print $3 }')
awk -F'\t' -v t="$t" '$2 == "H = 2" && $3 == 4 && ($4 - t) ^ 2 < (1e-6 * t) ^ 2 && $5 == 0 && $6 == 1 { ok = 1 } END { exit !ok }' "$d" ||
  fail "fig1 data: no row 'H = 2, K = 4, $t s, sd 0, 1 run': $(cat "$d")"
c=$tmp/fig/fig1_round_time.txt
grep -q "^Figure 1\. Round time vs number of data owners K" "$c" || fail "fig1 caption has no title: $(cat "$c")"
for s in "Scenario: simulate; vgg19 (authors' table); batch 128, B = 2, r = 1; K = 2, 4, H = 1, 2; one run per point (deterministic)" \
  "data owners on rpi4b, compute nodes on vm" "data owner-compute node 8 Mbit/s" "Data: fig1_round_time.tsv (columns: panel, series, clients"; do
  grep -qF "$s" "$c" || fail "fig1 caption does not say '$s': $(cat "$c")"
done
# the panel names the model, not "the base's model"
grep -q "vgg19 (authors' table), simulate	" "$d" || fail "fig1 panel: $(cut -f 1 "$d" | sort -u)"

# fig5: the tasks and the link transfers of the window, for each point
d=$tmp/fig/fig5_gantt.tsv
[ "$(head -n 1 "$d")" = "panel	kind	row	owner	batch	direction	part	start_s	end_s" ] || fail "fig5 data header: $(head -n 1 "$d")"
for k in task transfer; do
  [ "$(awk -F'\t' -v k="$k" '$2 == k' "$d" | wc -l)" -gt 0 ] || fail "fig5 data has no $k rows"
done
[ "$(awk -F'\t' '$2 == "transfer" && $3 ~ /^links DO / && $9 > $8' "$d" | wc -l)" -gt 0 ] || fail "fig5: no data-owner link transfers"
grep -q "^Scenario: simulate;" "$tmp/fig/fig5_gantt.txt" || fail "fig5 caption: $(cat "$tmp/fig/fig5_gantt.txt")"

# error bars: none for single runs, two runs, or repetitions that are equal; one standard
# deviation of three runs or more that differ; the legend of lines and points otherwise
. "$src/plots/lib.sh"
printf 'a\t1\t5\na\t2\t6\n' | aggregate >"$tmp/one"
printf 'a\t1\t5\na\t1\t5\na\t1\t5\n' | aggregate >"$tmp/same"
printf 'a\t1\t4\na\t1\t5\n' | aggregate >"$tmp/two"
printf 'a\t1\t4\na\t1\t5\na\t1\t6\n' | aggregate >"$tmp/three"
[ "$(errbars "$tmp/one")" = no ] && [ "$(errbars "$tmp/same")" = no ] && [ "$(errbars "$tmp/two")" = no ] && [ "$(errbars "$tmp/three")" = yes ] ||
  fail "errbars: one run $(errbars "$tmp/one"), equal runs $(errbars "$tmp/same"), two runs $(errbars "$tmp/two"), three that differ $(errbars "$tmp/three")"
awk '!/^"/ && NF == 4 { exit !($2 == 5 && $3 == 1 && $4 == 3) }' "$tmp/three" || fail "aggregate of 4, 5, 6: $(cat "$tmp/three")"
series_plot "$tmp/one" | grep -q 'with linespoints' || fail "series_plot of single runs: $(series_plot "$tmp/one")"
series_plot "$tmp/three" | grep -q 'using 1:($2/1):($3/1) with yerrorlines' || fail "series_plot with repetitions: $(series_plot "$tmp/three")"

# size and formats
rm -f "$tmp/fig/fig1_round_time."*
FIG_WIDTH=640 FIG_HEIGHT=400 FIG_FORMATS=png MPSL=$mpsl "$src/plots/fig1_round_time.sh" "$tmp/res" "$tmp/fig" >"$tmp/log" 2>&1 ||
  { cat "$tmp/log"; fail "fig1 with FIG_WIDTH"; }
# the PNG header's width and height (big-endian, from byte 16)
wh=$(od -An -tu1 -j16 -N8 "$tmp/fig/fig1_round_time.png" | awk '{ print ($1 * 2^24 + $2 * 2^16 + $3 * 256 + $4) "x" ($5 * 2^24 + $6 * 2^16 + $7 * 256 + $8) }')
[ "$wh" = 640x400 ] || fail "FIG_WIDTH=640 FIG_HEIGHT=400 drew a PNG of $wh"
[ ! -e "$tmp/fig/fig1_round_time.pdf" ] || fail "FIG_FORMATS=png wrote a PDF"
echo "ok: figures write their data and caption beside them, error bars only with repetitions that differ, FIG_* sizes"
