/* Shared by the engine's tests: hand-made layer tables and small numeric helpers. */
#ifndef MPSL_TESTS_NN_UTIL_H
#define MPSL_TESTS_NN_UTIL_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/zoo.h"
#include "nn/nn.h"
#include "util/rng.h"

static inline void tu_begin(zoo_builder *b, mpsl_model *m, int c, int h, int w) {
  memset(m, 0, sizeof *m);
  snprintf(m->name, sizeof m->name, "custom");
  m->classes = 10;
  m->channels = c;
  m->size = h;
  m->width = 1;
  memset(b, 0, sizeof *b);
  b->m = m;
  b->c = c;
  b->h = h;
  b->w = w;
}

static inline void tu_end(zoo_builder *b) { b->m->nlayers = b->n; }

static inline void tu_fill(float *x, int64_t n, uint64_t seed, double scale) {
  mpsl_rng r;
  mpsl_rng_init(&r, seed, 77);
  for (int64_t i = 0; i < n; i++) x[i] = (float)(scale * mpsl_rng_normal(&r));
}

/* max|a-b| / max(max|b|, floor): one number per tensor. The floor keeps a tensor whose true
 * value is zero (a conv bias feeding a batch norm gets only rounding noise) from dividing by ~0. */
static inline double tu_relerr(const float *a, const float *b, int64_t n, double floor_) {
  double md = 0, mb = floor_;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (d > md || isnan(d)) md = isnan(d) ? INFINITY : d;
    if (fabs(b[i]) > mb) mb = fabs(b[i]);
  }
  return md / mb;
}

#endif
