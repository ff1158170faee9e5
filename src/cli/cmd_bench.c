/* mpsl bench: median wall time of one training step (forward, loss, backward, update)
 * on random data, and the GFLOP/s that implies (3 x forward FLOPs: the usual estimate of
 * forward + backward-data + backward-weights). With --breakdown, the timed steps run with
 * the engine's timer on (nn.h nn_profile_enable) and it prints, per part and layer, the
 * median time of each kind of work, their sum, and the step time outside them. */
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
  bool breakdown;
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
    {"breakdown", MPSL_OPT_BOOL, MPSL_OPT_FIELD(bench_cfg, breakdown), "false", 0, 0, NULL,
     "time every oneDNN primitive and mpsl's own loops: per part and layer the median milliseconds of forward, "
     "backward-data, backward-weights, reorders, update and own loops, their sums, and the step time outside the "
     "primitives",
     0},
};
static const mpsl_optset opts = {
    "bench", NULL, "Time a training step and report GFLOP/s.", keys, MPSL_NOPTS(keys), offsetof(bench_cfg, given)};
const mpsl_optset *cmd_bench_opts(void) { return &opts; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts v[0..n-1] and returns its median. */
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static const char *const work_names[NN_WORK_KINDS] = {"forward", "bwd_data", "bwd_weights", "reorder", "update", "own"};

/* The breakdown of --breakdown: prof[rep * cells + cell], cell = (row of a part) *
 * NN_WORK_KINDS + kind over the parts in order; step[rep] the steps' times. Each cell's
 * median over the reps is printed in milliseconds; totals are sums of the printed medians,
 * so the table adds up; the step is the median step. */
static void print_breakdown(const nn_stack *s, const mpsl_model *m, double *prof, int cells, int reps, double step) {
  const int K = NN_WORK_KINDS;
  double *v = mpsl_xmalloc((size_t)reps * sizeof *v, "times");
  double col[NN_WORK_KINDS] = {0};
  printf(
      "# breakdown: per part and layer the median over %d steps of each kind of work, ms (own: mpsl's own "
      "loops; layer 0: the part's edges, input copy and update)\n",
      reps);
  printf("%-4s %-5s %-16s %-8s", "part", "layer", "name", "kind");
  for (int k = 0; k < K; k++) printf(" %11s", work_names[k]);
  printf(" %11s\n", "total");
  int cell = 0;
  for (int i = 0; i < s->nparts; i++) {
    const nn_part *p = s->parts[i];
    for (int row = 0; row <= nn_part_nlayers(p); row++) {
      const mpsl_layer *l = row ? &m->layers[nn_part_first(p) + row - 2] : NULL;
      printf("%-4d %-5d %-16s %-8s", i + 1, row ? nn_part_first(p) + row - 1 : 0, l ? l->name : "-",
             l ? mpsl_layer_kind_name(l->kind) : "part");
      double tot = 0;
      for (int k = 0; k < K; k++, cell++) {
        for (int r = 0; r < reps; r++) v[r] = prof[(size_t)r * cells + cell];
        double ms = 1e3 * median(v, reps);
        ms = (double)(int64_t)(ms * 1e3 + 0.5) / 1e3; /* as printed: the sums below add up */
        col[k] += ms;
        tot += ms;
        printf(" %11.3f", ms);
      }
      printf(" %11.3f\n", tot);
    }
  }
  double dnnl = 0, own = 0;
  printf("%-4s %-5s %-16s %-8s", "sum", "-", "-", "-");
  for (int k = 0; k < K; k++) {
    printf(" %11.3f", col[k]);
    if (NN_WORK_DNNL(k))
      dnnl += col[k];
    else
      own += col[k];
  }
  printf(" %11.3f\n", dnnl + own);
  double ms = 1e3 * step;
  printf("primitives_ms=%.3f\n", dnnl);
  printf("own_ms=%.3f\n", own);
  printf("step_ms=%.3f\n", ms);
  printf("outside_primitives_ms=%.3f\n", ms - dnnl);
  printf("untimed_ms=%.3f\n", ms - dnnl - own);
  printf("step_over_primitives=%.3f\n", dnnl > 0 ? ms / dnnl : 0);
  printf("step_over_timed=%.3f\n", dnnl + own > 0 ? ms / (dnnl + own) : 0);
  free(v);
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
  int cells = 0;
  for (int i = 0; i < s.nparts; i++) cells += (nn_part_nlayers(s.parts[i]) + 1) * NN_WORK_KINDS;
  double *prof = c.breakdown ? mpsl_xmalloc((size_t)c.reps * cells * sizeof *prof, "profile") : NULL;
  /* a small learning rate keeps random-data training finite over many steps */
  for (int i = 0; i < c.warmup; i++) nn_stack_train_step(&s, x, y, 1e-4f, 0.9f, 1e-4f, NULL);
  nn_profile_enable(c.breakdown);
  for (int i = 0; i < c.reps; i++) {
    for (int j = 0; j < s.nparts; j++) nn_part_profile_reset(s.parts[j]);
    double t0 = mpsl_now();
    nn_stack_train_step(&s, x, y, 1e-4f, 0.9f, 1e-4f, NULL);
    t[i] = mpsl_now() - t0;
    for (int j = 0, at = 0; prof && j < s.nparts; j++) {
      nn_part_profile(s.parts[j], prof + (size_t)i * cells + at);
      at += (nn_part_nlayers(s.parts[j]) + 1) * NN_WORK_KINDS;
    }
  }
  nn_profile_enable(0);
  double med = median(t, c.reps);
  double gflops = 3.0 * (double)mpsl_model_flops(&m) * c.batch / med / 1e9;
  printf("model=%s batch=%d parts=%d reps=%d min_s=%.4f max_s=%.4f\n", m.name, c.batch, s.nparts, c.reps, t[0],
         t[c.reps - 1]);
  printf("step_s=%.5f\n", med);
  printf("gflops=%.1f\n", gflops);
  if (prof) print_breakdown(&s, &m, prof, cells, c.reps, med);
  free(prof);
  free(t);
  free(x);
  free(y);
  nn_stack_free(&s);
  mpsl_model_free(&m);
  return 0;
}
