#!/bin/bash
# mpsl run across two hosts, built on this machine: two network namespaces joined by a veth
# pair (10.231.7.1 = mpsl-a, 10.231.7.2 = mpsl-b, each with its own host name in a UTS
# namespace), and an Open MPI job whose mpirun runs on mpsl-a and starts its daemon on
# mpsl-b through an rsh agent that enters that namespace (docs/cluster.md). The link is
# shaped with tc (netem delay and rate where the kernel has netem, else tbf rate alone).
# With the aggregator and compute nodes on mpsl-a and the data owners on mpsl-b:
#   - real compute: the global model is bit for bit the single-host run's, the results
#     file records the two hosts, every link carried the same bytes, and each activation
#     that crossed the shaped link took at least its bytes at the link's rate;
#   - threads = 0: each rank gets the cores of its own host divided by the ranks there;
#   - emulation (profiled compute, devices and links, 3 owners on 2 hops): the same tasks at
#     the same model times as mpsl simulate and as the emulation on one host, to 1e-9 of a
#     round (tests/same_events.py), although every message between the hosts also crosses
#     the shaped link in wall time.
# Skipped (not failed) where network namespaces cannot be made (not root, no iproute2).
. "$(dirname "$0")/testlib.sh"
. "$(dirname "$0")/netns.sh"
for c in tc mpirun; do command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c not found"; exit 77; }; done
mpirun --version 2>&1 | grep -q "Open MPI" ||
  { echo "SKIP: the rsh agent used here is Open MPI's (mpirun --version: $(mpirun --version 2>&1 | head -1))"; exit 77; }
hosts_up 10.231.7

# The link between the hosts: 40 Mbit/s each way, plus 2 ms where netem exists.
rate_bit=40000000
shaped="tbf rate 40mbit, burst 8 KiB"
for h in a b; do
  if on_host "$h" tc qdisc add dev "$(host_dev "$h")" root netem delay 2ms rate 40mbit 2>/dev/null; then
    shaped="netem delay 2 ms, rate 40mbit"
  else
    on_host "$h" tc qdisc add dev "$(host_dev "$h")" root tbf rate 40mbit burst 8kb latency 2s || fail "tc on mpsl-$h"
  fi
done
burst=8192
case $shaped in netem*) burst=0 ;; esac
echo "multinode: hosts mpsl-a ($ipa) and mpsl-b ($ipb), link: $shaped"

# Open MPI's launcher reaches mpsl-b through this agent instead of ssh; it inherits this
# environment (PATH, OMPI_* variables), as ssh with a shared home would give.
hosts_rsh_agent "$tmp/agent"
# two_hosts NA NB ARGS...: an mpsl job of NA ranks on mpsl-a (from rank 0) and NB on mpsl-b,
# unbound (each rank may use every core of its host), stopped after 5 minutes at most
two_hosts() {
  local na=$1 nb=$2
  shift 2
  on_host a timeout 300 mpirun --host "$ipa:$na,$ipb:$nb" -np $((na + nb)) --bind-to none \
    --mca plm_rsh_agent "$tmp/agent" --mca plm_rsh_no_tree_spawn 1 --mca oob_tcp_if_include "$net" \
    --mca btl_tcp_if_include "$net" --mca btl self,vader,tcp "$mpsl" run "$@"
}
# threads = 0 must not follow a Slurm allocation this suite may run in
unset SLURM_CPUS_PER_TASK

# ---- real compute: 1 aggregator + 2 hops on mpsl-a, 2 data-owner ranks on mpsl-b --------
set -- --set model=vgg11-cifar --set width=0.0625 --set clients=2 --set hops=2 --set batch=8 --set batches=3 \
  --set local_epochs=1 --set rounds=2 --set test_limit=32 --set threads=1
np=$("$mpsl" run --ranks "$@") || fail "mpsl run --ranks"
[ "$np" = 5 ] || fail "expected 5 ranks, got $np"
# shellcheck disable=SC2086 # MPSL_LAUNCH is a command line
timeout 300 $MPSL_LAUNCH -np 5 "$mpsl" run "$@" --set output="$tmp/one.h5" --set save_model="$tmp/one-model.h5" \
  >"$tmp/one.log" 2>&1 || { tail "$tmp/one.log"; fail "the single-host run"; }
two_hosts 3 2 "$@" --set output="$tmp/two.h5" --set save_model="$tmp/two-model.h5" >"$tmp/two.log" 2>&1 ||
  { tail -20 "$tmp/two.log"; fail "the two-host run"; }
h5diff "$tmp/one-model.h5" "$tmp/two-model.h5" >"$tmp/diff" 2>&1 ||
  { head "$tmp/diff"; fail "the global model of the two-host run differs from the single-host run's"; }
echo "multinode: global model of the two-host run = the single-host run's (h5diff: no difference)"
hosts=$("$mpsl" report "$tmp/two.h5" | grep '^hosts:') || fail "mpsl report names no hosts"
echo "multinode: $hosts"
[ "$hosts" = "hosts: 2 (mpsl-a: ranks 0-2; mpsl-b: ranks 3-4)" ] || fail "expected ranks 0-2 on mpsl-a, 3-4 on mpsl-b"
"$mpsl" report "$tmp/one.h5" | grep -q '^hosts: 1 ' || fail "the single-host run should name one host"
"$mpsl" report --csv links "$tmp/one.h5" >"$tmp/one-links.csv" && "$mpsl" report --csv links "$tmp/two.h5" >"$tmp/two-links.csv" ||
  fail "report --csv links"
cmp -s "$tmp/one-links.csv" "$tmp/two-links.csv" || fail "the links carried other bytes or messages across hosts"
crossed=$(awk -F, 'NR > 1 && $2 >= 3 && ($3 == 1 || $3 == 2) { b += $4 } END { print b + 0 }' "$tmp/two-links.csv")
echo "multinode: $crossed bytes went from mpsl-b's data owners to mpsl-a's hops, the same as on one host"
# Every activation from a data owner (its M_1 forward row carries the bytes) reached the
# last hop's output back at the owner no sooner than the shaped link lets those bytes
# through once: rate and burst are the kernel's, so this bound holds however busy the host.
"$mpsl" report --csv events "$tmp/two.h5" >"$tmp/ev.csv" || fail "report --csv events"
"$mpsl" report --csv rounds "$tmp/one.h5" >"$tmp/one-rounds.csv" && "$mpsl" report --csv rounds "$tmp/two.h5" >"$tmp/two-rounds.csv" ||
  fail "report --csv rounds"
awk -F, -v rate="$rate_bit" -v burst="$burst" '
  # round,rank,role,owner,batch,direction,part,start,end,queue_wait,bytes
  NR == 1 || $3 != 2 { next }
  $6 == 0 && $7 == 1 { sent[$1, $4, $5] = $9; bytes[$1, $4, $5] = $11 }
  $6 == 0 && $7 == 4 { back[$1, $4, $5] = $8 }
  END {
    for (k in sent) {
      if (!(k in back)) { print "no M_P forward for an activation"; exit 1 }
      need = (bytes[k] - burst) * 8 / rate; took = back[k] - sent[k]
      if (took < need) { printf "an activation of %d bytes came back after %.4f s, under the %.4f s the link needs\n", bytes[k], took, need; exit 1 }
      if (n == 0 || took < fastest) { fastest = took; least = need }
      n++
    }
    if (n != 12) { print "expected 12 activations (2 rounds x 2 owners x 3 batches), got " n; exit 1 }
    printf "multinode: %d activations crossed the shaped link and back, the fastest in %.1f ms, no less than the %.1f ms its bytes need\n", n, fastest * 1e3, least * 1e3
  }' "$tmp/ev.csv" || fail "the real link does not show in the event times"
paste -d, "$tmp/one-rounds.csv" "$tmp/two-rounds.csv" | awk -F, 'NR > 1 { printf "multinode: round %d wall_s: one host %.3f s, two hosts %.3f s\n", $1, $2, $9 }'

# ---- threads per rank are chosen per host: the cores of a host shared by its ranks -------
set -- --set model=vgg11-cifar --set width=0.0625 --set clients=1 --set hops=1 --set batch=8 --set batches=1 \
  --set rounds=1 --set test_limit=8
two_hosts 2 1 "$@" --set output="$tmp/threads.h5" >"$tmp/threads.log" 2>&1 ||
  { tail -20 "$tmp/threads.log"; fail "the two-host run with threads = 0"; }
cores=$(nproc)
want_a=$((cores / 2)) want_b=$cores
[ "$want_a" -ge 1 ] || want_a=1
h5dump -a hosts "$tmp/threads.h5" >"$tmp/hosts.txt" || fail "h5dump of the hosts attribute"
# lines "rank host role threads": the two ranks of mpsl-a share its cores, mpsl-b's one has them all
grep -Eq "0 mpsl-a aggregator $want_a\b" "$tmp/hosts.txt" && grep -Eq "1 mpsl-a compute node $want_a\b" "$tmp/hosts.txt" &&
  grep -Eq "2 mpsl-b data owner $want_b\b" "$tmp/hosts.txt" ||
  fail "expected $want_a thread(s) per rank on mpsl-a (2 ranks) and $want_b on mpsl-b (1 rank): $(grep mpsl- "$tmp/hosts.txt")"
echo "multinode: threads = 0 gave $want_a thread(s) to each of mpsl-a's 2 ranks and $want_b to mpsl-b's one ($cores cores)"

# ---- emulation: the same scenario on one host and on two ------------------------------
set -- --set model=csv:"$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv" --set batch=4 --set batches=2 \
  --set local_epochs=2 --set rounds=2 --set threads=1 --set compute=profiled --set devices="$MPSL_SRCDIR/tests/fixtures/slow-devices.ini" \
  --set do_devices=do_test --set cn_devices=cn_test --set do_cn_bw=8Mbit --set do_cn_lat=0.005 --set cn_cn_bw=40Mbit \
  --set clients=3 --set hops=2 --set policy=bwd-first --set cn_cn_lat=0.002
"$mpsl" simulate "$@" --set output="$tmp/sim.h5" >"$tmp/sim.log" 2>&1 || { cat "$tmp/sim.log"; fail "mpsl simulate"; }
"$mpsl" report --csv rounds "$tmp/sim.h5" >"$tmp/sim.csv" || fail "report of the simulation"
# wall seconds per model second: the longest round lasts about 0.5 wall seconds
scale=$(awk -F, 'NR > 1 && $3 > m { m = $3 } END { print 0.5 / m }' "$tmp/sim.csv")
np=$("$mpsl" run --ranks "$@") || fail "mpsl run --ranks (emulation)"
[ "$np" = 6 ] || fail "expected 6 ranks, got $np"
# shellcheck disable=SC2086
timeout 300 $MPSL_LAUNCH -np 6 "$mpsl" run "$@" --set time_scale="$scale" --set output="$tmp/emu1.h5" >"$tmp/emu1.log" 2>&1 ||
  { tail "$tmp/emu1.log"; fail "the single-host emulation"; }
two_hosts 3 3 "$@" --set time_scale="$scale" --set output="$tmp/emu2.h5" >"$tmp/emu2.log" 2>&1 ||
  { tail -20 "$tmp/emu2.log"; fail "the two-host emulation"; }
"$mpsl" report "$tmp/emu2.h5" | grep -q '^hosts: 2 (mpsl-a: ranks 0-2; mpsl-b: ranks 3-5)' || fail "emulation: hosts"
py=${MPSL_PYTHON:-/usr/bin/python3}
for f in emu1 emu2; do
  grep 'warning: .* message(s) reached' "$tmp/$f.log" && fail "$f: the emulation missed messages"
done
printf 'multinode: emulated on two hosts against simulated: '
"$py" "$MPSL_SRCDIR/tests/same_events.py" "$tmp/sim.h5" "$tmp/emu2.h5" || fail "the two-host emulation differs from mpsl simulate"
printf 'multinode: emulated on two hosts against one host: '
"$py" "$MPSL_SRCDIR/tests/same_events.py" "$tmp/emu1.h5" "$tmp/emu2.h5" || fail "the two-host emulation differs from the single-host one"
echo "multinode: ok"
