#include "proto/roles.h"

#include <math.h>
#include <stddef.h>

#include "io/results.h"
#include "util/err.h"

/* ---- a data owner -------------------------------------------------------------------- */

static void run(const proto_ctx *c, int kind, int owner, int hop, int64_t step, double arrival) {
  proto_task t = {kind, owner, hop, step, arrival};
  c->ops->run(c->engine, &t);
}

static void send(const proto_ctx *c, int dir, int owner, int from, int to, int64_t step) {
  proto_msg m = {dir, owner, from, to, step};
  c->ops->send(c->engine, &m);
}

/* The next batch, unless the pipeline lost a compute node: then the owner's round stops. */
static void next_batch(proto_owner *o, const proto_ctx *c, int64_t step) {
  if (!c->ops->lost(c->engine, o->k)) {
    run(c, PROTO_F1, o->k, -1, step, 0);
    return;
  }
  o->stopped = 1;
  send(c, PROTO_STOP, o->k, -1, 0, step);
  send(c, PROTO_STOP, o->k, -1, PROTO_AGG, step);
}

void proto_owner_begin(proto_owner *o, const proto_ctx *c, int trains) {
  o->done = o->stopped = 0;
  if (trains) next_batch(o, c, c->base);
}

void proto_owner_arrived(proto_owner *o, const proto_ctx *c, const proto_msg *m) {
  if (m->dir == PROTO_STATE) { /* the global model: the round is over */
    c->ops->done(c->engine, o->k);
    return;
  }
  /* one batch in flight: the owner is idle whenever a message reaches it */
  run(c, m->dir == MPSL_DIR_FWD ? PROTO_FP : PROTO_B1, o->k, -1, m->step, 0);
}

void proto_owner_finished(proto_owner *o, const proto_ctx *c, const proto_task *t) {
  switch (t->kind) {
    case PROTO_F1: send(c, MPSL_DIR_FWD, o->k, -1, 0, t->step); break;
    case PROTO_FP: run(c, PROTO_BP, o->k, -1, t->step, 0); break;
    case PROTO_BP: send(c, MPSL_DIR_BWD, o->k, -1, c->H - 1, t->step); break;
    default: /* PROTO_B1: the batch is done */
      if (++o->done < c->per_round)
        next_batch(o, c, t->step + 1);
      else
        send(c, PROTO_STATE, o->k, -1, PROTO_AGG, t->step);
  }
}

/* ---- the aggregator ---------------------------------------------------------------------- */

void proto_agg_begin(proto_agg *a, const proto_ctx *c, int n) {
  a->n = n;
  a->got = a->avg = 0;
  if (n == 0) run(c, PROTO_AG, -1, PROTO_AGG, c->base, 0);
}

void proto_agg_arrived(proto_agg *a, const proto_ctx *c, int dir) {
  a->avg += dir == PROTO_STATE;
  if (++a->got == a->n) run(c, PROTO_AG, -1, PROTO_AGG, c->base, 0);
}

void proto_agg_finished(proto_agg *a, const proto_ctx *c, const proto_task *t) {
  for (int k = 0; k < a->K; k++) send(c, PROTO_STATE, k, PROTO_AGG, -1, t->step);
}

/* ---- a hop ------------------------------------------------------------------------------ */

static inline int wait_less(const proto_wait *a, const proto_wait *b) {
  return a->arrival < b->arrival || (a->arrival == b->arrival && a->owner < b->owner);
}

/* Slot i of direction d's ring. */
static inline proto_wait *slot(const proto_node *n, int d, int64_t i) {
  int64_t j = n->head[d] + i;
  return &n->q[d][j < n->cap ? j : j - n->cap];
}

/* A task joins its queue in place, found from the back: tasks arrive nearly in order (in
 * the simulator exactly in time order), so this is one step but at ties. */
static void q_insert(proto_node *n, int d, proto_wait v) {
  if (n->n[d] == n->cap) MPSL_DIE("hop %d: a queue of %lld tasks is full", n->hop, (long long)n->cap);
  int64_t i = n->n[d]++;
  for (; i > 0 && wait_less(&v, slot(n, d, i - 1)); i--) *slot(n, d, i) = *slot(n, d, i - 1);
  *slot(n, d, i) = v;
}

void proto_node_begin(proto_node *n) { n->n[0] = n->n[1] = n->head[0] = n->head[1] = n->busy = 0; }

void proto_node_arrived(proto_node *n, const proto_ctx *c, const proto_msg *m, double arrival) {
  if (m->dir == PROTO_STOP) {
    if (n->hop < c->H - 1) send(c, PROTO_STOP, m->owner, n->hop, n->hop + 1, m->step);
    return;
  }
  q_insert(n, m->dir, (proto_wait){arrival, m->owner, m->step});
}

double proto_node_earliest(const proto_node *n) {
  double e = INFINITY;
  for (int d = 0; d < 2; d++)
    if (n->n[d] && slot(n, d, 0)->arrival < e) e = slot(n, d, 0)->arrival;
  return e;
}

void proto_node_pick(proto_node *n, const proto_ctx *c, sl_pick_fn pick, double by) {
  const proto_wait *fw = n->n[MPSL_DIR_FWD] ? slot(n, MPSL_DIR_FWD, 0) : NULL;
  const proto_wait *bw = n->n[MPSL_DIR_BWD] ? slot(n, MPSL_DIR_BWD, 0) : NULL;
  if (fw && !(fw->arrival <= by)) fw = NULL;
  if (bw && !(bw->arrival <= by)) bw = NULL;
  sl_task f = {fw ? fw->owner : 0, MPSL_DIR_FWD, fw ? fw->arrival : 0};
  sl_task b = {bw ? bw->owner : 0, MPSL_DIR_BWD, bw ? bw->arrival : 0};
  int dir = pick(fw ? &f : NULL, bw ? &b : NULL);
  proto_wait w = *slot(n, dir, 0);
  n->head[dir] = n->head[dir] + 1 < n->cap ? n->head[dir] + 1 : 0;
  n->n[dir]--;
  n->busy = 1;
  run(c, dir == MPSL_DIR_FWD ? PROTO_HF : PROTO_HB, w.owner, n->hop, w.step, w.arrival);
}

void proto_node_finished(proto_node *n, const proto_ctx *c, const proto_task *t) {
  n->busy = 0;
  int h = n->hop;
  if (t->kind == PROTO_HF)
    send(c, MPSL_DIR_FWD, t->owner, h, h == c->H - 1 ? -1 : h + 1, t->step);
  else
    send(c, MPSL_DIR_BWD, t->owner, h, h == 0 ? -1 : h - 1, t->step);
}
