#!/bin/sh
# `mpsl bench --breakdown`: the structure of the table, never its timings. Every layer of
# the model appears once, in order, under the part that holds it, named and of the kind
# `mpsl layers` gives; every part has its row 0; each row's total is the sum of its kinds,
# the sum row the sum of the rows, and the closing figures follow from them and the step.
. "$(dirname "$0")/testlib.sh"

# check MODEL NPARTS [CUTS]: one bench with the breakdown (a quarter of the model's width),
# checked against `mpsl layers`
check() {
  model=$1 nparts=$2 cuts=${3:-}
  set -- --width 0.25
  "$mpsl" layers "$model" "$@" | awk '$1 ~ /^[0-9]+$/ { print $1, $2, $3 }' >"$tmp/layers" ||
    fail "mpsl layers $model failed"
  n=$(wc -l <"$tmp/layers")
  [ "$n" -gt 3 ] || fail "mpsl layers $model lists $n layers"
  [ -z "$cuts" ] || set -- "$@" --cuts "$cuts"
  OMP_NUM_THREADS=1 "$mpsl" bench --model "$model" --batch 2 --reps 3 --warmup 1 --breakdown "$@" \
    >"$tmp/out" 2>"$tmp/err" || fail "mpsl bench --breakdown $model $*: $(cat "$tmp/err")"
  [ ! -s "$tmp/err" ] || fail "mpsl bench --breakdown $model wrote to stderr: $(head -3 "$tmp/err")"
  grep -q "^model=$model .* parts=$nparts " "$tmp/out" || fail "$model: not $nparts parts: $(head -1 "$tmp/out")"
  # the header names the kinds in nn.h's order
  grep -q '^part  *layer  *name  *kind  *forward  *bwd_data  *bwd_weights  *reorder  *update  *own  *total$' \
    "$tmp/out" || fail "$model: no header line of the breakdown"
  # the layer rows, as "index name kind", against the model's table
  awk '$1 ~ /^[0-9]+$/ && $2 > 0 { print $2, $3, $4 }' "$tmp/out" >"$tmp/rows"
  cmp -s "$tmp/layers" "$tmp/rows" || fail "$model: the rows are not the layers: $(diff "$tmp/layers" "$tmp/rows" | head -5)"
  # one row 0 per part, before that part's layers; the parts counted 1..nparts in order
  awk -v np="$nparts" '
    $1 ~ /^[0-9]+$/ {
      if ($2 == 0) { if ($1 != ++parts || $3 != "-" || $4 != "part") bad = "row 0 of part " $1 ": " $0 }
      else if ($1 != parts) bad = "layer " $2 " is in part " $1 " after row 0 of part " parts
    }
    END {
      if (!bad && parts != np) bad = parts " parts listed, expected " np
      if (bad) { print bad; exit 1 }
    }' "$tmp/out" >"$tmp/msg" || fail "$model: $(cat "$tmp/msg")"
  # the sums: a row's total, the sum row, the closing figures (printed to 1 us: tolerances
  # of half a unit per term summed)
  awk '
    function abs(x) { return x < 0 ? -x : x }
    function near(a, b, terms) { return abs(a - b) <= 0.0005 * terms + 1e-9 }
    $1 ~ /^[0-9]+$/ {
      rows++
      t = 0
      for (k = 5; k <= 10; k++) { if ($k < 0) bad = "negative time: " $0; t += $k; col[k] += $k }
      if (!near(t, $11, 6)) bad = "row total " $11 " is not the sum " t ": " $0
      all += $11
    }
    $1 == "sum" {
      for (k = 5; k <= 10; k++) if (!near(col[k], $k, rows)) bad = "sum of column " k " is " $k ", the rows give " col[k]
      if (!near(all, $11, rows)) bad = "sum total " $11 ", the rows give " all
      dnnl = $5 + $6 + $7 + $8; own = $9 + $10; sums++
    }
    /^primitives_ms=/ { split($0, a, "="); p = a[2] }
    /^own_ms=/ { split($0, a, "="); o = a[2] }
    /^step_ms=/ { split($0, a, "="); s = a[2] }
    /^step_s=/ { split($0, a, "="); ss = a[2] }
    /^outside_primitives_ms=/ { split($0, a, "="); out = a[2] }
    /^untimed_ms=/ { split($0, a, "="); un = a[2] }
    /^step_over_primitives=/ { split($0, a, "="); ratio = a[2] }
    END {
      if (sums != 1) bad = bad ? bad : sums + 0 " sum rows"
      else if (!near(p, dnnl, 4)) bad = "primitives_ms=" p ", the sum row gives " dnnl
      else if (!near(o, own, 2)) bad = "own_ms=" o ", the sum row gives " own
      else if (abs(s - 1000 * ss) > 0.0051) bad = "step_ms=" s " is not step_s=" ss " (printed to 10 us)"
      else if (!near(out, s - p, 2)) bad = "outside_primitives_ms=" out " is not step - primitives = " s - p
      else if (!near(un, s - p - o, 3)) bad = "untimed_ms=" un " is not step - primitives - own = " s - p - o
      else if (p <= 0 || abs(ratio - s / p) > 0.0006 + 0.001 * s / p) bad = "step_over_primitives=" ratio ", expected " s / p
      if (bad) { print bad; exit 1 }
    }' "$tmp/out" >"$tmp/msg" || fail "$model: $(cat "$tmp/msg")"
  # the kinds of work land where they belong: convolutions have backward-weights, ReLUs none
  awk '$1 ~ /^[0-9]+$/ && $4 == "relu" && $7 != 0 { print; exit 1 }' "$tmp/out" >"$tmp/msg" ||
    fail "$model: a ReLU with backward-weights time: $(cat "$tmp/msg")"
  awk '$1 ~ /^[0-9]+$/ && $2 > 0 && $9 != 0 { print; exit 1 }' "$tmp/out" >"$tmp/msg" ||
    fail "$model: update time on a layer row (the update is the part's): $(cat "$tmp/msg")"
}

check vgg11-cifar 1
check vgg11-cifar 3 4,13
check resnet18-cifar 2 3
# without --breakdown, no table
OMP_NUM_THREADS=1 "$mpsl" bench --model vgg11-cifar --width 0.25 --batch 2 --reps 1 --warmup 0 >"$tmp/plain" ||
  fail "mpsl bench failed"
! grep -q 'breakdown\|primitives_ms' "$tmp/plain" || fail "mpsl bench without --breakdown printed a breakdown"
echo "ok: mpsl bench --breakdown lists every layer once and its sums add up"
