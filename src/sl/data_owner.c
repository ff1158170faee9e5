/* A data-owner rank hosts data owners first .. first+n-1. Each trains its own M_1 and M_P
 * on its shard; inputs and labels never leave it: the only messages it sends are cut
 * activations, cut gradients and its parts for aggregation (sl_send audits this). The
 * owners are independent, so messages are served in arrival order.
 *
 * In emulation (sl/emu_pace.h) every hosted owner is a device of its own: an event loop
 * runs each owner's next task when the wall clock reaches its start (its input's arrival
 * or the end of its previous task), and otherwise sleeps until then or the next message.
 * With profiled compute there is no data and no model: buffers of the real sizes travel
 * and each task costs its profiled time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/replica.h"
#include "sl/batches.h"
#include "sl/emu_pace.h"
#include "sl/internal.h"
#include "util/err.h"

/* An owner's next task in emulation: nothing to do until a message comes, M_1 forward,
 * M_P forward and backward (the activation came back), M_1 backward (the gradient came). */
enum { DO_IDLE, DO_F1, DO_FPBP, DO_B1 };

typedef struct {
  int k;
  nn_part *m1, *mp;
  sl_batches b;
  float *x;                       /* (batch, C, S, S) input */
  int32_t *y;                     /* (batch) labels */
  float *a1;                      /* (batch, out of M_1) sent to hop 1 */
  float *ain;                     /* (batch, in of M_P) received from the last hop */
  float *logits;                  /* (batch, classes) */
  float *dlogits;                 /* (batch, classes) */
  float *dain;                    /* (batch, in of M_P) sent to the last hop */
  float *da1;                     /* (batch, out of M_1) received from hop 1 */
  int done;                       /* batches finished this round */
  double t_recv;                  /* when the message being served arrived */
  MPI_Request sent_a1, sent_dain; /* sends still in progress */
  /* emulation, model seconds */
  int next;                     /* DO_IDLE, ... */
  double ready;                 /* when the next task starts */
  double free;                  /* end of the device's last task */
  double to_first, to_last_own; /* links to hop 1 and to the last hop are free */
  double *to_last;              /* &to_first with one hop: the same link */
  double to_agg;                /* link to the aggregator is free */
  double finish;                /* end of the round's last task */
} do_owner;

struct sl_owner_host {
  sl_ctx *x;
  do_owner *o; /* (n) */
  int first, n;
  mpsl_dataset train;
  mpsl_partition part;
  int64_t a1_bytes, ain_bytes;
  int64_t len1, lenp; /* state lengths of M_1 and M_P */
  double *state;      /* (len1 + lenp) */
  double *holds;      /* (n) emulation: when each owner holds the global model */
  double loss;
};

/* Buffers of the real message sizes and nothing else: profiled compute. */
static void new_profiled(sl_owner_host *d) {
  sl_ctx *x = d->x;
  const emu_scenario *s = x->emu;
  int64_t a1 = s->cut_bytes[0] / 4, ain = s->cut_bytes[x->t->H] / 4;
  for (int i = 0; i < d->n; i++) {
    do_owner *o = &d->o[i];
    o->k = d->first + i;
    o->sent_a1 = o->sent_dain = MPI_REQUEST_NULL;
    sl_alloc_owner(x, &(sl_owner_layout){0, a1, ain, 0}, &o->x, &o->a1, &o->da1, &o->ain, &o->dain, &o->logits,
                   &o->dlogits);
    x->counts[o->k] = 0;
  }
  d->a1_bytes = a1 * 4;
  d->ain_bytes = ain * 4;
  d->len1 = s->owner_state / (int64_t)sizeof(double);
  d->lenp = 0;
  d->state = mpsl_xcalloc((size_t)(d->len1 ? d->len1 : 1), sizeof *d->state, "part state");
  x->buffers += d->len1 * (int64_t)sizeof(double);
}

sl_owner_host *sl_do_new(sl_ctx *x, int first, int n) {
  const sl_config *c = x->c;
  const sl_topo *t = x->t;
  sl_owner_host *d = mpsl_xcalloc(1, sizeof *d, "data-owner rank");
  d->x = x;
  d->first = first;
  d->n = n;
  d->o = mpsl_xcalloc((size_t)n, sizeof *d->o, "data owners");
  d->holds = mpsl_xcalloc((size_t)n, sizeof *d->holds, "arrivals");
  if (x->profiled) {
    new_profiled(d);
    return d;
  }
  if (mpsl_dataset_load(&d->train, c->dataset, c->data_dir[0] ? c->data_dir : NULL, 1) ||
      mpsl_partition_make(&d->part, &d->train, t->K, c->partition, c->alpha, (uint64_t)c->seed)) {
    sl_do_free(d);
    return NULL;
  }
  int B = c->batch;
  for (int i = 0; i < n; i++) {
    do_owner *o = &d->o[i];
    o->k = first + i;
    o->sent_a1 = o->sent_dain = MPI_REQUEST_NULL;
    o->m1 = nn_part_new(x->m, t->first[0], t->last[0], B);
    o->mp = nn_part_new(x->m, t->first[t->P - 1], t->last[t->P - 1], B);
    if (!o->m1 || !o->mp) {
      sl_do_free(d);
      return NULL;
    }
    for (int j = 0; j < 2; j++) {
      nn_part *p = j ? o->mp : o->m1;
      nn_part_init_weights(p, (uint64_t)c->seed);
      nn_part_set_dropout_seed(p, sl_owner_dropout_seed(c, o->k));
    }
    sl_batches_init(&o->b, c, o->k, d->part.index[o->k], d->part.count[o->k]);
    int64_t a1 = nn_part_out_numel(o->m1) * B, ain = nn_part_in_numel(o->mp) * B;
    o->y = mpsl_xmalloc((size_t)B * sizeof *o->y, "labels");
    sl_owner_layout l = {nn_part_in_numel(o->m1) * B, a1, ain, (int64_t)x->m->classes * B};
    sl_alloc_owner(x, &l, &o->x, &o->a1, &o->da1, &o->ain, &o->dain, &o->logits, &o->dlogits);
    d->a1_bytes = a1 * (int64_t)sizeof(float);
    d->ain_bytes = ain * (int64_t)sizeof(float);
  }
  d->len1 = nn_part_state_len(d->o[0].m1);
  d->lenp = nn_part_state_len(d->o[0].mp);
  d->state = mpsl_xmalloc((size_t)(d->len1 + d->lenp) * sizeof *d->state, "part state");
  x->buffers += (d->len1 + d->lenp) * (int64_t)sizeof(double);
  for (int i = 0; i < n; i++) x->counts[first + i] = d->part.count[first + i];
  return d;
}

void sl_do_free(sl_owner_host *d) {
  if (!d) return;
  for (int i = 0; i < d->n; i++) {
    do_owner *o = &d->o[i];
    nn_part_free(o->m1);
    nn_part_free(o->mp);
    sl_batches_free(&o->b);
    free(o->x);
    free(o->y);
    free(o->a1);
    free(o->da1);
    free(o->ain);
    free(o->dain);
    free(o->logits);
    free(o->dlogits);
  }
  free(d->o);
  free(d->state);
  free(d->holds);
  mpsl_partition_free(&d->part);
  mpsl_dataset_free(&d->train);
  free(d);
}

void sl_do_partition(const sl_owner_host *d, int64_t *rows) {
  int classes = d->train.classes;
  for (int i = 0; i < d->n; i++) {
    int k = d->first + i;
    int64_t *r = rows + (int64_t)i * (4 + classes);
    memset(r, 0, (size_t)(4 + classes) * sizeof *r);
    r[0] = k;
    r[1] = d->x->rank;
    r[2] = sl_owner_pipeline(d->x->t, k);
    r[3] = d->part.count[k];
    for (int64_t s = 0; s < d->part.count[k]; s++) r[4 + d->train.labels[d->part.index[k][s]]]++;
  }
}

static int64_t step_of(const sl_owner_host *d, const do_owner *o) {
  const sl_config *c = d->x->c;
  return (int64_t)d->x->round * c->local_epochs * c->batches + o->done;
}

/* Draws the owner's next batch, runs M_1 and sends the cut activation to hop 1. */
static void start_batch(sl_owner_host *d, do_owner *o) {
  sl_ctx *x = d->x;
  const sl_config *c = x->c;
  if (o->done % c->batches == 0) sl_batches_epoch(&o->b, c, (int64_t)x->round * c->local_epochs + o->done / c->batches);
  double start = sl_clock(x);
  sl_batches_draw(&o->b, c, &d->train, o->done % c->batches, step_of(d, o), o->x, o->y);
  sl_done(&o->sent_a1);
  nn_part_forward(o->m1, o->x, o->a1, 1);
  sl_send(&x->net, SL_MSG_ACTIVATION, o->k, o->a1, d->a1_bytes, sl_compute_rank(x->t, sl_owner_pipeline(x->t, o->k), 0),
          &o->sent_a1);
  sl_event(x, o->k, step_of(d, o), MPSL_DIR_FWD, 1, start, sl_clock(x), 0, d->a1_bytes);
}

/* The activation came back from the last hop: M_P forward, loss, backward, update, and
 * the gradient of the cut goes back. */
static void finish_forward(sl_owner_host *d, do_owner *o) {
  sl_ctx *x = d->x;
  const sl_config *c = x->c;
  double start = sl_clock(x);
  nn_part_forward(o->mp, o->ain, o->logits, 1);
  double loss = nn_xent(o->logits, o->y, c->batch, x->m->classes, o->dlogits, NULL);
  if (!isfinite(loss)) sl_abort(x, "data owner %d: the loss became %g in round %d: lower lr", o->k, loss, x->round + 1);
  d->loss += loss;
  double mid = sl_clock(x);
  sl_done(&o->sent_dain);
  nn_part_backward(o->mp, o->dlogits, o->dain);
  nn_part_sgd(o->mp, (float)c->lr, (float)c->momentum, (float)c->weight_decay);
  sl_send(&x->net, SL_MSG_GRADIENT, o->k, o->dain, d->ain_bytes,
          sl_compute_rank(x->t, sl_owner_pipeline(x->t, o->k), x->t->H - 1), &o->sent_dain);
  int P = x->t->P;
  sl_event(x, o->k, step_of(d, o), MPSL_DIR_FWD, P, start, mid, start - o->t_recv, 0);
  sl_event(x, o->k, step_of(d, o), MPSL_DIR_BWD, P, mid, sl_clock(x), 0, d->ain_bytes);
}

/* The gradient came back from hop 1: M_1 backward and update; the batch is done. */
static void finish_backward(sl_owner_host *d, do_owner *o) {
  sl_ctx *x = d->x;
  const sl_config *c = x->c;
  double start = sl_clock(x);
  nn_part_backward(o->m1, o->da1, NULL);
  nn_part_sgd(o->m1, (float)c->lr, (float)c->momentum, (float)c->weight_decay);
  sl_event(x, o->k, step_of(d, o), MPSL_DIR_BWD, 1, start, sl_clock(x), start - o->t_recv, 0);
  o->done++;
}

/* ---- emulation ---------------------------------------------------------------------- */

/* M_1 forward of the owner's next batch (real compute). */
static void real_f1(sl_owner_host *d, do_owner *o) {
  const sl_config *c = d->x->c;
  if (o->done % c->batches == 0)
    sl_batches_epoch(&o->b, c, (int64_t)d->x->round * c->local_epochs + o->done / c->batches);
  sl_batches_draw(&o->b, c, &d->train, o->done % c->batches, step_of(d, o), o->x, o->y);
  nn_part_forward(o->m1, o->x, o->a1, 1);
}

static void real_fp(sl_owner_host *d, do_owner *o) {
  sl_ctx *x = d->x;
  nn_part_forward(o->mp, o->ain, o->logits, 1);
  double loss = nn_xent(o->logits, o->y, x->c->batch, x->m->classes, o->dlogits, NULL);
  if (!isfinite(loss)) sl_abort(x, "data owner %d: the loss became %g in round %d: lower lr", o->k, loss, x->round + 1);
  d->loss += loss;
}

static void real_bwd(sl_owner_host *d, nn_part *p, const float *dout, float *din) {
  const sl_config *c = d->x->c;
  nn_part_backward(p, dout, din);
  nn_part_sgd(p, (float)c->lr, (float)c->momentum, (float)c->weight_decay);
}

/* Runs the owner's due task at o->ready (the wall clock is there). */
static void step_emu(sl_owner_host *d, do_owner *o) {
  sl_ctx *x = d->x;
  const emu_scenario *s = x->emu;
  const sl_topo *t = x->t;
  int k = o->k, P = t->P, pipe = sl_owner_pipeline(t, k), profiled = x->profiled;
  int64_t step = step_of(d, o);
  double start = o->ready, speed = s->owner_speed[k], w;
  sl_emu_start(x, start);
  if (o->next == DO_F1) {
    sl_done(&o->sent_a1);
    double cost = s->first[k].fwd * emu_jitter(s, k, step, 0), end = start + cost;
    if (!profiled) {
      w = MPI_Wtime();
      real_f1(d, o);
      w = MPI_Wtime() - w;
      end = sl_emu_finish(x, start, w / speed * emu_jitter(s, k, step, 0), w);
    }
    double arr = emu_link_send(&o->to_first, s->owner_cn[k], d->a1_bytes, end);
    sl_send_at(&x->net, SL_MSG_ACTIVATION, k, o->a1, d->a1_bytes, sl_compute_rank(t, pipe, 0), &o->sent_a1, &arr, 1);
    sl_event(x, k, step, MPSL_DIR_FWD, 1, start, end, 0, d->a1_bytes);
    o->free = end;
    o->next = DO_IDLE;
  } else if (o->next == DO_FPBP) {
    sl_done(&o->sent_dain);
    double mid = start + s->last[k].fwd * emu_jitter(s, k, step, 1);
    if (!profiled) {
      w = MPI_Wtime();
      real_fp(d, o);
      w = MPI_Wtime() - w;
      mid = sl_emu_finish(x, start, w / speed * emu_jitter(s, k, step, 1), w);
    }
    double end = mid + s->last[k].bwd * emu_jitter(s, k, step, 2);
    if (!profiled) {
      w = MPI_Wtime();
      real_bwd(d, o->mp, o->dlogits, o->dain);
      w = MPI_Wtime() - w;
      end = sl_emu_finish(x, mid, w / speed * emu_jitter(s, k, step, 2), w);
    }
    double arr = emu_link_send(o->to_last, s->owner_cn[k], d->ain_bytes, end);
    sl_send_at(&x->net, SL_MSG_GRADIENT, k, o->dain, d->ain_bytes, sl_compute_rank(t, pipe, t->H - 1), &o->sent_dain,
               &arr, 1);
    sl_event(x, k, step, MPSL_DIR_FWD, P, start, mid, start - o->t_recv, 0);
    sl_event(x, k, step, MPSL_DIR_BWD, P, mid, end, 0, d->ain_bytes);
    o->free = end;
    o->next = DO_IDLE;
  } else {
    double end = start + s->first[k].bwd * emu_jitter(s, k, step, 3);
    if (!profiled) {
      w = MPI_Wtime();
      real_bwd(d, o->m1, o->da1, NULL);
      w = MPI_Wtime() - w;
      end = sl_emu_finish(x, start, w / speed * emu_jitter(s, k, step, 3), w);
    }
    sl_event(x, k, step, MPSL_DIR_BWD, 1, start, end, start - o->t_recv, 0);
    o->free = o->ready = o->finish = end;
    o->done++;
    o->next = o->done < x->c->local_epochs * x->c->batches ? DO_F1 : DO_IDLE;
  }
}

/* A message for one of the owners: it makes the owner's next task, due at its arrival. */
static void take_emu(sl_owner_host *d, const MPI_Status *st) {
  sl_ctx *x = d->x;
  sl_msg_type type = SL_TAG_TYPE(st->MPI_TAG);
  int k = SL_TAG_OWNER(st->MPI_TAG);
  if (k < d->first || k >= d->first + d->n || (type != SL_MSG_ACTIVATION && type != SL_MSG_GRADIENT))
    sl_abort(x, "unexpected message (type %d, data owner %d) from rank %d", (int)type, k, st->MPI_SOURCE);
  do_owner *o = &d->o[k - d->first];
  if (o->next != DO_IDLE) sl_abort(x, "data owner %d: a message came while a task was pending", k);
  int act = type == SL_MSG_ACTIVATION;
  sl_recv_at(&x->net, type, k, act ? o->ain : o->da1, act ? d->ain_bytes : d->a1_bytes, st->MPI_SOURCE, &o->t_recv, 1);
  o->next = act ? DO_FPBP : DO_B1;
  o->ready = o->t_recv > o->free ? o->t_recv : o->free;
}

static void round_emu(sl_owner_host *d) {
  sl_ctx *x = d->x;
  int per_round = x->c->local_epochs * x->c->batches;
  for (int i = 0; i < d->n; i++) {
    do_owner *o = &d->o[i];
    o->to_last = x->t->H == 1 ? &o->to_first : &o->to_last_own;
    o->next = DO_F1;
    o->ready = o->free = x->round_start;
  }
  MPI_Status st;
  for (;;) {
    if (sl_poll(&x->net, &st)) {
      take_emu(d, &st);
      continue;
    }
    do_owner *due = NULL;
    int running = 0;
    for (int i = 0; i < d->n; i++) {
      do_owner *o = &d->o[i];
      running += o->done < per_round;
      if (o->next != DO_IDLE && (!due || o->ready < due->ready)) due = o;
    }
    if (!running) break;
    if (sl_emu_wait(x, due ? due->ready : INFINITY, &st)) continue;
    if (due) step_emu(d, due);
  }
}

void sl_do_round(sl_owner_host *d, double *loss_sum, int64_t *batches) {
  sl_ctx *x = d->x;
  const sl_config *c = x->c;
  int per_round = c->local_epochs * c->batches, busy = d->n;
  d->loss = 0;
  for (int i = 0; i < d->n; i++) {
    do_owner *o = &d->o[i];
    o->done = 0;
    for (int j = 0; j < 2 && !x->profiled; j++) {
      nn_part *p = j ? o->mp : o->m1;
      nn_part_reset_momenta(p);
      nn_part_set_step(p, (uint64_t)(x->round * per_round));
    }
    if (!x->emulated) start_batch(d, o);
  }
  if (x->emulated) {
    round_emu(d);
    busy = 0;
  }
  MPI_Status st;
  while (busy > 0) {
    sl_wait_any(&x->net, &st);
    sl_msg_type type = SL_TAG_TYPE(st.MPI_TAG);
    int k = SL_TAG_OWNER(st.MPI_TAG);
    if (k < d->first || k >= d->first + d->n || (type != SL_MSG_ACTIVATION && type != SL_MSG_GRADIENT))
      sl_abort(x, "unexpected message (type %d, data owner %d) from rank %d", (int)type, k, st.MPI_SOURCE);
    do_owner *o = &d->o[k - d->first];
    if (type == SL_MSG_ACTIVATION) {
      sl_recv(&x->net, type, k, o->ain, d->ain_bytes, st.MPI_SOURCE);
      o->t_recv = sl_clock(x);
      finish_forward(d, o);
    } else {
      sl_recv(&x->net, type, k, o->da1, d->a1_bytes, st.MPI_SOURCE);
      o->t_recv = sl_clock(x);
      finish_backward(d, o);
      if (o->done < per_round)
        start_batch(d, o);
      else
        busy--;
    }
  }
  for (int i = 0; i < d->n; i++) {
    sl_done(&d->o[i].sent_a1);
    sl_done(&d->o[i].sent_dain);
  }
  /* profiled compute trains nothing: there is no loss */
  *loss_sum = x->profiled ? NAN : d->loss;
  *batches = (int64_t)per_round * d->n;
}

/* Each owner sends M_1 and M_P to the aggregator and all of them get the global ones back.
 * In emulation each state leaves when its owner's last task ended, over its own link. */
void sl_do_aggregate(sl_owner_host *d) {
  sl_ctx *x = d->x;
  int64_t bytes = (d->len1 + d->lenp) * (int64_t)sizeof(double);
  for (int i = 0; i < d->n; i++) {
    do_owner *o = &d->o[i];
    if (!x->profiled) {
      memset(d->state, 0, (size_t)bytes);
      nn_part_state_accumulate(o->m1, 1.0, d->state);
      nn_part_state_accumulate(o->mp, 1.0, d->state + d->len1);
    }
    double arr = x->emulated ? emu_link_send(&o->to_agg, x->emu->owner_agg[o->k], bytes, o->finish) : 0;
    sl_send_at(&x->net, SL_MSG_MODEL, o->k, d->state, bytes, 0, NULL, &arr, 1);
  }
  sl_recv_at(&x->net, SL_MSG_MODEL, d->first, d->state, bytes, 0, d->holds, d->n);
  for (int i = 0; i < d->n && x->emulated; i++)
    if (d->holds[i] > x->round_end) x->round_end = d->holds[i];
  for (int i = 0; i < d->n && !x->profiled; i++) {
    nn_part_state_load(d->o[i].m1, d->state);
    nn_part_state_load(d->o[i].mp, d->state + d->len1);
  }
}

void sl_do_memory(const sl_owner_host *d, mpsl_res_memory *s) {
  for (int i = 0; i < d->n && !d->x->profiled; i++) {
    sl_mem_add(s, d->o[i].m1);
    sl_mem_add(s, d->o[i].mp);
  }
}
