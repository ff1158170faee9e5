#!/bin/sh
# Figure 5 (SPEC 9.5): the timeline of the last round of a small run: one row per compute
# node (hop) and per data owner, a bar per task coloured by data owner, forward tasks
# solid, backward tasks pale; one panel per point of the sweep (e.g. emulated and
# simulated). Both record model seconds (an emulation's events are already divided by
# its time_scale), so the panels share one time axis.
#   plots/fig5_gantt.sh RESULTS_DIR FIG_DIR
set -eu
. "$(dirname "$0")/lib.sh"
fig_begin "$@"
[ -f "$dir/points.tsv" ] || { echo "fig5: $dir/points.tsv not found: run the sweep first" >&2; exit 1; }
n=0
tail -n +2 "$dir/points.tsv" | while IFS='	' read -r idx name mode rest; do
  f=$dir/${rest##*	}
  case $f in *.h5) ;; *) continue ;; esac
  h5dump -a status "$f" 2>/dev/null | grep -q '"finished"' || continue
  # rows: hops at the top (1..), data owners below; y = row number
  "$MPSL" report --csv events "$f" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { r[NR] = $0; if ($c["round"] > last) last = $c["round"] }
    END {
      for (j in r) { split(r[j], v, ","); if (v[c["round"]] != last) continue
        if (t0 == "" || v[c["start"]] < t0) t0 = v[c["start"]]
        if (v[c["role"]] == 1) cn[v[c["rank"]]] = 1; else if (v[c["role"]] == 2) { own[v[c["owner"]]] = 1; if (v[c["owner"]] + 1 > no) no = v[c["owner"]] + 1 } }
      nc = 0; for (k in cn) rk[++nc] = k + 0
      for (a = 2; a <= nc; a++) for (b = a; b > 1 && rk[b - 1] > rk[b]; b--) { t = rk[b]; rk[b] = rk[b - 1]; rk[b - 1] = t }
      for (a = 1; a <= nc; a++) row[rk[a]] = a
      for (j in r) { split(r[j], v, ","); if (v[c["round"]] != last) continue
        y = v[c["role"]] == 1 ? row[v[c["rank"]]] : (v[c["role"]] == 2 ? nc + 1 + v[c["owner"]] : -1)
        if (y < 0) continue
        printf "%.6f %.6f %d %d %d\n", v[c["start"]] - t0, v[c["end"]] - t0, y, v[c["owner"]], v[c["direction"]] }
      printf "# rows %d %d\n", nc, no > "/dev/stderr" }' >"$tmp/e.$idx" 2>"$tmp/rows.$idx"
  printf '%s\t%s\t%s\n' "$idx" "$mode" "$name" >>"$tmp/panels"
done
[ -s "$tmp/panels" ] || { echo "fig5: no finished results in $dir" >&2; exit 1; }
n=$(wc -l <"$tmp/panels")
{
  echo "set multiplot layout $n,1 title \"Timeline of the last round: every task on every compute node and data owner\""
  echo 'set grid x; set xlabel "time since the start of the round (model seconds)"; set yrange [*:*] reverse'
  echo 'set style fill solid 0.9 noborder; unset key'
  while IFS='	' read -r idx mode name; do
    set -- $(sed -n 's/^# rows //p' "$tmp/rows.$idx")
    nc=$1 no=$2
    tics=""
    j=1
    while [ "$j" -le "$nc" ]; do tics="$tics\"hop $j\" $j, "; j=$((j + 1)); done
    j=0
    while [ "$j" -lt "$no" ]; do tics="$tics\"DO $j\" $((nc + 1 + j)), "; j=$((j + 1)); done
    echo "set ytics (${tics%, }); set yrange [$((nc + no)) + 0.6:0.4]"
    [ "$name" = "$mode" ] && name= || name=" ($name)"
    echo "set title \"$mode$name: forward solid, backward pale, colour = data owner\""
    echo "plot \"$tmp/e.$idx\" using ((\$1+\$2)/2):3:((\$2-\$1)/2):(\$5 == 0 ? 0.38 : 1/0):(\$4+1) with boxxyerror fs solid 0.9 lc variable, \\"
    echo "     \"$tmp/e.$idx\" using ((\$1+\$2)/2):3:((\$2-\$1)/2):(\$5 == 1 ? 0.38 : 1/0):(\$4+1) with boxxyerror fs solid 0.35 lc variable"
  done <"$tmp/panels"
  echo "unset multiplot"
} >"$tmp/body.gp"
render "$figdir/fig5_gantt" "$tmp/body.gp" 1100 $((330 * n + 60))
