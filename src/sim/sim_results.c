/* `mpsl simulate` from configuration to results file: the same configuration, profile and
 * timing scenario as `mpsl run`, the rounds played by the event engine (sim.c), and the
 * results file in the layout of `mpsl run` (docs/results.md), so that `mpsl report` and
 * the plots read either. Everything written is a function of the configuration and the
 * profile, except the attributes that measure the simulator itself (sim_wall_s,
 * sim_events_per_s) and say when and where it ran (started, ended, host, command). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/data.h"
#include "io/h5commit.h"
#include "plan/resolve.h"
#include "sim/sim.h"
#include "sl/header.h"
#include "sl/memplan.h"
#include "sl/status.h"
#include "util/err.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const mpsl_optset *sim_config_opts(void) {
  static mpsl_optset o;
  if (!o.name) {
    o = sl_config_opts;
    o.name = "simulate";
    o.summary =
        "Simulate MP-SL in virtual time (discrete events): the rounds of mpsl run on the same configuration, "
        "from a host profile, written to the same results layout";
  }
  return &o;
}

/* The engine numbers rounds from 0; every table of the file from 1. */
static int emit_rows(void *ctx, const mpsl_res_event *rows, int64_t n) {
  mpsl_res_event *copy = mpsl_xmalloc((size_t)(n ? n : 1) * sizeof *copy, "event rows");
  memcpy(copy, rows, (size_t)n * sizeof *copy);
  for (int64_t i = 0; i < n; i++) copy[i].round++;
  /* durable with the round's own rows, whose close waits for the disk; until then the
   * disk writes these while the simulation goes on */
  h5_commit_defer_sync(1);
  int rc = mpsl_results_append((const char *)ctx, MPSL_RES_EVENTS, copy, n);
  h5_commit_defer_sync(0);
  free(copy);
  return rc;
}

/* ---- memory ------------------------------------------------------------------------- */

/* Every rank's accounted bytes come from the memory plan that `mpsl run` checks before it
 * allocates anything (sl/memplan.h), so both modes report and refuse the same numbers.
 * peak_rss stays 0: nothing runs. */
static int memory_check(const sl_config *c, const mpsl_model *m, const sl_memplan *p) {
  for (int rank = 0; rank < p->n; rank++) {
    if (!p->row[rank].over) continue;
    char why[1200];
    sl_memrank_explain(&p->row[rank], m, why, sizeof why);
    if (c->memory_check) return mpsl_fail("%s (memory_check = false simulates it anyway)", why);
    fprintf(stderr, "%s: warning: %s\n", mpsl_program(), why);
  }
  return 0;
}

/* A plan row as this round's row, member by member into zeroed memory: the padding after
 * `role` reaches the file and must not differ between runs. */
static void memory_row(mpsl_res_memory *d, const mpsl_res_memory *p, int round) {
  memset(d, 0, sizeof *d);
  d->round = round, d->rank = p->rank, d->role = p->role, d->accounted = p->accounted;
  d->params = p->params, d->grads = p->grads, d->optim = p->optim, d->stats = p->stats;
  d->weight_copies = p->weight_copies, d->activations = p->activations, d->act_grads = p->act_grads;
  d->scratch = p->scratch, d->workspace = p->workspace, d->buffers = p->buffers, d->cap = p->cap;
  d->dataset = p->dataset, d->baseline = 0, d->peak_rss = 0; /* nothing runs */
}

/* ---- partition ---------------------------------------------------------------------- */

/* The partition table of `mpsl run` needs the training labels; without the dataset the
 * simulation goes on and the file has no partition (mpsl report does not need it). */
static void write_partition(const sl_config *c, const sl_topo *t, const char *out, FILE *log) {
  mpsl_dataset d = {0};
  mpsl_partition part = {0};
  if (mpsl_dataset_load(&d, c->dataset, c->data_dir[0] ? c->data_dir : NULL, 1) ||
      mpsl_partition_make(&part, &d, t->K, c->partition, c->alpha, (uint64_t)c->seed)) {
    fprintf(log, "# no partition table: %s\n", mpsl_errmsg());
    mpsl_dataset_free(&d);
    return;
  }
  int row = 4 + d.classes;
  int64_t *rows = mpsl_xcalloc((size_t)t->K * row, sizeof *rows, "partition");
  for (int k = 0; k < t->K; k++) {
    int64_t *r = rows + (int64_t)k * row;
    r[0] = k, r[1] = sl_owner_rank(t, k), r[2] = sl_owner_pipeline(t, k), r[3] = part.count[k];
    for (int64_t i = 0; i < part.count[k]; i++) r[4 + d.labels[part.index[k][i]]]++;
  }
  if (mpsl_results_partition(out, rows, t->K, d.classes)) {
    fprintf(log, "# no partition table: %s\n", mpsl_errmsg());
  }
  free(rows);
  mpsl_partition_free(&part);
  mpsl_dataset_free(&d);
}

/* ---- the command -------------------------------------------------------------------- */

/* --resume: the rounds the file holds stay, every later row goes, and the clock goes on from
 * their sum, added in the order the simulation added them (so it is the same double). */
static int resume_rounds(const char *path, int rounds, int *first, double *clock, FILE *out) {
  mpsl_res_round *rows = NULL;
  int64_t n = 0;
  if (mpsl_results_read(path, MPSL_RES_ROUNDS, (void **)&rows, &n)) return -1;
  for (int64_t i = 0; i < n; i++) *clock += rows[i].time_s;
  free(rows);
  if (n > rounds) return mpsl_fail("%s: holds %lld rounds of %d: not this simulation's", path, (long long)n, rounds);
  *first = (int)n;
  fprintf(out, "# resuming %s after round %d of %d\n", path, *first, rounds);
  return mpsl_results_resume(path, *first, NULL, 0);
}

static int create_results(const sl_config *c, const sl_topo *t, const mpsl_model *m, const char *profile) {
  mpsl_res_attr attrs[] = {
      MPSL_ATTR_S("time",
                  "model seconds (docs/timing.md); wall_s = time_s: the simulation has no wall clock of its own"),
  };
  return sl_results_header(c->output, "simulate", sim_config_opts(), c, m, t->nranks, profile, attrs,
                           (int)(sizeof attrs / sizeof attrs[0]));
}

int sim_simulate(sl_config *c, int resume, FILE *out) {
  double t_begin = now();
  emu_input in;
  memset(&in, 0, sizeof in);
  sim *x = NULL;
  sl_memplan plan = {0, NULL};
  mpsl_res_memory *memr = NULL;
  mpsl_res_audit *audit = NULL;
  int rc = -1;
  /* the simulator has nothing to compute: every task costs its profiled time, and the
   * resolved configuration says so (`mpsl run` on it emulates the same thing) */
  snprintf(c->compute, sizeof c->compute, "profiled");
  in.c = *c;
  if (mpsl_plan_input_load(&in)) goto out;
  *c = in.c; /* resolved: the caller sees the cuts that were simulated */
  const mpsl_model *m = &in.m;
  const sl_topo *t = &in.t;
  const emu_scenario *s = &in.s;

  sl_banner(out, "simulate", sim_config_opts(), c, m, t);
  fprintf(out, "# host profile %s\n", in.profile_path);
  emu_scenario_print(s, out, "# ");

  if (sl_memplan_build(&plan, c, m, t, s, -1) || memory_check(c, m, &plan)) goto out;

  const char *path = c->output;
  int first = 0;
  double clock = 0;
  if (path[0] && resume) {
    if (resume_rounds(path, c->rounds, &first, &clock, out)) goto out;
  } else if (path[0]) {
    if (create_results(c, t, m, in.profile_path)) goto out;
    write_partition(c, t, path, out);
  }
  if (path[0] && sl_status_begin(path)) goto out; /* the status tells the truth from here on */
  fflush(out);

  double t_sim = now();
  x = sim_new(s, t);
  int keep = sl_events_owners(c); /* events = all, none or owners:N */
  sim_sink sink = {path[0] && keep > 0 ? emit_rows : NULL, (void *)path, 0, keep == INT_MAX ? 0 : keep};
  memr = mpsl_xmalloc((size_t)t->nranks * sizeof *memr, "memory rows");
  audit = mpsl_xmalloc((size_t)t->K * sizeof *audit, "audit rows");
  const char *abort_after = getenv("MPSL_ABORT_AFTER_ROUND"); /* fault injection for tests: docs/run.md */
  for (int round = first; round < c->rounds; round++) {
    double len;
    if (sim_round(x, round, clock, &sink, &len)) goto out;
    clock += len;
    /* wall_s = time_s: a simulated round has no wall time of its own, and a wall clock here
     * would make two runs of the same simulation differ */
    mpsl_res_round r;
    memset(&r, 0, sizeof r); /* its padding reaches the file */
    r.round = round + 1, r.wall_s = len, r.time_s = len, r.train_loss = r.test_loss = r.test_acc = NAN;
    if (path[0]) {
      for (int i = 0; i < t->nranks; i++) memory_row(&memr[i], &plan.row[i].mem, r.round);
      mpsl_res_link *links;
      int64_t nl = sim_links(x, r.round, &links);
      sim_audit(x, r.round, audit);
      /* one step: the round's rows are all in the file, or none of them */
      mpsl_res_rows sets[] = {{MPSL_RES_MEMORY, memr, t->nranks},
                              {MPSL_RES_LINKS, links, nl},
                              {MPSL_RES_AUDIT, audit, t->K},
                              {MPSL_RES_ROUNDS, &r, 1}};
      int wrc = mpsl_results_append_many(path, sets, 4);
      free(links);
      if (wrc || sl_status_heartbeat()) goto out;
    }
    emu_fail_note(c, round, sim_stopped(x), out);
    fprintf(out, "round %d time_s=%.6f\n", r.round, r.time_s);
    fflush(out);
    if (abort_after && atoi(abort_after) == r.round) {
      mpsl_fail("MPSL_ABORT_AFTER_ROUND=%d: stopped on purpose", r.round);
      goto out;
    }
  }
  double wall = now() - t_sim;
  int64_t tasks = sim_tasks(x);
  double rate = wall > 0 ? (double)tasks / wall : 0;
  if (path[0]) {
    /* with the status: in the room it keeps, so that a full disk does not stop them */
    mpsl_res_attr speed[] = {MPSL_ATTR_R("sim_wall_s", wall), MPSL_ATTR_R("sim_events_per_s", rate)};
    sl_status_end();
    if (mpsl_results_set_status_with(path, "finished", speed, 2)) goto out;
  }
  fprintf(out,
          "# simulated %lld tasks (%lld heap events) in %.3f s including the results file: %.3g events/s; %.3f s in "
          "all\n",
          (long long)tasks, (long long)sim_events(x), wall, rate, now() - t_begin);
  if (path[0]) fprintf(out, "# results in %s\n", path);
  rc = 0;
out:
  if (rc) sl_status_aborted(mpsl_errmsg());
  sl_status_end();
  sim_free(x);
  sl_memplan_free(&plan);
  free(memr);
  free(audit);
  emu_input_free(&in);
  return rc;
}
