#include "plan/cuts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

int mpsl_cut_problem_init(mpsl_cut_problem *pb, const mpsl_profile *p, int c0, int cH, int H, const double *speed,
                          const int64_t *cap, int copies) {
  memset(pb, 0, sizeof *pb);
  if (H < 1 || H > MPSL_PLAN_MAX_HOPS)
    return mpsl_fail("the planner handles 1 to %d hops, not %d", MPSL_PLAN_MAX_HOPS, H);
  if (c0 < 1 || cH > p->nlayers || cH - c0 < H)
    return mpsl_fail("layers %d..%d of %s (%d layers) cannot give each of %d hop(s) a layer", c0 + 1, cH, p->model,
                     p->nlayers, H);
  if (copies < 1) return mpsl_fail("a pipeline needs at least one data owner, not %d", copies);
  int n = cH - c0;
  pb->n = n, pb->first = c0 + 1, pb->H = H, pb->copies = copies;
  pb->fwd = mpsl_xmalloc((size_t)n * sizeof *pb->fwd, "plan");
  pb->bwd = mpsl_xmalloc((size_t)n * sizeof *pb->bwd, "plan");
  pb->bytes = mpsl_xmalloc((size_t)n * sizeof *pb->bytes, "plan");
  pb->cut = mpsl_xmalloc((size_t)(n + 1) * sizeof *pb->cut, "plan");
  pb->state = mpsl_xmalloc((size_t)n * sizeof *pb->state, "plan");
  pb->input_once = !strcmp(p->layers[0].kind, "table");
  pb->speed = mpsl_xmalloc((size_t)H * sizeof *pb->speed, "plan");
  pb->cap = mpsl_xmalloc((size_t)H * sizeof *pb->cap, "plan");
  for (int i = 0; i < n; i++) {
    const mpsl_profile_layer *l = &p->layers[c0 + i];
    pb->fwd[i] = l->fwd_s;
    pb->bwd[i] = l->bwd_s + l->update_s;
    pb->bytes[i] = l->params_bytes + l->grads_bytes + l->optim_bytes + l->stats_bytes + l->copy_bytes + l->act_bytes +
                   l->act_grad_bytes + l->workspace_bytes;
    /* the accumulator holds the part's state as the protocol sends it: doubles of the
     * parameters and statistics, or a layer table's float32 parameters */
    pb->state[i] = pb->input_once ? l->params_bytes : 2 * (l->params_bytes + l->stats_bytes);
  }
  for (int i = 0; i <= n; i++) pb->cut[i] = p->layers[c0 + i - 1].out_bytes;
  for (int h = 0; h < H; h++) {
    if (!(speed[h] > 0)) {
      mpsl_cut_problem_free(pb);
      return mpsl_fail("hop %d: device speed %g (expected > 0)", h + 1, speed[h]);
    }
    pb->speed[h] = speed[h];
    pb->cap[h] = cap[h];
  }
  return 0;
}

void mpsl_cut_problem_free(mpsl_cut_problem *pb) {
  free(pb->fwd);
  free(pb->bwd);
  free(pb->bytes);
  free(pb->cut);
  free(pb->state);
  free(pb->speed);
  free(pb->cap);
  memset(pb, 0, sizeof *pb);
}

/* Prefix sums, so that every segment's cost is one subtraction computed the same way
 * wherever it is needed: the candidate values of L_fwd and the DP's checks against them
 * then compare equal bit for bit. */
typedef struct {
  const mpsl_cut_problem *pb;
  double *pf, *pb_; /* (n+1) */
  int64_t *pm;      /* (n+1) */
  int64_t *ps;      /* (n+1) accumulator bytes */
} sums;

static void sums_init(sums *s, const mpsl_cut_problem *pb) {
  int n = pb->n;
  s->pb = pb;
  s->pf = mpsl_xmalloc((size_t)(n + 1) * sizeof *s->pf, "plan");
  s->pb_ = mpsl_xmalloc((size_t)(n + 1) * sizeof *s->pb_, "plan");
  s->pm = mpsl_xmalloc((size_t)(n + 1) * sizeof *s->pm, "plan");
  s->ps = mpsl_xmalloc((size_t)(n + 1) * sizeof *s->ps, "plan");
  s->pf[0] = s->pb_[0] = 0;
  s->pm[0] = s->ps[0] = 0;
  for (int i = 0; i < n; i++) {
    s->pf[i + 1] = s->pf[i] + pb->fwd[i];
    s->pb_[i + 1] = s->pb_[i] + pb->bwd[i];
    s->pm[i + 1] = s->pm[i] + pb->bytes[i];
    s->ps[i + 1] = s->ps[i] + (pb->state ? pb->state[i] : 0);
  }
}

static void sums_free(sums *s) {
  free(s->pf);
  free(s->pb_);
  free(s->pm);
  free(s->ps);
}

/* hop h holds layer offsets [i, j) */
static double seg_fwd(const sums *s, int h, int i, int j) { return (s->pf[j] - s->pf[i]) / s->pb->speed[h]; }
static double seg_bwd(const sums *s, int h, int i, int j) { return (s->pb_[j] - s->pb_[i]) / s->pb->speed[h]; }
static int64_t seg_mem(const sums *s, int i, int j) {
  const mpsl_cut_problem *pb = s->pb;
  return (int64_t)pb->copies * (s->pm[j] - s->pm[i] + (2 + pb->input_once) * pb->cut[i] + 2 * pb->cut[j]) +
         (s->ps[j] - s->ps[i]);
}
static bool seg_fits(const sums *s, int h, int i, int j) {
  return s->pb->cap[h] <= 0 || seg_mem(s, i, j) <= s->pb->cap[h];
}

int mpsl_cut_eval(const mpsl_cut_problem *pb, const int *cuts, mpsl_cut_plan *out) {
  memset(out, 0, sizeof *out);
  int H = pb->H, c0 = pb->first - 1;
  char given[(MPSL_PLAN_MAX_HOPS + 1) * 12];
  for (size_t h = 0, k = 0; h <= (size_t)H && k < sizeof given; h++)
    k += (size_t)snprintf(given + k, sizeof given - k, "%s%d", h ? "," : "", cuts[h]);
  if (cuts[0] != c0 || cuts[H] != c0 + pb->n)
    return mpsl_fail("cuts = %s: cuts must start at %d and end at %d (the fixed ends of M_1 and of the last hop)",
                     given, c0, c0 + pb->n);
  for (int h = 0; h < H; h++)
    if (cuts[h + 1] <= cuts[h])
      return mpsl_fail("cuts = %s: cuts must be strictly increasing: %d follows %d", given, cuts[h + 1], cuts[h]);
  sums s;
  sums_init(&s, pb);
  out->feasible = true;
  for (int h = 0; h < H; h++) {
    int i = cuts[h] - c0, j = cuts[h + 1] - c0;
    out->cuts[h] = cuts[h];
    out->fwd[h] = seg_fwd(&s, h, i, j);
    out->bwd[h] = seg_bwd(&s, h, i, j);
    out->mem[h] = seg_mem(&s, i, j);
    if (!seg_fits(&s, h, i, j)) out->feasible = false;
    if (out->fwd[h] > out->L_fwd) out->L_fwd = out->fwd[h];
    if (out->bwd[h] > out->L_back) out->L_back = out->bwd[h];
  }
  out->cuts[H] = cuts[H];
  out->period = out->L_fwd + out->L_back;
  sums_free(&s);
  return 0;
}

/* g[h][j]: the smallest max over hops 0..h of backward time when hops 0..h hold offsets
 * [0, j), every hop's forward time <= fmax and memory within its cap; INFINITY if none.
 * arg[h][j] is the start of hop h in that arrangement. Returns g[H-1][n]. */
static double dp_bwd(const sums *s, double fmax, double *g, int *arg) {
  const mpsl_cut_problem *pb = s->pb;
  int n = pb->n, H = pb->H, w = n + 1;
  for (int h = 0; h < H; h++)
    for (int j = 0; j <= n; j++) {
      double best = INFINITY;
      int at = -1;
      /* hop h needs h layers before it and leaves one for each later hop */
      if (j >= h + 1 && j <= n - (H - 1 - h)) {
        int lo = h ? h : 0, hi = h ? j - 1 : 0;
        for (int i = lo; i <= hi; i++) {
          double prev = h ? g[(h - 1) * w + i] : 0;
          if (prev == INFINITY || seg_fwd(s, h, i, j) > fmax || !seg_fits(s, h, i, j)) continue;
          double b = seg_bwd(s, h, i, j);
          double v = prev > b ? prev : b;
          if (v < best) best = v, at = i;
        }
      }
      g[h * w + j] = best;
      arg[h * w + j] = at;
    }
  return g[(H - 1) * w + n];
}

static void dp_cuts(const mpsl_cut_problem *pb, const int *arg, int *cuts) {
  int n = pb->n, H = pb->H, w = n + 1, c0 = pb->first - 1;
  int j = n;
  cuts[H] = c0 + n;
  for (int h = H - 1; h >= 0; h--) {
    j = arg[h * w + j];
    cuts[h] = c0 + j;
  }
}

/* The arrangement whose worst need / cap ratio is smallest: what an infeasible problem
 * is closest to fitting. */
static void least_need(const sums *s, mpsl_cut_plan *out) {
  const mpsl_cut_problem *pb = s->pb;
  int n = pb->n, H = pb->H, w = n + 1;
  double *g = mpsl_xmalloc((size_t)H * w * sizeof *g, "plan");
  int *arg = mpsl_xmalloc((size_t)H * w * sizeof *arg, "plan");
  for (int h = 0; h < H; h++)
    for (int j = 0; j <= n; j++) {
      double best = INFINITY;
      int at = -1;
      if (j >= h + 1 && j <= n - (H - 1 - h)) {
        int lo = h, hi = h ? j - 1 : 0;
        for (int i = lo; i <= hi; i++) {
          double prev = h ? g[(h - 1) * w + i] : 0;
          if (prev == INFINITY) continue;
          double r = pb->cap[h] > 0 ? (double)seg_mem(s, i, j) / (double)pb->cap[h] : 0;
          double v = prev > r ? prev : r;
          if (v < best) best = v, at = i;
        }
      }
      g[h * w + j] = best;
      arg[h * w + j] = at;
    }
  int cuts[MPSL_PLAN_MAX_HOPS + 1];
  dp_cuts(pb, arg, cuts);
  mpsl_cut_eval(pb, cuts, out);
  double worst = -1;
  for (int h = 0; h < H; h++) {
    double r = pb->cap[h] > 0 ? (double)out->mem[h] / (double)pb->cap[h] : 0;
    if (r > worst) worst = r, out->worst_hop = h, out->need = out->mem[h], out->need_cap = pb->cap[h];
  }
  out->feasible = false;
  free(g);
  free(arg);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Tries every candidate value F of L_fwd in increasing order; for each, the DP gives the
 * least max backward time with every hop's forward time <= F. */
static void search(const sums *s, double g_inf, double *g, int *arg, mpsl_cut_plan *out) {
  const mpsl_cut_problem *pb = s->pb;
  int n = pb->n, H = pb->H;
  /* the arrangement without a forward limit bounds the optimum from above */
  int cuts[MPSL_PLAN_MAX_HOPS + 1];
  dp_cuts(pb, arg, cuts);
  mpsl_cut_eval(pb, cuts, out);
  double best = out->period;
  /* L_fwd of the optimum is the forward time of one of its segments: every segment that
   * fits its hop's memory gives a candidate value */
  size_t nc = 0, capc = 64;
  double *cand = mpsl_xmalloc(capc * sizeof *cand, "plan");
  for (int h = 0; h < H; h++)
    for (int i = h; i <= (h ? n - 1 : 0); i++)
      for (int j = h == H - 1 ? n : i + 1; j <= n - (H - 1 - h); j++) {
        if (!seg_fits(s, h, i, j)) continue;
        if (nc == capc) cand = realloc(cand, (capc *= 2) * sizeof *cand);
        if (!cand) MPSL_DIE("out of memory for %zu candidate periods", capc);
        cand[nc++] = seg_fwd(s, h, i, j);
      }
  qsort(cand, nc, sizeof *cand, cmp_double);

  for (size_t c = 0; c < nc; c++) {
    if (c && cand[c] == cand[c - 1]) continue;
    /* max bwd never drops below g_inf, and larger F only add to the sum */
    if (cand[c] + g_inf >= best) break;
    double gb = dp_bwd(s, cand[c], g, arg);
    if (gb == INFINITY) continue;
    if (cand[c] + gb < best) {
      best = cand[c] + gb;
      dp_cuts(pb, arg, cuts);
    }
    if (gb == g_inf) break;
  }
  free(cand);
  mpsl_cut_eval(pb, cuts, out);
}

int mpsl_cut_plan_exact(const mpsl_cut_problem *pb, mpsl_cut_plan *out) {
  memset(out, 0, sizeof *out);
  int n = pb->n, H = pb->H, w = n + 1;
  if (H < 1 || H > MPSL_PLAN_MAX_HOPS || n < H) return mpsl_fail("%d layer(s) cannot be split over %d hop(s)", n, H);
  sums s;
  sums_init(&s, pb);
  double *g = mpsl_xmalloc((size_t)H * w * sizeof *g, "plan");
  int *arg = mpsl_xmalloc((size_t)H * w * sizeof *arg, "plan");

  double g_inf = dp_bwd(&s, INFINITY, g, arg);
  if (g_inf == INFINITY)
    least_need(&s, out);
  else
    search(&s, g_inf, g, arg, out);
  free(g);
  free(arg);
  sums_free(&s);
  return 0;
}

int mpsl_cut_plan_heuristic(const mpsl_cut_problem *pb, mpsl_cut_plan *out) {
  int n = pb->n, H = pb->H, c0 = pb->first - 1;
  if (H < 1 || H > MPSL_PLAN_MAX_HOPS || n < H) return mpsl_fail("%d layer(s) cannot be split over %d hop(s)", n, H);
  double total = 0;
  for (int i = 0; i < n; i++) total += pb->fwd[i] + pb->bwd[i];
  double mean = total / H;
  int cuts[MPSL_PLAN_MAX_HOPS + 1];
  cuts[0] = c0;
  int at = 0;
  for (int h = 0; h < H - 1; h++) {
    double acc = pb->fwd[at] + pb->bwd[at];
    at++;
    while (at < n - (H - 1 - h) && acc + pb->fwd[at] + pb->bwd[at] <= mean) acc += pb->fwd[at] + pb->bwd[at], at++;
    cuts[h + 1] = c0 + at;
  }
  cuts[H] = c0 + n;
  return mpsl_cut_eval(pb, cuts, out);
}

int mpsl_distribute_owners(int R, int K, double (*load)(void *ctx, int p, int n), void *ctx, int *n) {
  double *next = mpsl_xmalloc((size_t)R * sizeof *next, "owner distribution");
  for (int p = 0; p < R; p++) n[p] = 0, next[p] = load(ctx, p, 1);
  /* loads grow with n, so taking the lowest next load K times takes the K smallest loads
   * of all pipelines' sequences: the largest of them, the round's bound, is the least
   * any distribution reaches */
  for (int k = 0; k < K; k++) {
    int best = -1;
    for (int p = 0; p < R; p++)
      if (next[p] < INFINITY && (best < 0 || next[p] < next[best])) best = p;
    if (best < 0) {
      free(next);
      return mpsl_fail("the pipelines' memory caps hold %d data owner(s) in all, not %d", k, K);
    }
    n[best]++;
    next[best] = load(ctx, best, n[best] + 1);
  }
  free(next);
  return 0;
}
