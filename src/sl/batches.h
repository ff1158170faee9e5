/* What data owner k trains on, shared by the distributed run and the in-process reference
 * so both draw the same batches: local epoch e of round t is global epoch t*r + e; its
 * order is a permutation of the shard that depends on (owner seed, global epoch); batch b
 * takes positions b*batch .. b*batch+batch-1 of that order, wrapping around a shard that
 * is smaller than B*batch. */
#ifndef MPSL_SL_BATCHES_H
#define MPSL_SL_BATCHES_H

#include <stdint.h>

#include "data/data.h"
#include "config/runconfig.h"

typedef struct {
  int owner;
  const int64_t *shard; /* (count) sample indices of this owner */
  int64_t count;
  uint64_t seed;  /* batch order and augmentation */
  int64_t *order; /* (count) order of the current local epoch */
  int64_t *idx;   /* (batch) indices of a batch that wraps around */
} sl_batches;

void sl_batches_init(sl_batches *b, const sl_config *c, int owner, const int64_t *shard, int64_t count);
void sl_batches_free(sl_batches *b);
/* Call at the start of every local epoch (global epoch number). */
void sl_batches_epoch(sl_batches *b, const sl_config *c, int64_t epoch);
/* x (batch, channels, S, S), y (batch): batch `index` of the current epoch; step is the
 * owner's global batch count (the augmentation stream). */
void sl_batches_draw(sl_batches *b, const sl_config *c, const mpsl_dataset *d, int index, int64_t step, float *x,
                     int32_t *y);
/* Dropout seed of every copy of data owner k's model. */
uint64_t sl_owner_dropout_seed(const sl_config *c, int owner);

#endif
