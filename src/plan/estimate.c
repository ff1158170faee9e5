#include "plan/estimate.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static double maxd(double a, double b) { return a > b ? a : b; }

static void estimate_pipe(const emu_scenario *s, int p, mpsl_estimate_pipe *e) {
  int H = s->H;
  memset(e, 0, sizeof *e);
  for (int k = 0; k < s->K; k++) {
    if (emu_owner_pipe(s, k) != p) continue;
    e->owners++;
    emu_link l = s->owner_cn[k];
    e->startT += s->first[k].fwd + emu_link_time(l, s->cut_bytes[0]);
    e->turnT += emu_link_time(l, s->cut_bytes[H]) + s->last[k].fwd + s->last[k].bwd + emu_link_time(l, s->cut_bytes[H]);
    e->endT += emu_link_time(l, s->cut_bytes[0]) + s->first[k].bwd;
  }
  e->startT /= e->owners;
  e->turnT /= e->owners;
  e->endT /= e->owners;
  e->batches = (int64_t)s->r * s->B * e->owners;

  double sum = 0;
  for (int h = 0; h < H; h++) {
    const emu_cost *c = &s->hop[p * H + h];
    e->fwd[h] = c->fwd;
    e->bwd[h] = c->bwd;
    e->L_fwd = maxd(e->L_fwd, c->fwd);
    e->L_back = maxd(e->L_back, c->bwd);
    e->T_hop = maxd(e->T_hop, c->fwd + c->bwd);
    sum += c->fwd + c->bwd;
    if (h < H - 1) {
      /* the activation at cut h+1 goes forward over hop h -> h+1, its gradient comes back
       * over the link the other way; each is a stage that every batch crosses once */
      int64_t bytes = s->cut_bytes[h + 1];
      e->busy_fwd[h] = e->busy_bwd[h] = emu_link_busy(s->cn_cn, bytes);
      e->link_fwd[h] = e->link_bwd[h] = emu_link_time(s->cn_cn, bytes);
      e->L_fwd = maxd(e->L_fwd, e->busy_fwd[h]);
      e->L_back = maxd(e->L_back, e->busy_bwd[h]);
      e->T_hop = maxd(e->T_hop, e->busy_fwd[h] + e->busy_bwd[h]);
      sum += e->link_fwd[h] + e->link_bwd[h];
    }
  }
  e->T_full = e->L_fwd + e->L_back;
  e->T_empty = sum + e->turnT;
  e->T_cycle = e->startT + e->T_empty + e->endT;
  e->T_batches = e->startT + e->T_empty + (double)(e->batches - 1) * e->T_full + e->endT;
  e->saturated = (double)e->owners * e->T_full >= e->T_cycle;
  e->one_bottleneck = e->T_hop >= e->T_full * (1 - 1e-12);
}

int mpsl_estimate(const emu_scenario *s, mpsl_estimate_terms *out) {
  memset(out, 0, sizeof *out);
  if (s->H < 1 || s->H > MPSL_EST_MAX_HOPS)
    return mpsl_fail("the closed form handles 1 to %d hops, not %d", MPSL_EST_MAX_HOPS, s->H);
  if (s->R < 1 || s->K < s->R)
    return mpsl_fail("%d pipeline(s) for %d data owner(s): every pipeline needs a data owner", s->R, s->K);
  out->K = s->K, out->H = s->H, out->R = s->R;
  out->batch = s->batch, out->B = s->B, out->r = s->r;
  out->pipe = mpsl_xcalloc((size_t)s->R, sizeof *out->pipe, "estimate pipelines");
  for (int p = 0; p < s->R; p++) {
    estimate_pipe(s, p, &out->pipe[p]);
    if (out->pipe[p].T_batches > out->pipe[out->slowest].T_batches) out->slowest = p;
  }
  out->T_batches = out->pipe[out->slowest].T_batches;

  for (int k = 0; k < s->K; k++) {
    out->aggr_up += emu_link_time(s->owner_agg[k], s->owner_state);
    out->aggr_down += emu_link_time(s->owner_agg[k], s->owner_state);
  }
  out->aggr_up /= s->K;
  out->aggr_proc = emu_average_s(s, s->owner_state, s->K, s->agg_speed);
  for (int p = 0; p < s->R; p++)
    for (int h = 0; h < s->H; h++) {
      double t = emu_average_s(s, s->hop_state[h], out->pipe[p].owners, s->cn_speed[p * s->H + h]);
      out->aggr_hops = maxd(out->aggr_hops, t + emu_exchange_s(s, h));
    }
  out->T_aggr = maxd(out->aggr_up + out->aggr_proc + out->aggr_down, out->aggr_hops);
  out->T_round = out->T_batches + out->T_aggr;
  return 0;
}

void mpsl_estimate_free(mpsl_estimate_terms *e) {
  free(e->pipe);
  e->pipe = NULL;
}

void mpsl_estimate_print(const mpsl_estimate_terms *e, FILE *f) {
  const mpsl_estimate_pipe *q = &e->pipe[e->slowest];
  int H = e->H;
  fprintf(f,
          "# closed form (EdgeSys'25): K=%d data owners, R=%d pipeline(s) of H=%d hop(s), r=%d x B=%d batches of %d\n",
          e->K, e->R, H, e->r, e->B, e->batch);
  if (e->R > 1) {
    for (int p = 0; p < e->R; p++)
      fprintf(f, "pipeline %d: owners=%d T_full=%.6g T_batches=%.6g%s\n", p, e->pipe[p].owners, e->pipe[p].T_full,
              e->pipe[p].T_batches, p == e->slowest ? "  (slowest: its terms follow)" : "");
  }
  for (int h = 0; h < H; h++) {
    fprintf(f, "procT_fwd[%d]   %12.6g s  hop %d forward of one batch on its device\n", h + 1, q->fwd[h], h + 1);
    fprintf(f, "procT_back[%d]  %12.6g s  hop %d backward and update of one batch\n", h + 1, q->bwd[h], h + 1);
    if (h < H - 1)
      fprintf(f,
              "link[%d-%d]      %12.6g s  activation hop %d -> %d: bytes/bw + lat (gradient back: %.6g s; occupancy "
              "%.6g s)\n",
              h + 1, h + 2, q->link_fwd[h], h + 1, h + 2, q->link_bwd[h], q->busy_fwd[h]);
  }
  fprintf(f, "L_fwd          %12.6g s  max over hops of procT_fwd (and hop-to-hop link occupancy)\n", q->L_fwd);
  fprintf(f, "L_back         %12.6g s  max over hops of procT_back (and hop-to-hop link occupancy)\n", q->L_back);
  fprintf(f, "T_full         %12.6g s  L_fwd + L_back: one batch in the steady state\n", q->T_full);
  fprintf(
      f,
      "T_hop          %12.6g s  max over hops of fwd + bwd: the busiest hop per batch, a lower bound on the period\n",
      q->T_hop);
  fprintf(f, "turnT          %12.6g s  mean_k: last hop -> d_k, M_P forward+backward, d_k -> last hop\n", q->turnT);
  fprintf(f, "T_empty        %12.6g s  sum procT_fwd + sum procT_back + hop-to-hop links + turnT: the first batch\n",
          q->T_empty);
  fprintf(f, "startT         %12.6g s  mean_k: M_1 forward on d_k + cut-0 activation to hop 1\n", q->startT);
  fprintf(f, "endT           %12.6g s  mean_k: cut-0 gradient from hop 1 + M_1 backward on d_k\n", q->endT);
  fprintf(f, "batches        %12lld    r*B*K_p: batches through the pipeline (K_p = %d data owners)\n",
          (long long)q->batches, q->owners);
  fprintf(f, "T_batches      %12.6g s  startT + T_empty + (batches - 1)*T_full + endT\n", q->T_batches);
  fprintf(f, "T_aggr_up      %12.6g s  mean_k comm(d_k -> aggregator) of M_1 and M_P\n", e->aggr_up);
  fprintf(f, "T_aggr_proc    %12.6g s  averaging M_1 and M_P of K data owners on the aggregator\n", e->aggr_proc);
  fprintf(f, "T_aggr_down    %12.6g s  sum_k comm(aggregator -> d_k)\n", e->aggr_down);
  fprintf(f, "T_aggr_hops    %12.6g s  the slowest hop's averaging of its copies%s\n", e->aggr_hops,
          e->R > 1 ? " and exchange across pipelines" : "");
  fprintf(f, "T_aggr         %12.6g s  max(up + proc + down, hops)\n", e->T_aggr);
  fprintf(f, "T_round        %12.6g s  T_batches + T_aggr\n", e->T_round);
  if (!q->saturated)
    fprintf(f,
            "# note: the pipeline is not saturated (K_p*T_full = %.6g s < %.6g s, one batch's round trip): the closed "
            "form underestimates; mpsl simulate does not assume saturation\n",
            q->owners * q->T_full, q->T_cycle);
  if (!q->one_bottleneck)
    fprintf(f,
            "# note: the slowest forward and the slowest backward are on different hops: the closed form charges "
            "L_fwd + L_back = %.6g s per batch, but the busiest hop needs only T_hop = %.6g s; the round lies "
            "between the two (mpsl simulate)\n",
            q->T_full, q->T_hop);
}

void mpsl_estimate_csv(const mpsl_estimate_terms *e, FILE *f) {
  const mpsl_estimate_pipe *q = &e->pipe[e->slowest];
  fprintf(f,
          "K,H,R,owners,batches,L_fwd,L_back,T_full,T_empty,startT,turnT,endT,T_batches,T_aggr_up,T_aggr_proc,"
          "T_aggr_down,T_aggr_hops,T_aggr,T_round,saturated,T_hop,one_bottleneck");
  for (int h = 0; h < e->H; h++) fprintf(f, ",procT_fwd_%d,procT_back_%d", h + 1, h + 1);
  fprintf(f, "\n%d,%d,%d,%d,%lld", e->K, e->H, e->R, q->owners, (long long)q->batches);
  double v[] = {q->L_fwd,     q->L_back,  q->T_full,    q->T_empty,   q->startT,    q->turnT,  q->endT,
                q->T_batches, e->aggr_up, e->aggr_proc, e->aggr_down, e->aggr_hops, e->T_aggr, e->T_round};
  for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) fprintf(f, ",%.9g", v[i]);
  fprintf(f, ",%d,%.9g,%d", q->saturated ? 1 : 0, q->T_hop, q->one_bottleneck ? 1 : 0);
  for (int h = 0; h < e->H; h++) fprintf(f, ",%.9g,%.9g", q->fwd[h], q->bwd[h]);
  fputc('\n', f);
}
