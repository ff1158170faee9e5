#!/bin/sh
# experiments/reproduce on the EdgeSys'25 authors' tables: every point of Fig. 6 and Fig. 3 is
# printed, our exact planner is never slower than the paper's optimizer and finds the
# authors' cut sets, the closed form agrees with the simulation where the compute node is the
# bottleneck, a TSV and a figure are written. Nothing is measured: the values are the
# tables', the same on every machine.
. "$(dirname "$0")/testlib.sh"
rep=$MPSL_SRCDIR/experiments/reproduce
"$rep" --mpsl "$mpsl" --out "$tmp/out" --figdir "$tmp/fig" edgesys-fig6 >"$tmp/fig6" 2>"$tmp/err" ||
  fail "edgesys-fig6: $(cat "$tmp/err")"
[ "$(grep -c '^model=' "$tmp/fig6")" = 12 ] || fail "edgesys-fig6 printed $(grep -c '^model=' "$tmp/fig6") points, not 12"
[ -s "$tmp/out/edgesys-fig6.tsv" ] && [ -s "$tmp/fig/edgesys-fig6.png" ] || fail "edgesys-fig6 wrote no TSV or figure"
# field NAME of a printed line
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
while IFS= read -r l; do
  m=$(field model "$l") n=$(field N "$l")
  awk -v p="$(field planned_epoch_s "$l")" -v q="$(field paper_planned_min "$l")" 'BEGIN { exit !(p / 60 <= q) }' ||
    fail "planner slower than the paper's optimizer: $l"
  case $m:$n in
    resnet101:3) want=2,18,31,36 ;; resnet101:4) want=2,16,26,33,36 ;; resnet101:5) want=2,12,20,28,33,36 ;;
    vgg19:3) want=2,11,17,25 ;; vgg19:4) want=2,8,13,18,25 ;; vgg19:5) want=2,8,12,14,19,25 ;;
  esac
  [ "$(field planned_cuts "$l")" = "$want" ] || fail "planned cuts $(field planned_cuts "$l"), the authors' are $want: $l"
done <<EOF2
$(grep '^model=' "$tmp/fig6")
EOF2
"$rep" --mpsl "$mpsl" --out "$tmp/out" --no-plot edgesys-fig3 >"$tmp/fig3" 2>"$tmp/err" || fail "edgesys-fig3: $(cat "$tmp/err")"
[ "$(grep -c '^model=' "$tmp/fig3")" = 30 ] || fail "edgesys-fig3 printed $(grep -c '^model=' "$tmp/fig3") points, not 30"
# one compute node, 30 or more data owners: compute-bound, the closed form within 2 %
grep '^model=vgg19 P=3 K=[345]0 ' "$tmp/fig3" | while IFS= read -r l; do
  awk -v e="$(field error_pct "$l")" 'BEGIN { exit !(e <= 2 && e >= -2) }' || fail "closed form off by more than 2 %: $l"
done || exit 1
echo "reproduce: ok"
