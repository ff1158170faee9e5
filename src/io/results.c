/* Results in HDF5: tables described once by field lists, so the writer, the reader and
 * the CSV export cannot disagree about a column. */
#include "io/results.h"

#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5commit.h"
#include "io/h5util.h"
#include "util/err.h"
#include "util/provenance.h"

/* F_ROLE, F_DIR, F_PART: int32 codes in memory, HDF5 enumerations in the file */
typedef enum { F_I32, F_I64, F_F64, F_ROLE, F_DIR, F_PART } field_type;
typedef struct {
  const char *name;
  size_t off;
  field_type type;
} field;

#define I32(s, f) \
  { #f, offsetof(s, f), F_I32 }
#define I64(s, f) \
  { #f, offsetof(s, f), F_I64 }
#define F64(s, f) \
  { #f, offsetof(s, f), F_F64 }
#define CODE(s, f, t) \
  { #f, offsetof(s, f), t }

static const field round_fields[] = {I32(mpsl_res_round, round),     F64(mpsl_res_round, wall_s),
                                     F64(mpsl_res_round, time_s),    F64(mpsl_res_round, train_loss),
                                     F64(mpsl_res_round, test_loss), F64(mpsl_res_round, test_acc),
                                     I64(mpsl_res_round, overruns)};
static const field event_fields[] = {
    I32(mpsl_res_event, round),         I32(mpsl_res_event, rank),  CODE(mpsl_res_event, role, F_ROLE),
    I32(mpsl_res_event, owner),         I32(mpsl_res_event, batch), CODE(mpsl_res_event, direction, F_DIR),
    CODE(mpsl_res_event, part, F_PART), F64(mpsl_res_event, start), F64(mpsl_res_event, end),
    F64(mpsl_res_event, queue_wait),    I64(mpsl_res_event, bytes)};
static const field memory_fields[] = {
    I32(mpsl_res_memory, round),       I32(mpsl_res_memory, rank),      CODE(mpsl_res_memory, role, F_ROLE),
    I64(mpsl_res_memory, accounted),   I64(mpsl_res_memory, params),    I64(mpsl_res_memory, grads),
    I64(mpsl_res_memory, optim),       I64(mpsl_res_memory, stats),     I64(mpsl_res_memory, weight_copies),
    I64(mpsl_res_memory, activations), I64(mpsl_res_memory, act_grads), I64(mpsl_res_memory, scratch),
    I64(mpsl_res_memory, workspace),   I64(mpsl_res_memory, buffers),   I64(mpsl_res_memory, peak_rss),
    I64(mpsl_res_memory, cap),         I64(mpsl_res_memory, dataset),   I64(mpsl_res_memory, baseline)};
static const field link_fields[] = {I32(mpsl_res_link, round), I32(mpsl_res_link, src), I32(mpsl_res_link, dst),
                                    I64(mpsl_res_link, bytes), I64(mpsl_res_link, messages)};
static const field audit_fields[] = {I32(mpsl_res_audit, round),      I32(mpsl_res_audit, owner),
                                     I64(mpsl_res_audit, activation), I64(mpsl_res_audit, gradient),
                                     I64(mpsl_res_audit, model),      I64(mpsl_res_audit, input),
                                     I64(mpsl_res_audit, label)};

static const struct {
  const char *name;
  size_t size;
  const field *f;
  int n;
} tables[MPSL_RES_NTABLES] = {
    {"rounds", sizeof(mpsl_res_round), round_fields, sizeof round_fields / sizeof(field)},
    {"events", sizeof(mpsl_res_event), event_fields, sizeof event_fields / sizeof(field)},
    {"memory", sizeof(mpsl_res_memory), memory_fields, sizeof memory_fields / sizeof(field)},
    {"links", sizeof(mpsl_res_link), link_fields, sizeof link_fields / sizeof(field)},
    {"audit", sizeof(mpsl_res_audit), audit_fields, sizeof audit_fields / sizeof(field)},
};

mpsl_res_table mpsl_res_table_find(const char *name) {
  for (int t = 0; t < MPSL_RES_NTABLES; t++)
    if (!strcmp(name, tables[t].name)) return (mpsl_res_table)t;
  return MPSL_RES_NTABLES;
}

const char *mpsl_res_table_name(mpsl_res_table t) { return tables[t].name; }

void mpsl_res_csv_header(mpsl_res_table t, char *buf, int cap) {
  int k = 0;
  buf[0] = '\0';
  for (int i = 0; i < tables[t].n && k < cap; i++)
    k += snprintf(buf + k, (size_t)(cap - k), "%s%s", i ? "," : "", tables[t].f[i].name);
}

void mpsl_res_csv_row(mpsl_res_table t, const void *row, char *buf, int cap) {
  const char *r = row;
  int k = 0;
  buf[0] = '\0';
  for (int i = 0; i < tables[t].n && k < cap; i++) {
    const field *f = &tables[t].f[i];
    const char *sep = i ? "," : "";
    if (f->type == F_I64) {
      k += snprintf(buf + k, (size_t)(cap - k), "%s%" PRId64, sep, *(const int64_t *)(const void *)(r + f->off));
    } else if (f->type == F_F64) {
      char num[40];
      mpsl_res_real_str(*(const double *)(const void *)(r + f->off), num, sizeof num);
      k += snprintf(buf + k, (size_t)(cap - k), "%s%s", sep, num);
    } else {
      k += snprintf(buf + k, (size_t)(cap - k), "%s%d", sep, *(const int32_t *)(const void *)(r + f->off));
    }
  }
}

void mpsl_res_real_str(double v, char *buf, int cap) {
  for (int digits = 1; digits <= 17; digits++) {
    snprintf(buf, (size_t)cap, "%.*g", digits, v);
    if (!isfinite(v) || strtod(buf, NULL) == v) return;
  }
}

void mpsl_res_partition_csv_header(int classes, char *buf, int cap) {
  int k = snprintf(buf, (size_t)cap, "owner,rank,pipeline,samples");
  for (int i = 0; i < classes && k < cap; i++) k += snprintf(buf + k, (size_t)(cap - k), ",labels_%d", i);
}

void mpsl_res_partition_csv_row(const int64_t *row, int classes, char *buf, int cap) {
  int k = 0;
  buf[0] = '\0';
  for (int i = 0; i < 4 + classes && k < cap; i++)
    k += snprintf(buf + k, (size_t)(cap - k), "%s%" PRId64, i ? "," : "", row[i]);
}

/* The enumerations of the code columns, on a base of int32 (little-endian in the file). */
static hid_t code_enum(field_type t, int parts, int file) {
  hid_t e = H5Tenum_create(file ? H5T_STD_I32LE : H5T_NATIVE_INT32);
  static const char *roles[] = {"aggregator", "compute node", "data owner"};
  static const char *dirs[] = {"forward", "backward"};
  char name[32];
  if (t == F_ROLE)
    for (int32_t v = 0; v < 3; v++) H5Tenum_insert(e, roles[v], &v);
  else if (t == F_DIR)
    for (int32_t v = 0; v < 2; v++) H5Tenum_insert(e, dirs[v], &v);
  else
    for (int32_t v = 1; v <= parts; v++) {
      if (v == 1)
        snprintf(name, sizeof name, "M_1");
      else if (v == parts)
        snprintf(name, sizeof name, "M_P");
      else
        snprintf(name, sizeof name, "hop %d", v - 1);
      H5Tenum_insert(e, name, &v);
    }
  return e;
}

/* The file's compound (little-endian, the code columns enumerations; parts as in
 * mpsl_results_create), or the memory compound of the structs with plain int32 codes, which
 * reads both the enumerations and the plain integers of older files. */
static hid_t compound(mpsl_res_table t, int file, int parts) {
  hid_t c = H5Tcreate(H5T_COMPOUND, tables[t].size);
  for (int i = 0; i < tables[t].n; i++) {
    const field *f = &tables[t].f[i];
    int code = f->type == F_ROLE || f->type == F_DIR || (f->type == F_PART && parts >= 2);
    if (file && code) {
      hid_t e = code_enum(f->type, parts, 1);
      H5Tinsert(c, f->name, f->off, e);
      H5Tclose(e);
      continue;
    }
    hid_t ty = f->type == F_I64   ? (file ? H5T_STD_I64LE : H5T_NATIVE_INT64)
               : f->type == F_F64 ? (file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE)
                                  : (file ? H5T_STD_I32LE : H5T_NATIVE_INT32);
    H5Tinsert(c, f->name, f->off, ty);
  }
  return c;
}

/* The memory compound that writes into dataset d: HDF5 converts an enumeration only from
 * an enumeration, so a code column goes out as the native copy of the file's own enum
 * (a plain int32 where an older file has one). */
static hid_t write_type(mpsl_res_table t, hid_t d) {
  hid_t ft = H5Dget_type(d), c = H5Tcreate(H5T_COMPOUND, tables[t].size);
  for (int i = 0; i < tables[t].n; i++) {
    const field *f = &tables[t].f[i];
    int m = f->type == F_ROLE || f->type == F_DIR || f->type == F_PART ? H5Tget_member_index(ft, f->name) : -1;
    hid_t mt = m >= 0 ? H5Tget_member_type(ft, (unsigned)m) : H5I_INVALID_HID;
    if (mt >= 0 && H5Tget_class(mt) == H5T_ENUM) {
      hid_t nt = H5Tget_native_type(mt, H5T_DIR_ASCEND);
      H5Tinsert(c, f->name, f->off, nt);
      H5Tclose(nt);
    } else {
      H5Tinsert(c, f->name, f->off,
                f->type == F_I64   ? H5T_NATIVE_INT64
                : f->type == F_F64 ? H5T_NATIVE_DOUBLE
                                   : H5T_NATIVE_INT32);
    }
    if (mt >= 0) H5Tclose(mt);
  }
  H5Tclose(ft);
  return c;
}

/* How many values attribute a holds (0 for a null dataspace, -1 on error): H5Aread writes
 * every one, so a reader of one value checks first. */
static hssize_t one_value(hid_t a) {
  hid_t sp = H5Aget_space(a);
  if (sp < 0) return -1;
  hssize_t n = H5Sget_simple_extent_type(sp) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(sp);
  H5Sclose(sp);
  return n;
}

/* Without file locks: `mpsl report` reading a file while the run appends to it must not
 * make the run's next open fail (each open is short, and a reader that catches a write
 * half-done just reports an error). A writer retries a few times before giving up.
 * Writers go through io/h5commit.h: a write that fails leaves the file as it was, and
 * close_file says why. */
static hid_t open_file(const char *path, unsigned mode) {
  hid_t fapl = mode == H5F_ACC_RDONLY ? H5Pcreate(H5P_FILE_ACCESS) : h5_commit_fapl();
  if (fapl < 0) return H5I_INVALID_HID;
  H5Pset_file_locking(fapl, 0, 1);
  hid_t f = H5I_INVALID_HID;
  for (int tries = 0; tries < (mode == H5F_ACC_RDWR ? 20 : 1) && f < 0; tries++) {
    if (tries) usleep(50000);
    f = mode == H5F_ACC_TRUNC ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : H5Fopen(path, mode, fapl);
  }
  H5Pclose(fapl);
  return f;
}

/* After H5Fclose of a file open_file opened for writing: 0, or the errno of the write that
 * failed (the file is then as it was opened: io/h5commit.h). */
static int close_file(hid_t f) {
  int bad = H5Fclose(f) < 0, err = h5_commit_error();
  return err ? err : bad ? EIO : 0;
}

/* What went wrong, for the end of an error line: the system's reason, or HDF5's. */
static const char *why(int err) { return err ? strerror(err) : h5_detail(); }

/* Room of the status attribute (bytes): written in place, a status never needs space in
 * the file, so that a full disk still lets rank 0 say why it stopped (docs/results.md). */
enum { STATUS_ROOM = 1024 };

/* A fixed-length string of at least `room` bytes (NUL-terminated: readers see the text
 * alone). One that exists and is long enough is written over where it is: the heartbeat
 * and the status then take no new space. */
static int set_text_room(hid_t obj, const char *key, const char *value, size_t room) {
  size_t need = strlen(value) + 1;
  if (H5Aexists(obj, key) > 0) {
    hid_t a = H5Aopen(obj, key, H5P_DEFAULT);
    hid_t ft = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    size_t have = ft >= 0 && H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) == 0 ? H5Tget_size(ft) : 0;
    int rc = 1;
    if (have >= need && have >= room) {
      char *buf = mpsl_xcalloc(have, 1, "attribute");
      memcpy(buf, value, need);
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, have);
      H5Tset_strpad(mt, H5T_STR_NULLTERM);
      rc = H5Awrite(a, mt, buf) >= 0 ? 0 : -1;
      H5Tclose(mt);
      free(buf);
    }
    if (ft >= 0) H5Tclose(ft);
    if (a >= 0) H5Aclose(a);
    if (rc <= 0) return rc;
    H5Adelete(obj, key);
  }
  hid_t ty = H5Tcopy(H5T_C_S1);
  H5Tset_size(ty, need > room ? need : room);
  H5Tset_strpad(ty, H5T_STR_NULLTERM);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, key, ty, sp, H5P_DEFAULT, H5P_DEFAULT);
  char *buf = mpsl_xcalloc(need > room ? need : room, 1, "attribute");
  memcpy(buf, value, need);
  int rc = a >= 0 && H5Awrite(a, ty, buf) >= 0 ? 0 : -1;
  free(buf);
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(ty);
  return rc;
}

static int set_text(hid_t obj, const char *key, const char *value) { return set_text_room(obj, key, value, 0); }

/* h5py's boolean: an enumeration FALSE = 0, TRUE = 1 of int8 */
static hid_t bool_type(void) {
  hid_t e = H5Tenum_create(H5T_NATIVE_INT8);
  int8_t no = 0, yes = 1;
  H5Tenum_insert(e, "FALSE", &no);
  H5Tenum_insert(e, "TRUE", &yes);
  return e;
}

static int set_attr(hid_t file, const mpsl_res_attr *at) {
  hid_t obj = file;
  const char *key = at->key, *slash = strchr(key, '/');
  char group[64];
  if (slash) {
    snprintf(group, sizeof group, "%.*s", (int)(slash - key), key);
    key = slash + 1;
    obj = H5Lexists(file, group, H5P_DEFAULT) > 0 ? H5Gopen2(file, group, H5P_DEFAULT)
                                                  : H5Gcreate2(file, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (obj < 0) return -1;
  }
  int rc;
  if (at->kind == MPSL_ATTR_TEXT) {
    rc = set_text(obj, key, at->value ? at->value : "");
  } else {
    if (H5Aexists(obj, key) > 0) H5Adelete(obj, key);
    hsize_t n = (hsize_t)at->n;
    hid_t sp = at->kind != MPSL_ATTR_INTS ? H5Screate(H5S_SCALAR)
               : n                        ? H5Screate_simple(1, &n, NULL)
                                          : H5Screate(H5S_NULL);
    int8_t flag = (int8_t)(at->i != 0);
    hid_t mt = at->kind == MPSL_ATTR_REAL   ? H5T_NATIVE_DOUBLE
               : at->kind == MPSL_ATTR_BOOL ? bool_type()
                                            : H5T_NATIVE_INT64;
    hid_t ft = at->kind == MPSL_ATTR_REAL ? H5T_IEEE_F64LE : at->kind == MPSL_ATTR_BOOL ? mt : H5T_STD_I64LE;
    const void *buf = at->kind == MPSL_ATTR_REAL   ? (const void *)&at->d
                      : at->kind == MPSL_ATTR_BOOL ? (const void *)&flag
                      : at->kind == MPSL_ATTR_INT  ? (const void *)&at->i
                                                   : (const void *)at->v;
    hid_t a = H5Acreate2(obj, key, ft, sp, H5P_DEFAULT, H5P_DEFAULT);
    rc = a >= 0 && (at->kind == MPSL_ATTR_INTS && !n ? 1 : H5Awrite(a, mt, buf) >= 0) ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    if (at->kind == MPSL_ATTR_BOOL) H5Tclose(mt);
    H5Sclose(sp);
  }
  if (obj != file) H5Gclose(obj);
  return rc;
}

/* squeeze: byte shuffle and deflate level 1, cheap against what they save on the tables
 * that grow with the data owners and ranks (audit, links, memory: 1.2 GB uncompressed for a
 * round of 10^6 data owners); the events table is written at full speed instead. */
static hid_t create_table(hid_t file, const char *name, hid_t ftype, hsize_t chunk, int squeeze) {
  hsize_t zero = 0, unlimited = H5S_UNLIMITED;
  hid_t sp = H5Screate_simple(1, &zero, &unlimited);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 1, &chunk);
  if (squeeze) H5Pset_shuffle(dcpl), H5Pset_deflate(dcpl, 1);
  hid_t d = H5Dcreate2(file, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(sp);
  return d;
}

int mpsl_results_create(const char *path, const mpsl_res_attr *attrs, int n, int parts) {
  quiet_h5 q;
  quiet_begin(&q);
  int rc = -1;
  if (h5_make_parent(path)) goto out;
  hid_t f = open_file(path, H5F_ACC_TRUNC);
  if (f < 0) {
    mpsl_fail("%s: cannot create the results file", path);
    goto out;
  }
  char now[32];
  mpsl_utc_now(now, sizeof now);
  mpsl_res_attr own[] = {MPSL_ATTR_I("format_version", MPSL_RESULTS_FORMAT), MPSL_ATTR_S("started", now)};
  rc = set_text_room(f, "status", "running", STATUS_ROOM);
  for (int i = 0; i < 2 && !rc; i++) rc = set_attr(f, &own[i]);
  for (int i = 0; i < n && !rc; i++) rc = set_attr(f, &attrs[i]);
  for (int t = 0; t < MPSL_RES_NTABLES && !rc; t++) {
    hid_t ft = compound((mpsl_res_table)t, 1, parts);
    int ev = t == MPSL_RES_EVENTS;
    hid_t d = create_table(f, tables[t].name, ft, ev ? 1024 : 4096, !ev);
    rc = d < 0 ? -1 : 0;
    if (d >= 0) H5Dclose(d);
    H5Tclose(ft);
  }
  int err = close_file(f);
  if (rc || err) {
    /* nothing that looks like a results file stays behind */
    mpsl_fail("%s: cannot write the results file (%s)", path, why(err));
    unlink(path);
    rc = -1;
  }
out:
  quiet_end(&q);
  return rc;
}

static int append(hid_t f, mpsl_res_table t, const void *rows, int64_t n) {
  hid_t d = H5Dopen2(f, tables[t].name, H5P_DEFAULT);
  if (d < 0) return -1;
  hid_t mtype = write_type(t, d);
  hid_t sp = H5Dget_space(d);
  hsize_t have = 0, add = (hsize_t)n;
  H5Sget_simple_extent_dims(sp, &have, NULL);
  H5Sclose(sp);
  hsize_t size = have + add;
  int rc = H5Dset_extent(d, &size) < 0 ? -1 : 0;
  if (!rc && n > 0) {
    hid_t fs = H5Dget_space(d);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &have, NULL, &add, NULL);
    hid_t ms = H5Screate_simple(1, &add, NULL);
    rc = H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, rows) < 0 ? -1 : 0;
    H5Sclose(ms);
    H5Sclose(fs);
  }
  H5Tclose(mtype);
  H5Dclose(d);
  return rc;
}

int mpsl_results_append_many(const char *path, const mpsl_res_rows *sets, int n) {
  quiet_h5 q;
  quiet_begin(&q);
  int rc = -1, err = 0;
  hid_t f = open_file(path, H5F_ACC_RDWR);
  if (f >= 0) {
    rc = 0;
    for (int t = 0; t < n && !rc; t++) rc = append(f, sets[t].t, sets[t].rows, sets[t].n);
    err = close_file(f);
  }
  quiet_end(&q);
  if (!rc && !err) return 0;
  char names[128] = "";
  for (int i = 0, k = 0; i < n && k < (int)sizeof names; i++)
    k += snprintf(names + k, sizeof names - (size_t)k, "%s'%s'", i ? ", " : "", tables[sets[i].t].name);
  return mpsl_fail("%s: cannot append to %s %s (%s); %s", path, n > 1 ? "tables" : "table", names, why(err),
                   err && h5_commit_torn() ? "the file may be damaged" : "the file holds what it held before");
}

int mpsl_results_append(const char *path, mpsl_res_table t, const void *rows, int64_t n) {
  mpsl_res_rows one = {t, rows, n};
  return mpsl_results_append_many(path, &one, 1);
}

/* Rows of the first `keep` rounds, which come first: tables are appended round by round.
 * from1: the table counts rounds from 1 (every table of format 2; only `rounds` before). */
static int cut_table(hid_t f, const char *name, int keep, int from1) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) return -1;
  hid_t sp = H5Dget_space(d);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(sp, &n, NULL);
  H5Sclose(sp);
  int32_t *round = mpsl_xmalloc((size_t)(n ? n : 1) * sizeof *round, "rounds");
  hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(int32_t));
  H5Tinsert(mt, "round", 0, H5T_NATIVE_INT32);
  int rc = n && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, round) < 0 ? -1 : 0;
  hsize_t kept = 0;
  while (!rc && kept < n && round[kept] - from1 < keep) kept++;
  if (!rc && kept < n && H5Dset_extent(d, &kept) < 0) rc = -1;
  H5Tclose(mt);
  free(round);
  H5Dclose(d);
  return rc;
}

static int cut_all(hid_t f, int rounds) {
  int rc = 0;
  int64_t format = 1;
  if (H5Aexists(f, "format_version") > 0) {
    hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    if (a < 0 || one_value(a) != 1 || H5Aread(a, H5T_NATIVE_INT64, &format) < 0) rc = -1;
    if (a >= 0) H5Aclose(a);
  }
  for (int t = 0; t < MPSL_RES_NTABLES && !rc; t++)
    rc = cut_table(f, tables[t].name, rounds, format >= 2 || t == MPSL_RES_ROUNDS);
  return rc;
}

int mpsl_results_truncate(const char *path, int rounds) {
  quiet_h5 q;
  quiet_begin(&q);
  int rc = -1, err = 0;
  hid_t f = open_file(path, H5F_ACC_RDWR);
  if (f >= 0) {
    rc = cut_all(f, rounds);
    err = close_file(f);
  }
  quiet_end(&q);
  return rc || err ? mpsl_fail("%s: cannot cut the tables back to round %d (%s)", path, rounds, why(err)) : 0;
}

/* "running" with the room of STATUS_ROOM, and no `ended` */
static int status_running(hid_t f) {
  int rc = set_text_room(f, "status", "running", STATUS_ROOM);
  if (!rc && H5Aexists(f, "ended") > 0 && H5Adelete(f, "ended") < 0) rc = -1;
  return rc;
}

int mpsl_results_resume(const char *path, int rounds, const mpsl_res_attr *also, int n) {
  char *was = NULL, *format = NULL;
  if (mpsl_results_attr(path, "format_version", &format) || atoi(format) != MPSL_RESULTS_FORMAT) {
    int rc = mpsl_fail(
        "%s: a results file of format %s, this mpsl writes format %d: resume it with the mpsl that "
        "wrote it, or start again",
        path, format ? format : "1", MPSL_RESULTS_FORMAT);
    free(format);
    return rc;
  }
  free(format);
  mpsl_results_attr(path, "resumed_after", &was); /* absent before the first resume: "2,4" after two */
  int64_t after[64];
  int na = 0;
  for (char *p = was; p && *p && na < 63; p += *p == ',') after[na++] = strtoll(p, &p, 10);
  after[na++] = rounds;
  free(was);
  mpsl_res_attr *all = mpsl_xcalloc((size_t)n + 2, sizeof *all, "attributes");
  all[0] = (mpsl_res_attr)MPSL_ATTR_L("resumed_after", after, na);
  all[1] = (mpsl_res_attr)MPSL_ATTR_S("resumed_command", mpsl_command_line());
  for (int i = 0; i < n; i++) all[2 + i] = also[i];
  /* one step: a resume that cannot write (a full disk) leaves the file as it found it */
  quiet_h5 q;
  quiet_begin(&q);
  int rc = -1, err = 0;
  hid_t f = open_file(path, H5F_ACC_RDWR);
  if (f >= 0) {
    rc = cut_all(f, rounds);
    for (int i = 0; i < n + 2 && !rc; i++) rc = set_attr(f, &all[i]);
    if (!rc) rc = status_running(f);
    err = close_file(f);
  }
  quiet_end(&q);
  free(all);
  return rc || err ? mpsl_fail("%s: cannot resume it after round %d (%s)", path, rounds, why(err)) : 0;
}

static hid_t partition_type(int classes, int file) {
  hsize_t dims = (hsize_t)classes;
  hid_t i64 = file ? H5T_STD_I64LE : H5T_NATIVE_INT64;
  hid_t arr = H5Tarray_create2(i64, 1, &dims);
  hid_t c = H5Tcreate(H5T_COMPOUND, (size_t)(4 + classes) * 8);
  static const char *names[] = {"owner", "rank", "pipeline", "samples"};
  for (int i = 0; i < 4; i++) H5Tinsert(c, names[i], (size_t)i * 8, i64);
  H5Tinsert(c, "labels", 32, arr);
  H5Tclose(arr);
  return c;
}

int mpsl_results_partition(const char *path, const int64_t *rows, int K, int classes) {
  quiet_h5 q;
  quiet_begin(&q);
  int rc = -1, err = 0;
  hid_t f = open_file(path, H5F_ACC_RDWR);
  if (f >= 0) {
    hid_t ft = partition_type(classes, 1), mt = partition_type(classes, 0);
    hsize_t n = (hsize_t)K;
    hid_t sp = H5Screate_simple(1, &n, NULL);
    if (H5Lexists(f, "partition", H5P_DEFAULT) > 0) H5Ldelete(f, "partition", H5P_DEFAULT);
    hid_t d = H5Dcreate2(f, "partition", ft, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    rc = d >= 0 && H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0 ? 0 : -1;
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp);
    H5Tclose(ft);
    H5Tclose(mt);
    err = close_file(f);
  }
  quiet_end(&q);
  return rc || err ? mpsl_fail("%s: cannot write the partition (%s)", path, why(err)) : 0;
}

int mpsl_results_set_attrs(const char *path, const mpsl_res_attr *attrs, int n) {
  quiet_h5 q;
  quiet_begin(&q);
  int rc = -1, err = 0;
  hid_t f = open_file(path, H5F_ACC_RDWR);
  if (f >= 0) {
    rc = 0;
    for (int i = 0; i < n && !rc; i++) rc = set_attr(f, &attrs[i]);
    err = close_file(f);
  }
  quiet_end(&q);
  return rc || err ? mpsl_fail("%s: cannot set the attribute '%s' (%s)", path, n > 0 ? attrs[0].key : "", why(err)) : 0;
}

int mpsl_results_set_attr(const char *path, const char *key, const char *value) {
  mpsl_res_attr a = MPSL_ATTR_S(key, value);
  return mpsl_results_set_attrs(path, &a, 1);
}

/* One session: a status other than `running` goes with its `ended` and the attributes
 * `also`, in the room the status had (deleted first, so that they take its place in the
 * root's header rather than new space). If that fails (a full disk), the status alone is
 * written over the old one, cut to its room, so that the file still says why it stopped. */
int mpsl_results_set_status_with(const char *path, const char *status, const mpsl_res_attr *also, int n) {
  quiet_h5 q;
  quiet_begin(&q);
  int rc = -1, err = 0, running = !strcmp(status, "running");
  hid_t f = open_file(path, H5F_ACC_RDWR);
  if (f >= 0) {
    rc = 0;
    if (running) {
      rc = status_running(f);
    } else {
      char now[32];
      mpsl_utc_now(now, sizeof now);
      mpsl_res_attr e = MPSL_ATTR_S("ended", now);
      if (H5Aexists(f, "status") > 0 && H5Adelete(f, "status") < 0) rc = -1;
      for (int i = 0; i < n && !rc; i++) rc = set_attr(f, &also[i]);
      if (!rc) rc = set_attr(f, &e);
      if (!rc) rc = set_text(f, "status", status);
    }
    err = close_file(f);
  }
  if ((rc || err) && !running && (f = open_file(path, H5F_ACC_RDWR)) >= 0) {
    hid_t a = H5Aexists(f, "status") > 0 ? H5Aopen(f, "status", H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t ft = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    size_t room = ft >= 0 && H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) == 0 ? H5Tget_size(ft) : 0;
    if (ft >= 0) H5Tclose(ft);
    if (a >= 0) H5Aclose(a);
    if (room > 1) {
      char *cut = mpsl_xcalloc(room, 1, "status");
      snprintf(cut, room, "%s", status);
      set_text_room(f, "status", cut, room);
      free(cut);
    }
    close_file(f);
  }
  quiet_end(&q);
  return rc || err ? mpsl_fail("%s: cannot set the attribute 'status' (%s)", path, why(err)) : 0;
}

int mpsl_results_set_status(const char *path, const char *status) {
  return mpsl_results_set_status_with(path, status, NULL, 0);
}

static hid_t open_ro(const char *path) {
  if (access(path, R_OK) != 0) {
    mpsl_fail("%s: cannot open (%s)", path, strerror(errno));
    return H5I_INVALID_HID;
  }
  hid_t f = open_file(path, H5F_ACC_RDONLY);
  if (f < 0) mpsl_fail("%s: cannot open (not an mpsl results file?)", path);
  return f;
}

int mpsl_results_read(const char *path, mpsl_res_table t, void **rows, int64_t *n) {
  quiet_h5 q;
  quiet_begin(&q);
  *rows = NULL;
  *n = 0;
  int rc = -1;
  hid_t f = open_ro(path);
  if (f >= 0) {
    hid_t d = H5Dopen2(f, tables[t].name, H5P_DEFAULT);
    if (d < 0) {
      mpsl_fail("%s: no table '%s'", path, tables[t].name);
    } else {
      hid_t sp = H5Dget_space(d);
      hsize_t len = 0;
      /* dims gets one value per dimension: a table of another rank would overrun len */
      int rank = H5Sget_simple_extent_ndims(sp);
      if (rank == 1) H5Sget_simple_extent_dims(sp, &len, NULL);
      H5Sclose(sp);
      if (rank != 1) {
        mpsl_fail("%s: table '%s' has %d dimensions (expected one row per line)", path, tables[t].name, rank);
        H5Dclose(d);
        H5Fclose(f);
        quiet_end(&q);
        return -1;
      }
      /* the rows are stored, deflated at most about 1032:1: a table claiming more is a
       * corrupt file, refused before its rows are allocated */
      double stored = (double)H5Dget_storage_size(d);
      if ((double)len * (double)tables[t].size > 1100.0 * stored + (1 << 20)) {
        mpsl_fail("%s: table '%s' claims %llu rows but the file stores %.0f bytes of it", path, tables[t].name,
                  (unsigned long long)len, stored);
        H5Dclose(d);
        H5Fclose(f);
        quiet_end(&q);
        return -1;
      }
      *rows = mpsl_xcalloc(len ? len : 1, tables[t].size, "results rows");
      hid_t mt = compound(t, 0, 0);
      rc = len == 0 || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, *rows) >= 0 ? 0 : -1;
      if (rc) mpsl_fail("%s: cannot read table '%s'", path, tables[t].name);
      *n = (int64_t)len;
      H5Tclose(mt);
      H5Dclose(d);
    }
    H5Fclose(f);
  }
  quiet_end(&q);
  if (rc) {
    free(*rows);
    *rows = NULL;
  }
  return rc;
}

int mpsl_results_read_partition(const char *path, int64_t **rows, int *K, int *classes) {
  quiet_h5 q;
  quiet_begin(&q);
  *rows = NULL;
  *K = *classes = 0;
  int rc = -1;
  hid_t f = open_ro(path);
  if (f >= 0) {
    hid_t d = H5Dopen2(f, "partition", H5P_DEFAULT);
    if (d < 0) {
      mpsl_fail(
          "%s: no partition table (a run with compute = profiled reads no data; mpsl simulate writes one only "
          "when it can read the dataset)",
          path);
    } else {
      hid_t ft = H5Dget_type(d);
      int m = H5Tget_member_index(ft, "labels");
      hid_t at = m >= 0 ? H5Tget_member_type(ft, (unsigned)m) : H5I_INVALID_HID;
      hsize_t nc = 0, len = 0;
      /* dims get one value per dimension: only a list of counts fits nc, a table len */
      int lists = at < 0 || (H5Tget_class(at) == H5T_ARRAY && H5Tget_array_ndims(at) == 1);
      if (at >= 0 && lists) H5Tget_array_dims2(at, &nc);
      hid_t sp = H5Dget_space(d);
      int rank = H5Sget_simple_extent_ndims(sp);
      if (rank == 1) H5Sget_simple_extent_dims(sp, &len, NULL);
      H5Sclose(sp);
      /* the rows are stored, deflated at most about 1032:1 (as in mpsl_results_read): a
       * partition claiming more rows, or more owners or classes than an int counts, is a
       * corrupt file, refused before its rows are allocated */
      double stored = (double)H5Dget_storage_size(d), claimed = (double)len * (double)H5Tget_size(ft);
      int bad = rank != 1 || !lists;
      if (bad)
        mpsl_fail("%s: the partition is not a table of one row per data owner with a list of label counts", path);
      else if (len > INT_MAX || nc > 1 << 16 || claimed > 1100.0 * stored + (1 << 20))
        bad = mpsl_fail("%s: the partition claims %llu rows of %llu label counts but the file stores %.0f bytes of it",
                        path, (unsigned long long)len, (unsigned long long)nc, stored);
      if (bad) {
        if (at >= 0) H5Tclose(at);
        H5Tclose(ft);
        H5Dclose(d);
        H5Fclose(f);
        quiet_end(&q);
        return -1;
      }
      *K = (int)len;
      *classes = (int)nc;
      *rows = mpsl_xcalloc((len ? len : 1) * (4 + nc), sizeof **rows, "partition rows");
      hid_t mt = partition_type((int)nc, 0);
      rc = len == 0 || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, *rows) >= 0 ? 0 : -1;
      if (rc) mpsl_fail("%s: cannot read the partition", path);
      H5Tclose(mt);
      if (at >= 0) H5Tclose(at);
      H5Tclose(ft);
      H5Dclose(d);
    }
    H5Fclose(f);
  }
  quiet_end(&q);
  return rc;
}

/* A numeric attribute (a scalar, a 1-D array or a null dataspace) as text: integers in
 * decimal, doubles as the CSV writes them, booleans (an enumeration FALSE/TRUE) as
 * false/true, other enumerations as their names, comma-separated. */
static int number_text(hid_t a, hid_t ft, H5T_class_t cls, char **value) {
  hid_t sp = H5Aget_space(a);
  hssize_t n = H5Sget_simple_extent_type(sp) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(sp);
  H5Sclose(sp);
  if (n < 0) return -1;
  size_t cap = (size_t)n * 48 + 1;
  *value = mpsl_xcalloc(cap, 1, "attribute");
  if (n == 0) return 0;
  int isfloat = cls == H5T_FLOAT;
  void *buf = mpsl_xcalloc((size_t)n, 8, "attribute values");
  hid_t mt = cls == H5T_ENUM ? H5Tget_native_type(ft, H5T_DIR_ASCEND) : isfloat ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64;
  int rc = H5Aread(a, mt, buf) >= 0 ? 0 : -1;
  size_t k = 0, esize = cls == H5T_ENUM ? H5Tget_size(mt) : 8;
  for (hssize_t i = 0; i < n && !rc; i++) {
    char one[64];
    if (cls == H5T_ENUM) {
      if (H5Tenum_nameof(mt, (char *)buf + (size_t)i * esize, one, sizeof one) < 0) rc = -1;
      if (!strcmp(one, "TRUE")) snprintf(one, sizeof one, "true");
      if (!strcmp(one, "FALSE")) snprintf(one, sizeof one, "false");
    } else if (isfloat) {
      mpsl_res_real_str(((double *)buf)[i], one, sizeof one);
    } else {
      snprintf(one, sizeof one, "%" PRId64, ((int64_t *)buf)[i]);
    }
    k += (size_t)snprintf(*value + k, cap - k, "%s%s", i ? "," : "", one);
  }
  if (cls == H5T_ENUM) H5Tclose(mt);
  free(buf);
  return rc;
}

int mpsl_results_attr(const char *path, const char *key, char **value) {
  quiet_h5 q;
  quiet_begin(&q);
  *value = NULL;
  int rc = -1;
  hid_t f = open_ro(path);
  if (f >= 0) {
    hid_t a = H5Aexists(f, key) > 0 ? H5Aopen(f, key, H5P_DEFAULT) : H5I_INVALID_HID;
    if (a < 0) {
      mpsl_fail("%s: no attribute '%s'", path, key);
    } else {
      hid_t ft = H5Aget_type(a);
      H5T_class_t cls = H5Tget_class(ft);
      if (cls == H5T_STRING && one_value(a) != 1) {
        rc = -1; /* H5Aread writes every string: more than one would overrun the buffer */
      } else if (cls == H5T_STRING) {
        size_t sz = H5Tget_size(ft);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, sz + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        *value = mpsl_xcalloc(sz + 2, 1, "attribute");
        rc = H5Tis_variable_str(ft) <= 0 && H5Aread(a, mt, *value) >= 0 ? 0 : -1;
        H5Tclose(mt);
      } else if (cls == H5T_INTEGER || cls == H5T_FLOAT || cls == H5T_ENUM) {
        rc = number_text(a, ft, cls, value);
      }
      if (rc) mpsl_fail("%s: cannot read attribute '%s'", path, key);
      H5Tclose(ft);
      H5Aclose(a);
    }
    H5Fclose(f);
  }
  quiet_end(&q);
  if (rc) {
    free(*value);
    *value = NULL;
  }
  return rc;
}
