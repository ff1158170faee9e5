#!/bin/sh
# The figures of experiments/reproduce, from the TSV files it writes.
#   plots/reproduce.sh NAME DATA.tsv FIG_DIR
# NAME: edgesys-fig3 (epoch time vs K per P, simulated and estimated), edgesys-fig4 (vs the
# mix of data-owner devices), edgesys-fig6 (planned vs hand-rule cuts against the paper's
# bars), edgesys-links (epoch time vs the data owners' bandwidth).
set -eu
. "$(dirname "$0")/lib.sh"
name=$1 data=$2 figdir=$3
[ -s "$data" ] || { echo "reproduce.sh: $data is empty or missing" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scenario="authors' per-layer tables (datasets/edgesys), batch 128, B = 16, r = 2; data owners rpi4b, compute nodes vm"

# group KEY ROW < TSV: one gnuplot data block per distinct value of the awk expression KEY
# (a header line with it, quoted), holding ROW (an awk expression) of each of its rows in
# file order
group() {
  awk -F'\t' "NR > 1 { k = $1; if (!(k in seen)) { seen[k] = 1; order[++n] = k } d[k] = d[k] ($2) \"\\n\" }
    END { for (i = 1; i <= n; i++) printf \"\\\"%s\\\"\\n%s\\n\\n\", order[i], d[order[i]] }"
}

# plot_pairs DATA SIM_COL EST_COL EST_STYLE: the plot command of every block of DATA, the
# simulation solid and the estimate in EST_STYLE, one colour per block
plot_pairs() {
  grep '^"' "$1" | awk -v f="$1" -v a="$2" -v b="$3" -v st="$4" '{ s = $0; gsub(/"/, "", s)
      out = out sprintf("%s\"%s\" index %d using 1:%s with linespoints lw 2 pt 7 lc %d title \"simulate, %s\", \"%s\" index %d using 1:%s with %s lc %d title \"estimate, %s\"", (NR > 1 ? ", " : ""), f, NR - 1, a, NR, s, f, NR - 1, b, st, NR, s) }
    END { print "plot " out }'
}

case $name in
  edgesys-fig3)
    # one block per (model, P): K, simulated minutes, estimated minutes
    group '$1 " P=" $2' 'sprintf("%s %.6g %.6g", $3, $4 / 60, $5 / 60)' <"$data" >"$tmp/d"
    {
      printf "%s\n" "set multiplot layout 1,2 title \"EdgeSys'25 Fig. 3 reproduced: epoch time vs data owners\\n{/=9 $scenario}\""
      echo 'set grid; set key top left font ",9"; set xlabel "data owners K"; set ylabel "epoch time (min)"; set yrange [0:*]'
      for model in resnet101 vgg19; do
        echo "set title \"$model\""
        grep -n '^"' "$tmp/d" | awk -F: -v m="$model" -v f="$tmp/d" '{ s = $2; gsub(/"/, "", s); if (index(s, m " ") != 1) next
            i = NR - 1; p = substr(s, length(m) + 2)
            out = out sprintf("%s\"%s\" index %d using 1:2 with linespoints lw 2 pt 7 lc %d title \"simulate, %s\", \"%s\" index %d using 1:3 with linespoints lw 1 dt 2 pt 4 ps 1.6 lc %d title \"estimate, %s\"", (out == "" ? "" : ", "), f, i, ++c, p, f, i, c, p) }
          END { print "plot " out }'
      done
      echo 'unset multiplot'
    } >"$tmp/body.gp"
    render "$figdir/$name" "$tmp/body.gp" 1100 520 ;;
  edgesys-fig4)
    group '"do_times=" $1 ", P=" $2' 'sprintf("%s %s %.6g %.6g", $3, $4, $5 / 60, $6 / 60)' <"$data" >"$tmp/d"
    {
      echo "set title \"EdgeSys'25 Fig. 4 reproduced: ResNet-101, K = 30, mixes of d1 and d2 ({/=9 d2 = d1 x 7.25/3.15; do\\\\_times=paper: d1's parts at the paper's 3.15 s})\""
      echo 'set grid; set key outside right font ",9"; set xlabel "data owners on d1 (the rest on d2)"; set ylabel "epoch time (min)"; set yrange [0:*]; set xrange [32:-2]'
      plot_pairs "$tmp/d" 3 4 "linespoints lw 1 dt 2 pt 4 ps 1.6"
    } >"$tmp/body.gp"
    render "$figdir/$name" "$tmp/body.gp" 1100 520 ;;
  edgesys-fig6)
    # rows: model, K, N with ours and the paper's, in minutes
    awk -F'\t' 'NR > 1 { printf "%s %s %s %.6g %.6g %s %s\n", $1, $3, $2, $4 / 60, $5 / 60, $8, $9 }' "$data" >"$tmp/d"
    {
      echo "set multiplot layout 1,2 title \"EdgeSys'25 Fig. 6 reproduced: the closed form with planned and hand-rule cuts ({/=9 vm profile; bars: ours, points: the paper})\""
      echo 'set grid y; set key top left font ",9"; set ylabel "epoch time (min)"; set yrange [0:*]; set xlabel "compute nodes N (K = 100 | K = 150)"'
      echo 'set style fill solid 0.6 border -1; set boxwidth 0.35'
      for model in resnet101 vgg19; do
        awk -v m="$model" '$1 == m { x = ($2 == 150 ? 4 : 0) + $3 - 3; print x, $4, $5, $6, $7, $3 "/" $2 }' "$tmp/d" >"$tmp/$model"
        echo "set title \"$model\"; set xtics (\"3\" 0, \"4\" 1, \"5\" 2, \"3\" 4, \"4\" 5, \"5\" 6)"
        echo "plot \"$tmp/$model\" using (\$1-0.18):2 with boxes lc rgb \"#1f77b4\" title \"ours: exact planner\", \"\" using (\$1+0.18):3 with boxes lc rgb \"#ff7f0e\" title \"ours: hand rule\", \"\" using (\$1-0.18):4 with points pt 7 ps 1.4 lc rgb \"black\" title \"paper: optimizer\", \"\" using (\$1+0.18):5 with points pt 6 ps 1.6 lc rgb \"black\" title \"paper: manual\""
      done
      echo 'unset multiplot'
    } >"$tmp/body.gp"
    render "$figdir/$name" "$tmp/body.gp" 1100 520 ;;
  edgesys-links)
    group '$1 ", K=" $2' 'sprintf("%s %.6g %.6g", $3, $4 / 60, $5 / 60)' <"$data" >"$tmp/d"
    {
      printf "%s\n" "set title \"Where the links start to matter: one compute node (P = 3), epoch time vs the data owners' bandwidth\\n{/=9 $scenario}\""
      echo 'set grid; set key top right font ",9"; set logscale xy; set xrange [0.8:1300]; set xlabel "data owner <-> compute node bandwidth (Mbit/s)"; set ylabel "epoch time (min)"; set arrow from 8, graph 0 to 8, graph 1 nohead dt 3 lc rgb "gray40"; set label "8 Mbit/s: the testbed of the paper" at 8.6, graph 0.04 font ",9"'
      plot_pairs "$tmp/d" 2 3 "lines lw 1 dt 2"
    } >"$tmp/body.gp"
    render "$figdir/$name" "$tmp/body.gp" 1000 560 ;;
  *) echo "reproduce.sh: unknown figure $name" >&2; exit 2 ;;
esac
# the numbers beside the figure (the TSV experiments/reproduce wrote, its header naming the
# columns), and a caption with the scenario
cp "$data" "$figdir/$name.tsv"
printf '%s\n' "$scenario" >"$tmp/scenario"
case $name in
  edgesys-fig3) what="EdgeSys'25 Fig. 3 reproduced: epoch time vs data owners K, simulated and by the closed form, per number of parts P" ;;
  edgesys-fig4) what="EdgeSys'25 Fig. 4 reproduced: ResNet-101, K = 30, epoch time vs the mix of d1 and d2 data owners, simulated and by the closed form" ;;
  edgesys-fig6) what="EdgeSys'25 Fig. 6 reproduced: the closed form's epoch with the exact planner's and the hand rule's cuts, against the paper's bars" ;;
  edgesys-links) what="Epoch time vs the data owners' bandwidth, one compute node (P = 3), simulated and by the closed form" ;;
esac
fig_caption "$name" "$what." "Times in the data file are seconds (the figure plots minutes); one run per point, deterministic (nothing is measured)."
