/* Measuring a profile: every layer alone as a one-layer part, then the whole model as one
 * part, each run `warmup` untimed and `reps` timed steps of forward (training mode),
 * backward and SGD on random inputs and random output gradients. */
#include "emu/profile.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "config.h"
#include "nn/nn.h"
#include "util/err.h"
#include "util/rng.h"
#include "util/timer.h"

/* A small learning rate keeps random-gradient training finite over the repetitions. */
#define PROFILE_LR 1e-4f
#define PROFILE_MOMENTUM 0.9f
#define PROFILE_WD 1e-4f

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double mpsl_median(double *v, int n) {
  if (n <= 0) return 0;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct {
  double fwd, fwd_min, fwd_max, bwd, bwd_min, bwd_max, upd, upd_min, upd_max;
  double step, step_min, step_max;
} part_times;

static void fill(float *x, int64_t n, uint64_t seed, double scale) {
  mpsl_rng r;
  mpsl_rng_init(&r, seed, 5);
  for (int64_t i = 0; i < n; i++) x[i] = (float)(scale * mpsl_rng_normal(&r));
}

/* Times of part p as a model would run it: the part that starts at layer 1 computes no
 * input gradient (nobody receives it), every other part does. */
static void time_part(nn_part *p, int first, int reps, int warmup, uint64_t seed, part_times *t) {
  int batch = nn_part_batch(p);
  int64_t nx = nn_part_in_numel(p) * batch, ny = nn_part_out_numel(p) * batch;
  float *x = mpsl_xalloc_aligned((size_t)nx * sizeof *x, "profile input");
  float *dx = first > 1 ? mpsl_xalloc_aligned((size_t)nx * sizeof *dx, "profile input gradient") : NULL;
  float *y = mpsl_xalloc_aligned((size_t)ny * sizeof *y, "profile output");
  float *dy = mpsl_xalloc_aligned((size_t)ny * sizeof *dy, "profile output gradient");
  fill(x, nx, seed, 1.0);
  fill(dy, ny, seed + 1, 1.0 / batch);
  double *s = mpsl_xmalloc(4 * (size_t)reps * sizeof *s, "profile times");
  double *f = s, *b = s + reps, *u = s + 2 * reps, *st = s + 3 * reps;
  for (int r = -warmup; r < reps; r++) {
    double t0 = mpsl_now();
    nn_part_forward(p, x, y, 1);
    double t1 = mpsl_now();
    nn_part_backward(p, dy, dx);
    double t2 = mpsl_now();
    nn_part_sgd(p, PROFILE_LR, PROFILE_MOMENTUM, PROFILE_WD);
    double t3 = mpsl_now();
    if (r < 0) continue;
    f[r] = t1 - t0;
    b[r] = t2 - t1;
    u[r] = t3 - t2;
    st[r] = t3 - t0;
  }
  t->fwd = mpsl_median(f, reps), t->fwd_min = f[0], t->fwd_max = f[reps - 1];
  t->bwd = mpsl_median(b, reps), t->bwd_min = b[0], t->bwd_max = b[reps - 1];
  t->upd = mpsl_median(u, reps), t->upd_min = u[0], t->upd_max = u[reps - 1];
  t->step = mpsl_median(st, reps), t->step_min = st[0], t->step_max = st[reps - 1];
  free(s);
  free(x);
  free(dx);
  free(y);
  free(dy);
}

static void describe_host(mpsl_profile *p) {
  if (gethostname(p->host, sizeof p->host) != 0) snprintf(p->host, sizeof p->host, "unknown");
  p->host[sizeof p->host - 1] = '\0';
  snprintf(p->dnnl_version, sizeof p->dnnl_version, "%s", nn_dnnl_version());
  snprintf(p->mpsl_version, sizeof p->mpsl_version, "%s", PACKAGE_VERSION);
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(p->date, sizeof p->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
#ifdef _OPENMP
  p->threads = omp_get_max_threads();
#else
  p->threads = 1;
#endif
}

int mpsl_profile_measure(mpsl_profile *p, const mpsl_model *m, const mpsl_profile_opts *o) {
  memset(p, 0, sizeof *p);
  if (o->batch < 1) return mpsl_fail("profile: batch must be at least 1 (got %d)", o->batch);
  if (o->reps < 1) return mpsl_fail("profile: reps must be at least 1 (got %d)", o->reps);
  if (o->warmup < 0) return mpsl_fail("profile: warmup must not be negative (got %d)", o->warmup);
  snprintf(p->model, sizeof p->model, "%s", m->name);
  p->batch = o->batch;
  p->classes = m->classes;
  p->channels = m->channels;
  p->size = m->size;
  p->width = m->width;
  p->reps = o->reps;
  p->warmup = o->warmup;
  describe_host(p);
  p->nlayers = m->nlayers;
  p->layers = mpsl_xcalloc((size_t)m->nlayers, sizeof *p->layers, "profile layers");

  for (int i = 1; i <= m->nlayers; i++) {
    const mpsl_layer *l = &m->layers[i - 1];
    mpsl_profile_layer *r = &p->layers[i - 1];
    nn_part *part = nn_part_new(m, i, i, o->batch);
    if (!part) {
      mpsl_profile_free(p);
      return -1;
    }
    nn_part_init_weights(part, 1);
    nn_part_set_dropout_seed(part, 1);
    part_times t;
    time_part(part, i, o->reps, o->warmup, (uint64_t)i, &t);
    nn_mem_stats ms;
    nn_part_memory(part, &ms);
    r->index = i;
    snprintf(r->name, sizeof r->name, "%s", l->name);
    snprintf(r->kind, sizeof r->kind, "%s", mpsl_layer_kind_name(l->kind));
    r->fwd_s = t.fwd, r->fwd_min_s = t.fwd_min, r->fwd_max_s = t.fwd_max;
    r->bwd_s = t.bwd, r->bwd_min_s = t.bwd_min, r->bwd_max_s = t.bwd_max;
    r->update_s = t.upd, r->update_min_s = t.upd_min, r->update_max_s = t.upd_max;
    r->params_bytes = 4 * nn_part_nparams(part);
    r->grads_bytes = ms.grads;
    r->optim_bytes = ms.optim;
    r->act_bytes = ms.activations;
    r->workspace_bytes = ms.scratch + ms.workspace;
    r->out_bytes = 4 * l->out_elems * o->batch;
    r->flops = l->flops * o->batch;
    r->stats_bytes = ms.stats;
    r->act_grad_bytes = ms.act_grads;
    r->copy_bytes = ms.weight_copies;
    p->layers_step_s += t.fwd + t.bwd + t.upd;
    nn_part_free(part);
    if (o->progress) {
      fprintf(o->progress, "profile: layer %d/%d %-16s fwd %.3g s  bwd %.3g s  update %.3g s\n", i, m->nlayers, l->name,
              t.fwd, t.bwd, t.upd);
      fflush(o->progress);
    }
  }

  nn_part *whole = nn_part_new(m, 1, m->nlayers, o->batch);
  if (!whole) {
    mpsl_profile_free(p);
    return -1;
  }
  nn_part_init_weights(whole, 1);
  nn_part_set_dropout_seed(whole, 1);
  part_times t;
  time_part(whole, 1, o->reps, o->warmup, 1000, &t);
  nn_mem_stats ms;
  nn_part_memory(whole, &ms);
  p->whole_fwd_s = t.fwd;
  p->whole_bwd_s = t.bwd;
  p->whole_update_s = t.upd;
  p->whole_step_s = t.step;
  p->whole_step_min_s = t.step_min;
  p->whole_step_max_s = t.step_max;
  p->whole_bytes = nn_mem_total(&ms);
  nn_part_free(whole);
  return 0;
}

void mpsl_profile_free(mpsl_profile *p) {
  free(p->layers);
  memset(p, 0, sizeof *p);
}

void mpsl_profile_scale(const mpsl_profile *host, double speed, mpsl_profile *out) {
  if (!(speed > 0)) MPSL_DIE("mpsl_profile_scale: speed must be positive (got %g)", speed);
  *out = *host;
  out->layers = mpsl_xmalloc((size_t)host->nlayers * sizeof *out->layers, "profile layers");
  memcpy(out->layers, host->layers, (size_t)host->nlayers * sizeof *out->layers);
  for (int i = 0; i < out->nlayers; i++) {
    mpsl_profile_layer *r = &out->layers[i];
    double *t[] = {&r->fwd_s,     &r->fwd_min_s, &r->fwd_max_s,    &r->bwd_s,       &r->bwd_min_s,
                   &r->bwd_max_s, &r->update_s,  &r->update_min_s, &r->update_max_s};
    for (size_t k = 0; k < sizeof t / sizeof *t; k++) *t[k] /= speed;
  }
  double *w[] = {&out->whole_fwd_s,      &out->whole_bwd_s,      &out->whole_update_s, &out->whole_step_s,
                 &out->whole_step_min_s, &out->whole_step_max_s, &out->layers_step_s};
  for (size_t k = 0; k < sizeof w / sizeof *w; k++) *w[k] /= speed;
}

/* Bytes in binary units with three significant digits: "1.25 MiB". */
static const char *bytes_str(char *buf, size_t n, double v) {
  const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (v >= 1024 && i < 4) v /= 1024, i++;
  snprintf(buf, n, i ? "%.3g %s" : "%.0f %s", v, u[i]);
  return buf;
}

void mpsl_profile_print(const mpsl_profile *p, FILE *f) {
  fprintf(f, "# %s, batch %d, %d classes, input %dx%dx%d, width %g\n", p->model, p->batch, p->classes, p->channels,
          p->size, p->size, p->width);
  fprintf(f, "# host %s, %d threads, oneDNN %s, mpsl %s, %s; median of %d runs after %d warm-up\n", p->host, p->threads,
          p->dnnl_version, p->mpsl_version, p->date, p->reps, p->warmup);
  fprintf(f, "# times in ms for the batch (min-max in brackets); bytes at this batch\n");
  fprintf(f, "%5s %-14s %-7s %26s %26s %9s %10s %10s %10s %10s %10s %8s\n", "index", "name", "kind", "fwd_ms [min-max]",
          "bwd_ms [min-max]", "update_ms", "params", "optim", "act", "workspace", "out", "GFLOP");
  int64_t params = 0, grads = 0, optim = 0, act = 0, ws = 0, flops = 0;
  double fwd = 0, bwd = 0, upd = 0;
  for (int i = 0; i < p->nlayers; i++) {
    const mpsl_profile_layer *r = &p->layers[i];
    char fb[32], bb[32], b1[16], b2[16], b3[16], b4[16], b5[16];
    snprintf(fb, sizeof fb, "%.3f [%.3f-%.3f]", 1e3 * r->fwd_s, 1e3 * r->fwd_min_s, 1e3 * r->fwd_max_s);
    snprintf(bb, sizeof bb, "%.3f [%.3f-%.3f]", 1e3 * r->bwd_s, 1e3 * r->bwd_min_s, 1e3 * r->bwd_max_s);
    fprintf(f, "%5d %-14s %-7s %26s %26s %9.3f %10s %10s %10s %10s %10s %8.3f\n", r->index, r->name, r->kind, fb, bb,
            1e3 * r->update_s, bytes_str(b1, sizeof b1, (double)r->params_bytes),
            bytes_str(b2, sizeof b2, (double)r->optim_bytes), bytes_str(b3, sizeof b3, (double)r->act_bytes),
            bytes_str(b4, sizeof b4, (double)r->workspace_bytes), bytes_str(b5, sizeof b5, (double)r->out_bytes),
            1e-9 * (double)r->flops);
    params += r->params_bytes, grads += r->grads_bytes, optim += r->optim_bytes, act += r->act_bytes;
    ws += r->workspace_bytes, flops += r->flops;
    fwd += r->fwd_s, bwd += r->bwd_s, upd += r->update_s;
  }
  char b1[16], b2[16], b3[16], b4[16], b5[16], b6[16];
  fprintf(f, "sum of layers: fwd %.2f ms, bwd %.2f ms, update %.2f ms, step %.2f ms\n", 1e3 * fwd, 1e3 * bwd, 1e3 * upd,
          1e3 * p->layers_step_s);
  fprintf(f, "whole model:   fwd %.2f ms, bwd %.2f ms, update %.2f ms, step %.2f ms [%.2f-%.2f]\n",
          1e3 * p->whole_fwd_s, 1e3 * p->whole_bwd_s, 1e3 * p->whole_update_s, 1e3 * p->whole_step_s,
          1e3 * p->whole_step_min_s, 1e3 * p->whole_step_max_s);
  if (p->whole_step_s > 0)
    fprintf(f,
            "sum of layers / whole model: %.3f (near 1 expected: one-layer parts add edge reorders, the whole "
            "part bigger working sets; far from 1: too few reps or a busy machine)\n",
            p->layers_step_s / p->whole_step_s);
  fprintf(f,
          "bytes: params %s, grads %s, optim %s, stored activations %s (sum of layers), workspace %s; "
          "whole model as one part %s\n",
          bytes_str(b1, sizeof b1, (double)params), bytes_str(b2, sizeof b2, (double)grads),
          bytes_str(b3, sizeof b3, (double)optim), bytes_str(b4, sizeof b4, (double)act),
          bytes_str(b5, sizeof b5, (double)ws), bytes_str(b6, sizeof b6, (double)p->whole_bytes));
  if (p->whole_step_s > 0)
    fprintf(f, "whole model: %.3g GFLOP per step (3 x forward), %.1f GFLOP/s\n", 3e-9 * (double)flops,
            3e-9 * (double)flops / p->whole_step_s);
}
