/* The roles of the protocol (SPEC §2) as state machines, written once for every engine:
 * no MPI, no clock, no tensors. An engine tells a role that a message arrived or that a
 * task finished; the role answers by asking its engine, through proto_ops, to run a task
 * on its device or to send a message. When things happen, what a task costs and how a
 * message travels belong to the engine (mpsl simulate's event heap, sim/sim.c) and its
 * compute backend.
 *
 * A data owner has one batch in flight: M_1 forward, the activation to hop 0; on the
 * activation from the last hop, M_P forward with the loss, then M_P backward, the gradient
 * to the last hop; on the gradient from hop 0, M_1 backward, and the next batch or the end
 * of its round. A hop keeps one queue per direction of the tasks that arrived and, when
 * its engine says it may pick, serves the one the policy (proto/scheduler.h) chooses; its
 * output goes to the next hop (forward) or the previous one (backward), the data owner at
 * either end. At the end of its round a data owner sends its M_1 and M_P to the
 * aggregator, which, once it holds every data owner's, averages them and sends the global
 * ones back; holding them ends the owner's round. (Each hop's FedAvg across pipelines is a
 * collective of its engine: docs/timing.md.) When its pipeline has lost a compute node (the
 * fail_* keys, docs/run.md) a data owner starts no further batch: it sends a stop to hop 0,
 * which each hop passes on, and to the aggregator, which counts it but averages only the
 * states. */
#ifndef MPSL_PROTO_ROLES_H
#define MPSL_PROTO_ROLES_H

#include <stdint.h>

#include "proto/scheduler.h"

typedef enum {
  PROTO_F1 = 0, /* data owner: M_1 forward of its next batch */
  PROTO_FP = 1, /* data owner: M_P forward and the loss */
  PROTO_BP = 2, /* data owner: M_P backward and update */
  PROTO_B1 = 3, /* data owner: M_1 backward and update */
  PROTO_HF = 4, /* hop: forward of the data owner's copy */
  PROTO_HB = 5, /* hop: backward and update of the copy */
  PROTO_AG = 6  /* aggregator: FedAvg of the data owners' M_1 and M_P */
} proto_kind;

/* The aggregator as a task's runner or a message's end (hop -1 is the data owner). */
enum { PROTO_AGG = -2 };
/* A message's dir besides MPSL_DIR_FWD and MPSL_DIR_BWD: M_1 and M_P, to or from the
 * aggregator; or the notice of a data owner that stops its round early (its pipeline lost
 * a compute node), to hop 0, which passes it down the chain, and to the aggregator. */
enum { PROTO_STATE = 2, PROTO_STOP = 3 };

/* A task: its kind, the data owner it is for (-1: all), the hop that runs it (-1: the data
 * owner, PROTO_AGG: the aggregator),
 * the owner's batch counted over the run, and for a hop's task when its message arrived. */
typedef struct {
  int kind, owner, hop;
  int64_t step;
  double arrival;
} proto_task;

/* A message: an activation (dir MPSL_DIR_FWD) or a gradient (MPSL_DIR_BWD) about a data
 * owner's batch, its state (PROTO_STATE) or its stop (PROTO_STOP), from hop `from` to hop `to` (-1 at either end:
 * the data owner; PROTO_AGG: the aggregator). */
typedef struct {
  int dir, owner, from, to;
  int64_t step;
} proto_msg;

/* What a role asks of its engine. run starts the task now on the role's device; the
 * engine calls the role's *_finished when it ends. send hands the message to its link now;
 * the engine calls the receiver's *_arrived when it arrives. done: a data owner holds the
 * global model, the end of its round. lost: may the data owner start a batch now, or has
 * its pipeline lost a compute node (emu_pipeline_lost)? (data owners only) */
typedef struct {
  void (*run)(void *engine, const proto_task *t);
  void (*send)(void *engine, const proto_msg *m);
  void (*done)(void *engine, int owner);
  int (*lost)(void *engine, int owner);
} proto_ops;

/* What every role of a run knows: hops per pipeline and batches per round. */
typedef struct {
  int H, per_round;
  int64_t base; /* batches of a data owner in earlier rounds: its first step this round */
  const proto_ops *ops;
  void *engine;
} proto_ctx;

/* ---- a data owner ---- */

typedef struct {
  int k;       /* which data owner */
  int done;    /* batches finished this round */
  int stopped; /* its pipeline lost a compute node before its round's last batch: this
                * round's training is left out of FedAvg */
} proto_owner;

/* The round begins: batch 0 starts, unless the owner sits it out (trains 0): then it only
 * waits for the global model. Before each batch it asks its engine whether its pipeline
 * is whole (ops->lost); when not, it stops: it sends PROTO_STOP to hop 0 and to the
 * aggregator instead of its state, and waits for the global model. */
void proto_owner_begin(proto_owner *o, const proto_ctx *c, int trains);
void proto_owner_arrived(proto_owner *o, const proto_ctx *c, const proto_msg *m);
void proto_owner_finished(proto_owner *o, const proto_ctx *c, const proto_task *t);

/* ---- the aggregator ---- */

typedef struct {
  int n;   /* states or stops to come this round: the data owners that train in it */
  int got; /* of them, arrived */
  int avg; /* of them, states: what FedAvg averages */
  int K;   /* data owners, every one of which gets the global model */
} proto_agg;

/* The round begins with n states or stops to come (none: the global model goes back at once). */
void proto_agg_begin(proto_agg *a, const proto_ctx *c, int n);
/* A data owner's state (dir PROTO_STATE: the engine adds it to the average, in data-owner
 * order) or its stop (PROTO_STOP) arrived. */
void proto_agg_arrived(proto_agg *a, const proto_ctx *c, int dir);
void proto_agg_finished(proto_agg *a, const proto_ctx *c, const proto_task *t);

/* ---- a hop (compute node) ---- */

typedef struct {
  double arrival;
  int32_t owner;
  int64_t step;
} proto_wait;

typedef struct {
  int hop;
  proto_wait *q[2]; /* waiting tasks per direction in (arrival, owner) order: rings of cap
                     * slots from head[d], n[d] of them; the engine gives each room for the
                     * data owners of the pipeline (one batch in flight each) */
  int64_t cap, head[2], n[2];
  int busy;
} proto_node;

void proto_node_begin(proto_node *n);
/* A task's message joins its queue; a data owner's stop is passed to the next hop at once
 * (the engine drops what it kept for that owner's round). */
void proto_node_arrived(proto_node *n, const proto_ctx *c, const proto_msg *m, double arrival);
/* Idle with a task waiting: the engine may let it pick (when is the engine's rule). */
static inline int proto_node_ready(const proto_node *n) { return !n->busy && n->n[0] + n->n[1] > 0; }
/* The earliest arrival among the waiting tasks (INFINITY: none). */
double proto_node_earliest(const proto_node *n);
/* Runs the task the policy chooses among those that arrived by `by` (INFINITY: all that
 * wait); proto_node_ready must hold and the earliest must have arrived by then. */
void proto_node_pick(proto_node *n, const proto_ctx *c, sl_pick_fn pick, double by);
void proto_node_finished(proto_node *n, const proto_ctx *c, const proto_task *t);

#endif
