#!/bin/sh
# A results file from a real run: mpsl report summarises it, --csv exports every table,
# h5dump and h5py (Debian's python3-h5py, when present) read it without our code; h5dump
# shows numbers as integers, codes as enumerations, the provenance, rounds from 1.
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
grep -Eq "^made by: .*built with .*gcc.*, on .+, started 20[0-9-]+T[0-9:]+Z, ended 20[0-9-]+T[0-9:]+Z$" "$tmp/report" ||
  fail "no provenance line: $(cat "$tmp/report")"
for t in rounds events memory links audit; do
  "$mpsl" report --csv "$t" "$out" >"$tmp/$t.csv" || fail "--csv $t"
done
[ "$(wc -l <"$tmp/rounds.csv")" -eq 3 ] || fail "rounds.csv should hold a header and 2 rounds"
head -1 "$tmp/events.csv" | grep -q "^round,rank,role,owner,batch,direction,part,start,end,queue_wait,bytes$" || fail "events header"
# 5 owners x 2 rounds x 4 batches x (4 data-owner events + 2 hops x 2)
[ "$(wc -l <"$tmp/events.csv")" -eq 321 ] || fail "events.csv has $(wc -l <"$tmp/events.csv") lines, expected 321"
"$mpsl" report --csv nosuch "$out" >/dev/null 2>&1 && fail "--csv nosuch was accepted"
h5dump -H "$out" >/dev/null 2>&1 || fail "h5dump cannot read the file"

# the partition: a header, one row per data owner, each owner's labels adding up to its samples
"$mpsl" report --csv partition "$out" >"$tmp/partition.csv" || fail "--csv partition"
head -1 "$tmp/partition.csv" | grep -q "^owner,rank,pipeline,samples,labels_0,.*,labels_9$" || fail "partition header"
awk -F, 'NR > 1 { s = 0; for (i = 5; i <= NF; i++) s += $i; if (s != $4) bad = 1; n++; t += $4 }
  END { exit bad || n != 5 || t != 60000 }' "$tmp/partition.csv" || fail "partition rows: $(cat "$tmp/partition.csv")"
# one round numbering: every table's rounds are 1 and 2, as in the rounds table
for t in rounds events memory links audit; do
  [ "$(awk -F, 'NR > 1 { print $1 }' "$tmp/$t.csv" | sort -un | tr '\n' ' ')" = "1 2 " ] ||
    fail "table $t has rounds $(awk -F, 'NR > 1 { print $1 }' "$tmp/$t.csv" | sort -un | tr '\n' ' ')"
done
# doubles to the last digit (the old CSV had 9 significant digits): some train_loss has
# more (a mean of this seeded run's losses; wall_s is not used, MPI_Wtime has 9 decimals)
awk -F, 'NR > 1 { v = $4; sub(/^0\.0*/, "", v); sub(/e.*/, "", v); gsub(/[.]/, "", v); if (length(v) > 9) more = 1 }
  END { exit !more }' "$tmp/rounds.csv" || fail "rounds.csv is not at full precision: $(cat "$tmp/rounds.csv")"
# numbers are numbers, and the configuration's keys are typed attributes of group config
attr_type() { h5dump -a "$1" "$out" | sed -n 's/^ *DATATYPE  *\(H5T_[A-Z0-9_]*\).*/\1/p' | head -1; }
for a in seed ranks format_version writer_pid writer_start config/batch config/rounds config/clients; do
  [ "$(attr_type "$a")" = H5T_STD_I64LE ] || fail "attribute $a is $(attr_type "$a"), not a 64-bit integer"
done
for a in config/lr config/momentum config/alpha; do
  [ "$(attr_type "$a")" = H5T_IEEE_F64LE ] || fail "attribute $a is $(attr_type "$a"), not a double"
done
[ "$(attr_type config/shuffle)" = H5T_ENUM ] || fail "config/shuffle is not a boolean"
[ "$(attr_type config/model)" = H5T_STRING ] || fail "config/model is not text"
h5dump -a seed "$out" | grep -q '(0): 1$' || fail "seed: $(h5dump -a seed "$out")"
# provenance: present and not empty
for a in program version build_compiler build_cflags command host started ended onednn_version hdf5_version \
  mpi_version hosts; do
  v=$(h5dump -a "$a" "$out" | sed -n 's/^ *(0): "\([^"]\).*/\1/p' | head -1) # its first character
  [ -n "$v" ] || fail "attribute $a is missing or empty"
done
h5dump -a started "$out" | grep -Eq '"20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z"' ||
  fail "started is not an ISO 8601 UTC time: $(h5dump -a started "$out")"
h5dump -a command "$out" | grep -q "mpsl run --set model=vgg11-cifar" || fail "command: $(h5dump -a command "$out")"
# (as the build decides it: a tarball's tree unpacked inside some checkout has no commit)
top=$(git -C "$MPSL_SRCDIR" rev-parse --show-toplevel 2>/dev/null) || top=
if [ -n "$top" ] && [ "$(cd "$top" && pwd -P)" = "$(cd "$MPSL_SRCDIR" && pwd -P)" ]; then
  [ -n "$(h5dump -a source_commit "$out" 2>/dev/null | sed -n 's/^ *(0): "\(.*\)"$/\1/p')" ] ||
    fail "built from git, but the file names no source_commit"
fi
# the code columns are enumerations that h5dump prints by name
h5dump -H -d events "$out" | grep -q '"data owner" *2;' || fail "events.role is not an enumeration"
h5dump -H -d events "$out" | grep -q '"backward" *1;' || fail "events.direction is not an enumeration"
h5dump -H -d events "$out" | grep -q '"hop 2" *3;' || fail "events.part is not an enumeration"
h5dump -H -d memory "$out" | grep -q '"compute node" *1;' || fail "memory.role is not an enumeration"

py=${MPSL_PYTHON:-/usr/bin/python3}
if [ -x "$py" ] && "$py" -c 'import h5py' 2>/dev/null; then
  "$py" - "$out" <<'PY' || fail "h5py check"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert f.attrs["status"] == b"finished", f.attrs["status"]
assert b"clients = 5" in f.attrs["config"]
for key in ("program", "onednn_version", "hdf5_version", "mpi_version", "hosts", "seed"):
    assert key in f.attrs, key
assert f.attrs["seed"] == 1 and f.attrs["seed"].dtype.kind == "i", repr(f.attrs["seed"])
assert f["config"].attrs["clients"] == 5 and f["config"].attrs["partition"] == b"dirichlet"
assert h5py.check_enum_dtype(f["events"].dtype["role"]) == {"aggregator": 0, "compute node": 1, "data owner": 2}
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
