/* The three tensors of the weights target (fuzz/weights.c) and of its seeds
 * (fuzz/make_seeds.c), one of every type mpsl_weights_load knows, one nested in a group:
 * the seeds are what the target reads. */
#ifndef MPSL_FUZZ_WEIGHTS_LAYOUT_H
#define MPSL_FUZZ_WEIGHTS_LAYOUT_H

#include <stdio.h>
#include <string.h>

#include "io/weights.h"

static inline void fuzz_weights_layout(mpsl_named_tensor t[3], float w[6], int64_t *n, double g[4]) {
  memset(t, 0, 3 * sizeof *t);
  snprintf(t[0].name, sizeof t[0].name, "features.0.weight");
  t[0].dtype = MPSL_F32, t[0].ndims = 2, t[0].dims[0] = 2, t[0].dims[1] = 3, t[0].data = w;
  snprintf(t[1].name, sizeof t[1].name, "bn.num_batches_tracked");
  t[1].dtype = MPSL_I64, t[1].ndims = 0, t[1].data = n;
  snprintf(t[2].name, sizeof t[2].name, "part/state");
  t[2].dtype = MPSL_F64, t[2].ndims = 1, t[2].dims[0] = 4, t[2].data = g;
}

#endif
