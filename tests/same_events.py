"""Two results files of the same scenario (mpsl simulate, mpsl run with emulation) against
each other: the same tasks (round, rank, role, data owner, batch, direction, part, bytes),
each starting, ending and waiting at the same model time relative to its round's start,
and the same round times, all within a relative tolerance of the round's length.

    same_events.py A.h5 B.h5 [--tol 1e-9]    exit 0 when equal, 1 with the first differences
"""
import sys

import h5py
import numpy as np


def load(path):
    with h5py.File(path, "r") as f:
        ev = f["events"][()]
        rounds = f["rounds"][()]
        # files before format_version 2 counted the events' rounds from 0, the rounds' from 1
        shift = 0 if int(f.attrs.get("format_version", 1)) >= 2 else 1
    rows = {}
    for r in np.unique(ev["round"]):
        sel = ev[ev["round"] == r]
        t0 = sel["start"].min()
        for e in sel:
            key = (int(e["round"]), int(e["rank"]), int(e["role"]), int(e["owner"]), int(e["batch"]),
                   int(e["direction"]), int(e["part"]), int(e["bytes"]))
            if key in rows:
                sys.exit(f"{path}: task {key} twice")
            rows[key] = (e["start"] - t0, e["end"] - t0, e["queue_wait"])
    return rows, {int(r["round"]) - shift: float(r["time_s"]) for r in rounds}


def main():
    args = sys.argv[1:]
    tol = 1e-9
    if "--tol" in args:
        i = args.index("--tol")
        tol = float(args[i + 1])
        del args[i:i + 2]
    a, b = args
    ea, ra = load(a)
    eb, rb = load(b)
    bad = []
    if sorted(ra) != sorted(rb):
        bad.append(f"rounds {sorted(ra)} against {sorted(rb)}")
    if set(ea) != set(eb):
        only = sorted(set(ea) ^ set(eb))[:5]
        bad.append(f"{len(set(ea) ^ set(eb))} tasks in one file only, e.g. {only}")
    worst = 0.0
    for r in sorted(set(ra) & set(rb)):
        scale = max(abs(ra[r]), 1e-300)
        d = abs(ra[r] - rb[r]) / scale
        worst = max(worst, d)
        if d > tol:
            bad.append(f"round {r}: time_s {ra[r]!r} against {rb[r]!r}")
    for key in sorted(set(ea) & set(eb)):
        scale = max(abs(ra.get(key[0], 0.0)), 1e-300)
        for what, x, y in zip(("start", "end", "queue_wait"), ea[key], eb[key]):
            d = abs(x - y) / scale
            worst = max(worst, d)
            if d > tol and len(bad) < 10:
                bad.append(f"task {key}: {what} {x!r} against {y!r}")
    print(f"{len(ea)} tasks, {len(ra)} round(s): largest difference {worst:.2e} of a round")
    if bad:
        print("\n".join(bad))
        sys.exit(1)


if __name__ == "__main__":
    main()
