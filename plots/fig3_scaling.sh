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
fig_scenario
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
  { blocks_tsv "$(model_label "$model")" "$tmp/t$i" | sed 's/^/round_time_s\t/'
    blocks_tsv "$(model_label "$model")" "$tmp/m$i" | sed 's/^/accounted_GB\t/'; } >>"$tmp/data"
done <"$tmp/panels"
set -- $(time_unit "$tmp"/t[0-9]*)
div=$1 unit=$2
# plot clauses of every series of FILE, y divided by DIV: colour = layout (chain or
# one-hop pipelines), the chain's points 0.08 left of N and the pipelines' 0.08 right
# (they coincide at N = 1 and nearly so elsewhere); point and dash type = the compute
# nodes' device, the second device's points open and larger, so that series of one layout
# that coincide (its memory does not depend on the nodes' speed) show one point inside the
# other
clauses() { # FILE DIV
  eb=$(errbars "$1")
  grep '^"' "$1" | awk -v f="$1" -v div="$2" -v eb="$eb" '{ s = $0; sub(/^"/, "", s); sub(/" .*$/, "", s)
      lc = (s ~ /^chain/) ? 1 : 2; dx = (s ~ /^chain/) ? -0.08 : 0.08; d = s; sub(/^[^,]*(, )?/, "", d); if (!(d in dv)) dv[d] = ++nd
      st = dv[d] == 1 ? "lw 2 pt 7 ps 1 dt 1" : (dv[d] == 2 ? "lw 2 pt 4 ps 1.9 dt 2" : "lw 2 pt 8 ps 1.9 dt 3")
      out = out sprintf("%s\"%s\" index %d using ($1%+g):($2/%s)%s with %s %s lc %d title columnheader(1)", (NR > 1 ? ", " : ""), f, NR - 1, dx, div,
        eb == "yes" ? sprintf(":($3/%s)", div) : "", eb == "yes" ? "yerrorlines" : "linespoints", st, lc) }
    END { printf "%s", out }'
}
title="Multihop chain of N compute nodes vs N horizontally scaled one-hop pipelines"
fig_size $((560 * n + 80)) 960
{
  fig_multiplot 2,$n "$title"
  echo "set grid; set key top right font \",$(fs 9)\"; set xlabel \"compute nodes N\"; set xtics 1; set offsets graph 0.03, graph 0.03, graph 0.05, 0"
  i=0
  while IFS= read -r model; do
    i=$((i + 1))
    echo "set title \"$(gp_text "$(model_label "$model")"): round time\"; set logscale y; set yrange [*:*]; set format y \"%g\"; set ylabel \"round time ($unit)\""
    echo "plot $(clauses "$tmp/t$i" "$div")"
  done <"$tmp/panels"
  i=0
  while IFS= read -r model; do
    i=$((i + 1))
    echo "set title \"$(gp_text "$(model_label "$model")"): memory per compute node\"; set logscale y; set yrange [*:*]; set format y \"%g\"; set ylabel \"accounted memory (GB)\""
    printf 'plot %s' "$(clauses "$tmp/m$i" 1)"
    while read -r dev gb; do
      printf ', %s with lines dt 3 lw 2 lc rgb "black" title "memory of a %s node (%.1f GB)"' "$gb" "$dev" "$gb"
    done <"$tmp/caps"
    echo
  done <"$tmp/panels"
  echo "unset multiplot"
} >"$tmp/body.gp"
fig_data fig3_scaling quantity panel series N mean sd runs <"$tmp/data"
fig_caption fig3_scaling "Figure 3. $title." \
  "Top: the round time (time_s, model seconds; plotted in $unit); bottom: the memory the run accounted on its most loaded compute node (GB, 10^9 bytes), both log scale. N = 1 is one point of both layouts. Colour: the layout, the chain's points drawn 0.08 left of their N and the one-hop pipelines' 0.08 right, so that the two layouts show side by side where they coincide; point and dash type: the compute nodes' device, the second device's points open and larger, so that where two series of one layout coincide (in the memory panels the nodes' speed does not change what they hold) one point shows inside the other. The dotted lines: the memory of a node of each device that has a cap."
render "$figdir/fig3_scaling" "$tmp/body.gp"
