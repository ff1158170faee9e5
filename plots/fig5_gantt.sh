#!/bin/sh
# Figure 5 (SPEC 9.5): the timeline of a window of the last round where the pipeline is
# full, one panel per point of the sweep side by side (gantt.ini: a link-bound and a
# compute-bound case). Per compute node (hop) and per data owner a row of its compute
# tasks, coloured by the data owner they belong to, forward solid and backward pale;
# below each hop and each data owner a row of the link transfers it sends and receives
# (activations in the upper half, gradients in the lower), each from the end of the task
# that sent it to its arrival at the task that takes it (the task's start minus its queue
# wait), so including any wait for a busy link. On the right of every row the share of
# the window it is busy. The window: two of data owner 0's batch cycles (the median time
# between the starts of two of its batches), from the start of its batch nearest the
# middle of the round. Bars shorter than 0.4 % of the window are drawn that wide.
#   plots/fig5_gantt.sh RESULTS_DIR FIG_DIR
set -eu
. "$(dirname "$0")/lib.sh"
fig_begin "$@"
[ -f "$dir/points.tsv" ] || { echo "fig5: $dir/points.tsv not found: run the sweep first" >&2; exit 1; }
cp "$dir/points.tsv" "$tmp/t"
fig_scenario
: >"$tmp/panels"
: >"$tmp/data"
# the panels: every finished point, named after its axis values
tail -n +2 "$dir/points.tsv" | while IFS= read -r row; do
  f=$dir/${row##*	}
  case $f in *.h5) ;; *) continue ;; esac
  h5dump -a status "$f" 2>/dev/null | grep -q '"finished"' || continue
  idx=${row%%	*}
  label=$(printf '%s\n' "$row" | awk -F'\t' -v hdr="$(head -n 1 "$dir/points.tsv")" -v modes="$(cut -f 3 "$dir/points.tsv" | tail -n +2 | sort -u | wc -l)" 'BEGIN { n = split(hdr, h, "\t") }
    { o = ""; for (i = 1; i <= n; i++) { if (h[i] ~ /^(index|name|rep|seed|file)$/ || (h[i] == "mode" && modes == 1)) continue
        v = $i; k = h[i]
        if (k ~ /_bw$/ && v ~ /^[0-9.]+[kMGT]?bit$/) { u = v; sub(/^[0-9.]+/, "", u); v = substr(v, 1, length(v) - length(u)) " " u "/s" }
        if (k == "do_cn_bw") k = "data owner links"; else if (k == "cn_cn_bw") k = "links between hops"
        o = o (o == "" ? "" : ", ") (k == "mode" ? v : k " " v) }
      print o }')
  "$MPSL" report --csv events "$f" | awk -F, -v pfx="$tmp/p$idx" '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { n++; R[n] = $c["round"]; K[n] = $c["rank"]; L[n] = $c["role"]; O[n] = $c["owner"]; B[n] = $c["batch"]
      D[n] = $c["direction"]; P[n] = $c["part"]; S[n] = $c["start"] + 0; E[n] = $c["end"] + 0; Q[n] = $c["queue_wait"] + 0
      if (R[n] > last) last = R[n] }
    END {
      # the last round; the parts: 1 and H+2 on the data owners, 2..H+1 on the hops
      for (i = 1; i <= n; i++) { if (R[i] != last) continue
        if (L[i] == 2 && P[i] - 2 > H) H = P[i] - 2
        if (L[i] == 2 && O[i] + 1 > no) no = O[i] + 1
        if (L[i] == 1) cn[P[i] SUBSEP K[i]] = 1
        if (t0 == "" || S[i] < t0) t0 = S[i]; if (E[i] > t1) t1 = E[i]
        key[O[i], B[i], P[i], D[i]] = i
        if (L[i] == 2 && O[i] == 0 && P[i] == 1 && D[i] == 0) f1[++nf] = S[i] }
      # rows: hop 1, its link row, hop 2, ..., then data owner k and its link row
      nc = 0; for (k in cn) { split(k, q, SUBSEP); cp[++nc] = q[1] * 100000 + q[2] }
      for (a = 2; a <= nc; a++) for (b = a; b > 1 && cp[b - 1] > cp[b]; b--) { t = cp[b]; cp[b] = cp[b - 1]; cp[b - 1] = t }
      y = 0
      for (a = 1; a <= nc; a++) { p = int(cp[a] / 100000); r = cp[a] % 100000; y++; rowcn[r] = y; name[y] = "hop " (p - 1) (nc > H ? " (rank " r ")" : ""); hopy[p] = y
        if (p - 1 < H) { y++; name[y] = "links hop " (p - 1) "-" p; linky[p] = y } }
      for (k = 0; k < no; k++) { y++; name[y] = "DO " k; doy[k] = y; y++; name[y] = "links DO " k; dolink[k] = y }
      rows = y
      # the window: two batch cycles of data owner 0 from its batch start nearest the middle
      for (a = 2; a <= nf; a++) for (b = a; b > 1 && f1[b - 1] > f1[b]; b--) { t = f1[b]; f1[b] = f1[b - 1]; f1[b - 1] = t }
      for (a = 2; a <= nf; a++) gap[a - 1] = f1[a] - f1[a - 1]
      m = nf - 1; for (a = 2; a <= m; a++) for (b = a; b > 1 && gap[b - 1] > gap[b]; b--) { t = gap[b]; gap[b] = gap[b - 1]; gap[b - 1] = t }
      cyc = m > 0 ? gap[int((m + 1) / 2)] : (t1 - t0) / 4
      mid = (t0 + t1) / 2; ws = f1[1]
      for (a = 1; a <= nf; a++) if ((f1[a] - mid) ^ 2 < (ws - mid) ^ 2) ws = f1[a]
      if (ws + 2 * cyc > t1) ws = t1 - 2 * cyc
      we = ws + 2 * cyc; minw = 0.004 * (we - ws)
      for (i = 1; i <= n; i++) { if (R[i] != last) continue
        # the task
        yy = (L[i] == 1) ? rowcn[K[i]] : (L[i] == 2 ? doy[O[i]] : 0)
        if (yy) emit("task", yy, 0, i, S[i], E[i], name[yy])
        # the message that made it: from the task before it in the owner s chain
        if (D[i] == 0 && P[i] >= 2) pk = O[i] SUBSEP B[i] SUBSEP (P[i] - 1) SUBSEP 0
        else if (D[i] == 1 && P[i] <= H + 1) pk = O[i] SUBSEP B[i] SUBSEP (P[i] + 1) SUBSEP 1
        else continue
        if (!(pk in key)) continue
        j = key[pk]; arr = S[i] - Q[i]
        if (arr <= E[j] + 1e-12) continue
        if (L[i] == 2 || L[j] == 2) yy = dolink[O[i]]
        else yy = linky[P[i] < P[j] ? P[i] : P[j]]
        emit("transfer", yy, (D[i] == 0 ? -0.19 : 0.19), i, E[j], arr, name[yy])
      }
      # per row: busy share of the window (union of its intervals, clipped)
      for (y = 1; y <= rows; y++) {
        m = split(iv[y], q, " "); u = 0; cur_s = ""; 
        for (a = 1; a < m; a += 2) { bs[(a + 1) / 2] = q[a] + 0; be[(a + 1) / 2] = q[a + 1] + 0 }
        k = int(m / 2)
        for (a = 2; a <= k; a++) for (b = a; b > 1 && bs[b - 1] > bs[b]; b--) { t = bs[b]; bs[b] = bs[b - 1]; bs[b - 1] = t; t = be[b]; be[b] = be[b - 1]; be[b - 1] = t }
        for (a = 1; a <= k; a++) { if (cur_s == "" || bs[a] > cur_e) { if (cur_s != "") u += cur_e - cur_s; cur_s = bs[a]; cur_e = be[a] } else if (be[a] > cur_e) cur_e = be[a] }
        if (cur_s != "") u += cur_e - cur_s
        printf "%d\t%s\t%.1f\n", y, name[y], 100 * u / (we - ws) > (pfx ".rows")
      }
      printf "%.9g %.9g %.9g %d %d %d\n", ws, we, cyc, rows, H, no > (pfx ".win")
    }
    # kind y dy i start end rowname: a bar of the window (data rows relative to the window start)
    function emit(kind, y, dy, i, s, e, rn,   cs, ce) {
      if (e <= ws || s >= we) return
      cs = s < ws ? ws : s; ce = e > we ? we : e
      iv[y] = iv[y] " " cs " " ce
      if (ce - cs < minw) { m2 = (cs + ce) / 2; cs = m2 - minw / 2; ce = m2 + minw / 2 }
      printf "%s\t%s\t%d\t%d\t%d\t%d\t%.9g\t%.9g\t%.6f\t%.6f\t%.6f\t%g\n", kind, rn, O[i], B[i], D[i], P[i], s, e, cs - ws, ce - ws, y + dy, (kind == "task" ? 0.38 : 0.17) > (pfx ".bars") }'
  [ -s "$tmp/p$idx.bars" ] || { echo "fig5: $f has no tasks in its last round (events = none?)" >&2; continue; }
  printf '%s\t%s\n' "$idx" "$label" >>"$tmp/panels"
  cut -f 1-8 "$tmp/p$idx.bars" | sed "s|^|$label	|" >>"$tmp/data"
done
[ -s "$tmp/panels" ] || { echo "fig5: no finished results in $dir" >&2; exit 1; }
n=$(wc -l <"$tmp/panels")
no=$(awk '{ print $6 }' "$tmp"/p*.win | sort -n | tail -n 1)
rows=$(awk '{ print $4 }' "$tmp"/p*.win | sort -n | tail -n 1)
title="Timeline of a window of the round where the pipeline is full: compute tasks per node coloured by data owner, and link transfers"
fig_size $((700 * n + 60)) $((22 * rows + 300))
{
  fig_multiplot "1,$n" "$title"
  # one colour per data owner
  echo 'array col[10] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]'
  echo 'do for [k=1:10] { set linetype k lc rgb col[k] }'
  echo "set grid x; set xlabel \"time in the window (model seconds)\"; set ytics nomirror font \",$(fs 9)\"; set tics scale 0.5"
  echo 'set datafile separator "\t"; set style fill solid 1.0 noborder; set rmargin 9; set bmargin 9'
  first=1
  while IFS='	' read -r idx label; do
    set -- $(cat "$tmp/p$idx.win")
    ws=$1 we=$2 cyc=$3 prow=$4
    tics=$(awk -F'\t' '{ printf "%s\"%s\" %d", (NR > 1 ? ", " : ""), $2, $1 }' "$tmp/p$idx.rows")
    echo "set ytics ($tics); set yrange [$prow + 0.7:0.3]; set xrange [0:$(awk -v a="$ws" -v b="$we" 'BEGIN { print b - a }')]"
    echo "unset label"
    awk -F'\t' -v f="$(fs 8)" '{ printf "set label %d \"%s %%\" at graph 1.01, first %d left font \",%s\"\n", NR, $3, $1, f }' "$tmp/p$idx.rows"
    printf 'set title "%s: from %.1f s, two batch cycles of DO 0 (%.1f s each)\\n{/*0.8 on the right of each row: the share of the window it is busy}"\n' "$(gp_text "$label")" "$ws" "$cyc"
    if [ "$first" = 1 ]; then
      echo "set key at screen 0.5, screen 0.055 center bottom horizontal font \",$(fs 9)\" samplen 1.5 title \"colour: the data owner a task or message belongs to\""
      echo "set label 98 \"tall bars: compute tasks, forward solid, backward pale; bars under 0.4 % of the window drawn that wide\" at screen 0.5, screen 0.034 center font \",$(fs 9)\""
      echo "set label 99 \"short bars in the links rows: transfers from the sending task's end to the arrival, activations (upper half, solid) and gradients (lower half, pale)\" at screen 0.5, screen 0.012 center font \",$(fs 9)\""
    else
      echo "unset key"
    fi
    b=$tmp/p$idx.bars
    printf 'plot "%s" using (($9+$10)/2):11:(($10-$9)/2):($5 == 0 ? $12 : 1/0):($3 + 1) with boxxyerror fs solid 1.0 lc variable notitle, ' "$b"
    printf '"%s" using (($9+$10)/2):11:(($10-$9)/2):($5 == 1 ? $12 : 1/0):($3 + 1) with boxxyerror fs solid 0.4 lc variable notitle' "$b"
    if [ "$first" = 1 ]; then
      k=0
      while [ "$k" -lt "$no" ]; do printf ', keyentry with boxes fs solid 1.0 lc %d title "DO %d"' $((k + 1)) "$k"; k=$((k + 1)); done
    fi
    echo
    first=0
  done <"$tmp/panels"
  echo "unset multiplot"
} >"$tmp/body.gp"
fig_data fig5_gantt panel kind row owner batch direction part start_s end_s <"$tmp/data"
fig_caption fig5_gantt "Figure 5. $title." \
  "Panels: $(cut -f 2 "$tmp/panels" | sed 's/$/;/' | tr '\n' ' ' | sed 's/; $//'). Rows: each compute node (hop) and data owner (DO) with its compute tasks (tall bars, forward solid, backward pale), and below each a row of link transfers (short bars: activations in the upper half, gradients in the lower): the links between consecutive hops, and each data owner's links to and from the hops. Colour: the data owner a task or message belongs to. A transfer spans from the end of the task that sent it to its arrival (the receiving task's start minus its queue wait), so it includes any wait for a busy link. The window: two of data owner 0's batch cycles (the median time between two of its batch starts), from the start of its batch nearest the middle of the round; bars shorter than 0.4 % of the window are drawn that wide, and the share of the window each row is busy is printed on its right." \
  "Data: every task and transfer that overlaps the window, its start_s and end_s in model seconds of the run (kind task or transfer; direction 0 forward, 1 backward; part 1 .. H+2)."
render "$figdir/fig5_gantt" "$tmp/body.gp"
