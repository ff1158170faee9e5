/* Splitting is exact arithmetic: a model cut into 2, 3 or 4 parts in one process trains
 * to the same weights as the unsplit model. */
#include <check.h>
#include <stdio.h>

#include "nn/stack.h"
#include "nn_util.h"
#include "util/err.h"

static void train(nn_stack *s, int steps, float *x, int32_t *y, int64_t nx, int classes) {
  nn_stack_init_weights(s, 7);
  nn_stack_set_dropout_seed(s, 5);
  for (int k = 0; k < steps; k++) {
    tu_fill(x, nx, 1000 + k, 1.0);
    for (int i = 0; i < s->batch; i++) y[i] = (i * 7 + k) % classes;
    nn_stack_train_step(s, x, y, 0.05f, 0.9f, 1e-3f, NULL);
  }
}

static void check_model(const char *name, double width, const int cutsets[][3], int ncutsets) {
  mpsl_model m;
  mpsl_model_opts o;
  mpsl_model_opts_default(&o);
  o.width = width;
  ck_assert_int_eq(mpsl_model_build(&m, name, &o), 0);
  const int batch = 4, steps = 4;
  int64_t nx = (int64_t)batch * o.channels * o.size * o.size;
  float *x = malloc(nx * sizeof *x);
  int32_t y[4];
  nn_stack ref;
  ck_assert_int_eq(nn_stack_init(&ref, &m, NULL, 0, batch), 0);
  train(&ref, steps, x, y, nx, m.classes);
  mpsl_named_tensor *rt;
  int nr = nn_stack_tensors(&ref, &rt);
  for (int c = 0; c < ncutsets; c++) {
    int cuts[3], nc = 0;
    for (int i = 0; i < 3 && cutsets[c][i]; i++) cuts[nc++] = cutsets[c][i];
    nn_stack s;
    ck_assert_msg(nn_stack_init(&s, &m, cuts, nc, batch) == 0, "%s", mpsl_errmsg());
    train(&s, steps, x, y, nx, m.classes);
    mpsl_named_tensor *st;
    int ns = nn_stack_tensors(&s, &st);
    ck_assert_int_eq(ns, nr);
    double worst = 0;
    for (int i = 0; i < nr; i++) {
      ck_assert_str_eq(st[i].name, rt[i].name);
      if (st[i].dtype != MPSL_F32) {
        ck_assert(*(int64_t *)st[i].data == *(int64_t *)rt[i].data);
        continue;
      }
      double e = tu_relerr(st[i].data, rt[i].data, mpsl_tensor_numel(&rt[i]), 1e-4);
      ck_assert_msg(e <= 1e-5, "%s cut into %d parts: %s differs by %.3g relative", name, nc + 1, rt[i].name, e);
      if (e > worst) worst = e;
    }
    printf("%-16s %d parts: worst relative difference after %d steps %.2g\n", name, nc + 1, steps, worst);
    nn_stack_free(&s);
  }
  nn_stack_free(&ref);
  free(x);
  mpsl_model_free(&m);
}

START_TEST(split_vgg_bn) {
  static const int cuts[][3] = {{7, 0, 0}, {3, 12, 0}, {2, 9, 20}};
  check_model("vgg11_bn-cifar", 0.125, cuts, 3);
}
END_TEST

START_TEST(split_vgg_dropout) {
  static const int cuts[][3] = {{22, 0, 0}, {5, 24, 0}, {12, 23, 25}};
  check_model("vgg11", 1.0 / 32, cuts, 3);
}
END_TEST

START_TEST(split_resnet) {
  static const int cuts[][3] = {{4, 0, 0}, {1, 7, 0}, {3, 6, 11}};
  check_model("resnet18-cifar", 0.125, cuts, 3);
}
END_TEST

START_TEST(bad_cuts) {
  mpsl_model m;
  ck_assert_int_eq(mpsl_model_build(&m, "resnet18-cifar", NULL), 0);
  nn_stack s;
  int c1[] = {5, 3}, c2[] = {0}, c3[] = {m.nlayers};
  ck_assert_int_eq(nn_stack_init(&s, &m, c1, 2, 2), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "strictly increasing"));
  ck_assert_int_eq(nn_stack_init(&s, &m, c2, 1, 2), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "cut 0 is out of range"));
  ck_assert_int_eq(nn_stack_init(&s, &m, c3, 1, 2), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "out of range"));
  mpsl_model_free(&m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("split");
  TCase *t = tcase_create("split");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, split_vgg_bn);
  tcase_add_test(t, split_vgg_dropout);
  tcase_add_test(t, split_resnet);
  tcase_add_test(t, bad_cuts);
  suite_add_tcase(s, t);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
