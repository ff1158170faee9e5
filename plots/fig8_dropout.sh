#!/bin/sh
# Figure 8 (issue 12, faults on purpose): the round time and the test accuracy against the
# drop-out rate (absence = P: each data owner sits out each round with probability P).
# Left, the round time simulated on the authors' tables, one line per model; right, the
# test accuracy after the last round of real training; each point the mean over the
# seeds, with one standard deviation.
#   plots/fig8_dropout.sh RESULTS_DIR FIG_DIR   (RESULTS_DIR: the sweep dropout-accuracy,
#   axis absence; the round times from the sweep dropout-time beside it, RESULTS_DIR/../
#   dropout-time, or DROPOUT_TIME_DIR)
set -eu
. "$(dirname "$0")/lib.sh"
fig_begin "$@"
accdir=$dir
timedir=${DROPOUT_TIME_DIR:-$(dirname "$dir")/dropout-time}
# the round times, and their scenario (fig_scenario reads the files of $dir)
dir=$timedir
fig_points round_time fig8 absence model
fig_scenario
sed 's/^/left: /' "$tmp/scenario" >"$tmp/scenario.both"
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { print $c["model"] "\t" 100 * $c["absence"] "\t" $c["value"] }' \
  "$tmp/t" >"$tmp/tm"
cut -f1 "$tmp/tm" | sort -u | while IFS= read -r model; do
  awk -F'\t' -v m="$model" -v label="$(model_label "$model")" '$1 == m { print label "\t" $2 "\t" $3 }' "$tmp/tm"
done | aggregate >"$tmp/dt"
blocks_tsv "round time (s), simulated" "$tmp/dt" >"$tmp/data"
# the accuracies
dir=$accdir
fig_points final_acc fig8 absence
fig_scenario
sed 's/^/right: /' "$tmp/scenario" >>"$tmp/scenario.both"
mv "$tmp/scenario.both" "$tmp/scenario"
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { print "test accuracy\t" 100 * $c["absence"] "\t" 100 * $c["value"] }' \
  "$tmp/t" | aggregate >"$tmp/da"
blocks_tsv "test accuracy (%) after the last round, real training" "$tmp/da" >>"$tmp/data"
set -- $(time_unit "$tmp/dt")
div=$1 unit=$2
title="Drop-out: round time and test accuracy vs the probability P that a data owner sits out a round"
fig_size 1100 640
{
  fig_multiplot 1,2 "$title"
  echo 'set grid; set xlabel "drop-out rate P (%)"; set xrange [-3:53]; set offsets 0, 0, graph 0.05, 0'
  echo "set title \"$(gp_text "round time, simulated")\""
  echo "set key bottom left; set ylabel \"round time ($unit)\"; set yrange [0:*]"
  echo "plot $(series_plot "$tmp/dt" "$div")"
  echo "set title \"$(gp_text "test accuracy after the last round, real training")\""
  echo 'set key off; set ylabel "test accuracy (%)"; set yrange [0:100]'
  echo "plot $(series_plot "$tmp/da" 1 'lw 2 pt 7 lc 3')"
  echo "unset multiplot"
} >"$tmp/body.gp"
fig_data fig8_dropout panel series absence_pct mean sd runs <"$tmp/data"
fig_caption fig8_dropout "Figure 8. $title." \
  "Left: the time_s of a round in model seconds (the mean over the rounds after the first), plotted in $unit. Right: the test_acc of the last round, in %. mean and sd over the runs of a point (the seeds: who sits out is drawn from the seed, as are the initial weights and the batch order)."
render "$figdir/fig8_dropout" "$tmp/body.gp"
