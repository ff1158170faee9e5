/* Results in HDF5: tables described once by field lists, so the writer, the reader and
 * the CSV export cannot disagree about a column. */
#include "io/results.h"

#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5util.h"
#include "util/err.h"

typedef enum { F_I32, F_I64, F_F64 } field_type;
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

static const field round_fields[] = {I32(mpsl_res_round, round),     F64(mpsl_res_round, wall_s),
                                     F64(mpsl_res_round, time_s),    F64(mpsl_res_round, train_loss),
                                     F64(mpsl_res_round, test_loss), F64(mpsl_res_round, test_acc),
                                     I64(mpsl_res_round, overruns)};
static const field event_fields[] = {
    I32(mpsl_res_event, round), I32(mpsl_res_event, rank),       I32(mpsl_res_event, role), I32(mpsl_res_event, owner),
    I32(mpsl_res_event, batch), I32(mpsl_res_event, direction),  I32(mpsl_res_event, part), F64(mpsl_res_event, start),
    F64(mpsl_res_event, end),   F64(mpsl_res_event, queue_wait), I64(mpsl_res_event, bytes)};
static const field memory_fields[] = {
    I32(mpsl_res_memory, round),       I32(mpsl_res_memory, rank),      I32(mpsl_res_memory, role),
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
    if (f->type == F_I32)
      k += snprintf(buf + k, (size_t)(cap - k), "%s%d", sep, *(const int32_t *)(const void *)(r + f->off));
    else if (f->type == F_I64)
      k += snprintf(buf + k, (size_t)(cap - k), "%s%" PRId64, sep, *(const int64_t *)(const void *)(r + f->off));
    else
      k += snprintf(buf + k, (size_t)(cap - k), "%s%.9g", sep, *(const double *)(const void *)(r + f->off));
  }
}

/* Memory and file types are the same compound, little-endian on disk. */
static hid_t compound(mpsl_res_table t, int file) {
  hid_t c = H5Tcreate(H5T_COMPOUND, tables[t].size);
  for (int i = 0; i < tables[t].n; i++) {
    const field *f = &tables[t].f[i];
    hid_t ty = f->type == F_I32   ? (file ? H5T_STD_I32LE : H5T_NATIVE_INT32)
               : f->type == F_I64 ? (file ? H5T_STD_I64LE : H5T_NATIVE_INT64)
                                  : (file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE);
    H5Tinsert(c, f->name, f->off, ty);
  }
  return c;
}

/* Without file locks: `mpsl report` reading a file while the run appends to it must not
 * make the run's next open fail (each open is short, and a reader that catches a write
 * half-done just reports an error). A writer retries a few times before giving up. */
static hid_t open_file(const char *path, unsigned mode) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_file_locking(fapl, 0, 1);
  hid_t f = H5I_INVALID_HID;
  for (int tries = 0; tries < (mode == H5F_ACC_RDWR ? 20 : 1) && f < 0; tries++) {
    if (tries) usleep(50000);
    f = mode == H5F_ACC_TRUNC ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : H5Fopen(path, mode, fapl);
  }
  H5Pclose(fapl);
  return f;
}

static int set_attr(hid_t obj, const char *key, const char *value) {
  if (H5Aexists(obj, key) > 0) H5Adelete(obj, key);
  hid_t ty = H5Tcopy(H5T_C_S1);
  H5Tset_size(ty, strlen(value) + 1);
  H5Tset_strpad(ty, H5T_STR_NULLTERM);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, key, ty, sp, H5P_DEFAULT, H5P_DEFAULT);
  int rc = a >= 0 && H5Awrite(a, ty, value) >= 0 ? 0 : -1;
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(ty);
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

int mpsl_results_create(const char *path, const mpsl_res_attr *attrs, int n) {
  quiet_h5 q;
  quiet_begin(&q);
  int rc = -1;
  if (h5_make_parent(path)) goto out;
  hid_t f = open_file(path, H5F_ACC_TRUNC);
  if (f < 0) {
    mpsl_fail("%s: cannot create the results file", path);
    goto out;
  }
  rc = set_attr(f, "status", "running");
  for (int i = 0; i < n && !rc; i++) rc = set_attr(f, attrs[i].key, attrs[i].value);
  for (int t = 0; t < MPSL_RES_NTABLES && !rc; t++) {
    hid_t ft = compound((mpsl_res_table)t, 1);
    int ev = t == MPSL_RES_EVENTS;
    hid_t d = create_table(f, tables[t].name, ft, ev ? 1024 : 4096, !ev);
    rc = d < 0 ? -1 : 0;
    if (d >= 0) H5Dclose(d);
    H5Tclose(ft);
  }
  if (H5Fclose(f) < 0) rc = -1;
  if (rc) mpsl_fail("%s: cannot write the results file", path);
out:
  quiet_end(&q);
  return rc;
}

static int append(hid_t f, const char *name, hid_t mtype, const void *rows, int64_t n) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) return -1;
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
  H5Dclose(d);
  return rc;
}

int mpsl_results_append(const char *path, mpsl_res_table t, const void *rows, int64_t n) {
  quiet_h5 q;
  quiet_begin(&q);
  int rc = -1;
  hid_t f = open_file(path, H5F_ACC_RDWR);
  if (f >= 0) {
    hid_t mt = compound(t, 0);
    rc = append(f, tables[t].name, mt, rows, n);
    H5Tclose(mt);
    if (H5Fclose(f) < 0) rc = -1;
  }
  quiet_end(&q);
  return rc ? mpsl_fail("%s: cannot append to table '%s'", path, tables[t].name) : 0;
}

/* Rows whose round is below `keep` (0-based rounds; the rounds table counts from 1), which
 * come first: tables are appended round by round. */
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

int mpsl_results_truncate(const char *path, int rounds) {
  quiet_h5 q;
  quiet_begin(&q);
  int rc = -1;
  hid_t f = open_file(path, H5F_ACC_RDWR);
  if (f >= 0) {
    rc = 0;
    for (int t = 0; t < MPSL_RES_NTABLES && !rc; t++) rc = cut_table(f, tables[t].name, rounds, t == MPSL_RES_ROUNDS);
    if (H5Fclose(f) < 0) rc = -1;
  }
  quiet_end(&q);
  return rc ? mpsl_fail("%s: cannot cut the tables back to round %d", path, rounds) : 0;
}

int mpsl_results_resume(const char *path, int rounds) {
  char *was = NULL, resumed[1024];
  mpsl_results_attr(path, "resumed_after", &was); /* absent before the first resume */
  snprintf(resumed, sizeof resumed, "%s%s%d", was ? was : "", was ? "," : "", rounds);
  free(was);
  return mpsl_results_truncate(path, rounds) || mpsl_results_set_status(path, "running") ||
                 mpsl_results_set_attr(path, "resumed_after", resumed)
             ? -1
             : 0;
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
  int rc = -1;
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
    if (H5Fclose(f) < 0) rc = -1;
  }
  quiet_end(&q);
  return rc ? mpsl_fail("%s: cannot write the partition", path) : 0;
}

int mpsl_results_set_attr(const char *path, const char *key, const char *value) {
  quiet_h5 q;
  quiet_begin(&q);
  int rc = -1;
  hid_t f = open_file(path, H5F_ACC_RDWR);
  if (f >= 0) {
    rc = set_attr(f, key, value);
    if (H5Fclose(f) < 0) rc = -1;
  }
  quiet_end(&q);
  return rc ? mpsl_fail("%s: cannot set the attribute '%s'", path, key) : 0;
}

int mpsl_results_set_status(const char *path, const char *status) {
  return mpsl_results_set_attr(path, "status", status);
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
      H5Sget_simple_extent_dims(sp, &len, NULL);
      H5Sclose(sp);
      *rows = mpsl_xcalloc(len ? len : 1, tables[t].size, "results rows");
      hid_t mt = compound(t, 0);
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
      mpsl_fail("%s: no partition", path);
    } else {
      hid_t ft = H5Dget_type(d);
      int m = H5Tget_member_index(ft, "labels");
      hid_t at = m >= 0 ? H5Tget_member_type(ft, (unsigned)m) : H5I_INVALID_HID;
      hsize_t nc = 0, len = 0;
      if (at >= 0) H5Tget_array_dims2(at, &nc);
      hid_t sp = H5Dget_space(d);
      H5Sget_simple_extent_dims(sp, &len, NULL);
      H5Sclose(sp);
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
      size_t sz = H5Tget_size(ft);
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, sz + 1);
      H5Tset_strpad(mt, H5T_STR_NULLTERM);
      *value = mpsl_xcalloc(sz + 2, 1, "attribute");
      rc = H5Tis_variable_str(ft) <= 0 && H5Aread(a, mt, *value) >= 0 ? 0 : -1;
      if (rc) mpsl_fail("%s: cannot read attribute '%s'", path, key);
      H5Tclose(mt);
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
