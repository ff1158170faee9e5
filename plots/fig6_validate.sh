#!/bin/sh
# Figure 6 (SPEC 9.6): round time of the same scenarios from the closed-form estimate,
# the discrete-event simulator and the emulator, vs K for each H (left), and the error of
# the estimate and of the simulator relative to the emulator in percent (right).
#   plots/fig6_validate.sh RESULTS_DIR FIG_DIR   (axes: mode, clients, hops)
set -eu
. "$(dirname "$0")/lib.sh"
fig_begin "$@"
# one figure per validation sweep, named after its results folder: fig6_validate (data
# owners behind slow links), fig6_validate-steady (the closed form's own regime),
# fig6_validate-real (the emulator computing for real)
name=$(basename "$dir")
case $name in
  validate-steady) what="equal devices, unlimited links: the closed form's regime" ;;
  validate-real) what="emulation with real oneDNN compute" ;;
  validate*) what="data owners on RPi 4B behind 8 Mbit/s links" ;;
  *) name=validate what="" ;;
esac
fig_points round_time fig6 clients hops
fig_scenario
# real-compute emulation: tasks whose oneDNN compute outlasted the emulated device (the
# rounds table's overruns) make the emulated times the host's, not the device's; say so
over=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["mode"] == "emulate" { print $c["file"] }' "$tmp/t" |
  while IFS= read -r f; do "$MPSL" report --csv rounds "$dir/$f" 2>/dev/null | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } ("overruns" in c) { s += $c["overruns"] } END { print s + 0 }'; done |
  awk '$1 > 0 { p++; s += $1 } END { if (p) printf "%d tasks of %d emulated points overran their emulated device (real compute slower than the device on this host)", s, p }')
[ -z "$over" ] || printf '%s\n' "warning: $over" >>"$tmp/scenario"
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  { print $c["mode"] ", H = " $c["hops"] "\t" $c["clients"] "\t" $c["value"] }' "$tmp/t" | sort -t'	' -k1,1V | aggregate >"$tmp/d"
# error in percent against the emulator's mean at the same (H, K)
awk '/^"/ { s = $0; gsub(/"/, "", s); split(s, a, ", "); mode = a[1]; h = a[2]; sub(/ mean sd n$/, "", h); next }
  NF == 4 { m[mode, h, $1] = $2; hs[h] = 1; ks[h, $1] = 1; if (mode != "emulate") modes[mode] = 1 }
  END {
    nm = 0; for (md in modes) ml[++nm] = md; nh = 0; for (h in hs) hl[++nh] = h
    for (u = 2; u <= nm; u++) for (v = u; v > 1 && ml[v - 1] > ml[v]; v--) { t = ml[v]; ml[v] = ml[v - 1]; ml[v - 1] = t }
    for (u = 2; u <= nh; u++) for (v = u; v > 1 && hl[v - 1] + 0 > hl[v] + 0; v--) { t = hl[v]; hl[v] = hl[v - 1]; hl[v - 1] = t }
    for (i = 1; i <= nm; i++) for (j = 1; j <= nh; j++) { md = ml[i]; h = hl[j]
      out = ""
      for (hk in ks) { split(hk, q, SUBSEP); if (q[1] != h) continue; k = q[2]
        if ((md, h, k) in m && (("emulate", h, k) in m) && m["emulate", h, k] > 0)
          out = out sprintf("%s %.6g\n", k, 100 * (m[md, h, k] - m["emulate", h, k]) / m["emulate", h, k]) }
      if (out != "") { printf "\"%s, %s\" err\n", md, h; printf "%s", out | "sort -g"; close("sort -g"); printf "\n\n" }
    }
  }' "$tmp/d" >"$tmp/e"
set -- $(time_unit "$tmp/d")
div=$1 unit=$2
# the blocks (series) with error bars: those with a point of 3 repetitions or more that
# differ, as errbars (the estimate ignores the jitter: its repetitions are equal)
awk 'NF == 4 && !/^"/ && $4 >= 3 && $3 > 0 { eb[b] = 1 } /^"/ { b = nb++ } END { for (i = 0; i < nb; i++) printf "%d ", (i in eb) }' "$tmp/d" >"$tmp/eb"
blocks_tsv round_time_s "$tmp/d" >"$tmp/data"
title="Estimate vs simulation vs emulation of the same scenarios${what:+ ($what)}"
fig_size 1200 660
{
  fig_multiplot 1,2 "$title"
  echo "set grid; set key below horizontal maxrows 3 font \",$(fs 9)\"; set xlabel \"data owners K\"; set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05"
  echo "set title \"round time\"; set ylabel \"round time ($unit, model time)\"; set yrange [0:*]"
  # colour = H, line and point type = mode: emulate solid with filled circles, simulate
  # dashed with open squares (on top: they coincide where the two agree), estimate dotted;
  # error bars (one standard deviation over the seeds) only on series with repetitions
  # that differ
  grep '^"' "$tmp/d" | awk -v f="$tmp/d" -v div="$div" -v ebs="$(cat "$tmp/eb")" 'BEGIN { split(ebs, eb, " ") }
    { s = $0; gsub(/"/, "", s); sub(/ mean sd n$/, "", s); split(s, a, ", H = ")
      if (!(a[2] in col)) col[a[2]] = ++nc
      # the open squares of the simulation larger for each H, so that H = 1 and 3 both show where they coincide
      st = a[1] == "emulate" ? "lw 3 pt 7 ps 1.2 dt 1" : (a[1] == "simulate" ? sprintf("lw 2 pt 4 ps %.1f dt 2", 1.8 + 0.8 * (col[a[2]] - 1)) : "lw 2 pt 9 ps 1.2 dt 3")
      e = eb[NR] == 1
      out = out sprintf("%s\"%s\" index %d using 1:($2/%s)%s with %s %s lc %d title columnheader(1)", (NR > 1 ? ", " : ""), f, NR - 1, div,
        e ? sprintf(":($3/%s)", div) : "", e ? "yerrorlines" : "linespoints", st, col[a[2]]) }
    END { print "plot " out }' 
  echo 'set title "error relative to the emulator"; set ylabel "error (%)"; set yrange [*:*]'
  if [ "$(blocks "$tmp/e")" -gt 0 ]; then
    grep '^"' "$tmp/e" | awk -v f="$tmp/e" '{ s = $0; gsub(/"/, "", s); sub(/ err$/, "", s); split(s, a, ", H = ")
        c = a[2] == 1 ? 1 : (a[2] == 3 ? 2 : a[2])
        st = a[1] == "simulate" ? sprintf("lw 2 pt 4 ps %.1f dt 2", 1.8 + 0.8 * (c - 1)) : "lw 2 pt 9 ps 1.2 dt 3"
        out = out sprintf("\"%s\" index %d using 1:2 with linespoints %s lc %d title columnheader(1), ", f, NR - 1, st, c) }
      END { print "plot " out "0 with lines lc rgb \"black\" notitle" }' 
  else
    echo 'set label 1 "no emulated points to compare with" at graph 0.5, graph 0.5 center; plot 0 with lines lc rgb "black" notitle'
  fi
  echo "unset multiplot"
} >"$tmp/body.gp"
awk '/^"/ { s = $0; sub(/^"/, "", s); sub(/" .*$/, "", s); next } NF == 2 { printf "error_pct\t%s\t%s\t%s\t\t\n", s, $1, $2 }' "$tmp/e" >>"$tmp/data"
fig_data "fig6_$name" quantity series clients mean sd runs <"$tmp/data"
fig_caption "fig6_$name" "Figure 6. $title." \
  "$(awk 'NF == 4 && !/^"/ && $4 > 1 && $2 > 0 && 100 * $3 / $2 > m { m = 100 * $3 / $2 } END { if (m > 0) printf "The largest standard deviation over the seeds of a point is %.2g %% of its mean.", m }' "$tmp/d")" \
  "Left: the round time (time_s in model seconds, the mean over the rounds after the first; plotted in $unit) of each mode, its mean over the runs of a point; error bars, where drawn, are one standard deviation over the seeds (the estimate ignores the jitter, so its repetitions are equal and it has none). Right: the error of the estimate and of the simulation relative to the emulation's mean at the same H and K, in percent (quantity error_pct in the data file: the mean column holds it)."
render "$figdir/fig6_$name" "$tmp/body.gp"
