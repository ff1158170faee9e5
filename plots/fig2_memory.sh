#!/bin/sh
# Figure 2 (SPEC 9.2): memory of the most loaded compute node vs the number of data owners
# K, one-hop (H = 1) against multihop (H = 2..5), log scale, with the 80 GB of the
# largest accelerator and the compute node's own memory. The bytes are those the run
# accounted (parameters, gradients, optimizer state, activations and buffers of every
# copy a node keeps, one per data owner it serves).
#   plots/fig2_memory.sh RESULTS_DIR FIG_DIR     (a sweep with axes clients and hops)
set -eu
. "$(dirname "$0")/lib.sh"
fig_begin "$@"
fig_points cn_accounted fig2 clients hops
fig_scenario
# The compute nodes' memory cap (0: none) from the first finished point.
first=$(awk -F'\t' 'NR == 2 { print $(NF - 1) }' "$tmp/t")
cap=$(point_value "$dir/$first" cn_cap)
fig_panels mode
i=0
while IFS='|' read -r model mode; do
  i=$((i + 1))
  awk -F'\t' -v model="$model" -v mode="$mode" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    (!("model" in c) || $c["model"] == model) && $c["mode"] == mode {
      print $c["hops"] "\t" ($c["hops"] == 1 ? "one-hop (H = 1)" : "multihop, H = " $c["hops"]) "\t" $c["clients"] "\t" $c["value"] / 1e9 }' "$tmp/t" |
    sort -t'	' -k1,1n | cut -f 2- | aggregate >"$tmp/d$i"
  blocks_tsv "$(model_label "$model"), $mode" "$tmp/d$i" >>"$tmp/data"
done <"$tmp/panels"
title="Memory of the most loaded compute node vs number of data owners K"
fig_size $((520 * n + 100)) 580
{
  fig_multiplot 1,$n "$title"
  echo "set grid; set key below horizontal maxrows 2 font \",$(fs 10)\"; set xlabel \"data owners K\"; set ylabel \"accounted memory per compute node (GB)\""
  echo 'set logscale y; set format y "%g"; set offsets graph 0.03, graph 0.03, 0, 0'
  i=0
  while IFS='|' read -r model mode; do
    i=$((i + 1))
    echo "set title \"$(gp_text "$(model_label "$model"), $mode")\""
    printf 'plot %s, ' "$(series_plot "$tmp/d$i")"
    printf '80 with lines dt 2 lw 2 lc rgb "red" title "80 GB (largest accelerator)"'
    [ "${cap:-0}" -gt 0 ] 2>/dev/null && printf ', %s with lines dt 3 lw 2 lc rgb "black" title "compute node memory (%s GB)"' \
      "$(awk -v c="$cap" 'BEGIN { print c / 1e9 }')" "$(awk -v c="$cap" 'BEGIN { printf "%.1f", c / 1e9 }')"
    echo
  done <"$tmp/panels"
  echo "unset multiplot"
} >"$tmp/body.gp"
fig_data fig2_memory panel series clients accounted_GB sd_GB runs <"$tmp/data"
fig_caption fig2_memory "Figure 2. $title." \
  "Memory: the bytes the run accounted on its most loaded compute node in the last round (parameters, gradients, optimizer state, the activations and buffers of every copy it keeps, one per data owner it serves), in GB (10^9 bytes), log scale. The red dashed line is 80 GB, the largest accelerator$([ "${cap:-0}" -gt 0 ] 2>/dev/null && echo "; the black dotted one the compute node's memory cap" || :)."
render "$figdir/fig2_memory" "$tmp/body.gp"
