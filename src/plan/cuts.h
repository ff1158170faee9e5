/* The cut planner: where to cut the middle of a model over the H hops of a pipeline so
 * that the pipeline period L_fwd + L_back = max_h fwd_h + max_h bwd_h is smallest, with
 * every hop's memory (n copies of its layers plus message buffers) within its device's
 * cap. Exact: docs/plan.md gives the algorithm and its complexity. The first cut (end of
 * M_1) and the last (end of the last hop) are fixed; the H - 1 cuts between them are
 * chosen. Also: the paper's manual heuristic, for comparison, and the distribution of
 * data owners over R pipelines. */
#ifndef MPSL_PLAN_CUTS_H
#define MPSL_PLAN_CUTS_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/profile.h"

#define MPSL_PLAN_MAX_HOPS 64

/* Layers first .. first+n-1 (1-based, as in the layer table) split over H hops. */
typedef struct {
  int n, first, H;
  double *fwd;    /* (n) host seconds of a layer's forward */
  double *bwd;    /* (n) host seconds of its backward plus update */
  int64_t *bytes; /* (n) per-copy bytes of a layer (the profile's per-layer sum, docs/plan.md) */
  int64_t *cut;   /* (n+1) bytes crossing the cut before layer offset i: cut[0] enters the
                     first layer, cut[n] leaves the last */
  double *speed;  /* (H) factor on host times of hop h's device */
  int64_t *cap;   /* (H) memory cap of hop h's device in bytes; <= 0: unlimited */
  int copies;     /* data owners the pipeline serves: copies of each part */
  int64_t *state; /* (n) bytes a layer adds to its hop's FedAvg accumulator (one per hop, not per copy);
                     NULL: none */
  int input_once; /* 1: a copy also stores its part's input (a layer table's profile, whose per-layer
                     bytes hold only outputs); 0: the per-layer bytes include inputs already */
} mpsl_cut_problem;

typedef struct {
  bool feasible;
  int cuts[MPSL_PLAN_MAX_HOPS + 1]; /* (H+1) layer indices c_0 .. c_H */
  double fwd[MPSL_PLAN_MAX_HOPS], bwd[MPSL_PLAN_MAX_HOPS];
  int64_t mem[MPSL_PLAN_MAX_HOPS]; /* copies x (layer bytes + 2 x (input + output cut bytes)) + accumulator */
  double L_fwd, L_back, period;
  /* not feasible: the hop that needs most relative to its cap in the arrangement where
   * that ratio is smallest (the least any choice of cuts needs) */
  int worst_hop;
  int64_t need, need_cap;
} mpsl_cut_plan;

/* The problem for layers c0+1 .. cH of a profile. speed and cap have H entries. -1 with
 * mpsl_fail when the layers cannot give each of the H hops one layer, or the range is
 * outside the profile. Free with mpsl_cut_problem_free. */
int mpsl_cut_problem_init(mpsl_cut_problem *pb, const mpsl_profile *p, int c0, int cH, int H, const double *speed,
                          const int64_t *cap, int copies);
void mpsl_cut_problem_free(mpsl_cut_problem *pb);

/* Per-hop times and memory of given cuts (H+1 layer indices, c_0 and c_H those of the
 * problem); feasible says whether every hop fits. -1 with mpsl_fail on cuts that are not
 * strictly increasing within the problem's range. */
int mpsl_cut_eval(const mpsl_cut_problem *pb, const int *cuts, mpsl_cut_plan *out);

/* The optimum. 0 with out->feasible true, or false and the smallest need when no choice of
 * cuts fits the caps; -1 with mpsl_fail on a malformed problem. */
int mpsl_cut_plan_exact(const mpsl_cut_problem *pb, mpsl_cut_plan *out);

/* The paper's manual rule: walk the layers and fill each hop with consecutive layers
 * while its host time (forward + backward) stays within the mean per hop, leaving at
 * least one layer for every hop to come. Ignores device speeds and memory (evaluated
 * afterwards: out->feasible). */
int mpsl_cut_plan_heuristic(const mpsl_cut_problem *pb, mpsl_cut_plan *out);

/* Distributes K data owners over R pipelines minimising the largest load, where
 * load(ctx, p, n) is the time pipeline p needs with n owners (about n times its period at
 * n copies), increasing in n, INFINITY when n owners do not fit its memory. Exact: the
 * owners go one by one to the pipeline whose load after taking one more is lowest.
 * -1 with mpsl_fail when the pipelines cannot hold K owners in all. */
int mpsl_distribute_owners(int R, int K, double (*load)(void *ctx, int p, int n), void *ctx, int *n);

#endif
