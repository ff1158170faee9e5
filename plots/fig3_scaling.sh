#!/bin/sh
# Figure 3 (SPEC 9.3): N compute nodes as one multihop chain (1 pipeline of N hops) or as
# N one-hop pipelines side by side: round time (top) and memory of the most loaded
# compute node (bottom) vs N, for each compute-node device, one column per model.
#   plots/fig3_scaling.sh RESULTS_DIR FIG_DIR   (axes: topology = hops=..;pipelines=..,
#                                                optionally cn_devices and model)
set -eu
. "$(dirname "$0")/lib.sh"
fig_begin "$@"
points_with round_time "$dir" >"$tmp/t"
points_with cn_accounted "$dir" >"$tmp/m"
need_cols "$tmp/t" topology
[ "$(wc -l <"$tmp/t")" -gt 1 ] || { echo "fig3: no finished points in $dir" >&2; exit 1; }
# The memory of each kind of compute node: "device GB" lines.
points_with cn_cap "$dir" | awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  $c["value"] > 0 { d = ("cn_devices" in c) ? $c["cn_devices"] : "compute"; if (!(d in seen)) { seen[d] = 1; print d, $c["value"] / 1e9 } }' >"$tmp/caps"
fig_panels
# series "<layout>, <device>" at x = N; N = 1 belongs to both layouts.
series() { # TABLE MODEL DIVISOR
  awk -F'\t' -v model="$2" -v div="$3" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    !("model" in c) || $c["model"] == model {
      h = $c["topology"]; sub(/.*hops=/, "", h); sub(/;.*/, "", h)
      p = $c["topology"]; sub(/.*pipelines=/, "", p); sub(/;.*/, "", p)
      dev = ("cn_devices" in c) ? ", " $c["cn_devices"] " nodes" : ""
      v = $c["value"] / div
      if (p == 1) print "chain of N hops" dev "\t" h "\t" v
      if (h == 1) print "N one-hop pipelines" dev "\t" p "\t" v
    }' "$1" | sort -t'	' -k1,1 | aggregate
}
i=0
while IFS= read -r model; do
  i=$((i + 1))
  series "$tmp/t" "$model" 1 >"$tmp/t$i"
  series "$tmp/m" "$model" 1e9 >"$tmp/m$i"
done <"$tmp/panels"
set -- $(time_unit "$tmp"/t[0-9]*)
div=$1 unit=$2
{
  echo "set multiplot layout 2,$n title \"Multihop chain of N compute nodes vs N horizontally scaled one-hop pipelines\""
  echo 'set grid; set key top right font ",9"; set xlabel "compute nodes N"; set xtics 1; set offsets graph 0.03, graph 0.03, graph 0.05, 0'
  i=0
  while IFS= read -r model; do
    i=$((i + 1))
    echo "set title \"$(model_label "$model"): round time\"; set logscale y; set yrange [*:*]; set format y \"%g\"; set ylabel \"round time ($unit)\""
    echo "plot for [b=0:$(($(blocks "$tmp/t$i") - 1))] \"$tmp/t$i\" index b using 1:(\$2/$div):(\$3/$div) with yerrorlines lw 2 pt 7 title columnheader(1)"
  done <"$tmp/panels"
  i=0
  while IFS= read -r model; do
    i=$((i + 1))
    echo "set title \"$(model_label "$model"): memory per compute node\"; set logscale y; set yrange [*:*]; set format y \"%g\"; set ylabel \"accounted memory (GB)\""
    printf 'plot for [b=0:%d] "%s" index b using 1:2 with linespoints lw 2 pt 7 title columnheader(1)' $(($(blocks "$tmp/m$i") - 1)) "$tmp/m$i"
    while read -r dev gb; do
      printf ', %s with lines dt 3 lw 1.5 title "memory of a %s node (%.1f GB)"' "$gb" "$dev" "$gb"
    done <"$tmp/caps"
    echo
  done <"$tmp/panels"
  echo "unset multiplot"
} >"$tmp/body.gp"
render "$figdir/fig3_scaling" "$tmp/body.gp" $((560 * n + 80)) 900
