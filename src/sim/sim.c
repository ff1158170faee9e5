/* The event engine. Everything lives in flat arrays sized at sim_new: per data owner its
 * progress, the free times of its four link directions and its message counters; per
 * compute node two queues (forward, backward) kept as binary heaps, its running task and
 * its two hop-to-hop links. Pending events sit in one binary heap.
 *
 * A data owner is a device of its own with one batch in flight, so it is always idle when
 * a message reaches it: its tasks (M_P forward and backward on an activation, M_1 backward
 * and the next M_1 forward on a gradient) are settled as soon as the message's arrival is
 * known, and only messages to compute nodes, task ends and dispatches go through the heap.
 * Its links carry one message at a time for the same reason, but they keep their free
 * times like every link, so that the link rule of docs/timing.md holds as written. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proto/scheduler.h"
#include "sim/sim.h"
#include "util/err.h"

/* Event classes: at equal times, arrivals and task ends are settled before any compute
 * node picks its next task (docs/timing.md: everything that has arrived joins the queue
 * before the policy chooses). */
enum { EV_ARRIVE = 0, EV_DONE = 1, EV_DISPATCH = 2 };

typedef struct {
  double t;
  uint64_t ord; /* class (1 for dispatches) << 62 | push sequence number */
  int32_t node; /* compute node p*H + h */
  int32_t arg;  /* arrivals: owner * 2 + direction; ends and dispatches: -EV_DONE / -EV_DISPATCH */
} sim_ev;

typedef struct {
  double t; /* arrival of the message that made the task */
  int32_t owner;
} sim_task;

typedef struct {
  sim_task *q[2]; /* waiting forward / backward tasks, heaps on (arrival, owner) */
  int n[2];
  int busy, pending; /* running a task; a dispatch is in the event heap */
  sim_task cur;      /* the running task */
  int cur_dir;
  double cur_start;
  double last_end;             /* end of its last task this round */
  double free_next, free_prev; /* its links to hop h+1 and hop h-1 */
  int64_t msgs_next, msgs_prev;
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

  sim_node *nodes; /* (N) */
  sim_task *qmem;  /* backing store of all queues */

  /* per data owner */
  int *done;      /* batches finished this round */
  int *orank;     /* rank hosting it */
  double *ofree;  /* (4K) link free times */
  double *finish; /* end of its last M_1 backward this round */
  int64_t *cnt;   /* (4K) messages: activations up, gradients up, activations down, gradients down */

  sim_ev *heap;
  int64_t nheap, capheap;
  uint64_t seq;

  /* the round being played */
  int round;
  int64_t base; /* batches of an owner in earlier rounds */
  const sim_sink *sink;
  mpsl_res_event *buf;
  int64_t nbuf, capbuf;
  int stop;

  int64_t tasks, events;
};

/* ---- the event heap ------------------------------------------------------------- */

static inline int ev_less(const sim_ev *a, const sim_ev *b) { return a->t < b->t || (a->t == b->t && a->ord < b->ord); }

static void push(sim *x, double t, int cls, int node, int arg) {
  if (x->nheap == x->capheap) {
    x->capheap *= 2;
    sim_ev *h = realloc(x->heap, (size_t)x->capheap * sizeof *h);
    if (!h) MPSL_DIE("out of memory for %lld pending events", (long long)x->capheap);
    x->heap = h;
  }
  sim_ev e = {t, ((uint64_t)(cls == EV_DISPATCH) << 62) | x->seq++, node, arg};
  int64_t i = x->nheap++;
  while (i > 0) {
    int64_t up = (i - 1) / 2;
    if (!ev_less(&e, &x->heap[up])) break;
    x->heap[i] = x->heap[up];
    i = up;
  }
  x->heap[i] = e;
}

static sim_ev pop(sim *x) {
  sim_ev top = x->heap[0], last = x->heap[--x->nheap];
  int64_t i = 0, n = x->nheap;
  for (;;) {
    int64_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && ev_less(&x->heap[c + 1], &x->heap[c])) c++;
    if (!ev_less(&x->heap[c], &last)) break;
    x->heap[i] = x->heap[c];
    i = c;
  }
  if (n > 0) x->heap[i] = last;
  return top;
}

/* ---- compute-node queues: ties by data owner (docs/timing.md) ----------------------- */

static inline int task_less(const sim_task *a, const sim_task *b) {
  return a->t < b->t || (a->t == b->t && a->owner < b->owner);
}

static void q_push(sim_task *q, int *n, sim_task v) {
  int i = (*n)++;
  while (i > 0) {
    int up = (i - 1) / 2;
    if (!task_less(&v, &q[up])) break;
    q[i] = q[up];
    i = up;
  }
  q[i] = v;
}

static sim_task q_pop(sim_task *q, int *n) {
  sim_task top = q[0], last = q[--*n];
  int i = 0;
  for (;;) {
    int c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && task_less(&q[c + 1], &q[c])) c++;
    if (!task_less(&q[c], &last)) break;
    q[i] = q[c];
    i = c;
  }
  if (*n > 0) q[i] = last;
  return top;
}

/* ---- rows ------------------------------------------------------------------------ */

static void flush(sim *x) {
  if (x->nbuf && !x->stop && x->sink && x->sink->emit) x->stop = x->sink->emit(x->sink->ctx, x->buf, x->nbuf);
  x->nbuf = 0;
}

static inline void row(sim *x, int rank, int role, int owner, int64_t batch, int dir, int part, double start,
                       double end, double wait, int64_t bytes) {
  x->tasks++;
  if (!x->buf) return;
  /* member by member into a zeroed buffer: the padding after `part` reaches the file, and
   * must be the same in every run */
  mpsl_res_event *e = &x->buf[x->nbuf++];
  e->round = x->round, e->rank = rank, e->role = role, e->owner = owner, e->batch = (int32_t)batch;
  e->direction = dir, e->part = part, e->start = start, e->end = end, e->queue_wait = wait, e->bytes = bytes;
  if (x->nbuf == x->capbuf) flush(x);
}

/* ---- the data owners -------------------------------------------------------------- */

/* M_1 forward of the owner's next batch at t; the activation goes to hop 1. */
static void owner_start(sim *x, int k, double t) {
  const emu_scenario *s = x->s;
  int64_t step = x->base + x->done[k];
  double end = t + s->first[k].fwd * emu_jitter(s, k, step, 0);
  int64_t bytes = s->cut_bytes[0];
  row(x, x->orank[k], SL_OWNER, k, step, MPSL_DIR_FWD, 1, t, end, 0, bytes);
  double at = emu_link_send(&x->ofree[4 * k + L_UP_FIRST], s->owner_cn[k], bytes, end);
  x->cnt[4 * k + 0]++;
  push(x, at, EV_ARRIVE, sl_owner_pipeline(x->t, k) * x->H, k * 2 + MPSL_DIR_FWD);
}

/* The activation reached the owner at t: M_P forward and loss, backward and update; the
 * gradient goes to the last hop. */
static void owner_forward(sim *x, int k, double t) {
  const emu_scenario *s = x->s;
  int64_t step = x->base + x->done[k];
  int P = x->t->P;
  double mid = t + s->last[k].fwd * emu_jitter(s, k, step, 1);
  double end = mid + s->last[k].bwd * emu_jitter(s, k, step, 2);
  int64_t bytes = s->cut_bytes[x->H];
  row(x, x->orank[k], SL_OWNER, k, step, MPSL_DIR_FWD, P, t, mid, 0, 0);
  row(x, x->orank[k], SL_OWNER, k, step, MPSL_DIR_BWD, P, mid, end, 0, bytes);
  double at = emu_link_send(&x->ofree[4 * k + x->up_last], s->owner_cn[k], bytes, end);
  x->cnt[4 * k + 1]++;
  push(x, at, EV_ARRIVE, sl_owner_pipeline(x->t, k) * x->H + x->H - 1, k * 2 + MPSL_DIR_BWD);
}

/* The gradient reached the owner at t: M_1 backward and update; the next batch starts at
 * once, or the owner is through with the round. */
static void owner_backward(sim *x, int k, double t) {
  const emu_scenario *s = x->s;
  int64_t step = x->base + x->done[k];
  double end = t + s->first[k].bwd * emu_jitter(s, k, step, 3);
  row(x, x->orank[k], SL_OWNER, k, step, MPSL_DIR_BWD, 1, t, end, 0, 0);
  if (++x->done[k] < x->per_round)
    owner_start(x, k, end);
  else
    x->finish[k] = end;
}

/* ---- the compute nodes ------------------------------------------------------------ */

static void want_dispatch(sim *x, sim_node *nd, int i, double t) {
  if (nd->busy || nd->pending) return;
  nd->pending = 1;
  push(x, t, EV_DISPATCH, i, -EV_DISPATCH);
}

static void dispatch(sim *x, int i, double t) {
  sim_node *nd = &x->nodes[i];
  nd->pending = 0;
  if (nd->busy || nd->n[0] + nd->n[1] == 0) return;
  /* the policy of every engine (proto/scheduler.h), between the oldest task of each direction */
  sl_task f = {0, MPSL_DIR_FWD, 0}, b = {0, MPSL_DIR_BWD, 0};
  if (nd->n[MPSL_DIR_FWD]) f.copy = nd->q[MPSL_DIR_FWD][0].owner, f.arrival = nd->q[MPSL_DIR_FWD][0].t;
  if (nd->n[MPSL_DIR_BWD]) b.copy = nd->q[MPSL_DIR_BWD][0].owner, b.arrival = nd->q[MPSL_DIR_BWD][0].t;
  int dir = x->pick(nd->n[MPSL_DIR_FWD] ? &f : NULL, nd->n[MPSL_DIR_BWD] ? &b : NULL);
  nd->cur = q_pop(nd->q[dir], &nd->n[dir]);
  nd->cur_dir = dir;
  nd->cur_start = t;
  nd->busy = 1;
  push(x, t + (dir == MPSL_DIR_FWD ? nd->cost.fwd : nd->cost.bwd), EV_DONE, i, -EV_DONE);
}

/* The running task of node i ended at t: log it, send its output, pick again. */
static void task_done(sim *x, int i, double t) {
  const emu_scenario *s = x->s;
  sim_node *nd = &x->nodes[i];
  int k = nd->cur.owner, h = nd->h;
  int64_t step = x->base + x->done[k];
  nd->busy = 0;
  nd->last_end = t;
  if (nd->cur_dir == MPSL_DIR_FWD) {
    int64_t bytes = s->cut_bytes[h + 1];
    row(x, nd->rank, SL_COMPUTE, k, step, MPSL_DIR_FWD, nd->part, nd->cur_start, t, nd->cur_start - nd->cur.t, bytes);
    if (h < x->H - 1) {
      double at = emu_link_send(&nd->free_next, s->cn_cn, bytes, t);
      nd->msgs_next++;
      push(x, at, EV_ARRIVE, i + 1, k * 2 + MPSL_DIR_FWD);
    } else {
      double at = emu_link_send(&x->ofree[4 * k + x->down_last], s->owner_cn[k], bytes, t);
      x->cnt[4 * k + 2]++;
      owner_forward(x, k, at);
    }
  } else {
    int64_t bytes = s->cut_bytes[h];
    row(x, nd->rank, SL_COMPUTE, k, step, MPSL_DIR_BWD, nd->part, nd->cur_start, t, nd->cur_start - nd->cur.t, bytes);
    if (h > 0) {
      double at = emu_link_send(&nd->free_prev, s->cn_cn, bytes, t);
      nd->msgs_prev++;
      push(x, at, EV_ARRIVE, i - 1, k * 2 + MPSL_DIR_BWD);
    } else {
      double at = emu_link_send(&x->ofree[4 * k + L_DOWN_FIRST], s->owner_cn[k], bytes, t);
      x->cnt[4 * k + 3]++;
      owner_backward(x, k, at);
    }
  }
  if (nd->n[0] + nd->n[1]) want_dispatch(x, nd, i, t);
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
  x->nodes = mpsl_xcalloc((size_t)x->N, sizeof *x->nodes, "compute nodes");
  /* a queue holds at most one task per data owner of its pipeline in each direction */
  x->qmem = mpsl_xmalloc((size_t)2 * t->H * (t->K + t->R) * sizeof *x->qmem, "queues");
  sim_task *q = x->qmem;
  for (int i = 0; i < x->N; i++) {
    sim_node *nd = &x->nodes[i];
    nd->p = i / t->H, nd->h = i % t->H;
    nd->copies = sl_pipeline_owners(t, nd->p);
    nd->rank = sl_compute_rank(t, nd->p, nd->h);
    nd->part = nd->h + 2;
    nd->cost = s->hop[i];
    for (int d = 0; d < 2; d++) nd->q[d] = q, q += nd->copies;
  }
  x->done = mpsl_xcalloc((size_t)x->K, sizeof *x->done, "owners");
  x->orank = mpsl_xmalloc((size_t)x->K * sizeof *x->orank, "owners");
  for (int k = 0; k < x->K; k++) x->orank[k] = sl_owner_rank(t, k);
  x->ofree = mpsl_xcalloc((size_t)4 * x->K, sizeof *x->ofree, "links");
  x->finish = mpsl_xcalloc((size_t)x->K, sizeof *x->finish, "owners");
  x->cnt = mpsl_xcalloc((size_t)4 * x->K, sizeof *x->cnt, "link counts");
  x->capheap = 2 * (int64_t)(x->K + x->N) + 16;
  x->heap = mpsl_xmalloc((size_t)x->capheap * sizeof *x->heap, "events");
  return x;
}

void sim_free(sim *x) {
  if (!x) return;
  free(x->nodes);
  free(x->qmem);
  free(x->done);
  free(x->orank);
  free(x->ofree);
  free(x->finish);
  free(x->cnt);
  free(x->heap);
  free(x->buf);
  free(x);
}

int64_t sim_tasks(const sim *x) { return x->tasks; }
int64_t sim_events(const sim *x) { return x->events; }

static inline double maxd(double a, double b) { return a > b ? a : b; }

int sim_round(sim *x, int round, double t0, const sim_sink *sink, double *time_s) {
  const emu_scenario *s = x->s;
  x->round = round;
  x->base = (int64_t)round * x->per_round;
  x->sink = sink;
  x->stop = 0;
  x->nbuf = 0;
  if (sink && sink->emit && !x->buf) {
    x->capbuf = sink->chunk > 0 ? sink->chunk : (int64_t)1 << 18;
    x->buf = mpsl_xcalloc((size_t)x->capbuf, sizeof *x->buf, "event rows");
  }
  for (int i = 0; i < x->N; i++) {
    sim_node *nd = &x->nodes[i];
    nd->n[0] = nd->n[1] = nd->busy = nd->pending = 0;
    nd->msgs_next = nd->msgs_prev = 0;
    nd->last_end = t0;
  }
  memset(x->done, 0, (size_t)x->K * sizeof *x->done);
  memset(x->cnt, 0, (size_t)4 * x->K * sizeof *x->cnt);

  for (int k = 0; k < x->K; k++) owner_start(x, k, t0);
  while (x->nheap > 0 && !x->stop) {
    sim_ev e = pop(x);
    x->events++;
    if (e.arg >= 0) {
      sim_node *nd = &x->nodes[e.node];
      int dir = e.arg & 1;
      q_push(nd->q[dir], &nd->n[dir], (sim_task){e.t, e.arg >> 1});
      want_dispatch(x, nd, e.node, e.t);
    } else if (e.arg == -EV_DONE) {
      task_done(x, e.node, e.t);
    } else {
      dispatch(x, e.node, e.t);
    }
  }
  flush(x);
  if (x->stop) {
    x->nheap = 0;
    return x->stop;
  }
  for (int k = 0; k < x->K; k++)
    if (x->done[k] != x->per_round)
      MPSL_DIE("simulation: data owner %d finished %d of %d batches", k, x->done[k], x->per_round);

  /* the end of the round (docs/timing.md): hops average their copies, pipelines exchange
   * each hop's state twice, the aggregator averages M_1 and M_P once every state arrived
   * and sends the global ones back to every data owner */
  double end = t0;
  for (int h = 0; h < x->H; h++) {
    double ready = t0;
    for (int p = 0; p < x->R; p++) {
      const sim_node *nd = &x->nodes[p * x->H + h];
      ready = maxd(ready, nd->last_end + emu_average_s(s, s->hop_state[h], nd->copies, s->cn_speed[p * x->H + h]));
    }
    ready += emu_exchange_s(s, h);
    end = maxd(end, ready);
  }
  double last = t0;
  for (int k = 0; k < x->K; k++) last = maxd(last, x->finish[k] + emu_link_time(s->owner_agg[k], s->owner_state));
  double agg = last + emu_average_s(s, s->owner_state, x->K, s->agg_speed);
  for (int k = 0; k < x->K; k++) end = maxd(end, agg + emu_link_time(s->owner_agg[k], s->owner_state));
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
    add_link(&l, round, r, first, c[0] * c0, c[0]);
    add_link(&l, round, r, last, c[1] * cH, c[1]);
    add_link(&l, round, last, r, c[2] * cH, c[2]);
    add_link(&l, round, first, r, c[3] * c0, c[3]);
    add_link(&l, round, r, 0, s->owner_state, 1); /* its M_1 and M_P for aggregation */
  }
  /* like `mpsl run`, the aggregator sends the global M_1 and M_P once to every data-owner
   * rank, which hands them to all the owners it hosts */
  for (int k = 0; k < x->K; k += t->opr) add_link(&l, round, 0, x->orank[k], s->owner_state, 1);
  for (int i = 0; i < x->N; i++) {
    const sim_node *nd = &x->nodes[i];
    if (nd->h < x->H - 1)
      add_link(&l, round, nd->rank, nd->rank + 1, nd->msgs_next * s->cut_bytes[nd->h + 1], nd->msgs_next);
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
    a->round = round, a->owner = k, a->activation = x->cnt[4 * k + 0], a->gradient = x->cnt[4 * k + 1], a->model = 1;
  }
}
