#!/bin/sh
# The closed form and the simulator on the same scenarios. In the homogeneous steady state
# the closed form assumes (every data owner on the same device, unlimited links, enough
# data owners to keep the pipeline full) the two agree within 2 %; with few data owners
# behind slow links the pipeline runs dry, the estimate says so (saturated = 0) and is
# below the simulation. The per-layer times come from a profile measured into a temporary
# directory; the assertions compare the two tools on the same profile, not timings.
. "$(dirname "$0")/testlib.sh"
failed=0
base="--set model=vgg11-cifar --set width=0.25 --set batch=8 --set batches=4 --set local_epochs=2
  --set profile_dir=$tmp/prof"

# column NAME of the one-row CSV in FILE
col() { awk -F, -v n="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next } { print $c }' "$2"; }

compare() { # K H MAXERR_PERCENT WANT_SATURATED [extra --set ...]
  K=$1 H=$2 tol=$3 want=$4
  shift 4
  if ! "$mpsl" estimate $base --set clients=$K --set hops=$H "$@" --csv >"$tmp/e.csv" 2>"$tmp/err"; then
    echo "FAIL: estimate K=$K H=$H: $(cat "$tmp/err")"; failed=1; return
  fi
  if ! "$mpsl" simulate $base --set clients=$K --set hops=$H "$@" --set output="$tmp/s.h5" >/dev/null 2>"$tmp/err"; then
    echo "FAIL: simulate K=$K H=$H: $(cat "$tmp/err")"; failed=1; return
  fi
  "$mpsl" report --csv rounds "$tmp/s.h5" >"$tmp/r.csv"
  est=$(col T_round "$tmp/e.csv") sat=$(col saturated "$tmp/e.csv") sim=$(col time_s "$tmp/r.csv")
  err=$(awk -v e="$est" -v s="$sim" 'BEGIN { printf "%.3f", 100 * (e - s) / s }')
  echo "K=$K H=$H $*: estimate $est s, simulate $sim s, error $err %, saturated $sat"
  awk -v x="$err" -v t="$tol" 'BEGIN { exit !(x <= t && x >= -t) }' || { echo "FAIL: |error| above $tol %"; failed=1; }
  [ "$sat" = "$want" ] || { echo "FAIL: saturated is $sat, expected $want"; failed=1; }
}

# homogeneous steady state: within 2 %
compare 16 1 2 1
compare 16 3 2 1
compare 32 2 2 1
compare 16 2 2 1 --set pipelines=2
# a few data owners behind 8 Mbit/s links: the pipeline is not full; the estimate flags it
# and falls short of the simulation by more than 2 %
compare 2 2 100 0 --set do_cn_bw=8Mbit
est=$(col T_round "$tmp/e.csv") sim=$(col time_s "$tmp/r.csv")
awk -v e="$est" -v s="$sim" 'BEGIN { exit !(e < 0.98 * s) }' || { echo "FAIL: expected the estimate well below the simulation"; failed=1; }
exit $failed
