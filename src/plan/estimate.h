/* The closed form of the EdgeSys'25 paper ("Estimating the Training Time in Single- and
 * Multi-Hop Split Federated Learning"): the time of one round of MP-SL predicted from the
 * timing scenario alone, without running anything. docs/plan.md writes out every term and
 * the assumptions (a saturated pipeline, computation overlapping communication, first
 * backward tasks uncontended) that the simulator does not make.
 *
 * R x H in general: every pipeline is estimated with the multihop formula for its own
 * data owners (sl_owner_pipeline: k % R, or the blocks of `distribution`) and the round
 * waits for the slowest;
 * one-hop (H = 1) and horizontally scaled one-hop (R pipelines of 1 hop) are special
 * cases of the same arithmetic. */
#ifndef MPSL_PLAN_ESTIMATE_H
#define MPSL_PLAN_ESTIMATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "emu/timing.h"

#define MPSL_EST_MAX_HOPS 64

/* One pipeline's terms, in model seconds. */
typedef struct {
  int owners;      /* data owners it serves */
  int64_t batches; /* r * B * owners: batches through the pipeline per round */
  /* per hop h (0-based): compute of one batch on the hop's device */
  double fwd[MPSL_EST_MAX_HOPS], bwd[MPSL_EST_MAX_HOPS];
  /* transfer of one batch from hop h to hop h+1 (activation) and back (gradient), h < H-1:
   * occupancy of the hop-to-hop link plus its latency */
  double link_fwd[MPSL_EST_MAX_HOPS], link_bwd[MPSL_EST_MAX_HOPS];
  /* occupancy alone (bytes / bw): a shared link is a pipeline stage of its own */
  double busy_fwd[MPSL_EST_MAX_HOPS], busy_bwd[MPSL_EST_MAX_HOPS];
  double L_fwd, L_back; /* slowest forward and backward stage */
  double T_full;        /* L_fwd + L_back: one batch in the steady state */
  double T_hop;         /* max over stages of fwd + bwd: the busiest hop's work per batch, a lower bound on the
                           period; equal to T_full when one hop is the slowest both ways */
  double turnT;         /* mean over owners: last hop -> owner, M_P forward and backward, owner -> last hop */
  double T_empty;       /* the first batch through the empty pipeline: every stage once, and turnT */
  double startT;        /* mean over owners: M_1 forward and the activation to hop 1 */
  double endT;          /* mean over owners: the gradient from hop 1 and M_1 backward */
  double T_cycle;       /* one owner's batch alone: startT + T_empty + endT */
  double T_batches;     /* startT + T_empty + (batches - 1) * T_full + endT */
  bool saturated;       /* owners * T_full >= T_cycle: the closed form's steady state holds */
  bool one_bottleneck;  /* T_hop == T_full: the slowest forward and backward are on one hop, as the closed
                           form assumes; otherwise the real period lies between T_hop and T_full */
} mpsl_estimate_pipe;

typedef struct {
  int K, H, R;
  int batch, B, r;
  mpsl_estimate_pipe *pipe; /* (R) */
  int slowest;              /* the pipeline whose T_batches is the largest */
  double T_batches;         /* pipe[slowest].T_batches */
  /* aggregation: owners -> aggregator (mean), averaging M_1 and M_P, aggregator -> every
   * owner (a sum: the paper's aggregator sends to one owner after another) */
  double aggr_up, aggr_proc, aggr_down;
  double aggr_hops; /* the slowest hop's averaging of its copies (and, R > 1, the exchange across pipelines) */
  double T_aggr;    /* max(aggr_up + aggr_proc + aggr_down, aggr_hops): both go on at once */
  double T_round;   /* T_batches + T_aggr */
} mpsl_estimate_terms;

/* Fills out from the scenario. -1 with mpsl_fail when the scenario has more hops than
 * MPSL_EST_MAX_HOPS or a pipeline without data owners. Free with mpsl_estimate_free. */
int mpsl_estimate(const emu_scenario *s, mpsl_estimate_terms *out);
void mpsl_estimate_free(mpsl_estimate_terms *e);

/* Every term with its value and formula, one per line; pipelines other than the slowest
 * get one summary line each. */
void mpsl_estimate_print(const mpsl_estimate_terms *e, FILE *f);
/* A header line of term names and one row of values (the slowest pipeline's terms). */
void mpsl_estimate_csv(const mpsl_estimate_terms *e, FILE *f);

#endif
