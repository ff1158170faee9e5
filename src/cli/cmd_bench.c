/* mpsl bench: median wall time of one training step (forward, loss, backward, update)
 * on random data, and the GFLOP/s that implies (3 x forward FLOPs: the usual estimate of
 * forward + backward-data + backward-weights). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "nn/stack.h"
#include "util/err.h"
#include "util/rng.h"
#include "util/timer.h"

typedef struct {
  char model[40];
  int batch, classes, channels, size, reps, warmup;
  double width;
  mpsl_intlist cuts;
  mpsl_optmask given;
} bench_cfg;

static const mpsl_opt keys[] = {
    {"model", MPSL_OPT_STRING, MPSL_OPT_FIELD(bench_cfg, model), NULL, 0, 0, NULL, MPSL_MODEL_HELP, MPSL_OPT_REQUIRED},
    {"batch", MPSL_OPT_INT, MPSL_OPT_FIELD(bench_cfg, batch), "32", 1, 65536, NULL, "mini-batch size", 0},
    {"classes", MPSL_OPT_INT, MPSL_OPT_FIELD(bench_cfg, classes), "10", 1, 100000, NULL, "output classes", 0},
    {"channels", MPSL_OPT_INT, MPSL_OPT_FIELD(bench_cfg, channels), "3", 1, 3, NULL, "input channels", 0},
    {"size", MPSL_OPT_INT, MPSL_OPT_FIELD(bench_cfg, size), "32", 8, 4096, NULL, "input height and width", 0},
    {"width", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(bench_cfg, width), "1", 0.001, 16, NULL, "channel multiplier", 0},
    {"reps", MPSL_OPT_INT, MPSL_OPT_FIELD(bench_cfg, reps), "10", 1, 100000, NULL, "timed steps", 0},
    {"warmup", MPSL_OPT_INT, MPSL_OPT_FIELD(bench_cfg, warmup), "3", 0, 100000, NULL, "untimed steps first", 0},
    {"cuts", MPSL_OPT_INTLIST, MPSL_OPT_FIELD(bench_cfg, cuts), NULL, 1, 100000, NULL,
     "time the model cut into parts at these layers", 0},
};
static const mpsl_optset opts = {
    "bench", NULL, "Time a training step and report GFLOP/s.", keys, MPSL_NOPTS(keys), offsetof(bench_cfg, given)};
const mpsl_optset *cmd_bench_opts(void) { return &opts; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int cmd_bench(int argc, char **argv) {
  bench_cfg c;
  int npos = 0, rc = cli_parse(&opts, &c, argc, argv, &npos, NULL, 0);
  if (rc) return rc < 0 ? 0 : rc;
  mpsl_model m;
  mpsl_model_opts mo = {c.classes, c.channels, c.size, c.width};
  if (mpsl_model_build(&m, c.model, &mo)) return cli_error("bench");
  nn_stack s;
  if (nn_stack_init(&s, &m, c.cuts.v, c.cuts.n, c.batch)) {
    mpsl_model_free(&m);
    return cli_error("bench");
  }
  nn_stack_init_weights(&s, 1);
  int64_t nx = (int64_t)c.batch * c.channels * c.size * c.size;
  float *x = mpsl_xalloc_aligned((size_t)nx * sizeof *x, "batch");
  int32_t *y = mpsl_xmalloc((size_t)c.batch * sizeof *y, "labels");
  mpsl_rng r;
  mpsl_rng_init(&r, 1, 1);
  for (int64_t i = 0; i < nx; i++) x[i] = (float)mpsl_rng_normal(&r);
  for (int i = 0; i < c.batch; i++) y[i] = (int32_t)mpsl_rng_below(&r, (uint64_t)c.classes);
  double *t = mpsl_xmalloc((size_t)c.reps * sizeof *t, "times");
  /* a small learning rate keeps random-data training finite over many steps */
  for (int i = 0; i < c.warmup; i++) nn_stack_train_step(&s, x, y, 1e-4f, 0.9f, 1e-4f, NULL);
  for (int i = 0; i < c.reps; i++) {
    double t0 = mpsl_now();
    nn_stack_train_step(&s, x, y, 1e-4f, 0.9f, 1e-4f, NULL);
    t[i] = mpsl_now() - t0;
  }
  qsort(t, (size_t)c.reps, sizeof *t, cmp_double);
  double med = c.reps % 2 ? t[c.reps / 2] : 0.5 * (t[c.reps / 2 - 1] + t[c.reps / 2]);
  double gflops = 3.0 * (double)mpsl_model_flops(&m) * c.batch / med / 1e9;
  printf("model=%s batch=%d parts=%d reps=%d min_s=%.4f max_s=%.4f\n", m.name, c.batch, s.nparts, c.reps, t[0],
         t[c.reps - 1]);
  printf("step_s=%.5f\n", med);
  printf("gflops=%.1f\n", gflops);
  free(t);
  free(x);
  free(y);
  nn_stack_free(&s);
  mpsl_model_free(&m);
  return 0;
}
