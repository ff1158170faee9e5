/* Counter-based randomness: every draw is a pure function of (seed, stream, index),
 * so a split run and an unsplit run, or two ranks, draw the same numbers without
 * sharing state. splitmix64 is the mixer; tests/golden/make_golden.py reimplements
 * mpsl_rng_u64 in numpy to reproduce dropout masks. */
#ifndef MPSL_UTIL_RNG_H
#define MPSL_UTIL_RNG_H

#include <stddef.h>
#include <stdint.h>

uint64_t mpsl_mix64(uint64_t x);
/* Hash of (seed, stream, index): the value of draw `index` of stream `stream`. */
uint64_t mpsl_rng_u64(uint64_t seed, uint64_t stream, uint64_t index);
/* Uniform in [0, 1) with 24 random bits (exact in float). */
float mpsl_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);

/* A sequential generator for places where order is fixed (init, shuffles, partitions). */
typedef struct {
  uint64_t seed, stream, index;
} mpsl_rng;

void mpsl_rng_init(mpsl_rng *r, uint64_t seed, uint64_t stream);
uint64_t mpsl_rng_next(mpsl_rng *r);
double mpsl_rng_double(mpsl_rng *r);                              /* [0, 1), 53 bits */
double mpsl_rng_normal(mpsl_rng *r);                              /* standard normal, Box-Muller */
double mpsl_rng_gamma(mpsl_rng *r, double shape);                 /* Marsaglia-Tsang, shape > 0 */
uint64_t mpsl_rng_below(mpsl_rng *r, uint64_t n);                 /* uniform in [0, n), unbiased */
void mpsl_rng_permutation(mpsl_rng *r, int64_t *perm, int64_t n); /* Fisher-Yates of 0..n-1 */

#endif
