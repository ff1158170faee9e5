#!/bin/sh
# Figure 7 (SPEC 9.7): test accuracy of the global model per round, MP-SL over MPI (split)
# against the same rounds trained unsplit in one process, IID and non-IID shards.
#   plots/fig7_accuracy.sh RESULTS_DIR FIG_DIR   (axes: mode = emulate|reference, partition)
set -eu
. "$(dirname "$0")/lib.sh"
fig_begin "$@"
[ -f "$dir/points.tsv" ] || { echo "fig7: $dir/points.tsv not found: run the sweep first" >&2; exit 1; }
need_cols "$dir/points.tsv" partition
# One curve per point: "round test_acc" after a header with its label.
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  { print $c["mode"] "\t" $c["partition"] "\t" $c["file"] }' "$dir/points.tsv" | sort -t'	' -k2,2 -k1,1 >"$tmp/list"
while IFS='	' read -r mode part file; do
  f=$dir/$file
  [ -s "$f" ] || continue
  case $f in
    *.h5)
      h5dump -a status "$f" 2>/dev/null | grep -q '"finished"' || continue
      "$MPSL" report --csv rounds "$f" >"$tmp/r.csv" ;;
    *) cp "$f" "$tmp/r.csv" ;;
  esac
  label="split over MPI (mpsl run), $part"
  [ "$mode" = reference ] && label="unsplit in one process, $part"
  [ "$part" = dirichlet ] && label="${label%dirichlet}non-IID (Dirichlet)"
  [ "$part" = iid ] && label="${label%iid}IID"
  b=$(grep -c '^"' "$tmp/d" 2>/dev/null || true)
  # split: lines with filled points; unsplit: open circles only, drawn after, so that
  # coinciding curves show as a line through open circles
  case $mode in
    reference) style="points pt 6 ps 2 lw 2" ;;
    *) style="linespoints pt 7 lw 2" ;;
  esac
  case $part in iid) lc=1 ;; *) lc=2 ;; esac
  printf '"%s" index %d using 1:2 with %s lc %d title columnheader(1), ' "$tmp/d" "${b:-0}" "$style" "$lc" >>"$tmp/plot"
  printf '"%s" acc\n' "$label" >>"$tmp/d"
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { print $c["round"], 100 * $c["test_acc"] }' "$tmp/r.csv" >>"$tmp/d"
  printf '\n\n' >>"$tmp/d"
done <"$tmp/list"
[ -s "$tmp/d" ] || { echo "fig7: no finished points in $dir" >&2; exit 1; }
{
  echo 'set title "Test accuracy per round: split vs unsplit training, IID vs non-IID data owners"'
  echo 'set grid; set key bottom right; set xlabel "round"; set ylabel "test accuracy (%)"; set yrange [0:100]; set xtics 1'
  echo "plot $(sed 's/, $//' "$tmp/plot")"
} >"$tmp/body.gp"
render "$figdir/fig7_accuracy" "$tmp/body.gp" 900 560
