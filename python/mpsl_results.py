"""Read a results file of mpsl (mpsl run, mpsl run --reference, mpsl simulate): the layout
of docs/results.md as Python objects, so that nobody writes the same h5py code again.

    import sys; sys.path.insert(0, "python")      # or copy this file next to your script
    import mpsl_results
    r = mpsl_results.load("mpsl-run.h5")
    r.status, r.mode, r.finished                  # "finished", "run", True
    r.config["clients"], r.config["do_devices"]   # 4, "rpi4b:20,rpi3b:10" (ints, floats, bools, strings)
    r.attrs["seed"], r.provenance["started"]      # 1, "2026-12-01T14:05:37Z"
    r.rounds["time_s"]                            # numpy array, one value per round
    hops = r.events[r.events["role"] == mpsl_results.ROLE["compute node"]]
    r.codes("events", "part")                     # {"M_1": 1, "hop 1": 2, ..., "M_P": 4}
    r.to_pandas("memory")                         # a DataFrame, where pandas is installed

Needs Debian's python3-h5py and python3-numpy; pandas only for to_pandas. Call it with
/usr/bin/python3 where another python3 comes first on PATH.
"""

import h5py
import numpy

TABLES = ("rounds", "events", "memory", "links", "audit", "partition")
# the integer codes of the tables' role and direction columns (docs/results.md); files of
# format_version 2 also name them in their HDF5 enumerations (Results.codes)
ROLE = {"aggregator": 0, "compute node": 1, "data owner": 2}
DIRECTION = {"forward": 0, "backward": 1}
# the root attributes that say where a file came from (docs/results.md, "Provenance")
PROVENANCE = ("program", "version", "source_commit", "build_compiler", "build_cflags", "command", "host", "hosts",
              "started", "ended", "onednn_version", "hdf5_version", "mpi_version", "profile", "profile_sha256")


def _value(value):
    """An attribute as Python: text as str, numbers as int, float or bool, a list of
    integers as a list (an empty one is stored as a null dataspace)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, h5py.Empty):
        return []
    if isinstance(value, numpy.ndarray):
        return [v.item() for v in value]
    if isinstance(value, numpy.generic):
        return value.item()
    return value


def _typed(text):
    """A configuration value as what it is: int, float, bool or string."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_config(text):
    """The `config` attribute (`key = value` lines under a [section]) as a dict."""
    config = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[":
            continue
        key, sep, value = line.partition("=")
        if sep:
            config[key.strip()] = _typed(value.strip())
    return config


class Results:
    """One results file. Tables are numpy structured arrays (a column is r.events["start"]),
    read when first asked for: the events of a large simulation take a while."""

    def __init__(self, path):
        self.path = path
        with h5py.File(path, "r") as f:
            self.attrs = {k: _value(v) for k, v in f.attrs.items()}
            self.tables = [t for t in TABLES if t in f]
            group = f.get("config")
            typed = {k: _value(v) for k, v in group.attrs.items()} if isinstance(group, h5py.Group) else None
        self._cache = {}
        # format 2 files type every key in group config (lists as lists); older ones have
        # the text alone, typed here by its look
        self.config = typed if typed is not None else parse_config(self.attrs.get("config", ""))

    @property
    def status(self):
        """`running`, `finished` or `aborted: REASON` (docs/results.md: a `running` file whose
        writer is gone is interrupted; `mpsl report` tells which)."""
        return self.attrs.get("status", "")

    @property
    def finished(self):
        return self.status == "finished"

    @property
    def mode(self):
        """`run`, `simulate` or `reference`."""
        return self.attrs.get("mode", "")

    @property
    def format_version(self):
        """2 for files with typed attributes, enumerations and rounds from 1 in every table;
        1 for older files (their tables but `rounds` counted from 0: table() adds 1)."""
        return int(self.attrs.get("format_version", 1))

    @property
    def provenance(self):
        """The attributes of PROVENANCE that the file has."""
        return {k: self.attrs[k] for k in PROVENANCE if k in self.attrs}

    @property
    def hosts(self):
        """(rank, host, role, threads) of every rank of an `mpsl run` ([] otherwise)."""
        rows = []
        for line in self.attrs.get("hosts", "").splitlines():
            parts = line.split()
            if len(parts) >= 4:
                rows.append((int(parts[0]), parts[1], " ".join(parts[2:-1]), int(parts[-1])))
        return rows

    def table(self, name):
        """A table by name; an empty array when the file has none of its rows."""
        if name not in TABLES:
            raise KeyError("no table %r (the tables: %s)" % (name, ", ".join(TABLES)))
        if name not in self._cache:
            with h5py.File(self.path, "r") as f:
                rows = f[name][()] if name in f else numpy.zeros(0)
            if self.format_version < 2 and name in ("events", "memory", "links", "audit") and len(rows):
                rows = rows.copy()
                rows["round"] += 1  # one numbering, from 1, in every table
            self._cache[name] = rows
        return self._cache[name]

    def codes(self, name, column):
        """The names of a code column's values as the file's enumeration gives them
        ({"aggregator": 0, ...}); for older files, where the column is a plain integer,
        ROLE or DIRECTION, and None for a column that has no names."""
        rows = self.table(name)
        if rows.dtype.names and column in rows.dtype.names:
            names = h5py.check_enum_dtype(rows.dtype[column])
            if names is not None:
                return dict(names)
        return {"role": ROLE, "direction": DIRECTION}.get(column)

    rounds = property(lambda self: self.table("rounds"))
    events = property(lambda self: self.table("events"))
    memory = property(lambda self: self.table("memory"))
    links = property(lambda self: self.table("links"))
    audit = property(lambda self: self.table("audit"))
    partition = property(lambda self: self.table("partition"))

    def to_pandas(self, name):
        """A table as a pandas DataFrame (partition's label histogram as columns label_0...)."""
        try:
            import pandas
        except ImportError as e:
            raise ImportError("to_pandas needs pandas (Debian: python3-pandas); the tables are numpy "
                              "arrays without it") from e
        rows = self.table(name)
        columns = {}
        for field in rows.dtype.names or ():
            values = rows[field]
            if values.ndim == 2:
                for i in range(values.shape[1]):
                    columns["%s_%d" % (field, i)] = values[:, i]
            else:
                columns[field] = values
        return pandas.DataFrame(columns)

    def __repr__(self):
        return "<mpsl results %s: %s, %s, %d round(s)>" % (self.path, self.mode, self.status, len(self.rounds))


def load(path):
    """The results file at path (h5py's error when it is not one)."""
    return Results(path)
