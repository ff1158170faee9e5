#!/bin/sh
# Figure 1 (SPEC 9.1): the time of a round vs the number of data owners K, one line per
# number of hops H, one panel per model.
#   plots/fig1_round_time.sh RESULTS_DIR FIG_DIR     (a sweep with axes clients and hops)
set -eu
. "$(dirname "$0")/lib.sh"
fig_begin "$@"
fig_points round_time fig1 clients hops
fig_scenario
# A panel per model (the sweep's model when it is not an axis) and mode.
fig_panels mode
i=0
while IFS='|' read -r model mode; do
  i=$((i + 1))
  awk -F'\t' -v model="$model" -v mode="$mode" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    (!("model" in c) || $c["model"] == model) && $c["mode"] == mode { print "H = " $c["hops"] "\t" $c["clients"] "\t" $c["value"] }' "$tmp/t" |
    sort -t'	' -k1,1V | aggregate >"$tmp/d$i"
  blocks_tsv "$(model_label "$model"), $mode" "$tmp/d$i" >>"$tmp/data"
done <"$tmp/panels"
set -- $(time_unit "$tmp"/d*)
div=$1 unit=$2
title="Round time vs number of data owners K, one line per number of hops H"
fig_size $((520 * n + 100)) 560
{
  fig_multiplot 1,$n "$title"
  echo 'set grid; set key top left; set xlabel "data owners K"'
  echo "set ylabel \"round time ($unit)\"; set yrange [0:*]; set offsets graph 0.03, graph 0.03, graph 0.05, 0"
  i=0
  while IFS='|' read -r model mode; do
    i=$((i + 1))
    echo "set title \"$(gp_text "$(model_label "$model"), $mode")\""
    echo "plot $(series_plot "$tmp/d$i" "$div")"
  done <"$tmp/panels"
  echo "unset multiplot"
} >"$tmp/body.gp"
fig_data fig1_round_time panel series clients round_time_s sd_s runs <"$tmp/data"
fig_caption fig1_round_time "Figure 1. $title." \
  "Round time: the time_s of the round in model seconds (the mean over the rounds after the first when there are several), plotted in $unit; sd_s is the standard deviation over the runs of a point (0 with one run)."
render "$figdir/fig1_round_time" "$tmp/body.gp"
