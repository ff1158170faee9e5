/* The event engine of `mpsl simulate`: it drives the roles of proto/roles.h in virtual
 * time. Everything lives in flat arrays sized at sim_new: per data owner its role, the free
 * times of its four link directions and its message counters; per compute node its role
 * (two queues kept as binary heaps), its running task and its two hop-to-hop links.
 * Pending events sit in one binary heap.
 *
 * A data owner is a device of its own with one batch in flight, so it is idle whenever a
 * message reaches it: its tasks are settled as soon as the message's arrival is known (the
 * engine's clock `now` follows the owner through them), and only messages to compute
 * nodes and to the aggregator, task ends and dispatches go through the heap. Its links
 * carry one message at a time for the same reason, but they keep their free times like
 * every link, so that the link rule of docs/timing.md holds as written. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proto/roles.h"
#include "proto/scheduler.h"
#include "sim/sim.h"
#include "util/err.h"
#include "util/heap.h"

/* Event classes: at equal times, arrivals and task ends are settled before any compute
 * node picks its next task (docs/timing.md: everything that has arrived joins the queue
 * before the policy chooses). */
enum { EV_ARRIVE = 0, EV_DONE = 1, EV_DISPATCH = 2, AGG = -1 };

typedef struct {
  double t;
  uint64_t ord; /* class (1 for dispatches) << 62 | push sequence number */
  int32_t node; /* compute node p*H + h; arrivals at the aggregator: AGG */
  int32_t arg;  /* arrivals: owner * 4 + message dir; ends and dispatches: -EV_DONE / -EV_DISPATCH */
} sim_ev;

typedef struct {
  proto_node role;
  int pending;    /* a dispatch is in the event heap */
  proto_task cur; /* the running task */
  double cur_start;
  double last_end;             /* end of its last task this round */
  double free_next, free_prev; /* its links to hop h+1 and hop h-1 */
  int64_t msgs_next, msgs_prev;
  int64_t stops; /* data owners' stops passed to hop h+1 (no bytes) */
  emu_cost cost;
  int rank, part, h, p, copies;
} sim_node;

/* the four link directions of a data owner, indices into sim.ofree */
enum { L_UP_FIRST = 0, L_UP_LAST = 1, L_DOWN_FIRST = 2, L_DOWN_LAST = 3 };

struct sim {
  const emu_scenario *s;
  const sl_topo *t;
  sl_pick_fn pick; /* the scenario's policy */
  int K, H, R, N, per_round;
  int up_last, down_last; /* L_UP_LAST / L_DOWN_LAST, or their one-hop aliases */
  proto_ops ops;          /* this engine, for the roles */
  proto_ctx ctx;
  double now; /* the time the roles act at */

  sim_node *nodes;    /* (N) */
  proto_wait *qmem;   /* backing store of all queues */
  proto_owner *owner; /* (K) */
  char *absent;       /* (K) this round */
  double t0;          /* the round's start */
  proto_agg agg;
  double end; /* the latest data owner to hold the global model */

  /* per data owner */
  int *orank;     /* rank hosting it */
  double *ofree;  /* (4K) link free times */
  int64_t *cnt;   /* (4K) messages: activations up, gradients up, activations down, gradients down */

  sim_ev *heap;
  int64_t nheap, capheap;
  uint64_t seq;

  /* the round being played */
  int round;
  const sim_sink *sink;
  mpsl_res_event *buf;
  int64_t nbuf, capbuf;
  int stop;

  int64_t tasks, events;
};

/* ---- the event heap ------------------------------------------------------------- */

static inline int ev_less(const sim_ev *a, const sim_ev *b) { return a->t < b->t || (a->t == b->t && a->ord < b->ord); }
MPSL_HEAP(ev, sim_ev, ev_less)

static void push(sim *x, double t, int cls, int node, int arg) {
  if (x->nheap == x->capheap) {
    x->capheap *= 2;
    sim_ev *h = realloc(x->heap, (size_t)x->capheap * sizeof *h);
    if (!h) MPSL_DIE("out of memory for %lld pending events", (long long)x->capheap);
    x->heap = h;
  }
  ev_push(x->heap, &x->nheap, (sim_ev){t, ((uint64_t)(cls == EV_DISPATCH) << 62) | x->seq++, node, arg});
}

/* ---- rows ------------------------------------------------------------------------ */

static void flush(sim *x) {
  if (x->nbuf && !x->stop && x->sink && x->sink->emit) x->stop = x->sink->emit(x->sink->ctx, x->buf, x->nbuf);
  x->nbuf = 0;
}

static inline void row(sim *x, int rank, int role, int owner, int64_t batch, int dir, int part, double start,
                       double end, double wait, int64_t bytes) {
  x->tasks++;
  if (!x->buf || (x->sink->owners > 0 && owner >= x->sink->owners)) return;
  /* member by member into a zeroed buffer: the padding after `part` reaches the file, and
   * must be the same in every run */
  mpsl_res_event *e = &x->buf[x->nbuf++];
  e->round = x->round, e->rank = rank, e->role = role, e->owner = owner, e->batch = (int32_t)batch;
  e->direction = dir, e->part = part, e->start = start, e->end = end, e->queue_wait = wait, e->bytes = bytes;
  if (x->nbuf == x->capbuf) flush(x);
}

/* ---- the engine's side of the roles (proto_ops) ----------------------------------------- */

/* Node i may pick at t once everything else at t is settled: at once when nothing else is
 * due by then (the dispatch would be the next event), else through the heap. */
static void want_dispatch(sim *x, sim_node *nd, int i, double t) {
  if (!proto_node_ready(&nd->role) || nd->pending) return;
  if (x->nheap == 0 || x->heap[0].t > t) {
    proto_node_pick(&nd->role, &x->ctx, x->pick, INFINITY);
    return;
  }
  nd->pending = 1;
  push(x, t, EV_DISPATCH, i, -EV_DISPATCH);
}

/* A data owner's task ends its cost (x jitter) after now, and it goes on at once; a hop's
 * task ends in the heap. */
static void eng_run(void *e, const proto_task *t) {
  sim *x = e;
  const emu_scenario *s = x->s;
  int k = t->owner;
  if (t->hop == PROTO_AGG) { /* FedAvg: from the last arrival, as long as its device takes */
    x->now += emu_average_s(s, s->owner_state, x->agg.avg, s->agg_speed);
    proto_agg_finished(&x->agg, &x->ctx, t);
    return;
  }
  if (t->hop < 0) {
    const emu_cost *c = t->kind == PROTO_F1 || t->kind == PROTO_B1 ? &s->first[k] : &s->last[k];
    int fwd = t->kind == PROTO_F1 || t->kind == PROTO_FP, first = t->kind == PROTO_F1 || t->kind == PROTO_B1;
    double start = x->now, end = start + (fwd ? c->fwd : c->bwd) * emu_jitter(s, k, t->step, t->kind);
    int64_t bytes = t->kind == PROTO_F1 ? s->cut_bytes[0] : t->kind == PROTO_BP ? s->cut_bytes[x->H] : 0;
    row(x, x->orank[k], SL_OWNER, k, t->step, fwd ? MPSL_DIR_FWD : MPSL_DIR_BWD, first ? 1 : x->t->P, start, end, 0,
        bytes);
    x->now = end;
    proto_owner_finished(&x->owner[k], &x->ctx, t);
    return;
  }
  int i = emu_owner_pipe(s, k) * x->H + t->hop;
  sim_node *nd = &x->nodes[i];
  nd->cur = *t;
  nd->cur_start = x->now;
  push(x, x->now + (t->kind == PROTO_HF ? nd->cost.fwd : nd->cost.bwd), EV_DONE, i, -EV_DONE);
}

/* A message takes its directed link (docs/timing.md); one to a data owner is settled at
 * its arrival at once, one to a hop arrives through the heap. A stop has no bytes. */
static void eng_send(void *e, const proto_msg *m) {
  sim *x = e;
  const emu_scenario *s = x->s;
  int k = m->owner, fwd = m->dir == MPSL_DIR_FWD, base = emu_owner_pipe(s, k) * x->H, stop = m->dir == PROTO_STOP;
  if (m->to == PROTO_AGG || m->from == PROTO_AGG) { /* each on a link of its own: the only message on it this round */
    double at = x->now + emu_link_time(s->owner_agg[k], stop ? 0 : s->owner_state);
    if (m->to == PROTO_AGG) {
      push(x, at, EV_ARRIVE, AGG, k * 4 + m->dir);
      return;
    }
    double now = x->now;
    x->now = at;
    proto_owner_arrived(&x->owner[k], &x->ctx, m);
    x->now = now;
  } else if (stop) { /* no bytes: it keeps no link busy, only its latency */
    double none = -INFINITY, at = emu_link_send(&none, m->from < 0 ? s->owner_cn[k] : s->cn_cn, 0, x->now);
    if (m->from >= 0) x->nodes[base + m->from].stops++;
    push(x, at, EV_ARRIVE, base + m->to, k * 4 + m->dir);
  } else if (m->from < 0) {
    double at = emu_link_send(&x->ofree[4 * k + (fwd ? L_UP_FIRST : x->up_last)], s->owner_cn[k],
                              fwd ? s->cut_bytes[0] : s->cut_bytes[x->H], x->now);
    x->cnt[4 * k + (fwd ? 0 : 1)]++;
    push(x, at, EV_ARRIVE, base + m->to, k * 4 + m->dir);
  } else if (m->to < 0) {
    double at = emu_link_send(&x->ofree[4 * k + (fwd ? x->down_last : L_DOWN_FIRST)], s->owner_cn[k],
                              fwd ? s->cut_bytes[x->H] : s->cut_bytes[0], x->now);
    x->cnt[4 * k + (fwd ? 2 : 3)]++;
    double now = x->now;
    x->now = at;
    proto_owner_arrived(&x->owner[k], &x->ctx, m);
    x->now = now;
  } else {
    sim_node *nd = &x->nodes[base + m->from];
    double at = emu_link_send(fwd ? &nd->free_next : &nd->free_prev, s->cn_cn,
                              fwd ? s->cut_bytes[m->from + 1] : s->cut_bytes[m->from], x->now);
    if (fwd)
      nd->msgs_next++;
    else
      nd->msgs_prev++;
    push(x, at, EV_ARRIVE, base + m->to, k * 4 + m->dir);
  }
}

static void eng_done(void *e, int owner) {
  sim *x = e;
  if (x->now > x->end) x->end = x->now;
  (void)owner;
}

static int eng_lost(void *e, int owner) {
  sim *x = e;
  return emu_pipeline_lost(x->s, x->round, emu_owner_pipe(x->s, owner), x->now - x->t0);
}

/* The running task of node i ended at t: its row, its output, and the next pick. */
static void task_done(sim *x, int i, double t) {
  const emu_scenario *s = x->s;
  sim_node *nd = &x->nodes[i];
  const proto_task *c = &nd->cur;
  int fwd = c->kind == PROTO_HF;
  nd->last_end = t;
  row(x, nd->rank, SL_COMPUTE, c->owner, c->step, fwd ? MPSL_DIR_FWD : MPSL_DIR_BWD, nd->part, nd->cur_start, t,
      nd->cur_start - c->arrival, fwd ? s->cut_bytes[nd->h + 1] : s->cut_bytes[nd->h]);
  proto_task done = *c;
  proto_node_finished(&nd->role, &x->ctx, &done);
  want_dispatch(x, nd, i, t);
}

/* ---- the simulator ---------------------------------------------------------------- */

sim *sim_new(const emu_scenario *s, const sl_topo *t) {
  sim *x = mpsl_xcalloc(1, sizeof *x, "simulator");
  x->s = s;
  x->t = t;
  x->pick = sl_policy_at(s->policy);
  if (!x->pick) MPSL_DIE("simulation: no policy %d", s->policy);
  x->K = t->K, x->H = t->H, x->R = t->R, x->N = t->R * t->H;
  x->per_round = s->r * s->B;
  x->up_last = t->H == 1 ? L_UP_FIRST : L_UP_LAST;
  x->down_last = t->H == 1 ? L_DOWN_FIRST : L_DOWN_LAST;
  x->ops = (proto_ops){eng_run, eng_send, eng_done, eng_lost};
  x->ctx = (proto_ctx){t->H, x->per_round, 0, &x->ops, x};
  x->nodes = mpsl_xcalloc((size_t)x->N, sizeof *x->nodes, "compute nodes");
  /* a queue holds at most one task per data owner of its pipeline in each direction */
  x->qmem = mpsl_xmalloc((size_t)2 * t->H * (t->K + t->R) * sizeof *x->qmem, "queues");
  proto_wait *q = x->qmem;
  for (int i = 0; i < x->N; i++) {
    sim_node *nd = &x->nodes[i];
    nd->p = i / t->H, nd->h = i % t->H;
    nd->copies = sl_pipeline_owners(t, nd->p);
    nd->rank = sl_compute_rank(t, nd->p, nd->h);
    nd->part = nd->h + 2;
    nd->cost = s->hop[i];
    nd->role.hop = nd->h;
    for (int d = 0; d < 2; d++) nd->role.q[d] = q, q += nd->copies;
    nd->role.cap = nd->copies;
  }
  x->owner = mpsl_xcalloc((size_t)x->K, sizeof *x->owner, "owners");
  x->orank = mpsl_xmalloc((size_t)x->K * sizeof *x->orank, "owners");
  for (int k = 0; k < x->K; k++) x->owner[k].k = k, x->orank[k] = sl_owner_rank(t, k);
  x->ofree = mpsl_xcalloc((size_t)4 * x->K, sizeof *x->ofree, "links");
  x->agg.K = x->K;
  x->absent = mpsl_xcalloc((size_t)x->K, 1, "owners");
  x->cnt = mpsl_xcalloc((size_t)4 * x->K, sizeof *x->cnt, "link counts");
  x->capheap = 2 * (int64_t)(x->K + x->N) + 16;
  x->heap = mpsl_xmalloc((size_t)x->capheap * sizeof *x->heap, "events");
  return x;
}

void sim_free(sim *x) {
  if (!x) return;
  free(x->nodes);
  free(x->qmem);
  free(x->owner);
  free(x->orank);
  free(x->ofree);
  free(x->absent);
  free(x->cnt);
  free(x->heap);
  free(x->buf);
  free(x);
}

int64_t sim_tasks(const sim *x) { return x->tasks; }
int sim_stopped(const sim *x) {
  int n = 0;
  for (int k = 0; k < x->K; k++) n += x->owner[k].stopped;
  return n;
}
int64_t sim_events(const sim *x) { return x->events; }

static inline double maxd(double a, double b) { return a > b ? a : b; }

int sim_round(sim *x, int round, double t0, const sim_sink *sink, double *time_s) {
  const emu_scenario *s = x->s;
  x->round = round;
  x->ctx.base = (int64_t)round * x->per_round;
  x->sink = sink;
  x->stop = 0;
  x->nbuf = 0;
  if (sink && sink->emit && !x->buf) {
    x->capbuf = sink->chunk > 0 ? sink->chunk : (int64_t)1 << 18;
    x->buf = mpsl_xcalloc((size_t)x->capbuf, sizeof *x->buf, "event rows");
  }
  for (int i = 0; i < x->N; i++) {
    sim_node *nd = &x->nodes[i];
    proto_node_begin(&nd->role);
    nd->pending = 0;
    nd->msgs_next = nd->msgs_prev = nd->stops = 0;
    nd->last_end = t0;
  }
  memset(x->cnt, 0, (size_t)4 * x->K * sizeof *x->cnt);
  x->end = x->t0 = t0;
  int n = 0;
  for (int k = 0; k < x->K; k++) n += !(x->absent[k] = (char)sl_owner_absent(&s->absence, round, k));
  for (int k = 0; k < x->K; k++) {
    x->now = t0;
    proto_owner_begin(&x->owner[k], &x->ctx, !x->absent[k]);
  }
  x->now = t0;
  proto_agg_begin(&x->agg, &x->ctx, n); /* with none to come, the global model goes back now */
  while (x->nheap > 0 && !x->stop) {
    sim_ev e = ev_pop(x->heap, &x->nheap);
    x->events++;
    x->now = e.t;
    if (e.node == AGG) {
      proto_agg_arrived(&x->agg, &x->ctx, e.arg & 3);
    } else if (e.arg >= 0) {
      sim_node *nd = &x->nodes[e.node];
      int k = e.arg >> 2;
      proto_msg m = {e.arg & 3, k, -1, nd->h, x->ctx.base + x->owner[k].done};
      proto_node_arrived(&nd->role, &x->ctx, &m, e.t);
      want_dispatch(x, nd, e.node, e.t);
    } else if (e.arg == -EV_DONE) {
      task_done(x, e.node, e.t);
    } else {
      sim_node *nd = &x->nodes[e.node];
      nd->pending = 0;
      if (proto_node_ready(&nd->role)) proto_node_pick(&nd->role, &x->ctx, x->pick, INFINITY);
    }
  }
  flush(x);
  if (x->stop) {
    x->nheap = 0;
    return x->stop;
  }
  for (int k = 0; k < x->K; k++)
    if (x->owner[k].done != (x->absent[k] ? 0 : x->per_round) && !x->owner[k].stopped)
      MPSL_DIE("simulation: data owner %d finished %d of %d batches", k, x->owner[k].done, x->per_round);

  /* the end of the round (docs/timing.md): the data owners hold the global model (above);
   * hops average their copies, pipelines exchange each hop's state twice */
  double end = x->end;
  for (int h = 0; h < x->H; h++) {
    double ready = t0;
    for (int p = 0; p < x->R; p++) {
      const sim_node *nd = &x->nodes[p * x->H + h];
      ready = maxd(ready, nd->last_end + emu_average_s(s, s->hop_state[h], nd->copies, s->cn_speed[p * x->H + h]));
    }
    ready += emu_exchange_s(s, h);
    end = maxd(end, ready);
  }
  *time_s = end - t0;
  return 0;
}

/* ---- traffic ---------------------------------------------------------------------- */

typedef struct {
  int64_t n, cap;
  mpsl_res_link *v;
} link_list;

static void add_link(link_list *l, int round, int src, int dst, int64_t bytes, int64_t msgs) {
  if (!msgs) return;
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 256;
    mpsl_res_link *v = realloc(l->v, (size_t)l->cap * sizeof *v);
    if (!v) MPSL_DIE("out of memory for %lld link rows", (long long)l->cap);
    l->v = v;
  }
  mpsl_res_link *r = &l->v[l->n++];
  memset(r, 0, sizeof *r); /* padding included: rows reach the file as they are */
  r->round = round, r->src = src, r->dst = dst, r->bytes = bytes, r->messages = msgs;
}

static int link_cmp(const void *a, const void *b) {
  const mpsl_res_link *x = a, *y = b;
  if (x->src != y->src) return x->src < y->src ? -1 : 1;
  return x->dst < y->dst ? -1 : x->dst > y->dst;
}

int64_t sim_links(const sim *x, int round, mpsl_res_link **rows) {
  const emu_scenario *s = x->s;
  const sl_topo *t = x->t;
  link_list l = {0, 0, NULL};
  int64_t c0 = s->cut_bytes[0], cH = s->cut_bytes[x->H];
  for (int k = 0; k < x->K; k++) {
    int r = x->orank[k], p = sl_owner_pipeline(t, k);
    int first = sl_compute_rank(t, p, 0), last = sl_compute_rank(t, p, x->H - 1);
    const int64_t *c = x->cnt + 4 * k;
    int stop = x->owner[k].stopped;
    add_link(&l, round, r, first, c[0] * c0, c[0] + stop);
    add_link(&l, round, r, last, c[1] * cH, c[1]);
    add_link(&l, round, last, r, c[2] * cH, c[2]);
    add_link(&l, round, first, r, c[3] * c0, c[3]);
    if (!x->absent[k]) add_link(&l, round, r, 0, stop ? 0 : s->owner_state, 1); /* M_1 and M_P, or its stop */
  }
  /* like `mpsl run`, the aggregator sends the global M_1 and M_P once to every data-owner
   * rank, which hands them to all the owners it hosts */
  for (int k = 0; k < x->K; k += t->opr) add_link(&l, round, 0, x->orank[k], s->owner_state, 1);
  for (int i = 0; i < x->N; i++) {
    const sim_node *nd = &x->nodes[i];
    if (nd->h < x->H - 1)
      add_link(&l, round, nd->rank, nd->rank + 1, nd->msgs_next * s->cut_bytes[nd->h + 1],
               nd->msgs_next + nd->stops);
    if (nd->h > 0) add_link(&l, round, nd->rank, nd->rank - 1, nd->msgs_prev * s->cut_bytes[nd->h], nd->msgs_prev);
    /* pipeline 0 hands each averaged hop to the aggregator, which evaluates the model */
    if (nd->p == 0) add_link(&l, round, nd->rank, 0, s->hop_state[nd->h], 1);
  }
  qsort(l.v, (size_t)l.n, sizeof *l.v, link_cmp);
  int64_t n = 0;
  for (int64_t i = 0; i < l.n; i++) {
    if (n && l.v[n - 1].src == l.v[i].src && l.v[n - 1].dst == l.v[i].dst) {
      l.v[n - 1].bytes += l.v[i].bytes;
      l.v[n - 1].messages += l.v[i].messages;
    } else {
      memmove(&l.v[n++], &l.v[i], sizeof *l.v);
    }
  }
  *rows = l.v;
  return n;
}

void sim_audit(const sim *x, int round, mpsl_res_audit *rows) {
  for (int k = 0; k < x->K; k++) {
    mpsl_res_audit *a = &rows[k];
    memset(a, 0, sizeof *a);
    a->round = round, a->owner = k, a->activation = x->cnt[4 * k + 0], a->gradient = x->cnt[4 * k + 1],
    a->model = !x->absent[k] && !x->owner[k].stopped;
  }
}
