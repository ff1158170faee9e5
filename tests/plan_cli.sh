#!/bin/sh
# mpsl estimate and mpsl plan on a real tiny configuration, from a fixed layer table
# (tests/fixtures: a host profile of vgg11-cifar measured once): the terms and cuts are printed, the printed cuts are
# accepted back by the configuration, the closed form's sum holds on the printed terms,
# memory caps make a plan infeasible with one error line, bad input gives one line.
set -u
mpsl="${MPSL_BUILDDIR:-.}/mpsl"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  fail=$((fail + 1))
  echo "FAIL: $*"
}

# column NAME of the one-row CSV in FILE
col() { awk -F, -v n="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next } { print $c }' "$2"; }

# expect WHAT -- ARGS...: exit status 1..127, one stderr line containing WHAT
expect() {
  what=$1
  shift 2
  "$mpsl" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ "$rc" -ge 1 ] && [ "$rc" -lt 128 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -qF -- "$what" "$tmp/err"; then
    ok
  else
    bad "mpsl $* -> exit $rc, stderr: $(cat "$tmp/err") (expected one line containing: $what)"
  fi
}
cat >"$tmp/dev.ini" <<'INI'
[half]
description = a test device at half the host's speed with room for the tiny model
columns = host
speed = 0.5
memory = 1G
source = test fixture
[tiny]
description = a test device too small for any part of the model
columns = host
memory = 64K
source = test fixture
INI
base="--set model=csv:${MPSL_SRCDIR:-.}/tests/fixtures/vgg11-cifar-w0.25-c1-b8.csv --set batch=8 --set batches=2
  --set local_epochs=1 --set clients=4 --set devices=$tmp/dev.ini"

# estimate: every term, then T_round
if "$mpsl" estimate $base --set hops=2 >"$tmp/est" 2>"$tmp/err"; then ok; else bad "estimate exited $?: $(cat "$tmp/err")"; fi
for term in 'procT_fwd\[1\]' 'procT_back\[2\]' L_fwd L_back T_full T_empty startT endT T_batches T_aggr_up \
  T_aggr_proc T_aggr_down T_aggr T_round; do
  grep -q "^$term " "$tmp/est" && ok || bad "estimate output lacks $term"
done

# --csv: a header and one row of as many fields; T_batches + T_aggr = T_round, T_full = L_fwd + L_back
"$mpsl" estimate $base --set hops=2 --csv >"$tmp/csv" 2>"$tmp/err" && ok || bad "estimate --csv: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/csv")" -eq 2 ] && ok || bad "--csv printed $(wc -l <"$tmp/csv") lines"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; n = NF; next }
  NF != n { exit 1 }
  { d = $col["T_batches"] + $col["T_aggr"] - $col["T_round"]; if (d < 0) d = -d; if (d > 1e-6 * $col["T_round"]) exit 2
    d = $col["L_fwd"] + $col["L_back"] - $col["T_full"]; if (d < 0) d = -d; if (d > 1e-6 * $col["T_full"]) exit 3
    if (!($col["T_round"] > 0) || $col["H"] != 2 || $col["batches"] != 8) exit 4 }' "$tmp/csv" && ok ||
  bad "--csv row inconsistent (awk $?): $(cat "$tmp/csv")"

# R x H: two pipelines of one hop, the slower pipeline on the half-speed device sets the round
"$mpsl" estimate $base --set hops=1 --set pipelines=2 --set cn_devices=host:1,half:1 >"$tmp/est2" 2>"$tmp/err" &&
  grep -q "^pipeline 1: .*slowest" "$tmp/est2" && ok || bad "R=2: $(cat "$tmp/err" "$tmp/est2")"

# plan: configured, optimal and heuristic cuts, hops 1..3, and a pasteable cuts line
"$mpsl" plan $base --set hops=2 --max-hops 3 >"$tmp/plan" 2>"$tmp/err" && ok || bad "plan exited: $(cat "$tmp/err")"
for want in '^configured ' '^optimal ' '^heuristic ' '^gain: ' '^H=1: period' '^H=3: period' '^best: H=' '^cuts = '; do
  grep -q "$want" "$tmp/plan" && ok || bad "plan output lacks '$want'"
done
cuts=$(sed -n 's/^cuts = //p' "$tmp/plan")
if "$mpsl" estimate $base --set hops=2 --set "cuts=$cuts" --csv >"$tmp/csv2" 2>"$tmp/err"; then ok; else
  bad "the planned cuts '$cuts' are refused: $(cat "$tmp/err")"
fi
# the optimal period is no longer than the configured one (both printed from the same table)
awk 'function period() { for (i = 1; i < NF; i++) if ($i == "period") return $(i + 1) }
  /^configured / { c = period() } /^optimal / { o = period() } END { exit !(o > 0 && o <= c * (1 + 1e-9)) }' \
  "$tmp/plan" && ok || bad "optimal period exceeds the configured one: $(grep -E '^(configured|optimal) ' "$tmp/plan")"

# cuts = plan: estimate, simulate and run take the planned cuts; the results file records them
"$mpsl" estimate $base --set hops=2 --set cuts=plan --csv >"$tmp/csv3" 2>"$tmp/err" && ok || bad "cuts=plan: $(cat "$tmp/err")"
[ "$(col T_round "$tmp/csv3")" = "$(col T_round "$tmp/csv2")" ] && ok ||
  bad "cuts=plan gives T_round $(col T_round "$tmp/csv3"), the printed cuts $cuts give $(col T_round "$tmp/csv2")"
"$mpsl" simulate $base --set hops=2 --set cuts=plan --set output="$tmp/p.h5" >"$tmp/sim" 2>"$tmp/err" && ok ||
  bad "simulate cuts=plan: $(cat "$tmp/err")"
grep -q "^# cuts = $cuts\$" "$tmp/sim" && ok || bad "simulate cuts=plan does not resolve to $cuts: $(grep '^# cuts' "$tmp/sim")"
h5dump -a config "$tmp/p.h5" | grep -q "cuts = $cuts" && ok || bad "the results file does not record cuts = $cuts"
[ "$("$mpsl" run --ranks $base --set hops=2 --set cuts=plan --set compute=profiled 2>&1)" = 7 ] && ok ||
  bad "run --ranks with cuts=plan: $("$mpsl" run --ranks $base --set hops=2 --set cuts=plan --set compute=profiled 2>&1)"
# run --memory resolves it too: its parts are the planned cuts' (1..c1 c1+1..c2 ...)
parts=$(echo "$cuts" | awk -F, '{ s = "1.." $1; for (i = 2; i <= NF; i++) s = s " " $(i - 1) + 1 ".." $i; print s }')
"$mpsl" run --memory $base --set hops=2 --set cuts=plan --set compute=profiled >"$tmp/mem" 2>"$tmp/err" &&
  grep -q "parts: $parts " "$tmp/mem" && ok || bad "run --memory with cuts=plan: $(head -1 "$tmp/mem") $(cat "$tmp/err")"
expect "plan:FIRST,LAST takes two cuts" -- estimate $base --set hops=2 --set cuts=plan:2
expect "no cuts of layers" -- estimate $base --set hops=2 --set cuts=plan --set cn_devices=tiny

# two pipelines: a distribution of the data owners
"$mpsl" plan $base --set hops=1 --set pipelines=2 --set clients=5 --set cn_devices=host:1,half:1 >"$tmp/plan2" \
  2>"$tmp/err" && grep -q "^slowest pipeline: " "$tmp/plan2" && ok || bad "R=2 plan: $(cat "$tmp/err")"
n=$(awk '/^pipeline [0-9]+: [0-9]+ data owner/ { s += $3 } END { print s }' "$tmp/plan2")
[ "$n" = 5 ] && ok || bad "the distribution covers $n data owners, not 5"
# distribution = plan takes the printed counts; more owners go to the faster pipeline (six
# owners: 4 on the host and 2 at half its speed beat k % R's 3 and 3)
two="$base --set hops=1 --set pipelines=2 --set clients=6 --set cn_devices=host:1,half:1"
"$mpsl" plan $two >"$tmp/plan3" 2>"$tmp/err" && ok || bad "R=2 plan of 6: $(cat "$tmp/err")"
dist=$(sed -n 's/^distribution = //p' "$tmp/plan3")
[ "$dist" = 4,2 ] && ok || bad "plan printed distribution '$dist', expected 4,2"
"$mpsl" estimate $two --set distribution=plan --csv >"$tmp/d1" 2>"$tmp/err" && ok || bad "distribution=plan: $(cat "$tmp/err")"
"$mpsl" estimate $two --set "distribution=$dist" --csv >"$tmp/d2" 2>"$tmp/err" && ok || bad "distribution=$dist: $(cat "$tmp/err")"
[ "$(col T_round "$tmp/d1")" = "$(col T_round "$tmp/d2")" ] && ok || bad "distribution=plan differs from $dist"
"$mpsl" estimate $two --csv >"$tmp/d3" 2>"$tmp/err"
awk -v a="$(col T_round "$tmp/d1")" -v b="$(col T_round "$tmp/d3")" 'BEGIN { exit !(a < b) }' && ok ||
  bad "the planned distribution is not faster than k % R"
expect "the counts add up to 4 but there are 6" -- estimate $two --set distribution=2,2

expect "fit the memory caps: hop" -- plan $base --set hops=2 --set cn_devices=tiny
grep -q "^optimal  *no cuts fit the memory caps" "$tmp/out" && ok || bad "infeasible plan not said on stdout"
expect "unknown key 'frobnicate'" -- estimate $base --set frobnicate=1
expect "unknown key 'frobnicate'" -- plan $base --set frobnicate=1
expect "hops: 'x'" -- estimate $base --set hops=x
expect "--max-hops: '0'" -- plan $base --max-hops 0
expect "--max-hops: 'many'" -- plan $base --max-hops many
expect "cuts must be strictly increasing" -- plan $base --set hops=2 --set cuts=2,9,9
expect "$tmp/none.ini" -- estimate "$tmp/none.ini"

echo "plan_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
