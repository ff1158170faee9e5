#!/bin/sh
# Figure 1 (SPEC 9.1): the time of a round vs the number of data owners K, one line per
# number of hops H, one panel per model.
#   plots/fig1_round_time.sh RESULTS_DIR FIG_DIR     (a sweep with axes clients and hops)
set -eu
. "$(dirname "$0")/lib.sh"
fig_begin "$@"
fig_points round_time fig1 clients hops
# A panel per model (the base's model when it is not an axis) and mode.
fig_panels mode
i=0
while IFS='|' read -r model mode; do
  i=$((i + 1))
  awk -F'\t' -v model="$model" -v mode="$mode" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    (!("model" in c) || $c["model"] == model) && $c["mode"] == mode { print "H = " $c["hops"] "\t" $c["clients"] "\t" $c["value"] }' "$tmp/t" |
    sort -t'	' -k1,1V | aggregate >"$tmp/d$i"
done <"$tmp/panels"
set -- $(time_unit "$tmp"/d*)
div=$1 unit=$2
{
  echo "set multiplot layout 1,$n title \"Round time vs number of data owners K, one line per number of hops H\""
  echo 'set grid; set key top left; set xlabel "data owners K"'
  echo "set ylabel \"round time ($unit)\"; set yrange [0:*]; set offsets graph 0.03, graph 0.03, graph 0.05, 0"
  i=0
  while IFS='|' read -r model mode; do
    i=$((i + 1))
    nb=$(blocks "$tmp/d$i")
    echo "set title \"$(model_label "$model"), $mode\""
    echo "plot for [b=0:$((nb - 1))] \"$tmp/d$i\" index b using 1:(\$2/$div):(\$3/$div) with yerrorlines lw 2 pt 7 title columnheader(1)"
  done <"$tmp/panels"
  echo "unset multiplot"
} >"$tmp/body.gp"
render "$figdir/fig1_round_time" "$tmp/body.gp" $((520 * n + 100)) 520
