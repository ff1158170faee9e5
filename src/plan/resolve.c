/* `cuts = plan` (plan/resolve.h). */
#include "plan/resolve.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/table.h"
#include "sl/memplan.h"
#include "util/bytes.h"
#include "util/err.h"

int mpsl_plan_hop_devices(const emu_scenario *s, int first, int H, double *speed, int64_t *cap,
                          const mpsl_device **dev) {
  int n = s->R * s->H;
  bool uniform = true;
  for (int i = 1; i < n; i++) uniform = uniform && s->cn_dev[i] == s->cn_dev[0] && s->cn_speed[i] == s->cn_speed[0];
  if (first + H > n && !uniform)
    return mpsl_fail(
        "%d hops need %d compute-node devices but cn_devices names %d (a mix covers the configuration's "
        "R*H = %d compute nodes; one name covers any number)",
        H, first + H, n, n);
  /* a layer table: the planner reads the pipeline's first hop's columns, so every hop of
   * the pipeline must use them */
  for (int h = 0; h < H && s->cn_col; h++) {
    int i = first + h < n ? first + h : 0, i0 = first < n ? first : 0;
    if (s->cn_col[i] != s->cn_col[i0])
      return mpsl_fail(
          "the planner needs the compute nodes of a pipeline of a layer table on one device's columns; hop %d "
          "('%s') uses other columns than hop 1 ('%s')",
          h + 1, s->cn_dev[i]->name, s->cn_dev[i0]->name);
  }
  for (int h = 0; h < H; h++) {
    int i = first + h < n ? first + h : 0;
    speed[h] = s->cn_speed[i];
    cap[h] = s->cn_dev[i] ? s->cn_dev[i]->memory : 0;
    if (dev) dev[h] = s->cn_dev[i];
  }
  return 0;
}

int mpsl_plan_pipeline(const emu_input *in, int first, int H, int copies, mpsl_cut_plan *opt, mpsl_cut_plan *heur,
                       mpsl_cut_problem *keep) {
  double speed[MPSL_PLAN_MAX_HOPS];
  int64_t cap[MPSL_PLAN_MAX_HOPS];
  mpsl_cut_problem pb;
  if (mpsl_plan_hop_devices(&in->s, first, H, speed, cap, NULL)) return -1;
  /* memory_check = false: memory is accounted, not enforced, by the planner either */
  for (int h = 0; h < H && !in->c.memory_check; h++) cap[h] = 0;
  if (mpsl_cut_problem_init(&pb, &in->profile, in->c.cuts.v[0], in->c.cuts.v[in->c.hops], H, speed, cap, copies))
    return -1;
  int rc = mpsl_cut_plan_exact(&pb, opt);
  if (rc == 0 && heur) rc = mpsl_cut_plan_heuristic(&pb, heur);
  if (keep)
    *keep = pb;
  else
    mpsl_cut_problem_free(&pb);
  return rc;
}

double mpsl_plan_load(const emu_input *in, int p, int n) {
  int H = in->c.hops;
  double speed[MPSL_PLAN_MAX_HOPS];
  int64_t cap[MPSL_PLAN_MAX_HOPS];
  mpsl_cut_problem pb;
  mpsl_cut_plan e;
  if (mpsl_plan_hop_devices(&in->s, p * H, H, speed, cap, NULL)) return INFINITY; /* mpsl_plan_distribution reports it */
  for (int h = 0; h < H && !in->c.memory_check; h++) cap[h] = 0;
  /* a layer table's pipeline may run on other columns than pipeline 0's */
  mpsl_profile own = {0};
  const mpsl_profile *prof = &in->profile;
  if (in->m.table && in->s.cn_col[p * H] != in->s.cn_col[0]) {
    emu_table_profile(&in->m, &in->m.table->dev[in->s.cn_col[p * H]], &own);
    prof = &own;
  }
  int bad = mpsl_cut_problem_init(&pb, prof, in->c.cuts.v[0], in->c.cuts.v[H], H, speed, cap, n);
  if (!bad) {
    bad = mpsl_cut_eval(&pb, in->c.cuts.v, &e);
    mpsl_cut_problem_free(&pb);
  }
  mpsl_profile_free(&own);
  return !bad && e.feasible ? n * e.period : INFINITY;
}

static double load_of(void *ctx, int p, int n) { return mpsl_plan_load(ctx, p, n); }

int mpsl_plan_distribution(const emu_input *in, int *n) {
  const emu_scenario *s = &in->s;
  double speed[MPSL_PLAN_MAX_HOPS];
  int64_t cap[MPSL_PLAN_MAX_HOPS];
  for (int p = 0; p < s->R; p++)
    if (mpsl_plan_hop_devices(s, p * s->H, s->H, speed, cap, NULL)) return mpsl_fail_context("pipeline %d", p);
  if (mpsl_distribute_owners(s->R, s->K, load_of, (void *)in, n)) return -1;
  for (int p = 0; p < s->R; p++)
    if (n[p] < 1)
      return mpsl_fail("the planned distribution leaves pipeline %d without data owners (use fewer pipelines)", p);
  return 0;
}

/* The planned cuts of a loaded input into c. */
static int planned_cuts(const emu_input *in, sl_config *c) {
  int H = in->c.hops;
  mpsl_cut_plan opt;
  if (mpsl_plan_pipeline(in, 0, H, mpsl_plan_owners_of(&in->s, 0), &opt, NULL, NULL))
    return mpsl_fail_context("cuts = plan");
  if (!opt.feasible) {
    char need[32], cap[32];
    return mpsl_fail(
        "cuts = plan: no cuts of layers %d..%d over %d hop(s) fit the memory caps: hop %d needs at least %s for %d "
        "copies, its cap is %s (mpsl plan shows the arithmetic)",
        in->c.cuts.v[0] + 1, in->c.cuts.v[H], H, opt.worst_hop + 1, mpsl_bytes_str(opt.need, need, sizeof need),
        mpsl_plan_owners_of(&in->s, 0), mpsl_bytes_str(opt.need_cap, cap, sizeof cap));
  }
  memset(&c->cuts, 0, sizeof c->cuts);
  c->cuts.n = H + 1;
  for (int h = 0; h <= H; h++) c->cuts.v[h] = opt.cuts[h];
  return 0;
}

/* The planned distribution of a loaded input into c. */
static int planned_distribution(const emu_input *in, sl_config *c) {
  int R = in->s.R;
  if (R > MPSL_INTLIST_MAX) return mpsl_fail("distribution = plan: at most %d pipelines, not %d", MPSL_INTLIST_MAX, R);
  int n[MPSL_INTLIST_MAX];
  if (mpsl_plan_distribution(in, n)) return mpsl_fail_context("distribution = plan");
  memset(&c->distribution, 0, sizeof c->distribution);
  c->distribution.n = R;
  memcpy(c->distribution.v, n, (size_t)R * sizeof *n);
  return 0;
}

/* Cuts first (for pipeline 0 as the configuration distributes the owners), then the
 * distribution at those cuts; each is loaded again once chosen. */
int mpsl_plan_input_load(emu_input *in) {
  if (emu_input_load(in)) return -1;
  for (int step = 0; step < 2; step++) {
    bool plan = step == 0 ? in->c.cuts.plan : in->c.distribution.plan;
    if (!plan) continue;
    sl_config c = in->c;
    if (step == 0 ? planned_cuts(in, &c) : planned_distribution(in, &c))
      return mpsl_opts_fail_where(&sl_config_opts, &in->c); /* cuts = plan in a file: its line */
    emu_input_free(in);
    in->c = c;
    if (emu_input_load(in)) return -1;
  }
  return 0;
}

int mpsl_plan_config(sl_config *c) {
  if (!c->cuts.plan && !c->distribution.plan) return 0;
  emu_input *in = mpsl_xcalloc(1, sizeof *in, "plan");
  in->c = *c;
  int rc = mpsl_plan_input_load(in);
  if (rc == 0) {
    /* the planned keys only: the rest of c stays as given */
    c->cuts = in->c.cuts;
    c->distribution = in->c.distribution;
  }
  emu_input_free(in);
  free(in);
  return rc;
}
