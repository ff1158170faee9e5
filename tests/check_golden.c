/* The engine against PyTorch: the golden files of tests/golden (written by
 * make_golden.py) hold a model's initial state, three SGD steps' inputs, and PyTorch's
 * losses, logits, step-0 gradients, final state and evaluation logits. The C engine,
 * unsplit and cut into parts, must match every one within 1e-4 relative: per tensor,
 * max|ours - torch| / max(max|torch|, FLOOR * the largest |torch| of its group).
 *
 * The floor makes the check an absolute one, 1e-4 x FLOOR of the group's scale, for tensors
 * far smaller than their group: a convolution bias that feeds a batch norm (its gradient
 * is 0 in exact arithmetic, both sides hold rounding noise) and the gradients of a
 * one-channel batch norm (a sum of thousands of cancelling products). Their rounding
 * depends on the kernels' summation order and so on the CPU: PyTorch itself, run on an
 * AVX2-only AMD EPYC, differs from these files (written on an AVX-512 CPU) by up to
 * 2.7e-7 of the group's scale, so the floor is 1e-2 (an absolute 1e-6 of the scale);
 * any real error in a gradient is orders of magnitude larger. */
#include <check.h>
#include <hdf5.h>
#include <stdio.h>

#include "nn/stack.h"
#include "nn_util.h"
#include "util/err.h"

#define TOL 1e-4
#define FLOOR 1e-2

static const char *cases[] = {"vgg11-cifar",    "vgg11_bn-cifar", "vgg11",   "vgg11_bn",
                              "resnet18-cifar", "resnet18",       "resnet50"};

static double attr_d(hid_t f, const char *name) {
  double v = 0;
  hid_t a = H5Aopen(f, name, H5P_DEFAULT);
  ck_assert_msg(a >= 0, "attribute %s", name);
  H5Aread(a, H5T_NATIVE_DOUBLE, &v);
  H5Aclose(a);
  return v;
}

static void attr_s(hid_t f, const char *name, char *buf, size_t n) {
  hid_t a = H5Aopen(f, name, H5P_DEFAULT), t = H5Aget_type(a);
  size_t sz = H5Tget_size(t);
  ck_assert(sz < n);
  memset(buf, 0, n);
  H5Aread(a, t, buf);
  H5Tclose(t);
  H5Aclose(a);
}

static void *read_all(hid_t f, const char *name, hid_t type, size_t elem) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  ck_assert_msg(d >= 0, "dataset %s", name);
  hid_t sp = H5Dget_space(d);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  void *buf = malloc((size_t)n * elem);
  H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  H5Sclose(sp);
  H5Dclose(d);
  return buf;
}

/* Loads group/<name> for each tensor into a scratch copy and compares, or loads into place. */
static void load_group(const char *path, const char *group, mpsl_named_tensor *t, int n, int into_place,
                       const char *what, int only_f32) {
  mpsl_named_tensor *g = calloc((size_t)n, sizeof *g);
  for (int i = 0; i < n; i++) {
    g[i] = t[i];
    snprintf(g[i].name, sizeof g[i].name, "%s/%s", group, t[i].name);
    if (!into_place) g[i].data = malloc((size_t)mpsl_tensor_numel(&t[i]) * 8);
  }
  ck_assert_msg(mpsl_weights_load(path, g, n) == 0, "%s", mpsl_errmsg());
  if (!into_place) {
    /* tensors far smaller than their group are measured against FLOOR x its scale */
    double scale = 0;
    for (int i = 0; i < n; i++)
      if (t[i].dtype == MPSL_F32)
        for (int64_t j = 0; j < mpsl_tensor_numel(&t[i]); j++) scale = fmax(scale, fabs(((float *)g[i].data)[j]));
    double worst = 0;
    const char *wname = "";
    for (int i = 0; i < n; i++) {
      if (t[i].dtype == MPSL_I64) {
        ck_assert_msg(*(int64_t *)t[i].data == *(int64_t *)g[i].data, "%s: %s is %lld, PyTorch %lld", what, t[i].name,
                      (long long)*(int64_t *)t[i].data, (long long)*(int64_t *)g[i].data);
      } else if (!only_f32 || t[i].dtype == MPSL_F32) {
        double e = tu_relerr(t[i].data, g[i].data, mpsl_tensor_numel(&t[i]), FLOOR * scale);
        if (e > worst) worst = e, wname = t[i].name;
        ck_assert_msg(e <= TOL, "%s: %s differs from PyTorch by %.3g relative", what, t[i].name, e);
      }
      free(g[i].data);
    }
    printf("  %-34s worst %.2g (%s)\n", what, worst, wname);
  }
  free(g);
}

static void run_case(const char *name, const int *cuts, int ncuts) {
  char path[1024];
  snprintf(path, sizeof path, "%s/tests/golden/%s.h5", MPSL_SRCDIR, name);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_msg(f >= 0, "cannot open %s (make golden writes it)", path);
  char model[64];
  attr_s(f, "model", model, sizeof model);
  mpsl_model_opts o = {(int)attr_d(f, "classes"), (int)attr_d(f, "channels"), (int)attr_d(f, "size"),
                       attr_d(f, "width")};
  int batch = (int)attr_d(f, "batch"), steps = (int)attr_d(f, "steps");
  float lr = (float)attr_d(f, "lr"), mom = (float)attr_d(f, "momentum"), wd = (float)attr_d(f, "weight_decay");
  uint64_t dseed;
  hid_t a = H5Aopen(f, "dropout_seed", H5P_DEFAULT);
  H5Aread(a, H5T_NATIVE_UINT64, &dseed);
  H5Aclose(a);
  float *x = read_all(f, "x", H5T_NATIVE_FLOAT, 4);
  int64_t *y64 = read_all(f, "y", H5T_NATIVE_INT64, 8);
  double *loss = read_all(f, "loss", H5T_NATIVE_DOUBLE, 8);
  float *logits0 = read_all(f, "logits0", H5T_NATIVE_FLOAT, 4);
  float *eval_logits = read_all(f, "eval_logits", H5T_NATIVE_FLOAT, 4);
  H5Fclose(f);

  mpsl_model m;
  ck_assert_int_eq(mpsl_model_build(&m, model, &o), 0);
  nn_stack s;
  ck_assert_msg(nn_stack_init(&s, &m, cuts, ncuts, batch) == 0, "%s", mpsl_errmsg());
  nn_stack_set_dropout_seed(&s, dseed);
  mpsl_named_tensor *t;
  int nt = nn_stack_tensors(&s, &t);
  load_group(path, "init", t, nt, 1, "init", 0);
  for (int i = 0; i < s.nparts; i++) nn_part_params_changed(s.parts[i]);
  printf("%s in %d part(s):\n", name, s.nparts);

  int64_t per = (int64_t)o.channels * o.size * o.size * batch;
  int32_t yb[64];
  for (int k = 0; k < steps; k++) {
    for (int i = 0; i < batch; i++) yb[i] = (int32_t)y64[k * batch + i];
    double l = nn_stack_forward_backward(&s, x + k * per, yb, NULL);
    ck_assert_msg(fabs(l - loss[k]) <= TOL * fabs(loss[k]), "%s: loss of step %d is %.7f, PyTorch %.7f", name, k, l,
                  loss[k]);
    if (k == 0) {
      double e = tu_relerr(nn_stack_logits(&s), logits0, (int64_t)batch * o.classes, 1e-4);
      ck_assert_msg(e <= TOL, "%s: step-0 logits differ by %.3g relative", name, e);
      mpsl_named_tensor *gt;
      int ng = nn_stack_grad_tensors(&s, &gt);
      load_group(path, "grad0", gt, ng, 0, "gradients of step 0", 1);
    }
    nn_stack_sgd(&s, lr, mom, wd);
  }
  nt = nn_stack_tensors(&s, &t);
  load_group(path, "final", t, nt, 0, "state after the steps", 0);
  float *ev = malloc((size_t)batch * o.classes * sizeof *ev);
  nn_stack_eval(&s, x, ev);
  double e = tu_relerr(ev, eval_logits, (int64_t)batch * o.classes, 1e-4);
  printf("  %-34s %.2g\n", "evaluation logits", e);
  ck_assert_msg(e <= TOL, "%s: evaluation logits differ by %.3g relative", name, e);
  free(ev);
  free(x);
  free(y64);
  free(loss);
  free(logits0);
  free(eval_logits);
  nn_stack_free(&s);
  mpsl_model_free(&m);
}

START_TEST(golden_unsplit) { run_case(cases[_i], NULL, 0); }
END_TEST

START_TEST(golden_split) {
  /* cut at a third and two thirds of the table */
  mpsl_model m;
  mpsl_model_opts o;
  mpsl_model_opts_default(&o);
  ck_assert_int_eq(mpsl_model_build(&m, cases[_i], &o), 0);
  int cuts[2] = {m.nlayers / 3, 2 * m.nlayers / 3};
  mpsl_model_free(&m);
  run_case(cases[_i], cuts, 2);
}
END_TEST

int main(void) {
  Suite *s = suite_create("golden");
  TCase *t = tcase_create("pytorch");
  tcase_set_timeout(t, 300);
  int n = (int)(sizeof cases / sizeof cases[0]);
  tcase_add_loop_test(t, golden_unsplit, 0, n);
  tcase_add_loop_test(t, golden_split, 0, n);
  suite_add_tcase(s, t);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
