/* The cut planner against exhaustive search (random per-layer tables, many seeds, 1 to 5
 * hops, with and without binding memory caps), its infeasibility report, the owner
 * distribution against exhaustive search, and the closed form's arithmetic on hand-made
 * scenarios whose terms are worked out by hand in the comments. Nothing here measures. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan/cuts.h"
#include "plan/estimate.h"
#include "util/err.h"

/* ---- a random problem -------------------------------------------------------------- */

static uint64_t state;
static double unif(void) {
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(state >> 11) / 9007199254740992.0;
}

/* caps: 0 none, 1 one random cap per hop somewhere between the smallest and the largest
 * single-segment need, so that some arrangements fit and some do not */
static void random_problem(mpsl_cut_problem *pb, uint64_t seed, int n, int H, int caps) {
  state = seed * 2654435761ULL + 17;
  memset(pb, 0, sizeof *pb);
  pb->n = n, pb->H = H, pb->first = 3, pb->copies = 1 + (int)(unif() * 4);
  pb->fwd = malloc((size_t)n * sizeof *pb->fwd);
  pb->bwd = malloc((size_t)n * sizeof *pb->bwd);
  pb->bytes = malloc((size_t)n * sizeof *pb->bytes);
  pb->cut = malloc((size_t)(n + 1) * sizeof *pb->cut);
  pb->speed = malloc((size_t)H * sizeof *pb->speed);
  pb->cap = malloc((size_t)H * sizeof *pb->cap);
  pb->state = malloc((size_t)n * sizeof *pb->state);
  pb->input_once = unif() < 0.5;
  for (int i = 0; i < n; i++) {
    pb->fwd[i] = 0.01 + unif();
    pb->bwd[i] = pb->fwd[i] * (1 + 2 * unif());
    pb->bytes[i] = 1000 + (int64_t)(unif() * 100000);
    pb->state[i] = (int64_t)(unif() * 50000);
  }
  for (int i = 0; i <= n; i++) pb->cut[i] = 100 + (int64_t)(unif() * 20000);
  int64_t total = 0;
  for (int i = 0; i < n; i++) total += pb->bytes[i];
  for (int h = 0; h < H; h++) {
    pb->speed[h] = 0.5 + 1.5 * unif();
    pb->cap[h] = caps ? (int64_t)(pb->copies * (total / H) * (0.6 + 1.2 * unif())) : 0;
  }
}

/* ---- exhaustive search, written independently of the planner ----------------------- */

typedef struct {
  bool feasible;
  double period;
  double ratio; /* the least max need/cap over all arrangements */
  int count;    /* arrangements tried */
} brute;

static double direct_period(const mpsl_cut_problem *pb, const int *off, bool *fits, double *ratio) {
  double lf = 0, lb = 0;
  *fits = true;
  *ratio = 0;
  for (int h = 0; h < pb->H; h++) {
    double f = 0, b = 0;
    int64_t m = 0, acc = 0;
    for (int i = off[h]; i < off[h + 1]; i++) {
      f += pb->fwd[i], b += pb->bwd[i], m += pb->bytes[i];
      if (pb->state) acc += pb->state[i];
    }
    f /= pb->speed[h], b /= pb->speed[h];
    /* per copy: its layers, its edges' activations and gradients (and its stored input
     * once more when the layers' bytes hold only outputs); once per hop: the accumulator */
    m = pb->copies * (m + (2 + pb->input_once) * pb->cut[off[h]] + 2 * pb->cut[off[h + 1]]) + acc;
    if (pb->cap[h] > 0) {
      if (m > pb->cap[h]) *fits = false;
      double r = (double)m / (double)pb->cap[h];
      if (r > *ratio) *ratio = r;
    }
    if (f > lf) lf = f;
    if (b > lb) lb = b;
  }
  return lf + lb;
}

static void brute_rec(const mpsl_cut_problem *pb, int *off, int h, brute *out) {
  if (h == pb->H) {
    bool fits;
    double ratio, p = direct_period(pb, off, &fits, &ratio);
    out->count++;
    if (fits && p < out->period) out->period = p, out->feasible = true;
    if (ratio < out->ratio) out->ratio = ratio;
    return;
  }
  if (h == pb->H - 1) {
    off[h + 1] = pb->n;
    brute_rec(pb, off, h + 1, out);
    return;
  }
  for (int j = off[h] + 1; j <= pb->n - (pb->H - 1 - h); j++) {
    off[h + 1] = j;
    brute_rec(pb, off, h + 1, out);
  }
}

static brute exhaustive(const mpsl_cut_problem *pb) {
  brute b = {false, INFINITY, INFINITY, 0};
  int off[MPSL_PLAN_MAX_HOPS + 1] = {0};
  brute_rec(pb, off, 0, &b);
  return b;
}

static long binom(int n, int k) {
  long r = 1;
  for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
  return r;
}

static void check_against_exhaustive(uint64_t seed, int n, int H, int caps, int *nfeasible, int *ninfeasible) {
  mpsl_cut_problem pb;
  random_problem(&pb, seed, n, H, caps);
  brute b = exhaustive(&pb);
  ck_assert_int_eq(b.count, binom(n - 1, H - 1));
  mpsl_cut_plan p;
  ck_assert_int_eq(mpsl_cut_plan_exact(&pb, &p), 0);
  ck_assert_msg(p.feasible == b.feasible, "seed %llu n %d H %d caps %d: planner feasible %d, exhaustive %d",
                (unsigned long long)seed, n, H, caps, p.feasible, b.feasible);
  int off[MPSL_PLAN_MAX_HOPS + 1];
  for (int h = 0; h <= H; h++) off[h] = p.cuts[h] - (pb.first - 1);
  ck_assert_int_eq(off[0], 0);
  ck_assert_int_eq(off[H], n);
  for (int h = 0; h < H; h++) ck_assert_int_lt(off[h], off[h + 1]);
  bool fits;
  double ratio, direct = direct_period(&pb, off, &fits, &ratio);
  if (b.feasible) {
    (*nfeasible)++;
    ck_assert_msg(fits, "seed %llu: the planner's cuts exceed a cap", (unsigned long long)seed);
    for (int h = 0; h < H; h++) ck_assert(pb.cap[h] <= 0 || p.mem[h] <= pb.cap[h]);
    ck_assert_msg(fabs(direct - b.period) <= 1e-12 * b.period,
                  "seed %llu n %d H %d caps %d: planner %.17g, exhaustive %.17g", (unsigned long long)seed, n, H, caps,
                  direct, b.period);
    ck_assert(fabs(p.period - direct) <= 1e-12 * direct);
  } else {
    (*ninfeasible)++;
    /* the reported need is the least any arrangement needs relative to its cap */
    ck_assert_int_gt(p.need, p.need_cap);
    ck_assert_msg(fabs((double)p.need / (double)p.need_cap - b.ratio) <= 1e-12 * b.ratio,
                  "seed %llu: reported ratio %.17g, least %.17g", (unsigned long long)seed,
                  (double)p.need / (double)p.need_cap, b.ratio);
    ck_assert(fabs(ratio - b.ratio) <= 1e-12 * b.ratio);
  }
  /* the heuristic is one arrangement among those searched */
  mpsl_cut_plan heur;
  ck_assert_int_eq(mpsl_cut_plan_heuristic(&pb, &heur), 0);
  if (heur.feasible) ck_assert(b.period <= heur.period * (1 + 1e-12));
  mpsl_cut_problem_free(&pb);
}

START_TEST(planner_equals_exhaustive_search) {
  int feas = 0, infeas = 0;
  for (int H = 1; H <= 5; H++)
    for (int caps = 0; caps <= 1; caps++)
      for (uint64_t seed = 1; seed <= 60; seed++) {
        int n = H + (int)(seed % (13 - H));
        check_against_exhaustive(seed * 31 + (uint64_t)H * 7 + (uint64_t)caps, n, H, caps, &feas, &infeas);
      }
  /* the caps really bind in both directions, so both branches were exercised */
  ck_assert_int_gt(feas, 300);
  ck_assert_int_gt(infeas, 20);
}
END_TEST

START_TEST(caps_change_the_optimum) {
  /* four equal layers but a heavy first one in memory: without caps the best 2-hop split
   * is 2 | 2; a cap that forbids the first layer sharing hop 1 forces 1 | 3 */
  double fwd[] = {1, 1, 1, 1}, bwd[] = {2, 2, 2, 2}, speed[] = {1, 1};
  int64_t bytes[] = {1000, 10, 10, 10}, cut[] = {0, 0, 0, 0, 0}, cap[] = {0, 0};
  mpsl_cut_problem pb = {4, 3, 2, fwd, bwd, bytes, cut, speed, cap, 1, NULL, 0};
  mpsl_cut_plan p;
  ck_assert_int_eq(mpsl_cut_plan_exact(&pb, &p), 0);
  ck_assert(p.feasible);
  ck_assert_int_eq(p.cuts[1], 4);
  ck_assert(p.period == 2 + 4);
  cap[0] = 1005;
  ck_assert_int_eq(mpsl_cut_plan_exact(&pb, &p), 0);
  ck_assert(p.feasible);
  ck_assert_int_eq(p.cuts[0], 2);
  ck_assert_int_eq(p.cuts[1], 3);
  ck_assert_int_eq(p.cuts[2], 6);
  ck_assert(p.period == 3 + 6);
  ck_assert_int_eq(p.mem[0], 1000);
  /* two copies of layer 1 fit nowhere */
  pb.copies = 2;
  ck_assert_int_eq(mpsl_cut_plan_exact(&pb, &p), 0);
  ck_assert(!p.feasible);
  ck_assert_int_eq(p.worst_hop, 0);
  ck_assert_int_eq(p.need, 2000);
  ck_assert_int_eq(p.need_cap, 1005);
}
END_TEST

START_TEST(bad_cuts_are_refused) {
  double fwd[] = {1, 1, 1}, bwd[] = {1, 1, 1}, speed[] = {1, 1};
  int64_t bytes[] = {1, 1, 1}, cut[] = {0, 0, 0, 0}, cap[] = {0, 0};
  mpsl_cut_problem pb = {3, 5, 2, fwd, bwd, bytes, cut, speed, cap, 1, NULL, 0};
  mpsl_cut_plan p;
  ck_assert_int_eq(mpsl_cut_eval(&pb, (int[]){4, 6, 7}, &p), 0);
  ck_assert_int_eq(mpsl_cut_eval(&pb, (int[]){4, 4, 7}, &p), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "strictly increasing"));
  ck_assert_int_eq(mpsl_cut_eval(&pb, (int[]){3, 6, 7}, &p), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "start at 4"));
  pb.H = 4;
  ck_assert_int_eq(mpsl_cut_plan_exact(&pb, &p), -1);
}
END_TEST

/* ---- owner distribution ------------------------------------------------------------- */

typedef struct {
  double period[4];
  int max[4]; /* -1: no limit */
} dist;

static double dist_load(void *ctx, int p, int n) {
  dist *d = ctx;
  if (d->max[p] >= 0 && n > d->max[p]) return INFINITY;
  /* the period grows with the copies a pipeline holds, as memory-bound cuts do */
  return n * d->period[p] * (1 + 0.05 * n);
}

static double dist_best(dist *d, int R, int K, int p, int left) {
  if (p == R - 1) return dist_load(d, p, left);
  double best = INFINITY;
  for (int n = 0; n <= left; n++) {
    double l = n ? dist_load(d, p, n) : 0, rest = dist_best(d, R, K, p + 1, left - n);
    double v = l > rest ? l : rest;
    if (v < best) best = v;
  }
  return best;
}

START_TEST(distribution_equals_exhaustive_search) {
  state = 99;
  int tested = 0;
  for (int t = 0; t < 200; t++) {
    int R = 2 + t % 3, K = R + (int)(unif() * 10);
    dist d;
    for (int p = 0; p < R; p++) d.period[p] = 0.2 + unif(), d.max[p] = unif() < 0.5 ? -1 : (int)(unif() * K);
    int n[4];
    double want = dist_best(&d, R, K, 0, K);
    int rc = mpsl_distribute_owners(R, K, dist_load, &d, n);
    if (want == INFINITY) {
      ck_assert_int_eq(rc, -1);
      continue;
    }
    ck_assert_int_eq(rc, 0);
    int sum = 0;
    double got = 0;
    for (int p = 0; p < R; p++) {
      sum += n[p];
      double l = n[p] ? dist_load(&d, p, n[p]) : 0;
      if (l > got) got = l;
    }
    ck_assert_int_eq(sum, K);
    ck_assert_msg(got == want, "trial %d: greedy %.17g, exhaustive %.17g", t, got, want);
    tested++;
  }
  ck_assert_int_gt(tested, 100);
}
END_TEST

/* ---- the closed form ---------------------------------------------------------------- */

static void near(double got, double want, const char *what) {
  ck_assert_msg(fabs(got - want) <= 1e-12 * (fabs(want) + 1), "%s: %.17g, expected %.17g", what, got, want);
}

START_TEST(estimate_two_hops_by_hand) {
  /* K = 2 owners, one pipeline of 2 hops, r = 1, B = 2: 4 batches through the pipeline */
  emu_cost first[] = {{1, 2}, {1, 2}}, last[] = {{0.5, 0.5}, {0.5, 0.5}}, hop[] = {{3, 4}, {2, 5}};
  int64_t cut[] = {100, 200, 300}, hs[] = {0, 0};
  emu_link oc[] = {{100, 0.1}, {100, 0.1}}, oa[] = {{50, 0}, {50, 0}};
  double cs[] = {1, 1};
  emu_scenario s = {0};
  s.K = 2, s.H = 2, s.R = 1, s.P = 4, s.batch = 8, s.B = 2, s.r = 1;
  s.first = first, s.last = last, s.hop = hop, s.cut_bytes = cut, s.owner_state = 100, s.hop_state = hs;
  s.owner_cn = oc, s.owner_agg = oa, s.cn_cn = (emu_link){1000, 0.01}, s.cn_speed = cs, s.agg_speed = 1;
  mpsl_estimate_terms e;
  ck_assert_int_eq(mpsl_estimate(&s, &e), 0);
  const mpsl_estimate_pipe *q = &e.pipe[0];
  near(q->startT, 1 + 100.0 / 100 + 0.1, "startT");           /* 2.1 */
  near(q->turnT, (3 + 0.1) + 0.5 + 0.5 + (3 + 0.1), "turnT"); /* 7.2 */
  near(q->endT, (1 + 0.1) + 2, "endT");                       /* 3.1 */
  near(q->link_fwd[0], 0.2 + 0.01, "link 1-2");               /* 200 B at 1000 B/s */
  near(q->L_fwd, 3, "L_fwd");
  near(q->L_back, 5, "L_back");
  near(q->T_full, 8, "T_full");
  near(q->T_empty, 3 + 2 + 4 + 5 + 2 * 0.21 + 7.2, "T_empty"); /* 21.62 */
  ck_assert_int_eq(q->batches, 4);
  near(q->T_batches, 2.1 + 21.62 + 3 * 8 + 3.1, "T_batches"); /* 50.82 */
  near(e.aggr_up, 2, "aggr_up");                              /* 100 B at 50 B/s */
  near(e.aggr_proc, 0, "aggr_proc");
  near(e.aggr_down, 4, "aggr_down"); /* both owners, one after the other */
  near(e.T_aggr, 6, "T_aggr");
  near(e.T_round, 56.82, "T_round");
  /* 2 owners x 8 s < 26.82 s for one batch's round trip: not saturated */
  ck_assert(!q->saturated);
  mpsl_estimate_free(&e);

  /* a slow hop-to-hop link becomes the forward and backward bottleneck */
  s.cn_cn = (emu_link){20, 0};
  ck_assert_int_eq(mpsl_estimate(&s, &e), 0);
  near(e.pipe[0].L_fwd, 10, "L_fwd with a 20 B/s link");
  near(e.pipe[0].L_back, 10, "L_back with a 20 B/s link");
  mpsl_estimate_free(&e);
}
END_TEST

START_TEST(estimate_scaled_one_hop_takes_the_slowest_pipeline) {
  /* K = 3 over R = 2 pipelines of 1 hop: pipeline 0 serves owners 0 and 2, pipeline 1
   * owner 1 on a 3x slower node. Links unlimited, owners' parts free. */
  emu_cost first[3] = {{0, 0}}, last[3] = {{0, 0}}, hop[] = {{1, 1}, {3, 3}};
  int64_t cut[] = {10, 10}, hs[] = {1000};
  emu_link oc[3] = {{0, 0}}, oa[3] = {{0, 0}};
  double cs[] = {1, 1.0 / 3};
  emu_scenario s = {0};
  s.K = 3, s.H = 1, s.R = 2, s.P = 3, s.batch = 8, s.B = 2, s.r = 1;
  s.first = first, s.last = last, s.hop = hop, s.cut_bytes = cut, s.owner_state = 0, s.hop_state = hs;
  s.owner_cn = oc, s.owner_agg = oa, s.cn_cn = (emu_link){100, 0.5}, s.cn_speed = cs, s.agg_speed = 1;
  s.agg_s_per_byte = 0.001;
  mpsl_estimate_terms e;
  ck_assert_int_eq(mpsl_estimate(&s, &e), 0);
  ck_assert_int_eq(e.pipe[0].owners, 2);
  ck_assert_int_eq(e.pipe[1].owners, 1);
  /* one hop: T_batches = startT + r*B*K_p*(fwd + bwd) + endT (turnT is 0 here) */
  near(e.pipe[0].T_batches, 4 * 2, "pipeline 0");
  near(e.pipe[1].T_batches, 2 * 6, "pipeline 1");
  ck_assert_int_eq(e.slowest, 1);
  near(e.T_batches, 12, "T_batches");
  /* hop averaging: 0.001 s/B x 1000 B x 2 copies / speed 1 = 2 s on pipeline 0, 1 copy at
   * speed 1/3 = 3 s on pipeline 1; plus the exchange, twice 1000 B at 100 B/s + 0.5 s */
  near(e.aggr_hops, 3 + 2 * 10.5, "aggr_hops");
  near(e.T_aggr, 24, "T_aggr");
  near(e.T_round, 36, "T_round");
  mpsl_estimate_free(&e);
}
END_TEST

START_TEST(estimate_refuses_empty_pipelines) {
  emu_scenario s = {0};
  s.K = 1, s.H = 1, s.R = 2;
  mpsl_estimate_terms e;
  ck_assert_int_eq(mpsl_estimate(&s, &e), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "every pipeline needs a data owner"));
}
END_TEST

int main(void) {
  Suite *s = suite_create("plan");
  TCase *t = tcase_create("planner");
  tcase_add_test(t, planner_equals_exhaustive_search);
  tcase_add_test(t, caps_change_the_optimum);
  tcase_add_test(t, bad_cuts_are_refused);
  tcase_add_test(t, distribution_equals_exhaustive_search);
  suite_add_tcase(s, t);
  TCase *e = tcase_create("estimate");
  tcase_add_test(e, estimate_two_hops_by_hand);
  tcase_add_test(e, estimate_scaled_one_hop_takes_the_slowest_pipeline);
  tcase_add_test(e, estimate_refuses_empty_pipelines);
  suite_add_tcase(s, e);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
