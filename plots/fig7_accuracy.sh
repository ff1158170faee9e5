#!/bin/sh
# Figure 7 (SPEC 9.7): test accuracy of the global model per round, MP-SL over MPI (split)
# against the same rounds trained unsplit in one process (the FedAvg of whole models: H = 0),
# for IID and Dirichlet shards, mean and min..max over the repetitions (seeds); centralised
# training (one data owner holding the whole training set, the same samples seen) as a
# reference line when its sweep has run.
#   plots/fig7_accuracy.sh RESULTS_DIR FIG_DIR   (axes: mode = emulate|reference, data =
#   partition=iid | partition=dirichlet;alpha=A ...; the centralised points in RESULTS_DIR-central)
# Beside the PNG and PDF: fig7_accuracy.tsv, the plotted numbers (accuracy in %, per series
# and round: repetitions, mean, sd, min, max), and the largest difference between a split
# point and its unsplit twin (same data, seed and round) in its last line.
set -eu
. "$(dirname "$0")/lib.sh"
fig_begin "$@"
[ -f "$dir/points.tsv" ] || { echo "fig7: $dir/points.tsv not found: run the sweep first" >&2; exit 1; }
need_cols "$dir/points.tsv" data
central=${dir%/}-central
# "series<TAB>rep<TAB>round<TAB>accuracy %" for every finished point; a series is
# "mode|data", the centralised points "central|"
rows() { # POINTS_DIR DATA_COLUMN(empty: none)
  awk -F'\t' -v dc="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { print $c["mode"] "\t" (dc != "" ? $c[dc] : "-") "\t" $c["rep"] "\t" $c["file"] }' "$1/points.tsv" |
    while IFS='	' read -r mode data rep file; do
      f=$1/$file
      [ -s "$f" ] || continue
      h5dump -a status "$f" 2>/dev/null | grep -q '"finished"' || continue
      [ -s "$tmp/config" ] || "$MPSL" report "$f" | sed -n 's/^config: //p' >"$tmp/config"
      [ -n "$2" ] || mode=central data=
      "$MPSL" report --csv rounds "$f" | awk -F, -v s="$mode|$data" -v r="$rep" '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { printf "%s\t%s\t%s\t%.10g\n", s, r, $c["round"], 100 * $c["test_acc"] }'
    done
}
rows "$dir" data >"$tmp/rows"
[ -s "$tmp/rows" ] || { echo "fig7: no finished points in $dir" >&2; exit 1; }
[ -f "$central/points.tsv" ] && rows "$central" "" >>"$tmp/rows"
# a data value as a name: partition=dirichlet;alpha=0.5 -> Dirichlet(0.5)
label() {
  case $1 in
    *dirichlet*) echo "$1" | sed 's/.*alpha=\([0-9.eE+-]*\).*/Dirichlet(\1)/' ;;
    *iid* | "") echo "IID" ;;
    *) echo "$1" ;;
  esac
}
# per series and round: n, mean, sd, min, max
awk -F'\t' '{ k = $1 SUBSEP $3; if (!(k in n)) { key[++nk] = k }
    n[k]++; s[k] += $4; q[k] += $4 * $4; if (!(k in lo) || $4 < lo[k]) lo[k] = $4; if (!(k in hi) || $4 > hi[k]) hi[k] = $4 }
  END { for (i = 1; i <= nk; i++) { k = key[i]; split(k, a, SUBSEP); m = s[k] / n[k]
      v = n[k] > 1 ? (q[k] - n[k] * m * m) / (n[k] - 1) : 0
      printf "%s\t%s\t%d\t%.4f\t%.4f\t%.4f\t%.4f\n", a[1], a[2], n[k], m, (v > 0 ? sqrt(v) : 0), lo[k], hi[k] } }' "$tmp/rows" |
  sort -t'	' -k1,1 -k2,2n >"$tmp/stats"
# the largest |split - unsplit| of one data, seed and round
diff=$(awk -F'\t' '{ split($1, a, "|"); k = a[2] SUBSEP $2 SUBSEP $3 }
  a[1] == "emulate" { e[k] = $4 } a[1] == "reference" { r[k] = $4 }
  END { d = -1; for (k in e) if (k in r) { x = e[k] - r[k]; if (x < 0) x = -x; if (x > d) d = x; pairs++ }
    if (d < 0) print "none"; else printf "%.4g %d\n", d, pairs }' "$tmp/rows")
# the data file beside the figure
{
  printf 'series\tmode\tpartition\tround\trepetitions\tmean_acc_pct\tsd_acc_pct\tmin_acc_pct\tmax_acc_pct\n'
  while IFS='	' read -r s rnd n m sd lo hi; do
    mode=${s%%|*}
    part=$(label "${s#*|}")
    case $mode in emulate) what="split, $part" ;; reference) what="unsplit, $part" ;; *) what=centralised part="whole training set" ;; esac
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$what" "$mode" "$part" "$rnd" "$n" "$m" "$sd" "$lo" "$hi"
  done <"$tmp/stats"
  case $diff in
    none) echo "# split vs unsplit: no pair of finished points" ;;
    *) echo "# largest |split - unsplit| test accuracy of one partition, seed and round: ${diff% *} percentage points, over ${diff#* } pairs" ;;
  esac
} >"$figdir/fig7_accuracy.tsv"
echo "wrote $figdir/fig7_accuracy.tsv"
# the scenario, from the first results file's configuration
cfg() { tr ' ' '\n' <"$tmp/config" | sed -n "s/^$1=//p" | tr -d '"' | head -n 1; }
sched=$(cfg lr_schedule)
tl=$(cfg test_limit)
[ "$tl" = 0 ] && tl="all 10,000"
scenario="$(cfg model) at width $(cfg width) on $(cfg dataset), K = $(cfg clients) data owners, H = $(cfg hops) hops"
scenario2="batch $(cfg batch), $(cfg batches) batches x $(cfg local_epochs) local epoch(s) per round, $(cfg rounds) rounds, SGD lr $(cfg lr)${sched:+ ($sched)}, momentum $(cfg momentum); test set: $tl"
printf '%s\n%s\n' "$scenario" "$scenario2" >"$tmp/scenario"
rounds=$(cfg rounds)
nrep=$(awk -F'\t' '{ if ($3 > m) m = $3 } END { print m + 0 }' "$tmp/stats")
# one gnuplot block per series: "round mean min max"
: >"$tmp/d"
: >"$tmp/plot"
b=0
col=0
for data in $(cut -f1 "$tmp/rows" | grep -v '^central' | sed 's/^[^|]*|//' | awk '!seen[$0]++'); do
  col=$((col + 1))
  for mode in emulate reference; do
    grep -q "^$mode|$data	" "$tmp/stats" || continue
    awk -F'\t' -v s="$mode|$data" '$1 == s { print $2, $4, $6, $7 }' "$tmp/stats" >>"$tmp/d"
    printf '\n\n' >>"$tmp/d"
    name=$(label "$data")
    case $mode in
      emulate)
        printf '"%s" index %d using 1:3:4 with filledcurves fs transparent solid 0.15 noborder lc %d notitle, ' "$tmp/d" "$b" "$col" >>"$tmp/plot"
        printf '"%s" index %d using 1:2 with lines lw 2 lc %d title "%s, split over MPI (mpsl run)", ' "$tmp/d" "$b" "$col" "$name" >>"$tmp/plot" ;;
      *) printf '"%s" index %d using 1:2 with points pt 6 ps 2 lw 1.5 lc %d title "%s, unsplit: FedAvg of whole models (H = 0)", ' "$tmp/d" "$b" "$col" "$name" >>"$tmp/plot" ;;
    esac
    b=$((b + 1))
  done
done
if grep -q '^central|' "$tmp/stats"; then
  awk -F'\t' '$1 == "central|" { print $2, $4, $6, $7 }' "$tmp/stats" >>"$tmp/d"
  printf '\n\n' >>"$tmp/d"
  printf '"%s" index %d using 1:2:3:4 with yerrorbars pt 0 lw 1 lc rgb "black" notitle, ' "$tmp/d" "$b" >>"$tmp/plot"
  printf '"%s" index %d using 1:2 with lines dt 2 lw 2 lc rgb "black" title "centralised: one data owner holding the whole training set", ' "$tmp/d" "$b" >>"$tmp/plot"
fi
case $diff in
  none) note="" ;;
  *) note="largest |split - unsplit| of one partition, seed and round: ${diff% *} points (${diff#* } pairs)" ;;
esac
# gnuplot's enhanced text: an underscore would start a subscript
esc() { printf '%s' "$1" | sed 's/_/\\\\_/g'; }
{
  printf '%s\n' "set multiplot layout 1,2 title \"Test accuracy per round: split over MPI vs unsplit, IID vs Dirichlet data owners; mean and min..max over $nrep seed(s)\\n{/*0.85 $(esc "$scenario")}\\n{/*0.85 $(esc "$scenario2")}\""
  echo 'set grid; set xlabel "round"; set ylabel "test accuracy (%)"; set xtics 1'
  echo "set xrange [0.5:$rounds.5]; set yrange [0:100]; set ytics 10"
  [ -n "$note" ] && echo "set label 1 \"$note\" at graph 0.02, graph 0.96 font \",9\""
  echo 'set key bottom right font ",9" spacing 1.1; set title "every round"'
  echo "plot $(cat "$tmp/plot")90 with lines dt 3 lw 1.5 lc rgb \"gray40\" title \"90 %\""
  # the second half of the rounds, the accuracy axis fitted to it
  echo "unset label 1; set key off; set title \"rounds $((rounds / 2 + 1)) to $rounds\"; set xrange [$((rounds / 2)).5:$rounds.5]; set yrange [*:*]; set ytics auto"
  echo "plot $(cat "$tmp/plot")90 with lines dt 3 lw 1.5 lc rgb \"gray40\" title \"90 %\""
  echo 'unset multiplot'
} >"$tmp/body.gp"
fig_caption fig7_accuracy "Figure 7. Test accuracy of the global model per round: split over MPI (mpsl run) against unsplit in one process (mpsl run --reference, the FedAvg of whole models), for IID and Dirichlet data owners, with centralised training as a reference; mean and min..max over $nrep seed(s)." \
  "Split runs are lines with a min..max band; unsplit points are open circles on them; centralised training (one data owner holding the whole training set, the same samples seen) is the dashed black line with min..max bars; the dotted line is 90 %. The right panel zooms on the second half of the rounds." \
  "${note:-No split point had an unsplit twin.}"
render "$figdir/fig7_accuracy" "$tmp/body.gp" 1400 640
