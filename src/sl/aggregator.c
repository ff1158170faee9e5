/* The aggregator: FedAvg of every data owner's M_1 and M_P (in data-owner order, weighted
 * by sample count), the global model sent back, and the global model assembled from
 * M_1, pipeline 0's hops and M_P to be evaluated on the test set.
 *
 * In emulation it averages when the last state has arrived (for the time its device
 * takes) and stamps the global model with its arrival at each data owner. With profiled
 * compute it holds no model: states of the real size come and go, nothing is evaluated. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/replica.h"
#include "nn/stack.h"
#include "sl/emu_pace.h"
#include "sl/internal.h"
#include "sl/reference.h"
#include "util/err.h"

struct sl_aggregator {
  sl_ctx *x;
  nn_stack global; /* P parts at the configuration's cuts */
  mpsl_dataset test;
  int64_t len1, lenp;
  double *acc;      /* (len1 + lenp) */
  double *in;       /* (max(len1 + lenp, any hop's state)) */
  double *arr;      /* (K) emulation: arrival of each state, then of the global model */
  double *to_owner; /* (K) emulation: when the link to each data owner is free */
};

sl_aggregator *sl_agg_new(sl_ctx *x) {
  const sl_config *c = x->c;
  sl_aggregator *a = mpsl_xcalloc(1, sizeof *a, "aggregator");
  a->x = x;
  a->arr = mpsl_xcalloc((size_t)x->t->K, sizeof *a->arr, "arrivals");
  a->to_owner = mpsl_xcalloc((size_t)x->t->K, sizeof *a->to_owner, "links");
  if (x->profiled) {
    a->len1 = x->emu->owner_state / (int64_t)sizeof(double);
    a->acc = mpsl_xcalloc((size_t)(a->len1 ? a->len1 : 1), sizeof *a->acc, "average");
    a->in = mpsl_xcalloc((size_t)(a->len1 ? a->len1 : 1), sizeof *a->in, "received state");
    x->buffers += 2 * a->len1 * (int64_t)sizeof(double);
    return a;
  }
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
  free(a->arr);
  free(a->to_owner);
  free(a);
}

void sl_agg_aggregate(sl_aggregator *a) {
  sl_ctx *x = a->x;
  const sl_topo *t = x->t;
  int64_t n = a->len1 + a->lenp, bytes = n * (int64_t)sizeof(double);
  memset(a->acc, 0, (size_t)bytes);
  double last = x->round_start;
  for (int k = 0; k < t->K; k++) {
    sl_recv_at(&x->net, SL_MSG_MODEL, k, a->in, bytes, sl_owner_rank(t, k), &a->arr[k], 1);
    if (a->arr[k] > last) last = a->arr[k];
    if (x->profiled) continue;
    nn_state_add(a->acc, a->in, n, (double)x->counts[k]);
  }
  if (!x->profiled) nn_state_average(a->acc, n, (double)x->total);
  if (x->emulated) {
    const emu_scenario *s = x->emu;
    sl_emu_sleep(x, last);
    sl_emu_start(x, last);
    double done = last + emu_average_s(s, bytes, t->K, s->agg_speed);
    for (int k = 0; k < t->K; k++) a->arr[k] = emu_link_send(&a->to_owner[k], s->owner_agg[k], bytes, done);
    x->round_end = done;
  }
  for (int k = 0; k < t->K; k += t->opr) {
    int first, cnt;
    sl_rank_owners(t, sl_owner_rank(t, k), &first, &cnt);
    sl_send_at(&x->net, SL_MSG_MODEL, k, a->acc, bytes, sl_owner_rank(t, k), NULL, a->arr + first, cnt);
  }
  if (x->profiled) return;
  nn_part_state_load(a->global.parts[0], a->acc);
  nn_part_state_load(a->global.parts[t->P - 1], a->acc + a->len1);
  for (int h = 0; h < t->H; h++) {
    nn_part *p = a->global.parts[h + 1];
    sl_recv(&x->net, SL_MSG_MODEL, 0, a->in, nn_part_state_len(p) * (int64_t)sizeof(double), sl_compute_rank(t, 0, h));
    nn_part_state_load(p, a->in);
  }
}

void sl_agg_evaluate(sl_aggregator *a, double *loss, double *acc) {
  if (a->x->profiled) {
    *loss = *acc = NAN;
    return;
  }
  sl_evaluate(&a->global, &a->test, a->x->c->test_limit, loss, acc);
}

int sl_agg_save(sl_aggregator *a, const char *path) {
  if (a->x->profiled) return mpsl_fail("save_model = %s: compute = profiled trains no model to save", path);
  mpsl_named_tensor *t;
  int n = nn_stack_tensors(&a->global, &t);
  return mpsl_weights_save(path, t, n);
}

void sl_agg_memory(const sl_aggregator *a, mpsl_res_memory *s) {
  if (!a->global.parts) return;
  for (int p = 0; p < a->global.nparts; p++) sl_mem_add(s, a->global.parts[p]);
}
