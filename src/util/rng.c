#include "util/rng.h"

#include <math.h>

uint64_t mpsl_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t mpsl_rng_u64(uint64_t seed, uint64_t stream, uint64_t index) {
  return mpsl_mix64(mpsl_mix64(mpsl_mix64(seed) ^ stream) ^ index);
}

float mpsl_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  return (float)(mpsl_rng_u64(seed, stream, index) >> 40) * (1.0f / 16777216.0f);
}

void mpsl_rng_init(mpsl_rng *r, uint64_t seed, uint64_t stream) {
  r->seed = seed;
  r->stream = stream;
  r->index = 0;
}

uint64_t mpsl_rng_next(mpsl_rng *r) { return mpsl_rng_u64(r->seed, r->stream, r->index++); }

double mpsl_rng_double(mpsl_rng *r) { return (double)(mpsl_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

double mpsl_rng_normal(mpsl_rng *r) {
  double u1 = mpsl_rng_double(r), u2 = mpsl_rng_double(r);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double mpsl_rng_gamma(mpsl_rng *r, double shape) {
  if (shape < 1.0) {
    double u = mpsl_rng_double(r);
    return mpsl_rng_gamma(r, shape + 1.0) * pow(u > 0 ? u : 1e-300, 1.0 / shape);
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = mpsl_rng_normal(r);
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    double u = mpsl_rng_double(r);
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
  }
}

uint64_t mpsl_rng_below(mpsl_rng *r, uint64_t n) {
  if (n <= 1) return 0;
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = mpsl_rng_next(r);
  while (x >= limit);
  return x % n;
}

void mpsl_rng_permutation(mpsl_rng *r, int64_t *perm, int64_t n) {
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)mpsl_rng_below(r, (uint64_t)i + 1);
    int64_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}
