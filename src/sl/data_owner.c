/* A data-owner rank hosts data owners first .. first+n-1, each the data-owner role of
 * proto/roles.h (which task follows which, which message goes where). Each trains its own
 * M_1 and M_P on its shard; inputs and labels never leave it: the only messages it sends
 * are cut activations, cut gradients and its parts for aggregation (sl_send audits this).
 * The owners are independent, so messages are served in arrival order.
 *
 * In real time a task runs as soon as the role asks for it. In emulation (sl/emu_pace.h)
 * every hosted owner is a device of its own: the task waits for its start in model time
 * (its input's arrival or the end of its previous task), and an event loop runs each
 * owner's due task when the wall clock gets there, sleeping until then or the next
 * message. What a task computes and costs is the run's compute backend's (sl/compute.h);
 * a backend that trains nothing reads no data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/replica.h"
#include "proto/roles.h"
#include "sl/batches.h"
#include "sl/emu_pace.h"
#include "sl/internal.h"
#include "util/err.h"

typedef struct {
  proto_owner role; /* role.k: which data owner; role.done: batches finished this round */
  sl_part m1, mp;
  sl_batches b;
  float *x;                       /* (batch, C, S, S) input */
  int32_t *y;                     /* (batch) labels */
  float *a1;                      /* (batch, out of M_1) sent to hop 1 */
  float *ain;                     /* (batch, in of M_P) received from the last hop */
  float *logits;                  /* (batch, classes) */
  float *dlogits;                 /* (batch, classes) */
  float *dain;                    /* (batch, in of M_P) sent to the last hop */
  float *da1;                     /* (batch, out of M_1) received from hop 1 */
  double t_recv;                  /* when the message being served arrived */
  MPI_Request sent_a1, sent_dain; /* sends still in progress */
  /* emulation, model seconds */
  proto_task next;              /* the task the role asked for, waiting for its start */
  int pending;                  /* there is one */
  double ready;                 /* when it starts */
  double free;                  /* end of the device's last task */
  double to_first, to_last_own; /* links to hop 1 and to the last hop are free */
  double *to_last;              /* &to_first with one hop: the same link */
  double to_agg;                /* link to the aggregator is free */
  double finish;                /* end of its round's last task */
} do_owner;

struct sl_owner_host {
  sl_ctx *x;
  proto_ops ops; /* this rank, for the roles */
  proto_ctx ctx;
  double now;  /* when the roles act (wall seconds; model seconds in emulation) */
  double start; /* the round's start, in the same seconds */
  int running; /* owners not through with the round */
  int trained; /* owners through with their batches */
  int training; /* owners that train this round (the others sit it out) */
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

static void do_run(void *engine, const proto_task *t);
static void do_send(void *engine, const proto_msg *m);
static void do_done(void *engine, int owner);
static int do_lost(void *engine, int owner);

sl_owner_host *sl_do_new(sl_ctx *x, int first, int n) {
  const sl_config *c = x->c;
  const sl_topo *t = x->t;
  sl_owner_host *d = mpsl_xcalloc(1, sizeof *d, "data-owner rank");
  d->x = x;
  d->first = first;
  d->n = n;
  d->o = mpsl_xcalloc((size_t)n, sizeof *d->o, "data owners");
  d->holds = mpsl_xcalloc((size_t)n, sizeof *d->holds, "arrivals");
  d->ops = (proto_ops){do_run, do_send, do_done, do_lost};
  d->ctx = (proto_ctx){t->H, c->local_epochs * c->batches, 0, &d->ops, d};
  for (int i = 0; i < n; i++) d->o[i].role.k = first + i;
  /* only a backend that trains reads the data */
  if (x->compute->trains &&
      (mpsl_dataset_load(&d->train, c->dataset, c->data_dir[0] ? c->data_dir : NULL, 1) ||
       mpsl_partition_make(&d->part, &d->train, t->K, c->partition, c->alpha, (uint64_t)c->seed))) {
    sl_do_free(d);
    return NULL;
  }
  for (int i = 0; i < n; i++) {
    do_owner *o = &d->o[i];
    int k = o->role.k;
    o->sent_a1 = o->sent_dain = MPI_REQUEST_NULL;
    if (sl_part_init(x, &o->m1, 0, k) || sl_part_init(x, &o->mp, t->P - 1, k)) {
      sl_do_free(d);
      return NULL;
    }
    if (x->compute->trains) sl_batches_init(&o->b, c, k, d->part.index[k], d->part.count[k]);
    x->counts[k] = x->compute->trains ? d->part.count[k] : 0;
    o->y = mpsl_xmalloc((size_t)c->batch * sizeof *o->y, "labels");
    sl_owner_layout l = {o->m1.in, o->m1.out, o->mp.in, o->mp.out};
    sl_alloc_owner(x, &l, &o->x, &o->a1, &o->da1, &o->ain, &o->dain, &o->logits, &o->dlogits);
  }
  d->a1_bytes = d->o[0].m1.out * (int64_t)sizeof(float);
  d->ain_bytes = d->o[0].mp.in * (int64_t)sizeof(float);
  d->len1 = d->o[0].m1.state;
  d->lenp = d->o[0].mp.state;
  d->state = mpsl_xcalloc((size_t)(d->len1 + d->lenp ? d->len1 + d->lenp : 1), sizeof *d->state, "part state");
  x->buffers += (d->len1 + d->lenp) * (int64_t)sizeof(double);
  return d;
}

void sl_do_free(sl_owner_host *d) {
  if (!d) return;
  for (int i = 0; i < d->n; i++) {
    do_owner *o = &d->o[i];
    sl_part_free(&o->m1);
    sl_part_free(&o->mp);
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

/* The task the role asked for, from `start`, by the compute backend: timed in wall seconds
 * or, in emulation, in model seconds (what the backend says it costs on its device, x
 * jitter); its event; then the role goes on. */
static void execute(sl_owner_host *d, do_owner *o, const proto_task *t, double start) {
  sl_ctx *x = d->x;
  const sl_config *c = x->c;
  const emu_scenario *s = x->emu;
  int k = o->role.k, P = x->t->P, first = t->kind == PROTO_F1 || t->kind == PROTO_B1;
  int fwd = t->kind == PROTO_F1 || t->kind == PROTO_FP;
  if (t->kind == PROTO_F1) sl_done(&o->sent_a1);
  if (t->kind == PROTO_BP) sl_done(&o->sent_dain);
  const sl_compute *be = x->compute;
  double wall = MPI_Wtime();
  int done = o->role.done;
  switch (t->kind) {
    case PROTO_F1:
      if (be->trains && done % c->batches == 0)
        sl_batches_epoch(&o->b, c, (int64_t)x->round * c->local_epochs + done / c->batches);
      if (be->trains) sl_batches_draw(&o->b, c, &d->train, done % c->batches, t->step, o->x, o->y);
      be->forward(&o->m1, o->x, o->a1);
      break;
    case PROTO_FP:
      be->forward(&o->mp, o->ain, o->logits);
      if (be->trains) {
        double loss = nn_xent(o->logits, o->y, c->batch, x->m->classes, o->dlogits, NULL);
        if (!isfinite(loss))
          sl_abort(x, "data owner %d: the loss became %g in round %d: lower lr", k, loss, x->round + 1);
        d->loss += loss;
      }
      break;
    default:
      be->backward(first ? &o->m1 : &o->mp, first ? o->da1 : o->dlogits, first ? NULL : o->dain, c);
  }
  wall = MPI_Wtime() - wall;
  const emu_cost *e = first ? &s->first[k] : &s->last[k];
  double cost = be->cost(fwd ? e->fwd : e->bwd, wall, s->owner_speed[k]) * emu_jitter(s, k, t->step, t->kind);
  double end = x->engine->task_end(x, start, cost, be->measured ? wall : 0);
  int64_t bytes = t->kind == PROTO_F1 ? d->a1_bytes : t->kind == PROTO_BP ? d->ain_bytes : 0;
  double wait = t->kind == PROTO_FP || t->kind == PROTO_B1 ? start - o->t_recv : 0;
  sl_event(x, k, t->step, fwd ? MPSL_DIR_FWD : MPSL_DIR_BWD, first ? 1 : P, start, end, wait, bytes);
  o->free = end;
  d->now = end;
  proto_owner_finished(&o->role, &d->ctx, t);
}

/* The task waits for its start: the later of now (its input's arrival, or the end of the
 * task before) and its device being free; the round's loop runs it then. */
static void do_run(void *engine, const proto_task *t) {
  sl_owner_host *d = engine;
  do_owner *o = &d->o[t->owner - d->first];
  o->next = *t;
  o->pending = 1;
  o->ready = d->now > o->free ? d->now : o->free;
}

/* Each owner's M_1 and M_P for aggregation (or its stop), leaving when the owner finished.
 * A send of this size blocks until the aggregator takes it, in data-owner order: sent once
 * every hosted owner is through, it cannot hold up one still training. */
static void send_states(sl_owner_host *d) {
  sl_ctx *x = d->x;
  int64_t bytes = (d->len1 + d->lenp) * (int64_t)sizeof(double);
  for (int i = 0; i < d->n; i++) {
    do_owner *o = &d->o[i];
    int k = o->role.k;
    if (x->absent[k]) continue; /* it sat the round out: nothing to average */
    if (o->role.stopped) {
      double none = -INFINITY; /* no bytes: no link kept busy */
      x->engine->send(x, SL_MSG_STOP, k, NULL, 0, 0, NULL, &none, x->emu->owner_agg[k], o->finish);
      continue;
    }
    memset(d->state, 0, (size_t)bytes);
    x->compute->add(&o->m1, 1.0, d->state);
    x->compute->add(&o->mp, 1.0, d->state + d->len1);
    x->engine->send(x, SL_MSG_MODEL, o->role.k, d->state, bytes, 0, NULL, &o->to_agg, x->emu->owner_agg[o->role.k],
                    o->finish);
  }
}

/* The activation to hop 1, the gradient to the last hop or the state to the aggregator; in
 * emulation stamped with its arrival over the owner's directed link. */
static void do_send(void *engine, const proto_msg *m) {
  sl_owner_host *d = engine;
  sl_ctx *x = d->x;
  const sl_topo *t = x->t;
  do_owner *o = &d->o[m->owner - d->first];
  if (m->to == PROTO_AGG) { /* its state, or its stop */
    o->finish = d->now;
    if (++d->trained == d->training) send_states(d);
    return;
  }
  if (m->dir == PROTO_STOP) { /* to hop 0, which passes it on */
    double none = -INFINITY;
    x->engine->send(x, SL_MSG_STOP, o->role.k, NULL, 0, sl_compute_rank(t, sl_owner_pipeline(t, o->role.k), 0), NULL,
                    &none, x->emu->owner_cn[o->role.k], d->now);
    return;
  }
  int fwd = m->dir == MPSL_DIR_FWD, k = o->role.k;
  int64_t bytes = fwd ? d->a1_bytes : d->ain_bytes;
  int dst = sl_compute_rank(t, sl_owner_pipeline(t, k), fwd ? 0 : t->H - 1);
  sl_msg_type type = fwd ? SL_MSG_ACTIVATION : SL_MSG_GRADIENT;
  float *buf = fwd ? o->a1 : o->dain;
  MPI_Request *req = fwd ? &o->sent_a1 : &o->sent_dain;
  x->engine->send(x, type, k, buf, bytes, dst, req, fwd ? &o->to_first : o->to_last, x->emu->owner_cn[k], d->now);
}

static void do_done(void *engine, int owner) {
  sl_owner_host *d = engine;
  if (d->now > d->x->round_end) d->x->round_end = d->now;
  d->running--;
  (void)owner;
}

static int do_lost(void *engine, int owner) {
  sl_owner_host *d = engine;
  const sl_ctx *x = d->x;
  return emu_pipeline_lost(x->emu, x->round, sl_owner_pipeline(x->t, owner), d->now - d->start);
}

/* The global M_1 and M_P from the aggregator, for every hosted owner (d->holds: when each
 * holds it, in emulation). */
static void take_global(sl_owner_host *d) {
  int64_t bytes = (d->len1 + d->lenp) * (int64_t)sizeof(double);
  sl_recv_at(&d->x->net, SL_MSG_MODEL, d->first, d->state, bytes, 0, d->holds, d->n);
  for (int i = 0; i < d->n; i++) {
    d->x->compute->load(&d->o[i].m1, d->state);
    d->x->compute->load(&d->o[i].mp, d->state + d->len1);
  }
}

/* A message for one of the owners: into its buffer, and to its role. */
static void take(sl_owner_host *d, const MPI_Status *st) {
  sl_ctx *x = d->x;
  sl_msg_type type = SL_TAG_TYPE(st->MPI_TAG);
  int k = SL_TAG_OWNER(st->MPI_TAG);
  if (type == SL_MSG_MODEL && k == d->first && st->MPI_SOURCE == 0) { /* the global model */
    take_global(d);
    for (int i = 0; i < d->n; i++) {
      d->now = d->holds[i];
      proto_owner_arrived(&d->o[i].role, &d->ctx, &(proto_msg){PROTO_STATE, d->first + i, PROTO_AGG, -1, 0});
    }
    return;
  }
  if (k < d->first || k >= d->first + d->n || (type != SL_MSG_ACTIVATION && type != SL_MSG_GRADIENT))
    sl_abort(x, "unexpected message (type %d, data owner %d) from rank %d", (int)type, k, st->MPI_SOURCE);
  do_owner *o = &d->o[k - d->first];
  if (o->pending) sl_abort(x, "data owner %d: a message came while a task was pending", k);
  int act = type == SL_MSG_ACTIVATION;
  o->t_recv = x->engine->recv(x, type, k, act ? o->ain : o->da1, act ? d->ain_bytes : d->a1_bytes, st->MPI_SOURCE);
  d->now = o->t_recv;
  proto_msg m = {act ? MPSL_DIR_FWD : MPSL_DIR_BWD, k, act ? x->t->H - 1 : 0, -1, 0};
  m.step = d->ctx.base + o->role.done;
  proto_owner_arrived(&o->role, &d->ctx, &m);
}

void sl_do_round(sl_owner_host *d, double *loss_sum, int64_t *batches) {
  sl_ctx *x = d->x;
  const sl_config *c = x->c;
  int per_round = c->local_epochs * c->batches;
  d->loss = 0;
  d->running = d->n;
  d->trained = d->training = 0;
  for (int i = 0; i < d->n; i++) d->training += !x->absent[d->o[i].role.k];
  d->ctx.base = (int64_t)x->round * per_round;
  d->start = x->engine->paced ? x->round_start : sl_clock(x);
  for (int i = 0; i < d->n; i++) {
    do_owner *o = &d->o[i];
    x->compute->round(&o->m1, (uint64_t)(x->round * per_round), sl_round_lr(c, x->round));
    x->compute->round(&o->mp, (uint64_t)(x->round * per_round), sl_round_lr(c, x->round));
    o->to_last = x->t->H == 1 ? &o->to_first : &o->to_last_own;
    o->pending = 0;
    o->free = d->now = x->engine->task_start(x, x->round_start);
    proto_owner_begin(&o->role, &d->ctx, !x->absent[o->role.k]);
  }
  /* the owners' due tasks in the order of their starts, each once its engine lets it
   * start, and the messages as they come */
  MPI_Status st;
  while (d->running > 0) {
    if (sl_poll(&x->net, &st)) {
      take(d, &st);
      continue;
    }
    do_owner *due = NULL;
    for (int i = 0; i < d->n; i++)
      if (d->o[i].pending && (!due || d->o[i].ready < due->ready)) due = &d->o[i];
    if (x->engine->wait(x, due ? due->ready : INFINITY, &st)) {
      take(d, &st);
      continue;
    }
    if (!due) continue;
    proto_task t = due->next;
    due->pending = 0;
    execute(d, due, &t, x->engine->task_start(x, due->ready));
  }
  for (int i = 0; i < d->n; i++) {
    sl_done(&d->o[i].sent_a1);
    sl_done(&d->o[i].sent_dain);
  }
  *loss_sum = x->compute->trains ? d->loss : NAN; /* nothing trained: no loss */
  *batches = 0; /* the batches trained: fewer for owners that stopped */
  for (int i = 0; i < d->n; i++) *batches += d->o[i].role.done;
}

void sl_do_restore(sl_owner_host *d) {
  if (d->x->compute->trains) take_global(d);
}

void sl_do_memory(const sl_owner_host *d, mpsl_res_memory *s) {
  for (int i = 0; i < d->n; i++) {
    sl_part_memory(&d->o[i].m1, s);
    sl_part_memory(&d->o[i].mp, s);
  }
}
