#!/bin/sh
# Figure 4 (SPEC 9.4): round time vs the mix of the data owners' devices, from all on
# the first device to all on the second (rpi4b and rpi3b, or d2), one line per number of
# hops H, one panel per model.
#   plots/fig4_device_mix.sh RESULTS_DIR FIG_DIR  (axes: do_devices as NAME or
#                                                  FAST:N,SLOW:M mixes; hops)
set -eu
. "$(dirname "$0")/lib.sh"
fig_begin "$@"
fig_points round_time fig4 do_devices hops
fig_scenario
first=$(awk -F'\t' 'NR == 2 { print $(NF - 1) }' "$tmp/t")
K=$("$MPSL" report "$dir/$first" | sed -n 's/.* clients=\([0-9]*\) .*/\1/p' | head -n 1)
[ -n "$K" ] || { echo "fig4: no clients in the configuration of $dir/$first" >&2; exit 1; }
# the two devices: the first point's single name is the fast one, the other name the slow one
fast=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["do_devices"] !~ /:/ { print $c["do_devices"]; exit }' "$tmp/t")
slow=$(awk -F'\t' -v f="$fast" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  { m = split($c["do_devices"], parts, ","); for (j = 1; j <= m; j++) { split(parts[j], q, ":"); if (q[1] != f) { print q[1]; exit } } }' "$tmp/t")
[ -n "$fast" ] && [ -n "$slow" ] || { echo "fig4: do_devices needs a single device and mixes with a second one" >&2; exit 1; }
fig_panels
i=0
while IFS= read -r model; do
  i=$((i + 1))
  # x = data owners on the slow device (a single device name means all K of them)
  awk -F'\t' -v model="$model" -v K="$K" -v slow="$slow" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    !("model" in c) || $c["model"] == model {
      d = $c["do_devices"]; x = 0
      if (d !~ /:/) x = (d == slow) ? K : 0
      else { m = split(d, parts, ","); for (j = 1; j <= m; j++) { split(parts[j], q, ":"); if (q[1] == slow) x = q[2] } }
      print "H = " $c["hops"] "\t" x "\t" $c["value"] }' "$tmp/t" | sort -t'	' -k1,1V | aggregate >"$tmp/d$i"
  blocks_tsv "$(model_label "$model")" "$tmp/d$i" >>"$tmp/data"
done <"$tmp/panels"
set -- $(time_unit "$tmp"/d*)
div=$1 unit=$2
title="Round time vs the data owners' devices (K = $K: $slow and the rest $fast)"
fig_size $((520 * n + 100)) 520
{
  fig_multiplot 1,$n "$title"
  echo "set grid; set key below; set xlabel \"data owners on $slow (of $K)\"; set ylabel \"round time ($unit)\""
  echo "set yrange [0:*]; set offsets graph 0.03, graph 0.03, graph 0.05, 0"
  echo "set xtics (\"0\" 0, \"$((K / 3))\" $((K / 3)), \"$((K / 2))\" $((K / 2)), \"$((2 * K / 3))\" $((2 * K / 3)), \"$K\" $K)"
  i=0
  while IFS= read -r model; do
    i=$((i + 1))
    echo "set title \"$(gp_text "$(model_label "$model")")\""
    echo "plot $(series_plot "$tmp/d$i" "$div")"
  done <"$tmp/panels"
  echo "unset multiplot"
} >"$tmp/body.gp"
fig_data fig4_device_mix panel series do_on_$slow round_time_s sd_s runs <"$tmp/data"
fig_caption fig4_device_mix "Figure 4. $title." \
  "x: the number of the K = $K data owners on $slow, the others on $fast; round time: the time_s of the round in model seconds, plotted in $unit; sd_s is the standard deviation over the runs of a point (0 with one run)."
render "$figdir/fig4_device_mix" "$tmp/body.gp"
