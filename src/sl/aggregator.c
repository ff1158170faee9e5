/* The aggregator over MPI, the aggregator role of proto/roles.h: FedAvg of every data
 * owner's M_1 and M_P (in data-owner order, weighted by sample count), the global model sent
 * back, and the global model assembled from M_1, pipeline 0's hops and M_P to be evaluated
 * on the test set.
 *
 * In emulation it averages when the last state has arrived (for the time its device
 * takes) and stamps the global model with its arrival at each data owner. Under a compute
 * backend that trains nothing it holds no model: states of the real size come and go,
 * nothing is evaluated. States are sized by the scenario (the bytes the parts' states
 * have, emu/timing.h), whichever the backend. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/replica.h"
#include "nn/stack.h"
#include "proto/roles.h"
#include "sl/emu_pace.h"
#include "sl/internal.h"
#include "sl/reference.h"
#include "sl/sl.h"
#include "util/err.h"

struct sl_aggregator {
  sl_ctx *x;
  proto_agg role; /* when to average, whom to send the result (proto/roles.h) */
  proto_ops ops;  /* this rank, for the role */
  proto_ctx ctx;
  double last; /* emulation: the latest state's arrival this round */
  int64_t total; /* samples of the data owners whose states are averaged this round */
  nn_stack global; /* P parts at the configuration's cuts, when the backend trains */
  mpsl_dataset test;
  int64_t n;        /* doubles of a data owner's M_1 and M_P */
  double *acc;      /* (n) */
  double *in;       /* (max(n, any hop's state)) */
  double *arr;      /* (K) emulation: arrival of each state, then of the global model */
  double *to_owner; /* (K) emulation: when the link to each data owner is free */
};

/* Doubles of hop h's state, as the hop holds it (whole doubles of the scenario's bytes). */
static int64_t hop_len(const emu_scenario *s, int h) { return s->hop_state[h] / (int64_t)sizeof(double); }

static void agg_run(void *engine, const proto_task *t);
static void agg_send(void *engine, const proto_msg *m);

/* a->acc: the global M_1 and M_P, as the global model holds them. */
static void acc_from_global(sl_aggregator *a) {
  nn_part **g = a->global.parts;
  memset(a->acc, 0, (size_t)a->n * sizeof *a->acc);
  nn_part_state_accumulate(g[0], 1.0, a->acc);
  nn_part_state_accumulate(g[a->x->t->P - 1], 1.0, a->acc + nn_part_state_len(g[0]));
}

sl_aggregator *sl_agg_new(sl_ctx *x) {
  const sl_config *c = x->c;
  sl_aggregator *a = mpsl_xcalloc(1, sizeof *a, "aggregator");
  a->x = x;
  a->role.K = x->t->K;
  a->ops = (proto_ops){agg_run, agg_send, NULL, NULL};
  a->ctx = (proto_ctx){x->t->H, c->local_epochs * c->batches, 0, &a->ops, a};
  a->arr = mpsl_xcalloc((size_t)x->t->K, sizeof *a->arr, "arrivals");
  a->to_owner = mpsl_xcalloc((size_t)x->t->K, sizeof *a->to_owner, "links");
  if (x->compute->trains && (mpsl_dataset_load(&a->test, c->dataset, c->data_dir[0] ? c->data_dir : NULL, 0) ||
                             nn_stack_init(&a->global, x->m, c->cuts.v, c->cuts.n, c->batch))) {
    sl_agg_free(a);
    return NULL;
  }
  if (x->compute->trains) nn_stack_init_weights(&a->global, (uint64_t)c->seed);
  const emu_scenario *s = x->emu;
  a->n = s->owner_state / (int64_t)sizeof(double);
  nn_part **g = a->global.parts;
  if (g && a->n != nn_part_state_len(g[0]) + nn_part_state_len(g[x->t->P - 1]))
    MPSL_DIE("the scenario's state of M_1 and M_P (%lld doubles) is not the parts' (%lld)", (long long)a->n,
             (long long)(nn_part_state_len(g[0]) + nn_part_state_len(g[x->t->P - 1])));
  int64_t most = a->n;
  for (int h = 0; h < x->t->H; h++)
    if (hop_len(s, h) > most) most = hop_len(s, h);
  a->acc = mpsl_xcalloc((size_t)(a->n ? a->n : 1), sizeof *a->acc, "average");
  a->in = mpsl_xcalloc((size_t)(most ? most : 1), sizeof *a->in, "received state");
  x->buffers += (a->n + most) * (int64_t)sizeof(double);
  if (g) acc_from_global(a); /* what a round that no data owner trains in sends back */
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

/* The global M_1 and M_P (a->acc) once to every data-owner rank, when the arrival at the
 * last owner it hosts is stamped (a->arr). */
static void send_rank(sl_aggregator *a, int k) {
  const sl_topo *t = a->x->t;
  int first, cnt, r = sl_owner_rank(t, k);
  sl_rank_owners(t, r, &first, &cnt);
  if (k == first + cnt - 1)
    sl_send_at(&a->x->net, SL_MSG_MODEL, first, a->acc, a->n * (int64_t)sizeof(double), r, NULL, a->arr + first, cnt);
}

/* FedAvg, once the role has every state: in emulation from the last arrival, for as long
 * as the aggregator's device takes. */
static void agg_run(void *engine, const proto_task *t) {
  sl_aggregator *a = engine;
  sl_ctx *x = a->x;
  const emu_scenario *s = x->emu;
  if (a->total > 0) nn_state_average(a->acc, a->n, (double)a->total); /* none: the global model stays */
  if (x->emulated) {
    sl_emu_sleep(x, a->last);
    sl_emu_start(x, a->last);
    x->round_end = a->last + emu_average_s(s, a->n * (int64_t)sizeof(double), a->role.avg, s->agg_speed);
  }
  proto_agg_finished(&a->role, &a->ctx, t);
}

/* The global M_1 and M_P to data owner k, in emulation over its link to the aggregator. */
static void agg_send(void *engine, const proto_msg *m) {
  sl_aggregator *a = engine;
  sl_ctx *x = a->x;
  int k = m->owner;
  if (x->emulated)
    a->arr[k] = emu_link_send(&a->to_owner[k], x->emu->owner_agg[k], a->n * (int64_t)sizeof(double), x->round_end);
  send_rank(a, k);
}

void sl_agg_aggregate(sl_aggregator *a) {
  sl_ctx *x = a->x;
  const sl_topo *t = x->t;
  int64_t n = a->n, bytes = n * (int64_t)sizeof(double);
  int trained = 0;
  for (int k = 0; k < t->K; k++) trained += !x->absent[k];
  a->last = x->round_start;
  a->total = 0;
  a->ctx.base = (int64_t)x->round * a->ctx.per_round;
  proto_agg_begin(&a->role, &a->ctx, trained); /* none: agg_run now */
  /* received and summed in data-owner order, whatever order they come in; a->acc holds
   * the global model until the first state arrives (none: it stays) */
  for (int k = 0; k < t->K; k++) {
    if (x->absent[k]) continue;
    int src = sl_owner_rank(t, k);
    sl_msg_type type = sl_await_either(&x->net, src, k, SL_MSG_MODEL, SL_MSG_STOP);
    sl_recv_at(&x->net, type, k, type == SL_MSG_MODEL ? a->in : NULL, type == SL_MSG_MODEL ? bytes : 0, src,
               &a->arr[k], 1);
    if (a->arr[k] > a->last) a->last = a->arr[k];
    if (type == SL_MSG_MODEL) {
      if (a->role.avg == 0) memset(a->acc, 0, (size_t)bytes);
      nn_state_add(a->acc, a->in, n, (double)x->counts[k]);
      a->total += x->counts[k];
    }
    proto_agg_arrived(&a->role, &a->ctx, type == SL_MSG_MODEL ? PROTO_STATE : PROTO_STOP); /* the last: agg_run */
  }
  emu_fail_note(x->c, x->round, a->role.got - a->role.avg, stdout);
  /* the global model: M_1 and M_P, and each hop as pipeline 0 averaged it */
  nn_part **g = a->global.parts;
  if (g) nn_part_state_load(g[0], a->acc);
  if (g) nn_part_state_load(g[t->P - 1], a->acc + nn_part_state_len(g[0]));
  for (int h = 0; h < t->H; h++) {
    int64_t b = hop_len(x->emu, h) * (int64_t)sizeof(double); /* as the hop holds it */
    sl_recv(&x->net, SL_MSG_MODEL, 0, a->in, b, sl_compute_rank(t, 0, h));
    if (g) nn_part_state_load(g[h + 1], a->in);
  }
}

/* The two scalars of a checkpoint (sl/sl.h), read from or written to rounds and clock. */
static void ckpt_scalars(mpsl_named_tensor *t, int64_t *rounds, double *clock) {
  t[0] = (mpsl_named_tensor){"mpsl.rounds_done", MPSL_I64, 0, {0}, rounds};
  t[1] = (mpsl_named_tensor){"mpsl.clock", MPSL_F64, 0, {0}, clock};
}

/* The global model's tensors, then the two scalars. */
static int ckpt_tensors(sl_aggregator *a, mpsl_named_tensor **out, int64_t *rounds, double *clock) {
  mpsl_named_tensor *t = NULL;
  int n = a->global.parts ? nn_stack_tensors(&a->global, &t) : 0;
  mpsl_named_tensor *all = mpsl_xcalloc((size_t)n + 2, sizeof *all, "checkpoint");
  for (int i = 0; i < n; i++) all[i] = t[i];
  ckpt_scalars(all + n, rounds, clock);
  *out = all;
  return n + 2;
}

int sl_agg_checkpoint(sl_aggregator *a, const char *path, int rounds_done, double clock) {
  mpsl_named_tensor *t;
  int64_t r = rounds_done;
  int n = ckpt_tensors(a, &t, &r, &clock);
  int rc = mpsl_weights_save(path, t, n);
  free(t);
  return rc;
}

int sl_checkpoint_read(sl_resume *r) {
  int64_t rounds = 0;
  mpsl_named_tensor t[2];
  ckpt_scalars(t, &rounds, &r->clock);
  if (mpsl_weights_load(r->path, t, 2)) return -1;
  if (rounds < 0 || rounds > INT32_MAX) return mpsl_fail("%s: mpsl.rounds_done is %lld", r->path, (long long)rounds);
  r->rounds_done = (int)rounds;
  return 0;
}

void sl_checkpoint_path(const char *out, char *buf, int cap) { snprintf(buf, (size_t)cap, "%s.ckpt", out); }

void sl_agg_restore(sl_aggregator *a, const char *path) {
  sl_ctx *x = a->x;
  const sl_topo *t = x->t;
  if (!a->global.parts) return; /* nothing trained: nothing to restore */
  mpsl_named_tensor *tt;
  int64_t r;
  double clock;
  int n = ckpt_tensors(a, &tt, &r, &clock);
  if (mpsl_weights_load(path, tt, n - 2)) sl_abort(x, "%s", mpsl_errmsg());
  free(tt);
  nn_part **g = a->global.parts;
  for (int p = 0; p < t->P; p++) nn_part_params_changed(g[p]);
  /* every data-owner rank gets M_1 and M_P, every hop its part, as after an aggregation */
  acc_from_global(a);
  memset(a->arr, 0, (size_t)t->K * sizeof *a->arr);
  for (int k = 0; k < t->K; k++) send_rank(a, k);
  for (int p = 0; p < t->R; p++)
    for (int h = 0; h < t->H; h++) {
      int64_t len = nn_part_state_len(g[h + 1]);
      memset(a->in, 0, (size_t)len * sizeof *a->in);
      nn_part_state_accumulate(g[h + 1], 1.0, a->in);
      sl_send(&x->net, SL_MSG_MODEL, 0, a->in, len * (int64_t)sizeof(double), sl_compute_rank(t, p, h), NULL);
    }
}

void sl_agg_evaluate(sl_aggregator *a, double *loss, double *acc) {
  if (!a->global.parts) {
    *loss = *acc = NAN;
    return;
  }
  sl_evaluate(&a->global, &a->test, a->x->c->test_limit, loss, acc);
}

int sl_agg_save(sl_aggregator *a, const char *path) {
  if (!a->global.parts)
    return mpsl_fail("save_model = %s: compute = %s trains no model to save", path, a->x->compute->name);
  mpsl_named_tensor *t;
  int n = nn_stack_tensors(&a->global, &t);
  return mpsl_weights_save(path, t, n);
}

void sl_agg_memory(const sl_aggregator *a, mpsl_res_memory *s) {
  if (!a->global.parts) return;
  for (int p = 0; p < a->global.nparts; p++) {
    nn_mem_stats m;
    nn_part_memory(a->global.parts[p], &m);
    sl_mem_row_add(s, &m, 1);
  }
}
