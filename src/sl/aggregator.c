/* The aggregator: FedAvg of every data owner's M_1 and M_P (in data-owner order, weighted
 * by sample count), the global model sent back, and the global model assembled from
 * M_1, pipeline 0's hops and M_P to be evaluated on the test set. */
#include <stdlib.h>
#include <string.h>

#include "nn/replica.h"
#include "nn/stack.h"
#include "sl/internal.h"
#include "sl/reference.h"
#include "util/err.h"

struct sl_aggregator {
  sl_ctx *x;
  nn_stack global; /* P parts at the configuration's cuts */
  mpsl_dataset test;
  int64_t len1, lenp;
  double *acc; /* (len1 + lenp) */
  double *in;  /* (max(len1 + lenp, any hop's state)) */
};

sl_aggregator *sl_agg_new(sl_ctx *x) {
  const sl_config *c = x->c;
  sl_aggregator *a = mpsl_xcalloc(1, sizeof *a, "aggregator");
  a->x = x;
  if (mpsl_dataset_load(&a->test, c->dataset, c->data_dir[0] ? c->data_dir : NULL, 0) ||
      nn_stack_init(&a->global, x->m, c->cuts.v, c->cuts.n, c->batch)) {
    sl_agg_free(a);
    return NULL;
  }
  nn_stack_init_weights(&a->global, (uint64_t)c->seed);
  int P = x->t->P;
  a->len1 = nn_part_state_len(a->global.parts[0]);
  a->lenp = nn_part_state_len(a->global.parts[P - 1]);
  int64_t most = a->len1 + a->lenp;
  for (int p = 1; p < P - 1; p++)
    if (nn_part_state_len(a->global.parts[p]) > most) most = nn_part_state_len(a->global.parts[p]);
  a->acc = mpsl_xmalloc((size_t)(a->len1 + a->lenp) * sizeof *a->acc, "average");
  a->in = mpsl_xmalloc((size_t)most * sizeof *a->in, "received state");
  x->buffers += (a->len1 + a->lenp + most) * (int64_t)sizeof(double);
  return a;
}

void sl_agg_free(sl_aggregator *a) {
  if (!a) return;
  nn_stack_free(&a->global);
  mpsl_dataset_free(&a->test);
  free(a->acc);
  free(a->in);
  free(a);
}

void sl_agg_aggregate(sl_aggregator *a) {
  sl_ctx *x = a->x;
  const sl_topo *t = x->t;
  int64_t n = a->len1 + a->lenp, bytes = n * (int64_t)sizeof(double);
  memset(a->acc, 0, (size_t)bytes);
  for (int k = 0; k < t->K; k++) {
    sl_recv(&x->net, SL_MSG_MODEL, k, a->in, bytes, sl_owner_rank(t, k));
    double w = (double)x->counts[k];
    for (int64_t i = 0; i < n; i++) a->acc[i] += w * a->in[i];
  }
  for (int64_t i = 0; i < n; i++) a->acc[i] /= (double)x->total;
  for (int k = 0; k < t->K; k += t->opr) sl_send(&x->net, SL_MSG_MODEL, k, a->acc, bytes, sl_owner_rank(t, k), NULL);
  nn_part_state_load(a->global.parts[0], a->acc);
  nn_part_state_load(a->global.parts[t->P - 1], a->acc + a->len1);
  for (int h = 0; h < t->H; h++) {
    nn_part *p = a->global.parts[h + 1];
    sl_recv(&x->net, SL_MSG_MODEL, 0, a->in, nn_part_state_len(p) * (int64_t)sizeof(double), sl_compute_rank(t, 0, h));
    nn_part_state_load(p, a->in);
  }
}

void sl_agg_evaluate(sl_aggregator *a, double *loss, double *acc) {
  sl_evaluate(&a->global, &a->test, a->x->c->test_limit, loss, acc);
}

int sl_agg_save(sl_aggregator *a, const char *path) {
  mpsl_named_tensor *t;
  int n = nn_stack_tensors(&a->global, &t);
  return mpsl_weights_save(path, t, n);
}

void sl_agg_memory(const sl_aggregator *a, nn_mem_stats *s) {
  for (int p = 0; p < a->global.nparts; p++) sl_mem_add(s, a->global.parts[p]);
}
