/* mpsl plan: the cuts that minimise the pipeline period of a configuration within its
 * compute nodes' memory caps (plan/cuts.h), the best number of hops, the distribution of
 * data owners over pipelines and the gain over the paper's manual rule. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "emu/timing.h"
#include "plan/cuts.h"
#include "plan/estimate.h"
#include "plan/resolve.h"
#include "util/bytes.h"
#include "util/err.h"

/* A memory cap: 0 means none. */
static const char *bytes_str(int64_t b, char *buf) {
  if (b <= 0) return snprintf(buf, 32, "unlimited"), buf;
  return mpsl_bytes_str(b, buf, 32);
}

static void cuts_str(const mpsl_cut_plan *p, int H, char *buf, int cap) {
  int at = 0;
  for (int h = 0; h <= H && at < cap; h++) at += snprintf(buf + at, (size_t)(cap - at), h ? ",%d" : "%d", p->cuts[h]);
}

/* The closed form for pipeline 0 alone with the hops and cuts of a plan: what ranks the
 * numbers of hops (more hops shorten the period but lengthen the first batch). */
static int estimate_plan(const emu_input *in, const mpsl_cut_plan *plan, int H, double *t_round) {
  const emu_scenario *s = &in->s;
  emu_scenario d = *s;
  int K = mpsl_plan_owners_of(s, 0);
  d.K = K, d.R = 1, d.H = H, d.P = H + 2;
  d.first = mpsl_xmalloc((size_t)K * sizeof *d.first, "plan");
  d.last = mpsl_xmalloc((size_t)K * sizeof *d.last, "plan");
  d.owner_cn = mpsl_xmalloc((size_t)K * sizeof *d.owner_cn, "plan");
  d.owner_agg = mpsl_xmalloc((size_t)K * sizeof *d.owner_agg, "plan");
  d.owner_pipe = mpsl_xcalloc((size_t)K, sizeof *d.owner_pipe, "plan");
  d.pipe_owners = &K;
  for (int i = 0, k = 0; k < s->K; k++) {
    if (emu_owner_pipe(s, k) != 0) continue;
    d.first[i] = s->first[k], d.last[i] = s->last[k];
    d.owner_cn[i] = s->owner_cn[k], d.owner_agg[i] = s->owner_agg[k];
    i++;
  }
  d.hop = mpsl_xmalloc((size_t)H * sizeof *d.hop, "plan");
  d.cut_bytes = mpsl_xmalloc((size_t)(H + 1) * sizeof *d.cut_bytes, "plan");
  d.hop_state = mpsl_xcalloc((size_t)H, sizeof *d.hop_state, "plan");
  d.cn_speed = mpsl_xmalloc((size_t)H * sizeof *d.cn_speed, "plan");
  int64_t cap[MPSL_PLAN_MAX_HOPS];
  mpsl_plan_hop_devices(s, 0, H, d.cn_speed, cap, NULL);
  for (int h = 0; h <= H; h++) d.cut_bytes[h] = in->profile.layers[plan->cuts[h] - 1].out_bytes;
  for (int h = 0; h < H; h++) {
    d.hop[h].fwd = plan->fwd[h], d.hop[h].bwd = plan->bwd[h];
    if ((d.hop_state[h] = emu_state_bytes(&in->m, plan->cuts[h] + 1, plan->cuts[h + 1])) < 0) {
      d.hop_state[h] = 0;
    }
  }
  mpsl_estimate_terms e;
  int rc = mpsl_estimate(&d, &e);
  if (rc == 0) *t_round = e.T_round;
  mpsl_estimate_free(&e);
  free(d.first), free(d.last), free(d.owner_cn), free(d.owner_agg), free(d.owner_pipe);
  free(d.hop), free(d.cut_bytes), free(d.hop_state), free(d.cn_speed);
  return rc;
}

static void print_plan(const char *what, const mpsl_cut_plan *p, int H) {
  char cuts[512];
  cuts_str(p, H, cuts, sizeof cuts);
  printf("%-11s cuts %-20s period %.6g s = L_fwd %.6g + L_back %.6g%s\n", what, cuts, p->period, p->L_fwd, p->L_back,
         p->feasible ? "" : "  (exceeds a memory cap)");
}

static void print_hops(const mpsl_cut_problem *pb, const mpsl_cut_plan *p, const mpsl_device **dev) {
  char a[32], b[32];
  for (int h = 0; h < pb->H; h++)
    printf("  hop %d (%s): layers %d..%d  fwd %.6g s  bwd %.6g s  memory %s of %s\n", h + 1,
           dev[h] ? dev[h]->name : "?", p->cuts[h] + 1, p->cuts[h + 1], p->fwd[h], p->bwd[h], bytes_str(p->mem[h], a),
           bytes_str(pb->cap[h], b));
}

static void print_infeasible(const char *what, const mpsl_cut_plan *p, const mpsl_device **dev, int copies) {
  char a[32], b[32];
  printf(
      "%-11s no cuts fit the memory caps: the least any choice needs is hop %d (%s) with %s of its %s "
      "(%d copies)\n",
      what, p->worst_hop + 1, dev && dev[p->worst_hop] ? dev[p->worst_hop]->name : "?", bytes_str(p->need, a),
      bytes_str(p->need_cap, b), copies);
}

static void distribute(const emu_input *in) {
  const emu_scenario *s = &in->s;
  int R = s->R;
  int *n = mpsl_xmalloc((size_t)R * sizeof *n, "plan");
  printf("# data owners over %d pipelines: the least largest n_p x period_p, at the configured cuts\n", R);
  if (mpsl_plan_distribution(in, n)) {
    printf("distribution: %s\n", mpsl_errmsg());
  } else {
    double worst = 0, worst_rr = 0;
    for (int p = 0; p < R; p++) {
      double l = n[p] ? mpsl_plan_load(in, p, n[p]) : 0, rr = mpsl_plan_load(in, p, mpsl_plan_owners_of(s, p));
      char was[64];
      if (rr < INFINITY)
        snprintf(was, sizeof was, "%.6g s", rr * s->r * s->B);
      else
        snprintf(was, sizeof was, "exceeds a memory cap");
      printf("pipeline %d: %d data owner(s), load %.6g s per round of batches (configured: %d, %s)\n", p, n[p],
             l * s->r * s->B, mpsl_plan_owners_of(s, p), was);
      if (l > worst) worst = l;
      if (rr > worst_rr) worst_rr = rr;
    }
    if (worst_rr < INFINITY)
      printf("slowest pipeline: %.6g s planned, %.6g s as configured (%.2f %% shorter)\n", worst * s->r * s->B,
             worst_rr * s->r * s->B, 100 * (worst_rr - worst) / worst_rr);
    else
      printf("slowest pipeline: %.6g s planned; as configured it exceeds a memory cap\n", worst * s->r * s->B);
    printf("distribution = ");
    for (int p = 0; p < R; p++) printf(p ? ",%d" : "%d", n[p]);
    printf("\n# distribution = plan in run and simulate uses these counts\n");
  }
  free(n);
}

const cli_flag cmd_plan_flags[] = {
    {"--max-hops N",
     "also plan every number of hops from 1 to N and rank them by the closed form's round time (default: hops)"},
    {NULL, NULL},
};

/* the keys of mpsl run, under this command's name */
const mpsl_optset *cmd_plan_opts(void) {
  static mpsl_optset o;
  if (!o.name) {
    o = sl_config_opts;
    o.name = "plan";
    o.summary =
        "The cuts (and hops, and data owners per pipeline) that minimise the pipeline period of the configuration of "
        "mpsl run within its memory caps.";
  }
  return &o;
}

int cmd_plan(int argc, char **argv) {
  char **rest = mpsl_xmalloc((size_t)(argc + 1) * sizeof *rest, "arguments");
  int n = 0, max_hops = 0;
  const char *mh = NULL;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--max-hops") || !strcmp(argv[i], "--max_hops")) {
      mh = i + 1 < argc ? argv[++i] : "";
    } else if (!strncmp(argv[i], "--max-hops=", 11) || !strncmp(argv[i], "--max_hops=", 11)) {
      mh = argv[i] + 11;
    } else {
      rest[n++] = argv[i];
    }
  }
  emu_input in = {0};
  int rc = cli_parse_with_file(cmd_plan_opts(), &in.c, n, rest, cmd_plan_flags);
  free(rest);
  if (rc > 0) return 0;
  if (rc < 0) return cli_error("plan");
  if (mh) {
    char *end;
    long v = strtol(mh, &end, 10);
    if (!*mh || *end || v < 1 || v > MPSL_PLAN_MAX_HOPS - 1) {
      mpsl_fail("--max-hops: '%s' is not an integer in [1, %d]", mh, MPSL_PLAN_MAX_HOPS - 1);
      return cli_error("plan");
    }
    max_hops = (int)v;
  }
  /* cuts = plan, distribution = plan: what they resolve to is what this command prints
   * (optimal, distribution), so it keeps their placeholders, and an infeasible plan is
   * explained rather than refused */
  bool planned_cuts = in.c.cuts.plan;
  if (emu_input_load(&in)) {
    emu_input_free(&in);
    return cli_error("plan");
  }
  const emu_scenario *s = &in.s;
  int H = in.c.hops, copies = mpsl_plan_owners_of(s, 0), c0 = in.c.cuts.v[0], cH = in.c.cuts.v[H];
  if (!max_hops) max_hops = H;
  const mpsl_device *dev[MPSL_PLAN_MAX_HOPS];
  double speed[MPSL_PLAN_MAX_HOPS];
  int64_t cap[MPSL_PLAN_MAX_HOPS];
  mpsl_plan_hop_devices(s, 0, H, speed, cap, dev);

  printf("# %s, batch %d: K=%d data owners, R=%d pipeline(s) of H=%d hop(s); pipeline 0 holds %d copies of each part\n",
         in.c.model, in.c.batch, s->K, s->R, H, copies);
  printf("# the hops split layers %d..%d (fixed: M_1 = layers 1..%d, M_P = layers %d..%d)\n", c0 + 1, cH, c0, cH + 1,
         in.m.nlayers);
  mpsl_cut_problem pb;
  mpsl_cut_plan given, opt, heur;
  rc = mpsl_plan_pipeline(&in, 0, H, copies, &opt, &heur, &pb);
  if (rc == 0) rc = mpsl_cut_eval(&pb, in.c.cuts.v, &given);
  if (rc) {
    mpsl_opts_fail_where(&sl_config_opts, &in.c); /* cuts given in a file: its line */
    emu_input_free(&in);
    return cli_error("plan");
  }
  if (planned_cuts)
    printf("# cuts = plan: the configured cuts below are its placeholder; it resolves to the optimal\n");
  print_plan("configured", &given, H);
  print_hops(&pb, &given, dev);
  if (opt.feasible) {
    print_plan("optimal", &opt, H);
    print_hops(&pb, &opt, dev);
    print_plan("heuristic", &heur, H);
    printf("# heuristic: the paper's manual rule (consecutive layers up to the mean per-hop host time)\n");
    printf("gain: the optimal period is %.2f %% shorter than the heuristic's, %.2f %% shorter than the configured\n",
           100 * (heur.period - opt.period) / heur.period, 100 * (given.period - opt.period) / given.period);
  } else {
    print_infeasible("optimal", &opt, dev, copies);
  }

  /* every number of hops up to max_hops, on the first hops of cn_devices */
  {
    printf("# hops 1..%d on the first H devices of cn_devices, pipeline 0's %d data owners; T_round: the closed form\n",
           max_hops, copies);
    int best_h = 0;
    double best_t = INFINITY;
    for (int h = 1; h <= max_hops; h++) {
      mpsl_cut_plan p;
      double t = 0;
      if (mpsl_plan_pipeline(&in, 0, h, copies, &p, NULL, NULL)) {
        printf("H=%d: %s\n", h, mpsl_errmsg());
        continue;
      }
      if (!p.feasible) {
        char a[32], b[32];
        printf("H=%d: no cuts fit (hop %d needs at least %s of %s)\n", h, p.worst_hop + 1, bytes_str(p.need, a),
               bytes_str(p.need_cap, b));
        continue;
      }
      if (estimate_plan(&in, &p, h, &t)) {
        printf("H=%d: %s\n", h, mpsl_errmsg());
        continue;
      }
      char cuts[512];
      cuts_str(&p, h, cuts, sizeof cuts);
      printf("H=%d: period %.6g s  T_round %.6g s  cuts = %s\n", h, p.period, t, cuts);
      if (t < best_t) best_t = t, best_h = h;
    }
    if (best_h)
      printf("best: H=%d (T_round %.6g s)\n", best_h, best_t);
    else
      printf("best: none of H=1..%d fits\n", max_hops);
  }
  if (s->R > 1) distribute(&in);

  int status = 0;
  if (opt.feasible) {
    char cuts[512];
    cuts_str(&opt, H, cuts, sizeof cuts);
    printf("cuts = %s\n", cuts);
  } else {
    char a[32], b[32];
    mpsl_fail(
        "no cuts of layers %d..%d over %d hop(s) fit the memory caps: hop %d (%s) needs at least %s for %d "
        "copies, its cap is %s",
        c0 + 1, cH, H, opt.worst_hop + 1, dev[opt.worst_hop] ? dev[opt.worst_hop]->name : "?", bytes_str(opt.need, a),
        copies, bytes_str(opt.need_cap, b));
    status = cli_error("plan");
  }
  mpsl_cut_problem_free(&pb);
  emu_input_free(&in);
  return status;
}
