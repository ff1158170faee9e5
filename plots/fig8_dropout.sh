#!/bin/sh
# Figure 8 (issue 12, faults on purpose): the round time and the test accuracy against the
# drop-out rate (absence = P: each data owner sits out each round with probability P).
# Left, the round time simulated on the authors' tables, one line per model (mean and
# standard deviation over the seeds); right, the test accuracy after the last round of
# real training (mean and standard deviation over the seeds).
#   plots/fig8_dropout.sh RESULTS_DIR FIG_DIR   (RESULTS_DIR: the sweep dropout-accuracy,
#   axis absence; the round times from the sweep dropout-time beside it, RESULTS_DIR/../
#   dropout-time, or DROPOUT_TIME_DIR)
set -eu
. "$(dirname "$0")/lib.sh"
fig_begin "$@"
timedir=${DROPOUT_TIME_DIR:-$(dirname "$dir")/dropout-time}
fig_points final_acc fig8 absence
points_with round_time "$timedir" >"$tmp/time"
need_cols "$tmp/time" absence model
[ "$(wc -l <"$tmp/time")" -gt 1 ] || { echo "fig8: no finished points in $timedir" >&2; exit 1; }
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { print $c["model"] "\t" 100 * $c["absence"] "\t" $c["value"] }' \
  "$tmp/time" >"$tmp/tm"
: >"$tmp/dt"
cut -f1 "$tmp/tm" | sort -u | while IFS= read -r model; do
  awk -F'\t' -v m="$model" -v label="$(model_label "$model")" '$1 == m { print label "\t" $2 "\t" $3 }' "$tmp/tm"
done | aggregate >"$tmp/dt"
# what was trained, from the first finished point: "vgg11_bn-cifar, fashion-mnist, 6 rounds"
first=$dir/$(tail -n +2 "$tmp/t" | head -1 | awk -F'\t' '{ print $(NF - 1) }')
attr() { h5dump -a "$2" "$1" 2>/dev/null | sed -n 's/^ *(0): "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p'; }
base="$(attr "$first" model), $(attr "$first" config/dataset), $(attr "$first" config/rounds) rounds"
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { print "test accuracy\t" 100 * $c["absence"] "\t" 100 * $c["value"] }' \
  "$tmp/t" | aggregate >"$tmp/da"
set -- $(time_unit "$tmp/dt")
div=$1 unit=$2
nb=$(blocks "$tmp/dt")
{
  echo 'set multiplot layout 1,2 title "Drop-out: each data owner sits out each round with probability P (absence = P)"'
  echo 'set grid; set xlabel "drop-out rate P (%)"; set xrange [-3:53]; set offsets 0, 0, graph 0.05, 0'
  printf '%s\n' "set title \"round time, simulated\\non the authors' tables (K = 20, H = 2)\" noenhanced"
  echo "set key bottom left; set ylabel \"round time ($unit)\"; set yrange [0:*]"
  echo "plot for [b=0:$((nb - 1))] \"$tmp/dt\" index b using 1:(\$2/$div):(\$3/$div) with yerrorlines lw 2 pt 7 title columnheader(1)"
  printf '%s\n' "set title \"test accuracy after the last round, real training\\n($base)\" noenhanced"
  echo 'set key off; set ylabel "test accuracy (%)"; set yrange [0:100]'
  echo "plot \"$tmp/da\" index 0 using 1:2:3 with yerrorlines lw 2 pt 7 lc 3"
  echo "unset multiplot"
} >"$tmp/body.gp"
render "$figdir/fig8_dropout" "$tmp/body.gp" 1100 520
