/* Weights in HDF5. Every user-visible failure is one mpsl_fail line; HDF5's own
 * error-stack printing is switched off while we call it and restored afterwards, and
 * the innermost HDF5 message is appended only where it says more than we can. */
#include "io/weights.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5util.h"
#include "util/err.h"

int64_t mpsl_tensor_numel(const mpsl_named_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndims; d++) n *= t->dims[d];
  return n;
}

static const char *dtype_name(mpsl_dtype t) { return t == MPSL_I64 ? "int64" : t == MPSL_F64 ? "float64" : "float32"; }

static void format_shape(char *buf, size_t cap, int ndims, const hsize_t *dims) {
  size_t k = (size_t)snprintf(buf, cap, "(");
  for (int d = 0; d < ndims && k < cap; d++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%llu", d ? "," : "", (unsigned long long)dims[d]);
  if (k < cap) snprintf(buf + k, cap - k, ")");
}

/* What a stored type is, in the words a PyTorch user knows. */
static void describe_type(char *buf, size_t cap, hid_t type) {
  H5T_class_t cls = H5Tget_class(type);
  size_t bits = 8 * H5Tget_size(type);
  if (cls == H5T_FLOAT)
    snprintf(buf, cap, "float%zu", bits);
  else if (cls == H5T_INTEGER)
    snprintf(buf, cap, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", bits);
  else
    snprintf(buf, cap, "a non-numeric type");
}

static int type_matches(hid_t type, mpsl_dtype want) {
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  if (want == MPSL_F32 || want == MPSL_F64) return cls == H5T_FLOAT && size == (want == MPSL_F32 ? 4 : 8);
  return cls == H5T_INTEGER && size == 8 && H5Tget_sign(type) == H5T_SGN_2;
}

static int check_tensor(const char *path, const mpsl_named_tensor *t) {
  size_t len = strnlen(t->name, sizeof t->name);
  if (len == 0 || len == sizeof t->name) return mpsl_fail("%s: tensor with an empty or unterminated name", path);
  if (t->dtype != MPSL_F32 && t->dtype != MPSL_I64 && t->dtype != MPSL_F64)
    return mpsl_fail("%s: tensor '%s' has unknown dtype %d", path, t->name, (int)t->dtype);
  if (t->ndims < 0 || t->ndims > 4)
    return mpsl_fail("%s: tensor '%s' has %d dimensions (at most 4)", path, t->name, t->ndims);
  for (int d = 0; d < t->ndims; d++)
    if (t->dims[d] < 0) return mpsl_fail("%s: tensor '%s' has a negative dimension", path, t->name);
  if (!t->data && mpsl_tensor_numel(t) > 0) return mpsl_fail("%s: tensor '%s' has no data", path, t->name);
  return 0;
}

static int write_one(hid_t file, const char *path, const mpsl_named_tensor *t) {
  hsize_t dims[4];
  for (int d = 0; d < t->ndims; d++) dims[d] = (hsize_t)t->dims[d];
  hid_t ftype = t->dtype == MPSL_I64 ? H5T_STD_I64LE : t->dtype == MPSL_F64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
  hid_t mtype = t->dtype == MPSL_I64 ? H5T_NATIVE_INT64 : t->dtype == MPSL_F64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
  int rc = -1;
  hid_t space = t->ndims == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(t->ndims, dims, NULL);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hid_t set = H5I_INVALID_HID;
  if (space < 0 || lcpl < 0 || dcpl < 0) goto fail;
  /* "init/conv1.weight" makes the group "init"; no timestamps, so equal weights give equal bytes */
  if (H5Pset_create_intermediate_group(lcpl, 1) < 0 || H5Pset_obj_track_times(dcpl, 0) < 0) goto fail;
  set = H5Dcreate2(file, t->name, ftype, space, lcpl, dcpl, H5P_DEFAULT);
  if (set < 0) {
    const char *why = H5Lexists(file, t->name, H5P_DEFAULT) > 0 ? "a duplicate name" : h5_detail();
    mpsl_fail("%s: cannot create tensor '%s' (%s)", path, t->name, why);
    goto done;
  }
  if (mpsl_tensor_numel(t) > 0 && H5Dwrite(set, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) < 0) goto fail;
  rc = 0;
  goto done;
fail:
  mpsl_fail("%s: cannot write tensor '%s' (%s)", path, t->name, h5_detail());
done:
  if (set >= 0) H5Dclose(set);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (lcpl >= 0) H5Pclose(lcpl);
  if (space >= 0) H5Sclose(space);
  return rc;
}

int mpsl_weights_save(const char *path, const mpsl_named_tensor *t, int n) {
  for (int i = 0; i < n; i++)
    if (check_tensor(path, &t[i]) < 0) return -1;

  h5_tmpfile w;
  if (h5_tmp_create(&w, path)) return -1;
  int ok = 1;
  for (int i = 0; i < n && ok; i++) ok = write_one(w.file, path, &t[i]) == 0;
  return h5_tmp_finish(&w, ok);
}

/* H5Lexists needs every group on the way to exist, so a nested name is walked one
 * component at a time. */
static int name_exists(hid_t file, const char *name) {
  char buf[sizeof((mpsl_named_tensor *)0)->name];
  snprintf(buf, sizeof buf, "%s", name);
  for (char *p = buf; (p = strchr(p, '/')) != NULL; p++) {
    *p = '\0';
    int e = buf[0] ? H5Lexists(file, buf, H5P_DEFAULT) > 0 : 1;
    *p = '/';
    if (!e) return 0;
  }
  return H5Lexists(file, buf, H5P_DEFAULT) > 0;
}

/* A NaN or an infinity in a stored tensor would spread through every step that uses it:
 * the first one is named by the tensor and its index. */
static int check_finite(const char *path, const mpsl_named_tensor *t) {
  int64_t n = mpsl_tensor_numel(t), at = -1;
  double v = 0;
  if (t->dtype == MPSL_F32) {
    const float *f = t->data;
    for (int64_t i = 0; i < n && at < 0; i++)
      if (!isfinite(f[i])) at = i, v = f[i];
  } else if (t->dtype == MPSL_F64) {
    const double *d = t->data;
    for (int64_t i = 0; i < n && at < 0; i++)
      if (!isfinite(d[i])) at = i, v = d[i];
  }
  if (at < 0) return 0;
  char index[128];
  size_t k = (size_t)snprintf(index, sizeof index, "[");
  for (int d = 0; d < t->ndims && k < sizeof index; d++) {
    int64_t stride = 1;
    for (int e = d + 1; e < t->ndims; e++) stride *= t->dims[e];
    k += (size_t)snprintf(index + k, sizeof index - k, "%s%lld", d ? "," : "", (long long)((at / stride) % t->dims[d]));
  }
  if (k < sizeof index) snprintf(index + k, sizeof index - k, "]");
  const char *what = isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
  return mpsl_fail("%s: tensor '%s' holds %s at %s (element %lld of %lld): expected finite values", path, t->name, what,
                   t->ndims ? index : "the scalar", (long long)at, (long long)n);
}

static int read_one(hid_t file, const char *path, mpsl_named_tensor *t) {
  if (!name_exists(file, t->name)) return mpsl_fail("%s: no tensor '%s'", path, t->name);
  hsize_t have[H5S_MAX_RANK], want[4];
  hid_t mtype = t->dtype == MPSL_I64 ? H5T_NATIVE_INT64 : t->dtype == MPSL_F64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
  int rc = -1, nd, same;
  hid_t set = H5Dopen2(file, t->name, H5P_DEFAULT);
  hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID;
  if (set < 0) {
    mpsl_fail("%s: '%s' is not a tensor (a group?)", path, t->name);
    goto done;
  }
  type = H5Dget_type(set);
  space = H5Dget_space(set);
  if (type < 0 || space < 0) {
    mpsl_fail("%s: cannot read tensor '%s' (%s)", path, t->name, h5_detail());
    goto done;
  }
  if (!type_matches(type, t->dtype)) {
    char got[32];
    describe_type(got, sizeof got, type);
    mpsl_fail("%s: tensor '%s' has type %s, expected %s", path, t->name, got, dtype_name(t->dtype));
    goto done;
  }
  if (H5Sget_simple_extent_type(space) == H5S_NULL) {
    mpsl_fail("%s: tensor '%s' holds no data", path, t->name);
    goto done;
  }
  nd = H5Sget_simple_extent_dims(space, have, NULL);
  same = nd == t->ndims;
  for (int d = 0; d < t->ndims; d++) {
    want[d] = (hsize_t)t->dims[d];
    if (same && have[d] != want[d]) same = 0;
  }
  if (!same) {
    char hs[160], ws[96];
    format_shape(hs, sizeof hs, nd < 0 ? 0 : nd, have);
    format_shape(ws, sizeof ws, t->ndims, want);
    mpsl_fail("%s: tensor '%s' has shape %s, expected %s", path, t->name, hs, ws);
    goto done;
  }
  if (mpsl_tensor_numel(t) > 0 && H5Dread(set, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) < 0) {
    mpsl_fail("%s: cannot read tensor '%s' (%s)", path, t->name, h5_detail());
    goto done;
  }
  rc = check_finite(path, t);
done:
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  if (set >= 0) H5Dclose(set);
  return rc;
}

int mpsl_weights_load(const char *path, mpsl_named_tensor *t, int n) {
  for (int i = 0; i < n; i++)
    if (check_tensor(path, &t[i]) < 0) return -1;
  if (access(path, R_OK) != 0) return mpsl_fail("%s: cannot open (%s)", path, strerror(errno));

  quiet_h5 q;
  quiet_begin(&q);
  int rc = -1;
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) {
    mpsl_fail("%s: cannot open (not an HDF5 file?)", path);
  } else {
    rc = 0;
    for (int i = 0; i < n && rc == 0; i++) rc = read_one(file, path, &t[i]);
    H5Fclose(file);
  }
  quiet_end(&q);
  return rc;
}
