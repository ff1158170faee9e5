#!/bin/sh
# Faults on purpose. Data owners that sit out rounds (the absence key): with real compute the split run's
# global model equals the unsplit reference's, which skips the same owners in the same
# rounds; the audit table says who sat out (no activation, gradient or state: all zero)
# and names the same owners in `mpsl run` and `mpsl simulate`; a round in which nobody
# trains leaves the global model as it was. Stragglers (straggler_rate, straggler_factor):
# in a round an owner straggles in, each of its tasks takes exactly straggler_factor times
# as long as without stragglers, in the others exactly as long.
. "$(dirname "$0")/testlib.sh"
cfg="--config $MPSL_SRCDIR/tests/fixtures/tiny-run.ini --set clients=4 --set hops=2 --set rounds=4 --set absence=0.5"
audit() { # the (round, owner, trained) rows of a results file
  "$mpsl" report --csv audit "$1" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { print $c["round"], $c["owner"], ($c["activation"] + $c["gradient"] + $c["model"] > 0) }' | sort -n
}
# shellcheck disable=SC2086
split_run run $cfg
# shellcheck disable=SC2086
ref_run ref $cfg
same_model ref run
audit "$tmp/run.h5" >"$tmp/run.audit"
sat=$(awk '$3 == 0' "$tmp/run.audit" | wc -l)
[ "$sat" -ge 1 ] && [ "$sat" -lt 16 ] || fail "with absence = 0.5 $sat of 16 owner-rounds sat out: $(cat "$tmp/run.audit" | tr '\n' ' ')"
# an owner that sat out sent nothing at all: every count of its row is 0, and it was sent
# the global model like every other
"$mpsl" report --csv audit "$tmp/run.h5" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  $c["model"] == 0 && ($c["activation"] != 0 || $c["gradient"] != 0) { bad = 1 } END { exit bad }' ||
  fail "an owner without a state sent activations or gradients"
# shellcheck disable=SC2086
"$mpsl" simulate $cfg --set compute=profiled --set output="$tmp/sim.h5" >"$tmp/sim.log" 2>&1 ||
  { cat "$tmp/sim.log"; fail "mpsl simulate"; }
audit "$tmp/sim.h5" >"$tmp/sim.audit"
cmp -s "$tmp/run.audit" "$tmp/sim.audit" || fail "run and simulate disagree on who sat out: $(diff "$tmp/run.audit" "$tmp/sim.audit" | head -4 | tr '\n' ' ')"

# nobody trains in a round (absence 0.99, one owner): the model stays the initial one,
# the same as the reference's, and the round's train loss is not a number
one="--config $MPSL_SRCDIR/tests/fixtures/tiny-run.ini --set clients=1 --set hops=1 --set rounds=1 --set absence=0.99"
# shellcheck disable=SC2086
split_run none $one
[ "$(audit "$tmp/none.h5")" = "1 0 0" ] || fail "the owner did not sit the round out: $(audit "$tmp/none.h5")"
# shellcheck disable=SC2086
ref_run none-ref $one
same_model none-ref none
loss=$("$mpsl" report --csv rounds "$tmp/none.h5" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { print $c["train_loss"] }')
[ "$loss" = nan ] || [ "$loss" = -nan ] || fail "the train loss of a round without training is $loss"

# a compute node fails mid-round (fail_*): over MPI with real compute, in wall time, the
# owners of its pipeline stop after the batch in flight and are left out of FedAvg, so the
# model is the unsplit reference's with those owners sitting the round out: a trace made
# from the run's audit table (who sent no state). Pipeline 2 of 2 fails in round 2; then
# the only pipeline fails in round 1, so that nobody finishes and every hop keeps its part.
failed() { # the owners of round $2 that sent activations but no state, as "R: K ..."
  "$mpsl" report --csv audit "$1" | awk -F, -v r="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; printf "%s:", r; next }
    $c["round"] == r && $c["model"] == 0 { printf " %s", $c["owner"] } END { print "" }'
}
for case in "2 3 --set pipelines=2" "1 1 --set pipelines=1"; do
  set -- $case
  round=$1 node=$2
  shift 2
  fcfg="--config $MPSL_SRCDIR/tests/fixtures/tiny-run.ini --set clients=4 --set hops=2 --set rounds=3 --set batches=3
    --set fail_round=$round --set fail_node=$node --set fail_at=0.0001 $*"
  # shellcheck disable=SC2086
  split_run fail $fcfg
  failed "$tmp/fail.h5" "$round" >"$tmp/fail.trace"
  want=$(if [ "$node" = 3 ]; then echo "$round: 1 3"; else echo "$round: 0 1 2 3"; fi)
  [ "$(cat "$tmp/fail.trace")" = "$want" ] || fail "node $node failing in round $round stopped '$(cat "$tmp/fail.trace")', not '$want'"
  for r in 1 2 3; do
    [ "$r" = "$round" ] || [ "$(failed "$tmp/fail.h5" "$r")" = "$r:" ] || fail "owners stopped in round $r: $(failed "$tmp/fail.h5" "$r")"
  done
  # the reference without the owners that stopped
  # shellcheck disable=SC2086
  ref_run fail-ref $fcfg --set fail_round=0 --set availability="$tmp/fail.trace"
  same_model fail-ref fail
  stopped_batches=$("$mpsl" report --csv audit "$tmp/fail.h5" | awk -F, -v r="$round" '$1 == r && $5 == 0 { printf "%s ", $3 }')
  echo "faults: node $node failed in round $round; the owners that stopped had sent $stopped_batches activation(s); split = unsplit"
done

table="--set model=csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv --set batch=4 --set clients=4 --set hops=2
  --set rounds=3 --set devices=$MPSL_SRCDIR/tests/fixtures/slow-devices.ini --set do_devices=do_test --set cn_devices=cn_test"
durations() { # round, owner, batch, direction, part and length of every data-owner task (role 2)
  "$mpsl" report --csv events "$1" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["role"] == 2 { printf "%s %s %s %s %s %.17g\n", $c["round"], $c["owner"], $c["batch"], $c["direction"], $c["part"], $c["end"] - $c["start"] }' | sort
}
# shellcheck disable=SC2086
"$mpsl" simulate $table --set output="$tmp/even.h5" >/dev/null 2>&1 || fail "simulate without stragglers"
# shellcheck disable=SC2086
"$mpsl" simulate $table --set straggler_rate=0.5 --set straggler_factor=3 --set output="$tmp/slow.h5" >/dev/null 2>&1 ||
  fail "simulate with stragglers"
durations "$tmp/even.h5" >"$tmp/even.d"
durations "$tmp/slow.h5" >"$tmp/slow.d"
[ "$(wc -l <"$tmp/even.d")" -gt 0 ] || fail "no data-owner tasks"
# per (round, owner): every task x1 or every task x3 (to 1e-6: a length is a difference of
# two model times)
for f in even slow; do awk '{ print $1 "/" $2 "/" $3 "/" $4 "/" $5, $6 }' "$tmp/$f.d" | sort >"$tmp/$f.k"; done
join -j1 "$tmp/even.k" "$tmp/slow.k" >"$tmp/both"
[ "$(wc -l <"$tmp/both")" -eq "$(wc -l <"$tmp/even.d")" ] || fail "the two simulations ran other tasks"
awk '{ split($1, k, "/"); r = $3 / $2; f = (r > 3 - 1e-6 && r < 3 + 1e-6) ? 3 : (r > 1 - 1e-6 && r < 1 + 1e-6) ? 1 : 0
       if (!f) { print "task " $1 ": " r " times as long"; bad = 1 }
       o = k[1] "/" k[2]; if (o in seen && seen[o] != f) { print "owner-round " o " straggles in part"; bad = 1 }; seen[o] = f
       n[f]++ }
     END { if (!n[3] || !n[1]) { print "stragglers: " n[3] + 0 " tasks slowed, " n[1] + 0 " not"; bad = 1 }; exit bad }' "$tmp/both" ||
  fail "stragglers' tasks are not exactly 3 times as long"
echo "faults: $sat of 16 owner-rounds sat out; split = unsplit; run and simulate agree; stragglers x3: ok"
