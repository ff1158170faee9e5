#!/bin/sh
# python/mpsl_results.py reads what mpsl writes: a run's, a reference run's and a
# simulation's results file, every table row for row against `mpsl report --csv` (exactly:
# the CSV has every digit), the configuration as typed values, the typed root attributes,
# the enumerations of the code columns, the provenance, one round numbering in every
# table, the hosts, and to_pandas where pandas is installed (a clear ImportError where it
# is not).
. "$(dirname "$0")/testlib.sh"
py=${MPSL_PYTHON:-/usr/bin/python3}
"$py" -c "import h5py, numpy" 2>/dev/null || { echo "SKIP: no h5py or numpy for $py"; exit 77; }
set -- --config "$MPSL_SRCDIR/tests/fixtures/tiny-run.ini" --set clients=3 --set hops=2
np=$("$mpsl" run --ranks "$@") || fail "mpsl run --ranks"
# shellcheck disable=SC2086
$MPSL_LAUNCH -np "$np" "$mpsl" run "$@" --set output="$tmp/run.h5" >"$tmp/run.log" 2>&1 ||
  { tail -5 "$tmp/run.log"; fail "mpsl run"; }
"$mpsl" simulate --set model="csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv" --set batch=4 \
  --set clients=5 --set hops=3 --set rounds=2 --set output="$tmp/sim.h5" >"$tmp/sim.log" 2>&1 ||
  { tail -5 "$tmp/sim.log"; fail "mpsl simulate"; }
# the events of two data owners only, in a simulation and in a run
"$mpsl" simulate --set model="csv:$MPSL_SRCDIR/tests/fixtures/vgg11-cifar-w0.0625-c1-b4.csv" --set batch=4 \
  --set clients=5 --set hops=3 --set rounds=2 --set events=owners:2 --set output="$tmp/sim2.h5" >"$tmp/sim2.log" 2>&1 ||
  { tail -5 "$tmp/sim2.log"; fail "mpsl simulate, events = owners:2"; }
# shellcheck disable=SC2086
$MPSL_LAUNCH -np "$np" "$mpsl" run "$@" --set events=owners:1 --set output="$tmp/run1.h5" >"$tmp/run1.log" 2>&1 ||
  { tail -5 "$tmp/run1.log"; fail "mpsl run, events = owners:1"; }
"$mpsl" run "$@" --reference --set output="$tmp/ref.h5" >"$tmp/ref.log" 2>&1 ||
  { tail -5 "$tmp/ref.log"; fail "mpsl run --reference"; }
"$mpsl" simulate --set events=owners:0 2>"$tmp/e0" && fail "events = owners:0 was accepted"
grep -q "events = owners:0: expected all, none or owners:N" "$tmp/e0" || fail "events = owners:0: $(cat "$tmp/e0")"
for f in run sim ref; do
  for t in rounds events memory links audit partition; do
    "$mpsl" report --csv $t "$tmp/$f.h5" >"$tmp/$f-$t.csv" || fail "$f: --csv $t"
  done
done
PYTHONPATH="$MPSL_SRCDIR/python" "$py" - "$tmp" "$np" <<'PY' || fail "mpsl_results.py"
import csv, hashlib, math, re, sys
import h5py, numpy
import mpsl_results as mr

tmp, np = sys.argv[1], int(sys.argv[2])

def same_table(r, name, csvpath, empty=False):
    rows = list(csv.DictReader(open(csvpath)))
    t = getattr(r, name)
    assert empty or len(rows) > 0, "%s: no rows to compare" % name
    assert len(t) == len(rows), "%s: %d rows, the CSV %d" % (name, len(t), len(rows))
    for i, row in enumerate(rows):
        for k, v in row.items():
            if name == "partition" and k.startswith("labels_"):
                mine = t["labels"][i][int(k[7:])]
            else:
                mine = t[k][i]
            if v == "nan":
                assert math.isnan(mine), (name, i, k, mine)
            elif isinstance(mine, (numpy.floating, float)):
                assert float(mine) == float(v), (name, i, k, repr(mine), v)  # every digit
            else:
                assert int(mine) == int(v), (name, i, k, mine, v)


def typed(r, mode, ranks):
    """What every file of format 2 says, as the types a reader expects."""
    a = r.attrs
    assert r.format_version == 2 and a["mode"] == mode, (a.get("format_version"), a["mode"])
    for key in ("seed", "ranks", "format_version"):
        assert type(a[key]) is int, (key, type(a[key]))
    assert a["seed"] == r.config["seed"] and a["ranks"] == ranks, (a["seed"], a["ranks"])
    for key in ("clients", "hops", "batch", "rounds", "seed"):
        assert type(r.config[key]) is int, (key, r.config[key])
    for key in ("lr", "momentum", "width"):
        assert type(r.config[key]) is float, (key, r.config[key])
    assert r.config["shuffle"] is True and type(r.config["model"]) is str, r.config
    assert type(r.config["cuts"]) is list and all(type(c) is int for c in r.config["cuts"]), r.config["cuts"]
    p = r.provenance
    for key in ("program", "version", "build_compiler", "build_cflags", "command", "host", "started", "ended",
                "onednn_version", "hdf5_version", "mpi_version"):
        assert type(p.get(key)) is str and p[key], (mode, key, p.get(key))
    assert p["program"] == "mpsl " + p["version"] and "gcc" in p["build_compiler"], p
    assert " " + {"reference": "run", "run": "run", "simulate": "simulate"}[mode] + " " in p["command"], p["command"]
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    assert stamp.match(p["started"]) and stamp.match(p["ended"]) and p["started"] <= p["ended"], p
    assert p["mpi_version"].startswith("Open MPI"), p["mpi_version"]
    if "source_commit" in p:  # a build from git: git describe of the source tree
        assert re.match(r"^[0-9a-zA-Z._-]+$", p["source_commit"]), p["source_commit"]
    # one numbering: every table's rounds are rounds of the rounds table, from 1
    played = set(int(x) for x in r.rounds["round"])
    assert played == set(range(1, r.config["rounds"] + 1)), played
    for t in ("events", "memory", "links", "audit"):
        assert set(int(x) for x in r.table(t)["round"]) <= played, (t, set(r.table(t)["round"]))
    # the code columns are enumerations that name the codes
    with h5py.File(r.path, "r") as f:
        for t, cols in (("events", ("role", "direction", "part")), ("memory", ("role",))):
            for c in cols:
                assert f[t].id.get_type().get_member_type(f[t].dtype.names.index(c)).get_class() == \
                    h5py.h5t.ENUM, (t, c)
    assert r.codes("events", "role") == mr.ROLE and r.codes("memory", "role") == mr.ROLE
    assert r.codes("events", "direction") == mr.DIRECTION
    hops = r.config["hops"]
    want = dict([("M_1", 1), ("M_P", hops + 2)] + [("hop %d" % h, h + 1) for h in range(1, hops + 1)])
    assert r.codes("events", "part") == want, r.codes("events", "part")

run = mr.load(tmp + "/run.h5")
assert run.finished and run.mode == "run", (run.status, run.mode)
assert run.config["clients"] == 3 and run.config["hops"] == 2 and run.config["width"] == 0.0625, run.config
assert run.config["shuffle"] is True and run.config["model"] == "vgg11-cifar", run.config
assert [h[0] for h in run.hosts] == list(range(np)), run.hosts
assert [h[2] for h in run.hosts][:2] == ["aggregator", "compute node"], run.hosts
for t in ("rounds", "events", "memory", "links", "audit", "partition"):
    same_table(run, t, "%s/run-%s.csv" % (tmp, t))
typed(run, "run", np)
assert type(run.attrs["writer_pid"]) is int and run.attrs["writer_pid"] > 0, run.attrs["writer_pid"]
assert type(run.attrs["writer_start"]) is int, run.attrs["writer_start"]
assert "profile" not in run.attrs  # real compute: no profile behind its times
assert len(run.partition) == 3 and int(run.partition["labels"].sum()) == int(run.partition["samples"].sum())
assert set(run.events["role"]) == {mr.ROLE["compute node"], mr.ROLE["data owner"]}
assert len(run.rounds) == run.config["rounds"]

sim = mr.load(tmp + "/sim.h5")
assert sim.finished and sim.mode == "simulate" and sim.hosts == []
for t in ("rounds", "events", "memory", "links", "audit", "partition"):
    same_table(sim, t, "%s/sim-%s.csv" % (tmp, t))
typed(sim, "simulate", 1 + 3 + 5)
for key in ("sim_wall_s", "sim_events_per_s"):
    assert type(sim.attrs[key]) is float and sim.attrs[key] > 0, (key, sim.attrs[key])
# the layer table its times came from, by path and by the SHA-256 of its bytes
digest = hashlib.sha256(open(sim.attrs["profile"], "rb").read()).hexdigest()
assert sim.attrs["profile"].endswith("vgg11-cifar-w0.0625-c1-b4.csv") and sim.attrs["profile_sha256"] == digest
# the reference run: one process, no ranks' tables, the unsplit model (hops = 0)
ref = mr.load(tmp + "/ref.h5")
assert ref.finished and ref.mode == "reference" and ref.attrs["hops"] == 0, (ref.status, ref.attrs.get("hops"))
assert len(ref.rounds) == ref.config["rounds"] and (ref.rounds["test_acc"] >= 0).all()
for t in ("rounds", "partition"):
    same_table(ref, t, "%s/ref-%s.csv" % (tmp, t))
for t in ("events", "memory", "links", "audit"):
    same_table(ref, t, "%s/ref-%s.csv" % (tmp, t), empty=True)
typed(ref, "reference", 1)
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
