/* Weights in HDF5: round trip, subsets, each error message, and that h5py (the
 * PyTorch side) sees the same names, shapes, types and values as we do. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/weights.h"
#include "textfile.h"
#include "util/err.h"
#include "workdir.h"

/* Each test runs in its own empty directory, so messages name plain "w.h5". */
static void setup(void) { workdir_enter("weights"); }
static void teardown(void) { workdir_leave(); }

static int exists(const char *p) { return access(p, F_OK) == 0; }

/* A small model-like set: conv weight (4,1,3,3), bias (4), BN statistics, a linear
 * layer (3,36) and the int64 scalar PyTorch keeps per BN layer. Values are exact in
 * binary so sums compare as text. */
enum { NT = 6 };
static float conv_w[4 * 1 * 3 * 3], conv_b[4], bn_mean[4], bn_var[4], fc_w[3 * 36];
static int64_t bn_count = 7;

static void fill(float *p, int n, float scale, float offset) {
  for (int i = 0; i < n; i++) p[i] = (float)i * scale + offset;
}

static void make_set(mpsl_named_tensor t[NT]) {
  fill(conv_w, 36, 0.25f, -3.0f);
  fill(conv_b, 4, 0.5f, 1.0f);
  fill(bn_mean, 4, -0.125f, 0.0f);
  fill(bn_var, 4, 0.5f, 0.5f);
  fill(fc_w, 108, 0.0625f, -2.0f);
  mpsl_named_tensor s[NT] = {
      {"features.0.weight", MPSL_F32, 4, {4, 1, 3, 3}, conv_w},
      {"features.0.bias", MPSL_F32, 1, {4}, conv_b},
      {"features.1.running_mean", MPSL_F32, 1, {4}, bn_mean},
      {"features.1.running_var", MPSL_F32, 1, {4}, bn_var},
      {"features.1.num_batches_tracked", MPSL_I64, 0, {0}, &bn_count},
      {"classifier.weight", MPSL_F32, 2, {3, 36}, fc_w},
  };
  memcpy(t, s, sizeof s);
}

/* The same names and shapes pointing at fresh zeroed buffers. */
static void make_empty(const mpsl_named_tensor *src, mpsl_named_tensor *dst, int n) {
  for (int i = 0; i < n; i++) {
    dst[i] = src[i];
    size_t es = src[i].dtype == MPSL_I64 ? 8 : 4;
    dst[i].data = calloc((size_t)mpsl_tensor_numel(&src[i]), es);
  }
}

static void assert_same(const mpsl_named_tensor *a, const mpsl_named_tensor *b, int n) {
  for (int i = 0; i < n; i++) {
    size_t es = a[i].dtype == MPSL_I64 ? 8 : 4;
    ck_assert_msg(memcmp(a[i].data, b[i].data, es * (size_t)mpsl_tensor_numel(&a[i])) == 0,
                  "tensor %s differs after the round trip", a[i].name);
  }
}

static void free_set(mpsl_named_tensor *t, int n) {
  for (int i = 0; i < n; i++) free(t[i].data);
}

static void expect_fail(int rc, const char *want) {
  ck_assert_int_eq(rc, -1);
  ck_assert_str_eq(mpsl_errmsg(), want);
}

START_TEST(test_numel) {
  mpsl_named_tensor s = {"x", MPSL_I64, 0, {0}, NULL}, v = {"y", MPSL_F32, 3, {2, 3, 5}, NULL};
  ck_assert_int_eq(mpsl_tensor_numel(&s), 1);
  ck_assert_int_eq(mpsl_tensor_numel(&v), 30);
}
END_TEST

START_TEST(test_round_trip) {
  mpsl_named_tensor t[NT], r[NT];
  make_set(t);
  ck_assert_int_eq(mpsl_weights_save("w.h5", t, NT), 0);
  ck_assert(exists("w.h5"));
  ck_assert(!exists("w.h5.tmp"));
  make_empty(t, r, NT);
  ck_assert_msg(mpsl_weights_load("w.h5", r, NT) == 0, "%s", mpsl_errmsg());
  assert_same(t, r, NT);
  ck_assert_int_eq(*(int64_t *)r[4].data, 7);

  /* saving again replaces the file rather than adding to it */
  conv_b[0] = 42.0f;
  ck_assert_int_eq(mpsl_weights_save("w.h5", t, 2), 0);
  ck_assert_int_eq(mpsl_weights_load("w.h5", r, 2), 0);
  ck_assert(((float *)r[1].data)[0] == 42.0f);
  expect_fail(mpsl_weights_load("w.h5", &r[2], 1), "w.h5: no tensor 'features.1.running_mean'");
  free_set(r, NT);
}
END_TEST

START_TEST(test_subset) {
  mpsl_named_tensor t[NT], r[2];
  make_set(t);
  ck_assert_int_eq(mpsl_weights_save("w.h5", t, NT), 0);
  /* two of six, in another order than written */
  mpsl_named_tensor want[2] = {t[5], t[1]};
  make_empty(want, r, 2);
  ck_assert_msg(mpsl_weights_load("w.h5", r, 2) == 0, "%s", mpsl_errmsg());
  assert_same(want, r, 2);
  free_set(r, 2);
}
END_TEST

START_TEST(test_nested_names) {
  /* golden files keep several state_dicts side by side in groups */
  mpsl_named_tensor t[NT], r[1];
  make_set(t);
  snprintf(t[0].name, sizeof t[0].name, "init/features.0.weight");
  snprintf(t[5].name, sizeof t[5].name, "final/classifier.weight");
  ck_assert_int_eq(mpsl_weights_save("w.h5", t, NT), 0);
  make_empty(&t[5], r, 1);
  ck_assert_int_eq(mpsl_weights_load("w.h5", r, 1), 0);
  assert_same(&t[5], r, 1);
  snprintf(r[0].name, sizeof r[0].name, "grad0/classifier.weight");
  expect_fail(mpsl_weights_load("w.h5", r, 1), "w.h5: no tensor 'grad0/classifier.weight'");
  snprintf(r[0].name, sizeof r[0].name, "final");
  expect_fail(mpsl_weights_load("w.h5", r, 1), "w.h5: 'final' is not a tensor (a group?)");
  free_set(r, 1);
}
END_TEST

START_TEST(test_err_shape) {
  static float w[64 * 3 * 3 * 3], b[64];
  mpsl_named_tensor t[2] = {{"features.0.weight", MPSL_F32, 4, {64, 3, 3, 3}, w},
                            {"features.0.bias", MPSL_F32, 1, {64}, b}};
  ck_assert_int_eq(mpsl_weights_save("w.h5", t, 2), 0);
  t[0].dims[1] = 1;
  expect_fail(mpsl_weights_load("w.h5", t, 1),
              "w.h5: tensor 'features.0.weight' has shape (64,3,3,3), expected (64,1,3,3)");
  t[1].ndims = 2;
  t[1].dims[1] = 1;
  expect_fail(mpsl_weights_load("w.h5", &t[1], 1), "w.h5: tensor 'features.0.bias' has shape (64), expected (64,1)");
  /* a scalar is not a one-element vector */
  int64_t n = 3;
  mpsl_named_tensor s = {"bn1.num_batches_tracked", MPSL_I64, 0, {0}, &n};
  ck_assert_int_eq(mpsl_weights_save("w.h5", &s, 1), 0);
  s.ndims = 1;
  s.dims[0] = 1;
  expect_fail(mpsl_weights_load("w.h5", &s, 1), "w.h5: tensor 'bn1.num_batches_tracked' has shape (), expected (1)");
}
END_TEST

START_TEST(test_err_missing) {
  mpsl_named_tensor t[NT];
  make_set(t);
  ck_assert_int_eq(mpsl_weights_save("w.h5", t, NT), 0);
  static float b[3];
  mpsl_named_tensor want[2] = {t[0], {"fc.bias", MPSL_F32, 1, {3}, b}};
  expect_fail(mpsl_weights_load("w.h5", want, 2), "w.h5: no tensor 'fc.bias'");
}
END_TEST

START_TEST(test_err_type) {
  mpsl_named_tensor t[NT];
  make_set(t);
  ck_assert_int_eq(mpsl_weights_save("w.h5", t, NT), 0);
  float f;
  mpsl_named_tensor a = {"features.1.num_batches_tracked", MPSL_F32, 0, {0}, &f};
  expect_fail(mpsl_weights_load("w.h5", &a, 1),
              "w.h5: tensor 'features.1.num_batches_tracked' has type int64, expected float32");
  int64_t i[4];
  mpsl_named_tensor b = {"features.0.bias", MPSL_I64, 1, {4}, i};
  expect_fail(mpsl_weights_load("w.h5", &b, 1), "w.h5: tensor 'features.0.bias' has type float32, expected int64");
}
END_TEST

START_TEST(test_err_not_hdf5) {
  FILE *f = fopen("w.h5", "w");
  ck_assert_ptr_nonnull(f);
  fputs("not weights\n", f);
  fclose(f);
  mpsl_named_tensor t[NT];
  make_set(t);
  expect_fail(mpsl_weights_load("w.h5", t, 1), "w.h5: cannot open (not an HDF5 file?)");
  expect_fail(mpsl_weights_load("none.h5", t, 1), "none.h5: cannot open (No such file or directory)");
}
END_TEST

START_TEST(test_err_save) {
  mpsl_named_tensor t[NT];
  make_set(t);
  /* the folders on the way are made; a file in the way is an error */
  ck_assert_int_eq(mpsl_weights_save("new-dir/deeper/w.h5", t, NT), 0);
  ck_assert(exists("new-dir/deeper/w.h5"));
  FILE *f = fopen("afile", "w");
  ck_assert_ptr_nonnull(f);
  fclose(f);
  expect_fail(mpsl_weights_save("afile/w.h5", t, NT), "afile/w.h5.tmp: cannot create (Not a directory)");

  /* a failed save leaves the previous file untouched and no temporary behind */
  ck_assert_int_eq(mpsl_weights_save("w.h5", t, 2), 0);
  t[3] = t[2];
  expect_fail(mpsl_weights_save("w.h5", t, NT),
              "w.h5: cannot create tensor 'features.1.running_mean' (a duplicate name)");
  ck_assert(!exists("w.h5.tmp"));
  mpsl_named_tensor r[3];
  make_empty(t, r, 3);
  ck_assert_int_eq(mpsl_weights_load("w.h5", r, 2), 0);
  expect_fail(mpsl_weights_load("w.h5", &r[2], 1), "w.h5: no tensor 'features.1.running_mean'");
  free_set(r, 3);

  make_set(t);
  t[1].ndims = 5;
  expect_fail(mpsl_weights_save("w.h5", t, NT), "w.h5: tensor 'features.0.bias' has 5 dimensions (at most 4)");
}
END_TEST

/* ---- the PyTorch side, through h5py ---- */

static const char *python(void) {
  const char *p = getenv("MPSL_PYTHON");
  return p && *p ? p : "/usr/bin/python3";
}

static int have_h5py(void) {
  char cmd[4200];
  if (access(python(), X_OK) != 0) {
    printf("check_weights: %s not found, skipping the h5py check\n", python());
    return 0;
  }
  snprintf(cmd, sizeof cmd, "'%s' -c 'import h5py' >/dev/null 2>&1", python());
  if (system(cmd) != 0) {
    printf("check_weights: %s has no h5py, skipping the h5py check\n", python());
    return 0;
  }
  return 1;
}

static void run_python(const char *script, const char *arg, const char *out) {
  char cmd[8400];
  snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' >'%s' 2>&1", python(), script, arg, out);
  int rc = system(cmd);
  ck_assert_msg(rc == 0, "%s failed:\n%s", cmd, read_text(out));
}

START_TEST(test_h5py_reads) {
  if (!have_h5py()) return;
  mpsl_named_tensor t[NT];
  make_set(t);
  ck_assert_int_eq(mpsl_weights_save("w.h5", t, NT), 0);
  write_text("show.py",
             "import sys, h5py, numpy as np\n"
             "f = h5py.File(sys.argv[1], 'r')\n"
             "for k in f.keys():\n"
             "    d = f[k]\n"
             "    v = np.asarray(d[()], dtype=np.float64)\n"
             "    print(k, tuple(d.shape), d.dtype.str, '%.4f' % v.sum())\n");
  run_python("show.py", "w.h5", "out.txt");
  /* h5py lists root links in name order; '<' is little-endian */
  ck_assert_str_eq(read_text("out.txt"),
                   "classifier.weight (3, 36) <f4 145.1250\n"
                   "features.0.bias (4,) <f4 7.0000\n"
                   "features.0.weight (4, 1, 3, 3) <f4 49.5000\n"
                   "features.1.num_batches_tracked () <i8 7.0000\n"
                   "features.1.running_mean (4,) <f4 -0.7500\n"
                   "features.1.running_var (4,) <f4 5.0000\n");
}
END_TEST

START_TEST(test_h5py_writes) {
  if (!have_h5py()) return;
  /* as a PyTorch user would export a state_dict */
  write_text("make.py",
             "import sys, h5py, numpy as np\n"
             "with h5py.File(sys.argv[1], 'w') as f:\n"
             "    f['fc.weight'] = np.arange(6, dtype=np.float32).reshape(2, 3) / 4\n"
             "    f['fc.bias'] = np.array([1.5, -2.5], dtype=np.float32)\n"
             "    f['bn1.num_batches_tracked'] = np.int64(11)\n"
             "    f['bn1.running_var'] = np.ones(2, dtype=np.float64)\n");
  run_python("make.py", "p.h5", "out.txt");
  float w[6], b[2];
  int64_t n = 0;
  mpsl_named_tensor t[3] = {{"fc.weight", MPSL_F32, 2, {2, 3}, w},
                            {"fc.bias", MPSL_F32, 1, {2}, b},
                            {"bn1.num_batches_tracked", MPSL_I64, 0, {0}, &n}};
  ck_assert_msg(mpsl_weights_load("p.h5", t, 3) == 0, "%s", mpsl_errmsg());
  for (int i = 0; i < 6; i++) ck_assert(w[i] == (float)i / 4);
  ck_assert(b[0] == 1.5f && b[1] == -2.5f);
  ck_assert_int_eq(n, 11);
  float v[2];
  mpsl_named_tensor d = {"bn1.running_var", MPSL_F32, 1, {2}, v};
  expect_fail(mpsl_weights_load("p.h5", &d, 1), "p.h5: tensor 'bn1.running_var' has type float64, expected float32");
}
END_TEST

static Suite *weights_suite(void) {
  Suite *s = suite_create("weights");
  TCase *tc = tcase_create("hdf5");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_numel);
  tcase_add_test(tc, test_round_trip);
  tcase_add_test(tc, test_subset);
  tcase_add_test(tc, test_nested_names);
  tcase_add_test(tc, test_err_shape);
  tcase_add_test(tc, test_err_missing);
  tcase_add_test(tc, test_err_type);
  tcase_add_test(tc, test_err_not_hdf5);
  tcase_add_test(tc, test_err_save);
  tcase_add_test(tc, test_h5py_reads);
  tcase_add_test(tc, test_h5py_writes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(weights_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
