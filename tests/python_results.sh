#!/bin/sh
# python/mpsl_results.py reads what mpsl writes: a run's and a simulation's results file,
# every table row for row against `mpsl report --csv` (full precision where the CSV has it),
# the configuration as typed values, the hosts, and to_pandas where pandas is installed (a
# clear ImportError where it is not).
. "$(dirname "$0")/testlib.sh"
py=${MPSL_PYTHON:-/usr/bin/python3}
"$py" -c "import h5py, numpy" 2>/dev/null || { echo "SKIP: no h5py or numpy for $py"; exit 77; }
set -- --config "$MPSL_SRCDIR/tests/fixtures/tiny-run.ini" --set clients=3 --set hops=2
np=$("$mpsl" run --ranks "$@") || fail "mpsl run --ranks"
# shellcheck disable=SC2086
$MPSL_LAUNCH -np "$np" "$mpsl" run "$@" --set output="$tmp/run.h5" >"$tmp/run.log" 2>&1 ||
  { tail -5 "$tmp/run.log"; fail "mpsl run"; }
"$mpsl" simulate --set model="csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv" --set batch=4 \
  --set clients=5 --set hops=3 --set rounds=2 --set output="$tmp/sim.h5" >/dev/null 2>&1 || fail "mpsl simulate"
# the events of two data owners only, in a simulation and in a run
"$mpsl" simulate --set model="csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv" --set batch=4 \
  --set clients=5 --set hops=3 --set rounds=2 --set events=owners:2 --set output="$tmp/sim2.h5" >/dev/null 2>&1 ||
  fail "mpsl simulate, events = owners:2"
# shellcheck disable=SC2086
$MPSL_LAUNCH -np "$np" "$mpsl" run "$@" --set events=owners:1 --set output="$tmp/run1.h5" >"$tmp/run1.log" 2>&1 ||
  { tail -5 "$tmp/run1.log"; fail "mpsl run, events = owners:1"; }
"$mpsl" simulate --set events=owners:0 2>"$tmp/e0" && fail "events = owners:0 was accepted"
grep -q "events = owners:0: expected all, none or owners:N" "$tmp/e0" || fail "events = owners:0: $(cat "$tmp/e0")"
for f in run sim; do
  for t in rounds events memory links audit; do "$mpsl" report --csv $t "$tmp/$f.h5" >"$tmp/$f-$t.csv" || fail "$f: --csv $t"; done
done
PYTHONPATH="$MPSL_SRCDIR/python" "$py" - "$tmp" "$np" <<'PY' || fail "mpsl_results.py"
import csv, math, sys
import mpsl_results as mr

tmp, np = sys.argv[1], int(sys.argv[2])

def same_table(r, name, csvpath):
    rows = list(csv.DictReader(open(csvpath)))
    t = getattr(r, name)
    assert len(rows) > 0, "%s: no rows to compare" % name
    assert len(t) == len(rows), "%s: %d rows, the CSV %d" % (name, len(t), len(rows))
    for i, row in enumerate(rows):
        for k, v in row.items():
            mine = t[k][i]
            if v == "nan":
                assert math.isnan(mine), (name, i, k, mine)
            else:
                assert math.isclose(float(mine), float(v), rel_tol=1e-6, abs_tol=1e-12), (name, i, k, mine, v)

run = mr.load(tmp + "/run.h5")
assert run.finished and run.mode == "run", (run.status, run.mode)
assert run.config["clients"] == 3 and run.config["hops"] == 2 and run.config["width"] == 0.0625, run.config
assert run.config["shuffle"] is True and run.config["model"] == "vgg11-cifar", run.config
assert [h[0] for h in run.hosts] == list(range(np)), run.hosts
assert [h[2] for h in run.hosts][:2] == ["aggregator", "compute node"], run.hosts
for t in ("rounds", "events", "memory", "links", "audit"):
    same_table(run, t, "%s/run-%s.csv" % (tmp, t))
assert len(run.partition) == 3 and int(run.partition["labels"].sum()) == int(run.partition["samples"].sum())
assert set(run.events["role"]) == {mr.ROLE["compute node"], mr.ROLE["data owner"]}
assert len(run.rounds) == run.config["rounds"]

sim = mr.load(tmp + "/sim.h5")
assert sim.finished and sim.mode == "simulate" and sim.hosts == []
for t in ("rounds", "events", "memory", "links", "audit"):
    same_table(sim, t, "%s/sim-%s.csv" % (tmp, t))
c = sim.config  # data owners x rounds x batches per round x (4 tasks of the owner + 2 per hop)
assert len(sim.events) == c["clients"] * c["rounds"] * c["batches"] * c["local_epochs"] * (4 + 2 * c["hops"])

# a sample keeps exactly the sampled owners' rows, in the simulator the very rows of all
sim2 = mr.load(tmp + "/sim2.h5")
keep = sim.events[sim.events["owner"] < 2]
assert len(sim2.events) == len(keep) > 0 and (sim2.events == keep).all(), (len(sim2.events), len(keep))
assert len(sim2.links) == len(sim.links) and len(sim2.audit) == len(sim.audit)
run1 = mr.load(tmp + "/run1.h5")
assert set(run1.events["owner"]) == {0}, set(run1.events["owner"])
assert len(run1.events) == (run.events["owner"] == 0).sum(), (len(run1.events), (run.events["owner"] == 0).sum())

try:
    import pandas  # noqa: F401
    df = run.to_pandas("partition")
    assert list(df.columns[:4]) == ["owner", "rank", "pipeline", "samples"] and len(df) == 3
    print("to_pandas: checked")
except ImportError:
    try:
        run.to_pandas("rounds")
        raise AssertionError("to_pandas without pandas did not raise")
    except ImportError as e:
        assert "python3-pandas" in str(e), e
    print("to_pandas: no pandas here, ImportError checked")
try:
    run.table("nosuch")
    raise AssertionError("an unknown table was accepted")
except KeyError:
    pass
print(repr(run))
PY
echo "python_results: ok"
