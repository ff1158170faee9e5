#include "sl/batches.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/rng.h"

#define ORDER_TAG 0x4f52444552000000ULL /* "ORDER" */

void sl_batches_init(sl_batches *b, const sl_config *c, int owner, const int64_t *shard, int64_t count) {
  memset(b, 0, sizeof *b);
  b->owner = owner;
  b->shard = shard;
  b->count = count;
  b->seed = mpsl_rng_u64((uint64_t)c->seed, ORDER_TAG, (uint64_t)owner);
  b->order = mpsl_xmalloc((size_t)count * sizeof *b->order, "batch order");
  b->idx = mpsl_xmalloc((size_t)c->batch * sizeof *b->idx, "batch indices");
}

void sl_batches_free(sl_batches *b) {
  free(b->order);
  free(b->idx);
  memset(b, 0, sizeof *b);
}

void sl_batches_epoch(sl_batches *b, const sl_config *c, int64_t epoch) {
  mpsl_epoch_order(b->order, b->shard, b->count, b->seed, (uint64_t)epoch, c->shuffle);
}

void sl_batches_draw(sl_batches *b, const sl_config *c, const mpsl_dataset *d, int index, int64_t step, float *x,
                     int32_t *y) {
  int64_t at = (int64_t)index * c->batch;
  const int64_t *idx = b->order + at % b->count;
  if (at % b->count + c->batch > b->count) {
    for (int i = 0; i < c->batch; i++) b->idx[i] = b->order[(at + i) % b->count];
    idx = b->idx;
  }
  mpsl_augment aug = {c->augment, b->seed, (uint64_t)step};
  mpsl_dataset_batch(d, idx, c->batch, x, y, &aug);
}

uint64_t sl_owner_dropout_seed(const sl_config *c, int owner) { return (uint64_t)c->seed + (uint64_t)owner; }
