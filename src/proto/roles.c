#include "proto/roles.h"

#include <math.h>
#include <stddef.h>

#include "io/results.h"
#include "util/heap.h"

/* ---- a data owner -------------------------------------------------------------------- */

static void run(const proto_ctx *c, int kind, int owner, int hop, int64_t step, double arrival) {
  proto_task t = {kind, owner, hop, step, arrival};
  c->ops->run(c->engine, &t);
}

static void send(const proto_ctx *c, int dir, int owner, int from, int to, int64_t step) {
  proto_msg m = {dir, owner, from, to, step};
  c->ops->send(c->engine, &m);
}

void proto_owner_begin(proto_owner *o, const proto_ctx *c) {
  o->done = 0;
  run(c, PROTO_F1, o->k, -1, c->base, 0);
}

void proto_owner_arrived(proto_owner *o, const proto_ctx *c, const proto_msg *m) {
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
        run(c, PROTO_F1, o->k, -1, t->step + 1, 0);
      else
        c->ops->done(c->engine, o->k);
  }
}

/* ---- a hop ------------------------------------------------------------------------------ */

static inline int wait_less(const proto_wait *a, const proto_wait *b) {
  return a->arrival < b->arrival || (a->arrival == b->arrival && a->owner < b->owner);
}

MPSL_HEAP(q, proto_wait, wait_less)

void proto_node_begin(proto_node *n) { n->n[0] = n->n[1] = n->busy = 0; }

void proto_node_arrived(proto_node *n, const proto_msg *m, double arrival) {
  q_push(n->q[m->dir], &n->n[m->dir], (proto_wait){arrival, m->owner, m->step});
}

double proto_node_earliest(const proto_node *n) {
  double e = INFINITY;
  for (int d = 0; d < 2; d++)
    if (n->n[d] && n->q[d][0].arrival < e) e = n->q[d][0].arrival;
  return e;
}

void proto_node_pick(proto_node *n, const proto_ctx *c, sl_pick_fn pick, double by) {
  sl_task f = {0, MPSL_DIR_FWD, 0}, b = {0, MPSL_DIR_BWD, 0};
  int hf = n->n[MPSL_DIR_FWD] && n->q[MPSL_DIR_FWD][0].arrival <= by;
  int hb = n->n[MPSL_DIR_BWD] && n->q[MPSL_DIR_BWD][0].arrival <= by;
  if (hf) f.copy = n->q[MPSL_DIR_FWD][0].owner, f.arrival = n->q[MPSL_DIR_FWD][0].arrival;
  if (hb) b.copy = n->q[MPSL_DIR_BWD][0].owner, b.arrival = n->q[MPSL_DIR_BWD][0].arrival;
  int dir = pick(hf ? &f : NULL, hb ? &b : NULL);
  proto_wait w = q_pop(n->q[dir], &n->n[dir]);
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
