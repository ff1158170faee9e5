#include "nn/replica.h"

#include <string.h>

static int counters(nn_part *p, mpsl_named_tensor **t) { return nn_part_tensors(p, t, 0); }

int64_t nn_part_state_len(nn_part *p) {
  mpsl_named_tensor *t;
  int n = counters(p, &t), c = 0;
  for (int i = 0; i < n; i++) c += t[i].dtype == MPSL_I64;
  return nn_part_arena_len(p) + nn_part_stats_len(p) + c;
}

void nn_part_state_accumulate(nn_part *p, double w, double *acc) {
  int64_t np = nn_part_arena_len(p), ns = nn_part_stats_len(p);
  const float *a = nn_part_params(p), *s = nn_part_stats(p);
  for (int64_t i = 0; i < np; i++) acc[i] += w * a[i];
  for (int64_t i = 0; i < ns; i++) acc[np + i] += w * s[i];
  mpsl_named_tensor *t;
  int n = counters(p, &t);
  double *c = acc + np + ns;
  for (int i = 0; i < n; i++)
    if (t[i].dtype == MPSL_I64) *c++ += w * (double)*(const int64_t *)t[i].data;
}

void nn_part_state_load(nn_part *p, const double *st) {
  int64_t np = nn_part_arena_len(p), ns = nn_part_stats_len(p);
  float *a = nn_part_params(p), *s = nn_part_stats(p);
  for (int64_t i = 0; i < np; i++) a[i] = (float)st[i];
  for (int64_t i = 0; i < ns; i++) s[i] = (float)st[np + i];
  mpsl_named_tensor *t;
  int n = counters(p, &t);
  const double *c = st + np + ns;
  for (int i = 0; i < n; i++)
    if (t[i].dtype == MPSL_I64) *(int64_t *)t[i].data = (int64_t)(*c++ + 0.5);
  nn_part_params_changed(p);
}

void nn_state_add(double *acc, const double *state, int64_t n, double w) {
  for (int64_t i = 0; i < n; i++) acc[i] += w * state[i];
}

void nn_state_average(double *acc, int64_t n, double total) {
  for (int64_t i = 0; i < n; i++) acc[i] /= total;
}

void nn_part_reset_momenta(nn_part *p) { memset(nn_part_momenta(p), 0, (size_t)nn_part_arena_len(p) * sizeof(float)); }
