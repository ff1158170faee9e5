#!/bin/sh
# A results file from a real run: mpsl report summarises it, --csv exports every table,
# h5dump and h5py (Debian's python3-h5py, when present) read it without our code.
. "$(dirname "$0")/testlib.sh"
out=$tmp/run.h5
set -- --set model=vgg11-cifar --set width=0.0625 --set clients=5 --set hops=2 --set owners_per_rank=2 \
  --set batch=4 --set batches=2 --set local_epochs=2 --set rounds=2 --set test_limit=16 --set threads=1 \
  --set partition=dirichlet --set alpha=0.3 --set output="$out"
np=$("$mpsl" run --ranks "$@") || fail "mpsl run --ranks"
[ "$np" -eq 6 ] || fail "1 + 2 hops + ceil(5/2) data-owner ranks should be 6, got $np"
# shellcheck disable=SC2086
$MPSL_LAUNCH -np "$np" "$mpsl" run "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "mpsl run"; }

"$mpsl" report "$out" >"$tmp/report" || fail "mpsl report"
grep -q "status: finished" "$tmp/report" || fail "status"
grep -q "input 0, label 0" "$tmp/report" || fail "audit line"
for t in rounds events memory links audit; do
  "$mpsl" report --csv "$t" "$out" >"$tmp/$t.csv" || fail "--csv $t"
done
[ "$(wc -l <"$tmp/rounds.csv")" -eq 3 ] || fail "rounds.csv should hold a header and 2 rounds"
head -1 "$tmp/events.csv" | grep -q "^round,rank,role,owner,batch,direction,part,start,end,queue_wait,bytes$" || fail "events header"
# 5 owners x 2 rounds x 4 batches x (4 data-owner events + 2 hops x 2)
[ "$(wc -l <"$tmp/events.csv")" -eq 321 ] || fail "events.csv has $(wc -l <"$tmp/events.csv") lines, expected 321"
"$mpsl" report --csv nosuch "$out" >/dev/null 2>&1 && fail "--csv nosuch was accepted"
h5dump -H "$out" >/dev/null 2>&1 || fail "h5dump cannot read the file"

py=${MPSL_PYTHON:-/usr/bin/python3}
if [ -x "$py" ] && "$py" -c 'import h5py' 2>/dev/null; then
  "$py" - "$out" <<'PY' || fail "h5py check"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert f.attrs["status"] == b"finished", f.attrs["status"]
assert b"clients = 5" in f.attrs["config"]
for key in ("program", "onednn_version", "hdf5_version", "mpi_version", "hosts", "seed"):
    assert key in f.attrs, key
assert list(f["rounds"]["round"]) == [1, 2]
p = f["partition"]
assert len(p) == 5 and p["samples"].sum() == 60000 and (p["labels"].sum(axis=1) == p["samples"]).all()
a = f["audit"]
assert (a["input"] == 0).all() and (a["label"] == 0).all() and (a["activation"] == 4).all()
assert len(f["memory"]) == 6 * 2 and (f["memory"]["peak_rss"] > 0).all()
assert f["links"]["bytes"].sum() > 0
print("h5py reads the results file")
PY
else
  echo "h5py not available: skipped the h5py check"
fi
echo "sl_report: ok"
