/* A profile in HDF5: root attributes describe the run (model, batch, host, versions, the
 * whole-model cross-check) and one compound dataset `layers` holds a row per layer, so
 * h5py reads it as f["layers"]["fwd_s"] and h5dump prints it with column names. Both the
 * attributes and the columns are declared once below; writing and reading walk the same
 * tables, and the reader names the file and the key that is missing or malformed. */
#include <errno.h>
#include <hdf5.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu/profile.h"
#include "io/h5util.h"
#include "util/err.h"

typedef enum { F_INT, F_INT64, F_DOUBLE, F_STR } field_type;

typedef struct {
  const char *key;
  field_type type;
  size_t off, size;
  int optional; /* an attribute added after format 1: a file without it loads (see read_all) */
} field;

#define FIELD(st, member, t, opt) \
  { #member, t, offsetof(st, member), sizeof(((st *)0)->member), opt }
#define ATTR(member, t) FIELD(mpsl_profile, member, t, 0)
#define NEW_ATTR(member, t) FIELD(mpsl_profile, member, t, 1)
#define COL(member, t) FIELD(mpsl_profile_layer, member, t, 0)

static const field attrs[] = {
    ATTR(model, F_STR),
    ATTR(batch, F_INT),
    ATTR(classes, F_INT),
    ATTR(channels, F_INT),
    ATTR(size, F_INT),
    ATTR(width, F_DOUBLE),
    ATTR(reps, F_INT),
    ATTR(warmup, F_INT),
    ATTR(threads, F_INT),
    ATTR(host, F_STR),
    ATTR(dnnl_version, F_STR),
    ATTR(mpsl_version, F_STR),
    ATTR(date, F_STR),
    ATTR(whole_fwd_s, F_DOUBLE),
    ATTR(whole_bwd_s, F_DOUBLE),
    ATTR(whole_update_s, F_DOUBLE),
    ATTR(whole_step_s, F_DOUBLE),
    ATTR(whole_step_min_s, F_DOUBLE),
    ATTR(whole_step_max_s, F_DOUBLE),
    ATTR(layers_step_s, F_DOUBLE),
    ATTR(whole_bytes, F_INT64),
    NEW_ATTR(disturbed, F_INT),
    NEW_ATTR(cpu_ratio, F_DOUBLE),
    NEW_ATTR(others_load, F_DOUBLE),
};

static const field cols[] = {
    COL(index, F_INT),
    COL(name, F_STR),
    COL(kind, F_STR),
    COL(fwd_s, F_DOUBLE),
    COL(fwd_min_s, F_DOUBLE),
    COL(fwd_max_s, F_DOUBLE),
    COL(bwd_s, F_DOUBLE),
    COL(bwd_min_s, F_DOUBLE),
    COL(bwd_max_s, F_DOUBLE),
    COL(update_s, F_DOUBLE),
    COL(update_min_s, F_DOUBLE),
    COL(update_max_s, F_DOUBLE),
    COL(params_bytes, F_INT64),
    COL(grads_bytes, F_INT64),
    COL(optim_bytes, F_INT64),
    COL(act_bytes, F_INT64),
    COL(workspace_bytes, F_INT64),
    COL(out_bytes, F_INT64),
    COL(flops, F_INT64),
    COL(stats_bytes, F_INT64),
    COL(act_grad_bytes, F_INT64),
    COL(copy_bytes, F_INT64),
};

#define NATTRS ((int)(sizeof attrs / sizeof *attrs))
#define PROFILE_MAX_ROWS (1 << 16)
/* A layer's bytes (1 TiB) and forward FLOPs (10^15) at most. */
#define LAYER_MAX_BYTES ((int64_t)1 << 40)
#define LAYER_MAX_FLOPS ((int64_t)1000000000000000)
#define NCOLS ((int)(sizeof cols / sizeof *cols))

static const char table_description[] =
    "one row per layer of the model's table; times in seconds for the whole batch (median over reps, min, max): "
    "fwd = forward in training mode, bwd = backward (input gradient, except for layer 1, and parameter "
    "gradients), update = SGD with momentum; bytes at the profile's batch size";

/* ---- HDF5 plumbing ----------------------------------------------------------------- */

/* In memory: the native type of a field. In the file: a fixed little-endian type, and
 * strings as fixed-size, NUL-terminated. */
static hid_t field_type_of(const field *f, int in_file) {
  switch (f->type) {
    case F_INT: return H5Tcopy(in_file ? H5T_STD_I32LE : H5T_NATIVE_INT);
    case F_INT64: return H5Tcopy(in_file ? H5T_STD_I64LE : H5T_NATIVE_INT64);
    case F_DOUBLE: return H5Tcopy(in_file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE);
    case F_STR: {
      hid_t t = H5Tcopy(H5T_C_S1);
      H5Tset_size(t, f->size);
      H5Tset_strpad(t, H5T_STR_NULLTERM);
      return t;
    }
  }
  return H5I_INVALID_HID;
}

static H5T_class_t class_of(field_type t) { return t == F_STR ? H5T_STRING : t == F_DOUBLE ? H5T_FLOAT : H5T_INTEGER; }

static const char *type_words(field_type t) {
  return t == F_STR ? "a string" : t == F_DOUBLE ? "a number" : "an integer";
}

/* The row type: in memory the struct itself; in the file the same columns packed. */
static hid_t row_type(int in_file) {
  size_t total = 0;
  for (int i = 0; i < NCOLS; i++) total += cols[i].type == F_STR ? cols[i].size : cols[i].type == F_INT ? 4 : 8;
  hid_t t = H5Tcreate(H5T_COMPOUND, in_file ? total : sizeof(mpsl_profile_layer));
  size_t off = 0;
  for (int i = 0; i < NCOLS; i++) {
    hid_t ft = field_type_of(&cols[i], in_file);
    H5Tinsert(t, cols[i].key, in_file ? off : cols[i].off, ft);
    off += H5Tget_size(ft);
    H5Tclose(ft);
  }
  return t;
}

static int write_attr(hid_t obj, const field *f, const void *base) {
  hid_t ft = field_type_of(f, 1), mt = field_type_of(f, 0), sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, f->key, ft, sp, H5P_DEFAULT, H5P_DEFAULT);
  int rc = a >= 0 && H5Awrite(a, mt, (const char *)base + f->off) >= 0 ? 0 : -1;
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(mt);
  H5Tclose(ft);
  return rc;
}

static int write_text_attr(hid_t obj, const char *key, const char *text) {
  field f = {key, F_STR, 0, strlen(text) + 1, 0};
  return write_attr(obj, &f, text);
}

/* ---- writing ----------------------------------------------------------------------- */

static int write_all(hid_t file, const mpsl_profile *p) {
  if (write_text_attr(file, "format", MPSL_PROFILE_FORMAT)) return -1;
  for (int i = 0; i < NATTRS; i++)
    if (write_attr(file, &attrs[i], p)) return -1;
  hsize_t n = (hsize_t)p->nlayers;
  hid_t ft = row_type(1), mt = row_type(0), sp = H5Screate_simple(1, &n, NULL);
  hid_t d = H5Dcreate2(file, "layers", ft, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int rc = d >= 0 && H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->layers) >= 0 ? 0 : -1;
  if (rc == 0) rc = write_text_attr(d, "description", table_description);
  if (d >= 0) H5Dclose(d);
  H5Sclose(sp);
  H5Tclose(mt);
  H5Tclose(ft);
  return rc;
}

int mpsl_profile_save(const mpsl_profile *p, const char *path) {
  if (p->nlayers < 1 || !p->layers) return mpsl_fail("%s: the profile has no layers", path);
  h5_tmpfile w;
  if (h5_tmp_create_unique(&w, path)) return -1;
  int ok = write_all(w.file, p) == 0;
  if (!ok) mpsl_fail("%s: cannot write the profile (%s)", w.tmp, h5_detail());
  return h5_tmp_finish(&w, ok);
}

/* ---- reading ----------------------------------------------------------------------- */

static int read_attr(hid_t file, const char *path, const field *f, void *base) {
  if (H5Aexists(file, f->key) <= 0) return mpsl_fail("%s: no attribute '%s' (not an mpsl profile?)", path, f->key);
  hid_t a = H5Aopen(file, f->key, H5P_DEFAULT);
  hid_t ft = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
  hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
  /* H5Aread writes every element: an array attribute would overrun the field */
  hssize_t n = sp >= 0 && H5Sget_simple_extent_type(sp) != H5S_NULL ? H5Sget_simple_extent_npoints(sp) : -1;
  int rc = -1;
  if (ft < 0 || sp < 0) {
    mpsl_fail("%s: cannot read attribute '%s' (%s)", path, f->key, h5_detail());
  } else if (n != 1) {
    mpsl_fail("%s: attribute '%s' holds %lld values, expected one", path, f->key, (long long)(n < 0 ? 0 : n));
  } else if (H5Tget_class(ft) != class_of(f->type)) {
    mpsl_fail("%s: attribute '%s' is not %s", path, f->key, type_words(f->type));
  } else {
    hid_t mt = field_type_of(f, 0);
    char *dst = (char *)base + f->off;
    if (H5Aread(a, mt, dst) < 0)
      mpsl_fail("%s: cannot read attribute '%s' (%s)", path, f->key, h5_detail());
    else
      rc = 0;
    if (f->type == F_STR) dst[f->size - 1] = '\0';
    H5Tclose(mt);
  }
  if (sp >= 0) H5Sclose(sp);
  if (ft >= 0) H5Tclose(ft);
  if (a >= 0) H5Aclose(a);
  return rc;
}

static int check_columns(hid_t ft, const char *path) {
  if (H5Tget_class(ft) != H5T_COMPOUND) return mpsl_fail("%s: 'layers' is not a table (compound dataset)", path);
  for (int i = 0; i < NCOLS; i++) {
    int k = H5Tget_member_index(ft, cols[i].key);
    if (k < 0) return mpsl_fail("%s: table 'layers' has no column '%s'", path, cols[i].key);
    if (H5Tget_member_class(ft, (unsigned)k) != class_of(cols[i].type))
      return mpsl_fail("%s: column '%s' of table 'layers' is not %s", path, cols[i].key, type_words(cols[i].type));
  }
  return 0;
}

static int read_table(hid_t file, const char *path, mpsl_profile *p) {
  if (H5Lexists(file, "layers", H5P_DEFAULT) <= 0)
    return mpsl_fail("%s: no table 'layers' (not an mpsl profile?)", path);
  hid_t d = H5Dopen2(file, "layers", H5P_DEFAULT);
  if (d < 0) return mpsl_fail("%s: 'layers' is not a dataset", path);
  hid_t ft = H5Dget_type(d), sp = H5Dget_space(d), mt = H5I_INVALID_HID;
  int rc = -1;
  hsize_t n = 0;
  if (check_columns(ft, path)) goto done;
  if (H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, &n, NULL) != 1 || n < 1) {
    mpsl_fail("%s: table 'layers' must be one-dimensional with at least one row", path);
    goto done;
  }
  /* a row per layer: a count beyond any model's is a corrupt file, not a reason to
   * allocate its rows (nor to overflow nlayers) */
  if (n > PROFILE_MAX_ROWS) {
    mpsl_fail("%s: table 'layers' has %llu rows (expected at most %d, one per layer)", path, (unsigned long long)n,
              PROFILE_MAX_ROWS);
    goto done;
  }
  p->nlayers = (int)n;
  p->layers = mpsl_xcalloc((size_t)n, sizeof *p->layers, "profile layers");
  mt = row_type(0);
  if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->layers) < 0) {
    mpsl_fail("%s: cannot read table 'layers' (%s)", path, h5_detail());
    goto done;
  }
  for (int i = 0; i < p->nlayers; i++) {
    mpsl_profile_layer *r = &p->layers[i];
    r->name[sizeof r->name - 1] = r->kind[sizeof r->kind - 1] = '\0';
    if (r->index != i + 1) {
      mpsl_fail("%s: table 'layers': row %d has index %d (rows must be layers 1..%d in order)", path, i + 1, r->index,
                p->nlayers);
      goto done;
    }
    /* sizes beyond any layer's are a corrupt file: bounded, every sum over the rows stays
     * far inside int64 */
    const struct {
      const char *name;
      int64_t v, max;
    } sz[] = {{"params_bytes", r->params_bytes, LAYER_MAX_BYTES},   {"grads_bytes", r->grads_bytes, LAYER_MAX_BYTES},
              {"optim_bytes", r->optim_bytes, LAYER_MAX_BYTES},     {"act_bytes", r->act_bytes, LAYER_MAX_BYTES},
              {"workspace_bytes", r->workspace_bytes, LAYER_MAX_BYTES}, {"out_bytes", r->out_bytes, LAYER_MAX_BYTES},
              {"flops", r->flops, LAYER_MAX_FLOPS},                 {"stats_bytes", r->stats_bytes, LAYER_MAX_BYTES},
              {"act_grad_bytes", r->act_grad_bytes, LAYER_MAX_BYTES}, {"copy_bytes", r->copy_bytes, LAYER_MAX_BYTES}};
    for (size_t j = 0; j < sizeof sz / sizeof *sz; j++)
      if (sz[j].v < 0 || sz[j].v > sz[j].max) {
        mpsl_fail("%s: table 'layers': row %d: %s = %lld (expected 0 .. %lld)", path, i + 1, sz[j].name,
                  (long long)sz[j].v, (long long)sz[j].max);
        goto done;
      }
  }
  rc = 0;
done:
  if (mt >= 0) H5Tclose(mt);
  H5Sclose(sp);
  H5Tclose(ft);
  H5Dclose(d);
  return rc;
}

static int read_all(hid_t file, const char *path, mpsl_profile *p) {
  char format[64] = "";
  field ff = {"format", F_STR, 0, sizeof format, 0};
  if (read_attr(file, path, &ff, format)) return -1;
  if (strcmp(format, MPSL_PROFILE_FORMAT))
    return mpsl_fail("%s: attribute 'format' is '%s', expected '%s'", path, format, MPSL_PROFILE_FORMAT);
  /* Profiles written before mpsl recorded how busy the cores were lack disturbed,
   * cpu_ratio and others_load: they load as -1, "unknown", rather than being refused, since
   * their times may well be good and re-measuring costs minutes to hours; nothing warns
   * about them (mpsl profile --show prints "not recorded"). */
  p->disturbed = -1;
  p->cpu_ratio = p->others_load = -1;
  for (int i = 0; i < NATTRS; i++) {
    if (attrs[i].optional && H5Aexists(file, attrs[i].key) <= 0) continue;
    if (read_attr(file, path, &attrs[i], p)) return -1;
  }
  if (p->disturbed < -1 || p->disturbed > 1)
    return mpsl_fail("%s: attribute 'disturbed' is %d, expected 0 or 1", path, p->disturbed);
  if (p->batch < 1) return mpsl_fail("%s: attribute 'batch' is %d, expected at least 1", path, p->batch);
  return read_table(file, path, p);
}

int mpsl_profile_load(mpsl_profile *p, const char *path) {
  memset(p, 0, sizeof *p);
  if (access(path, R_OK) != 0) return mpsl_fail("%s: cannot open profile (%s)", path, strerror(errno));
  quiet_h5 q;
  quiet_begin(&q);
  int rc = -1;
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) {
    mpsl_fail("%s: cannot open profile (not an HDF5 file?)", path);
  } else {
    rc = read_all(file, path, p);
    H5Fclose(file);
  }
  quiet_end(&q);
  if (rc) mpsl_profile_free(p);
  return rc;
}
