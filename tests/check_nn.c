/* The engine's layers against finite differences, and the model tables against torchvision. */
#include <check.h>
#include <stdio.h>

#include "nn_util.h"
#include "util/err.h"

/* f = sum(y * r) in double; its gradient w.r.t. y is r. */
static double objective(nn_part *p, const float *x, const float *r, float *y, int train_step) {
  nn_part_set_step(p, 5);
  nn_part_forward(p, x, y, train_step);
  int64_t n = nn_part_out_numel(p) * nn_part_batch(p);
  double f = 0;
  for (int64_t i = 0; i < n; i++) f += (double)y[i] * r[i];
  return f;
}

static int close_enough(double fd, double an) { return fabs(fd - an) <= 2e-2 * fabs(an) + 3e-3; }

/* Central differences at two step sizes; where they disagree the step crossed a kink of a
 * ReLU or a max (the function is not differentiable there) and the probe is not counted. */
static void probe(nn_part *p, float *x, float *v, int64_t i, const float *r, float *y, double an, const char *what,
                  const char *tname, int *checked, int *bad, int *kinks) {
  double fd[2];
  const float eps[2] = {4e-3f, 2e-3f};
  float keep = v[i];
  for (int e = 0; e < 2; e++) {
    v[i] = keep + eps[e];
    nn_part_params_changed(p);
    double fp = objective(p, x, r, y, 1);
    v[i] = keep - eps[e];
    nn_part_params_changed(p);
    double fm = objective(p, x, r, y, 1);
    fd[e] = (fp - fm) / (2 * eps[e]);
  }
  v[i] = keep;
  nn_part_params_changed(p);
  (*checked)++;
  if (!close_enough(fd[0], fd[1])) {
    (*kinks)++;
    return;
  }
  if (!close_enough(fd[1], an)) {
    (*bad)++;
    fprintf(stderr, "%s: d %s [%ld]: finite difference %.6g, backward %.6g\n", what, tname, (long)i, fd[1], an);
  }
}

/* Checks dx and every parameter gradient at up to `probes` coordinates each. */
/* max_bad: probes allowed to disagree. Zero for single layers; a residual block stacks
 * batch norms and ReLUs whose kinks sit within a step of the point often enough that a few
 * probes see one-sided slopes; the block's exact check is against PyTorch (check_golden). */
static void gradcheck_tol(const mpsl_model *m, int batch, int probes, const char *what, double max_bad) {
  nn_part *p = nn_part_new(m, 1, m->nlayers, batch);
  ck_assert_msg(p != NULL, "%s: %s", what, mpsl_errmsg());
  nn_part_init_weights(p, 11);
  nn_part_set_dropout_seed(p, 3);
  /* random (non-trivial) batch-norm affine parameters */
  mpsl_named_tensor *t;
  int nt = nn_part_tensors(p, &t, 1);
  for (int i = 0; i < nt; i++)
    if (strstr(t[i].name, "bn") || t[i].ndims == 1) tu_fill(t[i].data, mpsl_tensor_numel(&t[i]), 100 + i, 0.5);
  nn_part_params_changed(p);
  int64_t nx = nn_part_in_numel(p) * batch, ny = nn_part_out_numel(p) * batch;
  float *x = malloc(nx * sizeof *x), *dx = malloc(nx * sizeof *dx), *y = malloc(ny * sizeof *y),
        *r = malloc(ny * sizeof *r);
  tu_fill(x, nx, 1, 1.0);
  /* keep inputs away from ReLU's kink */
  for (int64_t i = 0; i < nx; i++) x[i] += x[i] >= 0 ? 0.05f : -0.05f;
  tu_fill(r, ny, 2, 1.0);
  objective(p, x, r, y, 1);
  nn_part_backward(p, r, dx);
  int64_t ng = nn_part_arena_len(p);
  float *g = malloc(ng * sizeof *g);
  memcpy(g, nn_part_grads(p), ng * sizeof *g);

  int bad = 0, checked = 0, kinks = 0;
  mpsl_rng pick;
  mpsl_rng_init(&pick, 9, 9);
  int nprobe = probes < nx ? probes : (int)nx;
  for (int k = 0; k < nprobe; k++) {
    int64_t i = (int64_t)mpsl_rng_below(&pick, (uint64_t)nx);
    probe(p, x, x, i, r, y, dx[i], what, "x", &checked, &bad, &kinks);
  }
  nt = nn_part_tensors(p, &t, 1);
  float *w0 = nn_part_params(p);
  for (int ti = 0; ti < nt; ti++) {
    int64_t n = mpsl_tensor_numel(&t[ti]), off = (float *)t[ti].data - w0;
    for (int k = 0; k < probes && k < n; k++) {
      int64_t i = off + (int64_t)mpsl_rng_below(&pick, (uint64_t)n);
      probe(p, x, w0, i, r, y, g[i], what, t[ti].name, &checked, &bad, &kinks);
    }
  }
  printf("gradcheck %-28s %4d probes, %d off, %d across a kink\n", what, checked, bad, kinks);
  ck_assert_msg(kinks * 4 <= checked, "%s: %d of %d probes straddle a kink: the check lost its power", what, kinks,
                checked);
  ck_assert_msg(bad <= max_bad * (checked - kinks), "%s: %d of %d gradient probes disagree with finite differences",
                what, bad, checked);
  free(x);
  free(dx);
  free(y);
  free(r);
  free(g);
  nn_part_free(p);
}

static void gradcheck(const mpsl_model *m, int batch, int probes, const char *what) {
  gradcheck_tol(m, batch, probes, what, 0.0);
}

static mpsl_layer *conv(zoo_builder *b, const char *name, int out, int k, int s, int pad, int bias) {
  mpsl_layer *l = zoo_push(b, MPSL_L_CONV, "%s", name);
  l->k = k;
  l->stride = s;
  l->pad = pad;
  l->bias = bias;
  b->next_c = out;
  zoo_finish(b, l);
  return l;
}

START_TEST(grad_conv) {
  mpsl_model m;
  zoo_builder b;
  tu_begin(&b, &m, 3, 7, 7);
  conv(&b, "c0", 5, 3, 1, 1, 1);
  conv(&b, "c1", 16, 3, 2, 1, 0);
  conv(&b, "c2", 4, 1, 1, 0, 1);
  tu_end(&b);
  gradcheck(&m, 3, 25, "conv 3x3/s1, 3x3/s2, 1x1");
  mpsl_model_free(&m);
}
END_TEST

START_TEST(grad_bn_relu) {
  mpsl_model m;
  zoo_builder b;
  tu_begin(&b, &m, 16, 5, 5);
  zoo_finish(&b, zoo_push(&b, MPSL_L_BN, "bn"));
  zoo_finish(&b, zoo_push(&b, MPSL_L_RELU, "relu"));
  zoo_finish(&b, zoo_push(&b, MPSL_L_BN, "bn2"));
  tu_end(&b);
  gradcheck(&m, 4, 30, "batch norm + relu");
  mpsl_model_free(&m);
}
END_TEST

START_TEST(grad_pools) {
  mpsl_model m;
  zoo_builder b;
  tu_begin(&b, &m, 8, 9, 9);
  mpsl_layer *l = zoo_push(&b, MPSL_L_MAXPOOL, "mp");
  l->k = 3;
  l->stride = 2;
  l->pad = 1;
  zoo_finish(&b, l);
  l = zoo_push(&b, MPSL_L_MAXPOOL, "mp2");
  l->k = 2;
  l->stride = 2;
  zoo_finish(&b, l);
  tu_end(&b);
  gradcheck(&m, 2, 30, "max pool 3/2/1, 2/2");
  mpsl_model_free(&m);
}
END_TEST

START_TEST(grad_avgpool) {
  static const int shapes[][2] = {{5, 3}, {1, 7}, {4, 1}, {7, 7}, {3, 7}};
  for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    mpsl_model m;
    zoo_builder b;
    tu_begin(&b, &m, 3, shapes[s][0], shapes[s][0]);
    mpsl_layer *l = zoo_push(&b, MPSL_L_AVGPOOL, "avgpool");
    b.next_h = b.next_w = shapes[s][1];
    zoo_finish(&b, l);
    tu_end(&b);
    char what[64];
    snprintf(what, sizeof what, "adaptive avg pool %d->%d", shapes[s][0], shapes[s][1]);
    gradcheck(&m, 2, 20, what);
    mpsl_model_free(&m);
  }
}
END_TEST

START_TEST(avgpool_values) {
  /* 3 -> 2 windows are [0,2) and [1,3): overlapping, as torchvision */
  mpsl_model m;
  zoo_builder b;
  tu_begin(&b, &m, 1, 3, 3);
  mpsl_layer *l = zoo_push(&b, MPSL_L_AVGPOOL, "avgpool");
  b.next_h = b.next_w = 2;
  zoo_finish(&b, l);
  tu_end(&b);
  nn_part *p = nn_part_new(&m, 1, 1, 1);
  float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, y[4];
  nn_part_forward(p, x, y, 0);
  ck_assert_float_eq_tol(y[0], (1 + 2 + 4 + 5) / 4.0f, 1e-6);
  ck_assert_float_eq_tol(y[1], (2 + 3 + 5 + 6) / 4.0f, 1e-6);
  ck_assert_float_eq_tol(y[3], (5 + 6 + 8 + 9) / 4.0f, 1e-6);
  nn_part_free(p);
  mpsl_model_free(&m);
}
END_TEST

START_TEST(grad_linear_dropout) {
  mpsl_model m;
  zoo_builder b;
  tu_begin(&b, &m, 4, 3, 3);
  zoo_finish(&b, zoo_push(&b, MPSL_L_FLATTEN, "flatten"));
  mpsl_layer *l = zoo_push(&b, MPSL_L_LINEAR, "fc1");
  l->bias = 1;
  b.next_c = 12;
  zoo_finish(&b, l);
  l = zoo_push(&b, MPSL_L_DROPOUT, "drop");
  l->p = 0.3f;
  zoo_finish(&b, l);
  l = zoo_push(&b, MPSL_L_LINEAR, "fc2");
  l->bias = 1;
  b.next_c = 5;
  zoo_finish(&b, l);
  tu_end(&b);
  gradcheck(&m, 3, 25, "flatten, linear, dropout");
  mpsl_model_free(&m);
}
END_TEST

START_TEST(dropout_mask) {
  /* the mask keeps about 1-p, scales by 1/(1-p), differs between steps, repeats for a step */
  mpsl_model m;
  zoo_builder b;
  tu_begin(&b, &m, 1000, 1, 1);
  b.flat = 1;
  mpsl_layer *l = zoo_push(&b, MPSL_L_DROPOUT, "drop");
  l->p = 0.25f;
  zoo_finish(&b, l);
  tu_end(&b);
  nn_part *p = nn_part_new(&m, 1, 1, 4);
  nn_part_set_dropout_seed(p, 42);
  float x[4000], y1[4000], y2[4000], y3[4000];
  for (int i = 0; i < 4000; i++) x[i] = 1.0f;
  nn_part_forward(p, x, y1, 1);
  nn_part_forward(p, x, y2, 1);
  nn_part_set_step(p, 0);
  nn_part_forward(p, x, y3, 1);
  int kept = 0, same = 0;
  for (int i = 0; i < 4000; i++) {
    ck_assert(y1[i] == 0.0f || fabsf(y1[i] - 1.0f / 0.75f) < 1e-6f);
    kept += y1[i] != 0.0f;
    same += (y1[i] != 0.0f) == (y2[i] != 0.0f);
    ck_assert(y1[i] == y3[i]);
  }
  ck_assert_int_gt(kept, 2850);
  ck_assert_int_lt(kept, 3150);
  ck_assert_int_lt(same, 3900);
  nn_part_forward(p, x, y1, 0);
  for (int i = 0; i < 4000; i++) ck_assert(y1[i] == 1.0f);
  nn_part_free(p);
  mpsl_model_free(&m);
}
END_TEST

static void block(zoo_builder *b, const char *name, int bottleneck, int planes, int stride) {
  mpsl_layer *l = zoo_push(b, MPSL_L_BLOCK, "%s", name);
  l->bottleneck = bottleneck;
  l->planes = planes;
  l->stride = stride;
  l->downsample = stride != 1 || l->in_c != (bottleneck ? 4 * planes : planes);
  zoo_finish(b, l);
}

START_TEST(grad_blocks) {
  mpsl_model m;
  zoo_builder b;
  tu_begin(&b, &m, 16, 6, 6);
  block(&b, "layer1.0", 0, 16, 1);
  block(&b, "layer2.0", 0, 32, 2);
  block(&b, "layer3.0", 1, 8, 1);
  block(&b, "layer3.1", 1, 8, 2);
  tu_end(&b);
  gradcheck_tol(&m, 2, 12, "basic and bottleneck blocks", 0.1);
  mpsl_model_free(&m);
}
END_TEST

START_TEST(param_totals) {
  static const struct {
    const char *name;
    int64_t params;
  } ref[] = {/* torchvision, 1000 classes */
             {"vgg11", 132863336},   {"vgg11_bn", 132868840}, {"vgg13", 133047848},   {"vgg13_bn", 133053736},
             {"vgg16", 138357544},   {"vgg16_bn", 138365992}, {"vgg19", 143667240},   {"vgg19_bn", 143678248},
             {"resnet18", 11689512}, {"resnet34", 21797672},  {"resnet50", 25557032}, {"resnet101", 44549160},
             {"resnet152", 60192808}};
  for (unsigned i = 0; i < sizeof ref / sizeof ref[0]; i++) {
    mpsl_model m;
    mpsl_model_opts o;
    mpsl_model_opts_default(&o);
    o.classes = 1000;
    o.size = 224;
    ck_assert_int_eq(mpsl_model_build(&m, ref[i].name, &o), 0);
    ck_assert_msg(mpsl_model_params(&m) == ref[i].params, "%s: %lld parameters, torchvision has %lld", ref[i].name,
                  (long long)mpsl_model_params(&m), (long long)ref[i].params);
    mpsl_model_free(&m);
  }
}
END_TEST

START_TEST(part_matches_table) {
  /* the tensors a part declares add up to the table's counts, for every model */
  for (const char *const *n = mpsl_model_names(); *n; n++) {
    mpsl_model m;
    mpsl_model_opts o;
    mpsl_model_opts_default(&o);
    o.width = 0.0625;
    o.channels = 1;
    ck_assert_int_eq(mpsl_model_build(&m, *n, &o), 0);
    nn_part *p = nn_part_new(&m, 1, m.nlayers, 2);
    ck_assert_msg(p, "%s: %s", *n, mpsl_errmsg());
    ck_assert_int_eq(nn_part_nparams(p), mpsl_model_params(&m));
    float *x = calloc(nn_part_in_numel(p) * 2, sizeof *x), *y = calloc(nn_part_out_numel(p) * 2, sizeof *y);
    nn_part_forward(p, x, y, 1);
    nn_part_backward(p, y, NULL);
    ck_assert_int_eq(nn_part_out_numel(p), m.classes);
    free(x);
    free(y);
    nn_part_free(p);
    mpsl_model_free(&m);
  }
}
END_TEST

START_TEST(bad_model_input) {
  mpsl_model m;
  mpsl_model_opts o;
  mpsl_model_opts_default(&o);
  ck_assert_int_eq(mpsl_model_build(&m, "vgg12", &o), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "unknown model 'vgg12'"));
  o.size = 16; /* five max pools cannot fit */
  ck_assert_int_eq(mpsl_model_build(&m, "vgg11-cifar", &o), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "too small"));
  o.size = 32;
  ck_assert_int_eq(mpsl_model_build(&m, "resnet18-cifar", &o), 0);
  ck_assert_ptr_null(nn_part_new(&m, 3, 2, 4));
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "outside layers"));
  mpsl_model_free(&m);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("nn");
  TCase *g = tcase_create("gradients");
  tcase_set_timeout(g, 300);
  tcase_add_test(g, grad_conv);
  tcase_add_test(g, grad_bn_relu);
  tcase_add_test(g, grad_pools);
  tcase_add_test(g, grad_avgpool);
  tcase_add_test(g, avgpool_values);
  tcase_add_test(g, grad_linear_dropout);
  tcase_add_test(g, dropout_mask);
  tcase_add_test(g, grad_blocks);
  suite_add_tcase(s, g);
  TCase *t = tcase_create("tables");
  tcase_set_timeout(t, 300);
  tcase_add_test(t, param_totals);
  tcase_add_test(t, part_matches_table);
  tcase_add_test(t, bad_model_input);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
