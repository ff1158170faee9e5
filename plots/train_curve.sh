#!/bin/sh
# Test accuracy and losses per epoch from the output of `mpsl train`.
#   plots/train_curve.sh TRAIN.log OUT.png [TITLE]
# FIG_WIDTH, FIG_HEIGHT (pixels), FIG_FONT and FIG_FONTSIZE as for the figures (plots/lib.sh);
# the plotted numbers go beside OUT.png into OUT.tsv.
set -eu
log=$1
out=$2
title=${3:-mpsl train}
dat=$(mktemp)
trap 'rm -f "$dat"' EXIT
# epoch step train_loss train_acc test_loss test_acc time_s
sed -n 's/^epoch \([0-9]*\) step \([0-9]*\) train_loss=\([^ ]*\) train_acc=\([^ ]*\) test_loss=\([^ ]*\) test_acc=\([^ ]*\) time_s=\([^ ]*\)$/\1 \2 \3 \4 \5 \6 \7/p' "$log" >"$dat"
[ -s "$dat" ] || { echo "train_curve.sh: no 'epoch ...' lines in $log" >&2; exit 1; }
gnuplot <<GP
set terminal pngcairo size ${FIG_WIDTH:-800},${FIG_HEIGHT:-480} font "${FIG_FONT:-DejaVu Sans},${FIG_FONTSIZE:-11}"
set output "$out"
set title "$title"
set xlabel "epoch"
set ylabel "test accuracy (%)"
set y2label "loss"
set ytics nomirror
set y2tics
set key bottom right
set grid
plot "$dat" using 1:(100*\$6) with linespoints lw 2 pt 7 title "test accuracy", \
     "" using 1:5 axes x1y2 with linespoints lw 1 pt 5 title "test loss", \
     "" using 1:3 axes x1y2 with linespoints lw 1 pt 4 title "train loss"
GP
# the plotted numbers beside the figure
{ printf 'epoch\tstep\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc\ttime_s\n'; tr ' ' '\t' <"$dat"; } >"${out%.png}.tsv"
echo "wrote $out ${out%.png}.tsv"
