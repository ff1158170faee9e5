/* A compute node over MPI: hop h of pipeline p, the hop role of proto/roles.h (its queues,
 * the policy's pick, where each output goes). It keeps one private copy of its part per
 * data owner it serves. Only one batch of a data owner is in flight, so each copy needs one
 * input buffer and one gradient buffer and each queue holds at most one task per copy.
 *
 * In real time it picks as soon as it is idle and has drained the messages that arrived.
 * In emulation (sl/emu_pace.h) the node is one device: it picks when it is idle at model
 * time T = max(end of its last task, earliest arrival in its queue), among the tasks that
 * arrived by T, once no message due by T can still come and the wall clock got there. What
 * a task computes and costs is the run's compute backend's (sl/compute.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/replica.h"
#include "proto/roles.h"
#include "proto/scheduler.h"
#include "sl/batches.h"
#include "sl/emu_pace.h"
#include "sl/internal.h"
#include "util/err.h"

typedef struct {
  int owner;
  sl_part part;
  float *in;                      /* (batch, in)  activation received from the previous hop or M_1 */
  float *out;                     /* (batch, out) activation sent forward */
  float *dout;                    /* (batch, out) gradient received from the next hop or M_P */
  float *din;                     /* (batch, in)  gradient sent back */
  int64_t batch;                  /* batches of this owner finished here, counted over the run */
  int stopped;                    /* its data owner stopped this round early: left out of FedAvg */
  MPI_Request sent_out, sent_din; /* sends of out and din still in progress */
  /* exact emulation: the message this copy waits for, and no sooner than when it comes */
  int expect; /* EXPECT_NONE (its task is queued or its round is over), _PREV, _NEXT */
  double lb;  /* model seconds */
} cn_copy;

/* The message a copy waits for: an activation from the previous hop (or its data owner,
 * on hop 0), a gradient from the next hop (or its data owner, on the last hop). */
enum { EXPECT_NONE = 0, EXPECT_PREV = 1, EXPECT_NEXT = 2 };

struct sl_compute_node {
  sl_ctx *x;
  int part;        /* index in the protocol: hop h is part h+2 of 1..P */
  cn_copy *copies; /* (n) */
  int n;
  int *copy_of;     /* (K) copy index of a data owner, -1 if served elsewhere */
  proto_node role;  /* its queues and what it runs (proto/roles.h) */
  proto_wait *qmem; /* (2n) the role's queues */
  proto_ops ops;    /* this rank, for the role */
  proto_ctx ctx;
  sl_pick_fn pick;
  /* the task the role asked for: when it started and ended (wall seconds, or model seconds
   * in emulation), for its message and its event */
  proto_task task;
  double start, end;
  int64_t in_bytes, out_bytes;
  double *acc; /* (state_len) weighted sum of the copies' states; between rounds the global part */
  int64_t state_len;
  int64_t left;   /* tasks still to run this round */
  double stop_at; /* when the data-owner stop being passed on arrived */
  /* emulation, model seconds */
  int idx;       /* p*H + h: the node in the scenario */
  double free;   /* end of the last task */
  double picked; /* when it last picked a task this round (-inf before the first) */
  /* exact emulation (may_pick): promises to and from the neighbouring hops, [0] the
   * previous one, [1] the next one, model seconds */
  int exact;               /* the pipeline's hop-to-hop promises can always grow (see exact_ok) */
  double heard[2];         /* no message from that hop arrives before this */
  double told[2];          /* the last promise sent to it */
  double ahead[2];         /* a message to it arrives at least this long after the task that sends it starts */
  double to_next, to_prev; /* when the links to the next and previous hop are free */
  double *to_owner;        /* (K) when the link to each data owner is free */
};

static void cn_run(void *engine, const proto_task *t);
static void cn_send(void *engine, const proto_msg *m);

sl_compute_node *sl_cn_new(sl_ctx *x) {
  const sl_topo *t = x->t;
  sl_compute_node *cn = mpsl_xcalloc(1, sizeof *cn, "compute node");
  cn->x = x;
  cn->part = x->hop + 2;
  cn->pick = sl_policy_find(x->c->policy);
  cn->copy_of = mpsl_xmalloc((size_t)t->K * sizeof *cn->copy_of, "copy map");
  for (int k = 0; k < t->K; k++) cn->copy_of[k] = sl_owner_pipeline(t, k) == x->pipeline ? cn->n++ : -1;
  cn->copies = mpsl_xcalloc((size_t)cn->n, sizeof *cn->copies, "copies");
  cn->qmem = mpsl_xcalloc((size_t)2 * (cn->n ? cn->n : 1), sizeof *cn->qmem, "task queue");
  cn->role.hop = x->hop;
  cn->role.q[0] = cn->qmem, cn->role.q[1] = cn->qmem + cn->n, cn->role.cap = cn->n;
  cn->ops = (proto_ops){cn_run, cn_send, NULL, NULL};
  cn->ctx = (proto_ctx){t->H, x->c->local_epochs * x->c->batches, 0, &cn->ops, cn};
  cn->idx = x->pipeline * t->H + x->hop;
  cn->to_owner = mpsl_xcalloc((size_t)t->K, sizeof *cn->to_owner, "links");
  for (int k = 0; k < t->K; k++) {
    int i = cn->copy_of[k];
    if (i < 0) continue;
    cn_copy *cp = &cn->copies[i];
    cp->owner = k;
    cp->sent_out = cp->sent_din = MPI_REQUEST_NULL;
    if (sl_part_init(x, &cp->part, x->hop + 1, k)) {
      sl_cn_free(cn);
      return NULL;
    }
    sl_alloc_copy(x, &(sl_copy_layout){cp->part.in, cp->part.out}, &cp->in, &cp->din, &cp->out, &cp->dout);
    cn->in_bytes = cp->part.in * (int64_t)sizeof(float);
    cn->out_bytes = cp->part.out * (int64_t)sizeof(float);
  }
  cn->state_len = cn->n ? cn->copies[0].part.state : 0;
  cn->acc = mpsl_xcalloc((size_t)(cn->state_len ? cn->state_len : 1), sizeof *cn->acc, "average");
  if (cn->n) x->compute->add(&cn->copies[0].part, 1.0, cn->acc); /* the global part before round 1 */
  x->buffers += cn->state_len * (int64_t)sizeof(double);
  return cn;
}

void sl_cn_free(sl_compute_node *cn) {
  if (!cn) return;
  for (int i = 0; i < cn->n; i++) {
    cn_copy *cp = &cn->copies[i];
    sl_part_free(&cp->part);
    free(cp->in);
    free(cp->din);
    free(cp->out);
    free(cp->dout);
  }
  free(cn->copies);
  free(cn->copy_of);
  free(cn->qmem);
  free(cn->to_owner);
  free(cn->acc);
  free(cn);
}

static int prev_rank(const sl_compute_node *cn, int owner) {
  const sl_ctx *x = cn->x;
  return x->hop == 0 ? sl_owner_rank(x->t, owner) : sl_compute_rank(x->t, x->pipeline, x->hop - 1);
}

static int next_rank(const sl_compute_node *cn, int owner) {
  const sl_ctx *x = cn->x;
  return x->hop == x->t->H - 1 ? sl_owner_rank(x->t, owner) : sl_compute_rank(x->t, x->pipeline, x->hop + 1);
}

/* A data owner stopped its round (its pipeline lost a node) after its last batch came
 * through here: its copy waits for nothing more, and the stop goes on down the chain. */
static void take_stop(sl_compute_node *cn, cn_copy *cp, int src) {
  sl_ctx *x = cn->x;
  cn->stop_at = x->engine->recv(x, SL_MSG_STOP, cp->owner, NULL, 0, src);
  cp->stopped = 1;
  cp->expect = EXPECT_NONE;
  cn->left -= 2 * (cn->ctx.base + cn->ctx.per_round - cp->batch);
  proto_node_arrived(&cn->role, &cn->ctx, &(proto_msg){PROTO_STOP, cp->owner, -1, x->hop, cp->batch}, cn->stop_at);
}

/* Receives one waiting message into its copy's buffer and queues the task it makes. */
static void take(sl_compute_node *cn, const MPI_Status *st) {
  sl_ctx *x = cn->x;
  sl_msg_type type = SL_TAG_TYPE(st->MPI_TAG);
  int owner = SL_TAG_OWNER(st->MPI_TAG);
  int i = owner < x->t->K ? cn->copy_of[owner] : -1;
  if (i >= 0 && type == SL_MSG_STOP && !cn->copies[i].stopped) {
    take_stop(cn, &cn->copies[i], st->MPI_SOURCE);
    return;
  }
  if (i < 0 || (type != SL_MSG_ACTIVATION && type != SL_MSG_GRADIENT))
    sl_abort(x, "unexpected message (type %d, data owner %d) from rank %d", (int)type, owner, st->MPI_SOURCE);
  cn_copy *cp = &cn->copies[i];
  int fwd = type == SL_MSG_ACTIVATION, dir = fwd ? MPSL_DIR_FWD : MPSL_DIR_BWD;
  if (cn->role.n[dir] == cn->n) sl_abort(x, "task queue overflow: data owner %d has two batches in flight", owner);
  double arrival =
      x->engine->recv(x, type, owner, fwd ? cp->in : cp->dout, fwd ? cn->in_bytes : cn->out_bytes, st->MPI_SOURCE);
  /* due by a pick that is already made: the host delivered it too late to be chosen (never
   * when the emulation is exact; picks are tracked in model time only) */
  if (arrival <= cn->picked) x->missed++;
  cp->expect = EXPECT_NONE;
  proto_node_arrived(&cn->role, &cn->ctx, &(proto_msg){dir, owner, -1, x->hop, cp->batch}, arrival);
}

/* ---- exact emulation: a node picks at T only once no message due by T can still come ---- */

/* Model seconds a task of hop j of this pipeline takes at least (its backend's least). */
static double hop_min(const sl_compute_node *cn, int j, int fwd) {
  const sl_ctx *x = cn->x;
  emu_cost c = x->emu->hop[x->pipeline * x->t->H + j];
  return x->compute->least(fwd ? c.fwd : c.bwd);
}

/* The forward and backward tasks of hops from..to-1, at least. */
static double hops_min(const sl_compute_node *cn, int from, int to) {
  double t = 0;
  for (int j = from; j < to; j++) t += hop_min(cn, j, 1) + hop_min(cn, j, 0);
  return t;
}

/* A data owner's task of profiled cost `cost`, at least: jitter shortens it by up to `jitter`. */
static double owner_least(const sl_compute_node *cn, double cost) {
  double j = 1 - cn->x->emu->jitter;
  return cn->x->compute->least(cost) * (j > 0 ? j : 0);
}

/* Data owner k's tasks between two messages, at least: M_P forward and backward (last),
 * or M_1 backward and the next M_1 forward. */
static double owner_min(const sl_compute_node *cn, int k, int last) {
  const emu_scenario *s = cn->x->emu;
  emu_cost c = last ? s->last[k] : s->first[k];
  return owner_least(cn, c.fwd + c.bwd);
}

/* Can a pipeline's hops always promise more than they heard? Each promise adds the task and
 * link time of its sender, so around every pair of neighbours that must be positive;
 * otherwise (real compute over unlimited links without latency) the node picks by the wall
 * clock as before, and late messages are counted. */
static int exact_ok(const sl_compute_node *cn) {
  const emu_scenario *s = cn->x->emu;
  for (int j = 0; j + 1 < cn->x->t->H; j++) {
    double busy = emu_link_busy(s->cn_cn, s->cut_bytes[j + 1]);
    if (!(hop_min(cn, j, 1) + hop_min(cn, j + 1, 0) + 2 * (busy + s->cn_cn.lat) > 0)) return 0;
  }
  return 1;
}

/* When the message copy cp waits for arrives at the earliest: its own bound, and for one from
 * a neighbouring hop that hop's promise. */
static double bound(const sl_compute_node *cn, const cn_copy *cp) {
  int H = cn->x->t->H, h = cn->x->hop, side = cp->expect == EXPECT_PREV ? 0 : 1;
  int from_hop = side == 0 ? h > 0 : h < H - 1;
  return from_hop && cn->heard[side] > cp->lb ? cn->heard[side] : cp->lb;
}

/* Every message due by `at` is here: the node may pick at `at`. A bound is a sum taken in
 * another order than the arrival it bounds, so it may exceed it by rounding: a message whose
 * bound is within 1e-9 of `at` may be due at `at` too (data owners with the same devices
 * tie exactly), and is waited for. */
static int safe(const sl_compute_node *cn, double at) {
  double tie = 1e-9 * (fabs(at) > 1 ? fabs(at) : 1);
  for (int i = 0; i < cn->n; i++)
    if (cn->copies[i].expect != EXPECT_NONE && !(bound(cn, &cn->copies[i]) > at + tie)) return 0;
  return 1;
}

/* Promises to the neighbouring hops: no task of this node starts before the earliest of its
 * queue and of the messages it waits for (never before it is free), so nothing it sends
 * arrives before that plus ahead[]. After its round's last task: nothing more at all. */
static void tell(sl_compute_node *cn, int64_t left) {
  sl_ctx *x = cn->x;
  int H = x->t->H, h = x->hop;
  double e = INFINITY;
  if (left > 0) {
    e = proto_node_earliest(&cn->role);
    for (int i = 0; i < cn->n; i++) {
      if (cn->copies[i].expect == EXPECT_NONE) continue;
      double b = bound(cn, &cn->copies[i]);
      if (b < e) e = b;
    }
    if (e < cn->free) e = cn->free;
  }
  for (int side = 0; side < 2; side++) {
    if (side == 0 ? h == 0 : h == H - 1) continue;
    double v = e + cn->ahead[side];
    if (v > cn->told[side]) {
      sl_send_promise(&x->net, sl_compute_rank(x->t, x->pipeline, side ? h + 1 : h - 1), v);
      cn->told[side] = v;
    }
  }
}

/* A promise from a neighbouring hop. */
static void hear(sl_compute_node *cn, const MPI_Status *st) {
  sl_ctx *x = cn->x;
  int side = st->MPI_SOURCE == sl_compute_rank(x->t, x->pipeline, x->hop + 1);
  double v = sl_recv_promise(&x->net, st->MPI_SOURCE);
  if (v > cn->heard[side]) cn->heard[side] = v;
}

/* Time on the link between hop c-1 and hop c (cut c), and on data owner k's link with the
 * hops for cut c, at least: a message occupies its link for its bytes and then its latency. */
static double cut_link(const sl_compute_node *cn, int c) {
  const emu_scenario *s = cn->x->emu;
  return emu_link_time(s->cn_cn, s->cut_bytes[c]);
}
static double owner_link(const sl_compute_node *cn, int k, int c) {
  const emu_scenario *s = cn->x->emu;
  return emu_link_time(s->owner_cn[k], s->cut_bytes[c]);
}

/* What copy cp waits for after a task whose message arrives at `arrival` (at the next or
 * previous hop, or at the data owner): the way back to this node passes the rest of the
 * pipeline's hops, their links and the data owner, each at least its minimum. */
static void expect_next(sl_compute_node *cn, cn_copy *cp, int fwd, double arrival, int more) {
  const sl_ctx *x = cn->x;
  int H = x->t->H, h = x->hop, k = cp->owner;
  double t = arrival;
  if (fwd) {
    /* hops h+1 .. H-1 forward, the owner's M_P, hops H-1 .. h+1 backward */
    cp->expect = EXPECT_NEXT;
    t += hops_min(cn, h + 1, H) + owner_min(cn, k, 1) + owner_link(cn, k, H);
    if (h < H - 1) t += owner_link(cn, k, H);
    for (int c = h + 2; c <= H - 1; c++) t += cut_link(cn, c);
    for (int c = h + 1; c <= H - 1; c++) t += cut_link(cn, c);
  } else if (more) {
    /* hops h-1 .. 0 backward, the owner's M_1 backward and next forward, hops 0 .. h-1 forward */
    cp->expect = EXPECT_PREV;
    t += hops_min(cn, 0, h) + owner_min(cn, k, 0) + owner_link(cn, k, 0);
    if (h > 0) t += owner_link(cn, k, 0);
    for (int c = 1; c <= h - 1; c++) t += cut_link(cn, c);
    for (int c = 1; c <= h; c++) t += cut_link(cn, c);
  } else {
    cp->expect = EXPECT_NONE;
  }
  cp->lb = t;
}

/* The task the role asked for, on its copy, by the compute backend: timed in wall seconds
 * or, in emulation, in model seconds from cn->start (what the backend says it costs on its
 * device). The role then hands its output to cn_send. */
static void cn_run(void *engine, const proto_task *t) {
  sl_compute_node *cn = engine;
  sl_ctx *x = cn->x;
  const sl_config *c = x->c;
  cn_copy *cp = &cn->copies[cn->copy_of[t->owner]];
  int fwd = t->kind == PROTO_HF;
  cn->start = x->engine->task_start(x, cn->start);
  sl_done(fwd ? &cp->sent_out : &cp->sent_din);
  double wall = MPI_Wtime();
  if (fwd)
    x->compute->forward(&cp->part, cp->in, cp->out);
  else
    x->compute->backward(&cp->part, cp->dout, cp->din, c);
  wall = MPI_Wtime() - wall;
  const emu_scenario *s = x->emu;
  double cost = x->compute->cost(fwd ? s->hop[cn->idx].fwd : s->hop[cn->idx].bwd, wall, s->cn_speed[cn->idx]);
  cn->end = x->engine->task_end(x, cn->start, cost, x->compute->measured ? wall : 0);
  cn->task = *t;
  proto_node_finished(&cn->role, &cn->ctx, t);
}

/* The output of the task that just ended: to the next hop or the previous one (the data
 * owner at either end), in emulation stamped with its arrival over the directed link; then
 * its event. */
static void cn_send(void *engine, const proto_msg *m) {
  sl_compute_node *cn = engine;
  sl_ctx *x = cn->x;
  int k = m->owner, fwd = m->dir == MPSL_DIR_FWD;
  if (m->dir == PROTO_STOP) { /* no bytes: it keeps no link busy, only its latency */
    double none = -INFINITY;
    x->engine->send(x, SL_MSG_STOP, k, NULL, 0, next_rank(cn, k), NULL, &none, x->emu->cn_cn, cn->stop_at);
    return;
  }
  cn_copy *cp = &cn->copies[cn->copy_of[k]];
  int64_t bytes = fwd ? cn->out_bytes : cn->in_bytes;
  sl_msg_type type = fwd ? SL_MSG_ACTIVATION : SL_MSG_GRADIENT;
  float *buf = fwd ? cp->out : cp->din;
  MPI_Request *req = fwd ? &cp->sent_out : &cp->sent_din;
  int dst = fwd ? next_rank(cn, k) : prev_rank(cn, k);
  const emu_scenario *s = x->emu;
  /* the last hop's activations and the first hop's gradients go to the data owner */
  int to_owner = m->to < 0;
  double *free = to_owner ? &cn->to_owner[k] : fwd ? &cn->to_next : &cn->to_prev;
  double arrival =
      x->engine->send(x, type, k, buf, bytes, dst, req, free, to_owner ? s->owner_cn[k] : s->cn_cn, cn->end);
  sl_event(x, k, cp->batch, m->dir, cn->part, cn->start, cn->end, cn->start - cn->task.arrival, bytes);
  if (!fwd) cp->batch++;
  expect_next(cn, cp, fwd, arrival, cp->batch < cn->ctx.base + cn->ctx.per_round);
}

/* When the node may pick at model time `at` in emulation: exact (docs/timing.md), once
 * every message due by then is here, which it knows from the data owners' own timing and
 * its neighbours' promises, so the host's delays change when a task starts in wall time,
 * never its model time; else once the wall clock got a little past it. 0 with *st filled
 * when a message or a promise came first. */
static int may_pick(sl_compute_node *cn, double at, MPI_Status *st) {
  sl_ctx *x = cn->x;
  if (!cn->exact) return !sl_emu_wait(x, at + SL_EMU_GRACE_S / x->scale, st);
  if (safe(cn, at)) return !sl_emu_wait(x, at, st);
  sl_wait_any(&x->net, st); /* a promise or a message, polled closely */
  return 0;
}

/* Before an emulated round: the links are free, nothing is promised yet, and each copy
 * waits for its batch 0 (the data owner's M_1 forward from the round's start, then the
 * hops before this one). */
static void begin_emu(sl_compute_node *cn) {
  sl_ctx *x = cn->x;
  const emu_scenario *s = x->emu;
  int h = x->hop;
  cn->exact = exact_ok(cn);
  cn->heard[0] = cn->heard[1] = x->round_start;
  cn->told[0] = cn->told[1] = -INFINITY;
  cn->ahead[0] = hop_min(cn, h, 0) + emu_link_time(s->cn_cn, cn->in_bytes);
  cn->ahead[1] = hop_min(cn, h, 1) + emu_link_time(s->cn_cn, cn->out_bytes);
  for (int i = 0; i < cn->n; i++) {
    cn_copy *cp = &cn->copies[i];
    cp->expect = x->absent[cp->owner] ? EXPECT_NONE : EXPECT_PREV; /* one that sits out sends nothing */
    cp->lb = x->round_start + owner_least(cn, s->first[cp->owner].fwd) + owner_link(cn, cp->owner, 0);
    for (int q = 0; q < h; q++) cp->lb += hop_min(cn, q, 1) + cut_link(cn, q + 1);
  }
}

/* One round: everything that has arrived joins the queue before the policy chooses. In
 * real time the node picks as soon as it is idle with a task waiting; in emulation it is
 * idle at cn->free and picks at T = max(free, earliest arrival in its queue) among the
 * tasks that arrived by T, when may_pick lets it. */
void sl_cn_round(sl_compute_node *cn) {
  sl_ctx *x = cn->x;
  const sl_config *c = x->c;
  int64_t per_round = (int64_t)c->local_epochs * c->batches;
  for (int i = 0; i < cn->n; i++) {
    x->compute->round(&cn->copies[i].part, (uint64_t)(x->round * per_round), sl_round_lr(c, x->round));
    cn->copies[i].batch = (int64_t)x->round * per_round; /* a resumed run starts in the middle */
    cn->copies[i].stopped = 0;
  }
  cn->left = 0; /* two tasks a batch of every data owner that trains this round */
  for (int i = 0; i < cn->n; i++) cn->left += x->absent[cn->copies[i].owner] ? 0 : 2 * per_round;
  int paced = x->engine->paced, H = x->t->H, h = x->hop;
  MPI_Status st;
  proto_node_begin(&cn->role);
  cn->ctx.base = (int64_t)x->round * per_round;
  cn->picked = -INFINITY;
  cn->free = x->round_start;
  cn->exact = 0;
  if (paced) begin_emu(cn);
  for (;;) {
    if (sl_poll(&x->net, &st)) {
      if (SL_TAG_TYPE(st.MPI_TAG) == (sl_msg_type)SL_PROMISE)
        hear(cn, &st);
      else
        take(cn, &st);
      continue;
    }
    if (cn->exact) tell(cn, cn->left);
    if (cn->left == 0) break;
    if (!proto_node_ready(&cn->role)) {
      x->engine->wait(x, INFINITY, &st); /* a message or a promise: polled above */
      continue;
    }
    double first = proto_node_earliest(&cn->role), at = cn->free > first ? cn->free : first;
    if (paced && !may_pick(cn, at, &st)) continue;
    cn->start = at;
    if (paced) cn->picked = at; /* picks are tracked in model time only */
    proto_node_pick(&cn->role, &cn->ctx, cn->pick, paced ? at : INFINITY); /* runs it (cn_run) */
    cn->free = cn->end;
    cn->left--;
  }
  /* the neighbours' last promises (nothing more this round) must not reach the next round */
  while (cn->exact && ((h > 0 && cn->heard[0] < INFINITY) || (h < H - 1 && cn->heard[1] < INFINITY))) {
    sl_wait_any(&x->net, &st);
    if (SL_TAG_TYPE(st.MPI_TAG) != (sl_msg_type)SL_PROMISE)
      sl_abort(x, "a message (tag %d) from rank %d after the round's last task", st.MPI_TAG, st.MPI_SOURCE);
    hear(cn, &st);
  }
  for (int i = 0; i < cn->n; i++) {
    sl_done(&cn->copies[i].sent_out);
    sl_done(&cn->copies[i].sent_din);
  }
}

/* FedAvg of this hop: the copies here, then the same hop of every other pipeline
 * (hop_comm), weighted by the data owners' sample counts; every copy restarts from the
 * result. Pipeline 0 hands the part to the aggregator for evaluation. */
void sl_cn_aggregate(sl_compute_node *cn, MPI_Comm hop_comm) {
  sl_ctx *x = cn->x;
  if (x->emulated) {
    /* docs/timing.md: average the copies, then a reduce and a broadcast across pipelines */
    const emu_scenario *s = x->emu;
    int64_t bytes = s->hop_state[x->hop];
    double done = cn->free + emu_average_s(s, bytes, cn->n, s->cn_speed[cn->idx]);
    if (s->R > 1) {
      MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &done, 1, MPI_DOUBLE, MPI_MAX, hop_comm));
      done += emu_exchange_s(s, x->hop);
    }
    x->round_end = done;
  }
  /* the copies of the data owners that finished the round, weighted by their samples */
  double total = 0;
  for (int i = 0; i < cn->n; i++) {
    const cn_copy *cp = &cn->copies[i];
    if (!x->absent[cp->owner] && !cp->stopped) total += (double)x->counts[cp->owner];
  }
  MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_DOUBLE, MPI_SUM, hop_comm));
  if (total > 0) {
    memset(cn->acc, 0, (size_t)cn->state_len * sizeof *cn->acc);
    for (int i = 0; i < cn->n; i++) {
      const cn_copy *cp = &cn->copies[i];
      if (!x->absent[cp->owner] && !cp->stopped) x->compute->add(&cp->part, (double)x->counts[cp->owner], cn->acc);
    }
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, cn->acc, (int)cn->state_len, MPI_DOUBLE, MPI_SUM, hop_comm));
    nn_state_average(cn->acc, cn->state_len, total);
  }
  /* every copy takes the average; when nobody finished, acc still holds the global part of
   * the round's start, and the copies of owners that stopped go back to it */
  for (int i = 0; i < cn->n; i++) x->compute->load(&cn->copies[i].part, cn->acc);
  if (x->pipeline == 0) sl_send(&x->net, SL_MSG_MODEL, 0, cn->acc, cn->state_len * (int64_t)sizeof(double), 0, NULL);
}

void sl_cn_restore(sl_compute_node *cn) {
  sl_ctx *x = cn->x;
  if (!x->compute->trains) return;
  sl_recv(&x->net, SL_MSG_MODEL, 0, cn->acc, cn->state_len * (int64_t)sizeof(double), 0);
  for (int i = 0; i < cn->n; i++) x->compute->load(&cn->copies[i].part, cn->acc);
}

void sl_cn_memory(const sl_compute_node *cn, mpsl_res_memory *s) {
  for (int i = 0; i < cn->n; i++) sl_part_memory(&cn->copies[i].part, s);
}
