/* `cuts = plan` (plan/resolve.h). */
#include "plan/resolve.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  /* a layer table: the planner reads the first hop's columns, so every hop must use them */
  for (int h = 0; h < H && s->cn_col; h++) {
    int i = first + h < n ? first + h : 0;
    if (s->cn_col[i] != s->cn_col[0])
      return mpsl_fail("the planner needs the compute nodes of a layer table on one device's columns; hop %d ('%s') "
                       "uses other columns than hop 1 ('%s')",
                       h + 1, s->cn_dev[i]->name, s->cn_dev[0]->name);
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

/* The planned cuts of a loaded input into c. */
static int planned_cuts(const emu_input *in, sl_config *c) {
  int H = in->c.hops;
  mpsl_cut_plan opt;
  if (mpsl_plan_pipeline(in, 0, H, mpsl_plan_owners_of(&in->s, 0), &opt, NULL, NULL))
    return mpsl_fail_context("cuts = plan");
  if (!opt.feasible)
    return mpsl_fail(
        "cuts = plan: no cuts of layers %d..%d over %d hop(s) fit the memory caps: hop %d needs at least %.2f GiB "
        "for %d copies, its cap is %.2f GiB (mpsl plan shows the arithmetic)",
        in->c.cuts.v[0] + 1, in->c.cuts.v[H], H, opt.worst_hop + 1, (double)opt.need / (1 << 30),
        mpsl_plan_owners_of(&in->s, 0), (double)opt.need_cap / (1 << 30));
  memset(&c->cuts, 0, sizeof c->cuts);
  c->cuts.n = H + 1;
  for (int h = 0; h <= H; h++) c->cuts.v[h] = opt.cuts[h];
  return 0;
}

int mpsl_plan_input_load(emu_input *in) {
  bool plan = in->c.cuts.plan;
  if (emu_input_load(in)) return -1;
  if (!plan) return 0;
  sl_config c = in->c;
  if (planned_cuts(in, &c)) return -1;
  emu_input_free(in);
  in->c = c;
  return emu_input_load(in);
}

int mpsl_plan_config_cuts(sl_config *c) {
  if (!c->cuts.plan) return 0;
  emu_input *in = mpsl_xcalloc(1, sizeof *in, "plan");
  in->c = *c;
  int rc = emu_input_load(in) || planned_cuts(in, c);
  emu_input_free(in);
  free(in);
  return rc ? -1 : 0;
}
