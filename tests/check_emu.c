/* Emulation in `mpsl run` (docs/timing.md): with profiled compute a round lasts exactly
 * what the task costs, links and devices add up to, run after run; a slower device or a
 * narrower link adds what the arithmetic says; per-owner devices and links reach the
 * events; real compute on a slow device is stretched to its speed without changing what
 * is trained. The profile is written here (every layer 2 ms forward, 3 ms backward, 1 ms
 * update on the host) and the devices have fixed speeds, so every expected time below is
 * arithmetic on those numbers; the runs sleep through them at time_scale 1. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/profile.h"
#include "io/results.h"
#include "models/model.h"
#include "nn/replica.h"
#include "config/runconfig.h"
#include "sl_util.h"
#include "util/err.h"
#include "workdir.h"

#define FWD 2e-3
#define BWD 3e-3
#define UPD 1e-3

static const char *common =
    "--set model=vgg11-cifar --set width=0.25 --set batch=8 --set batches=3 --set local_epochs=1 --set rounds=2 "
    "--set threads=1 --set test_limit=16 --set devices=dev.ini --set profile=p.h5 --set hops=1";

static const char *catalogue =
    "[do1]\ndescription = test data owner\nspeed = 0.2\nmemory = 1G\nsource = test\n"
    "[do2]\ndescription = test data owner, half as fast\nspeed = 0.1\nmemory = 1G\nsource = test\n"
    "[cn]\ndescription = test compute node\nspeed = 0.5\nmemory = 1G\nsource = test\n";

static mpsl_model model;
static sl_topo topo;
static int64_t cut0, cut1, state; /* bytes: activations at both cuts, M_1 + M_P state */

static void config_of(sl_config *c, const char *extra) { sl_test_config(c, common, extra); }

static int64_t state_bytes(int first, int last) {
  nn_part *p = nn_part_new(&model, first, last, 1);
  ck_assert_ptr_nonnull(p);
  int64_t n = nn_part_state_len(p) * 8;
  nn_part_free(p);
  return n;
}

static void setup(void) {
  workdir_enter("emu");
  FILE *f = fopen("dev.ini", "w");
  ck_assert_ptr_nonnull(f);
  fputs(catalogue, f);
  fclose(f);
  sl_config c;
  config_of(&c, "--set clients=1");
  ck_assert_int_eq(sl_config_model(&c, &model), 0);
  ck_assert_int_eq(sl_config_resolve(&c, &model, &topo), 0);
  mpsl_profile p;
  memset(&p, 0, sizeof p);
  snprintf(p.model, sizeof p.model, "%s", model.name);
  p.batch = c.batch, p.classes = model.classes, p.channels = model.channels, p.size = model.size;
  p.width = c.width, p.nlayers = model.nlayers, p.reps = 1;
  p.layers = calloc((size_t)model.nlayers, sizeof *p.layers);
  for (int i = 0; i < model.nlayers; i++) {
    mpsl_profile_layer *l = &p.layers[i];
    l->index = i + 1;
    snprintf(l->name, sizeof l->name, "%s", model.layers[i].name);
    snprintf(l->kind, sizeof l->kind, "%s", mpsl_layer_kind_name(model.layers[i].kind));
    l->fwd_s = l->fwd_min_s = l->fwd_max_s = FWD;
    l->bwd_s = l->bwd_min_s = l->bwd_max_s = BWD;
    l->update_s = l->update_min_s = l->update_max_s = UPD;
  }
  ck_assert_msg(mpsl_profile_save(&p, "p.h5") == 0, "%s", mpsl_errmsg());
  mpsl_profile_free(&p);
  cut0 = model.layers[topo.last[0] - 1].out_elems * c.batch * 4;
  cut1 = model.layers[topo.last[1] - 1].out_elems * c.batch * 4;
  state = state_bytes(topo.first[0], topo.last[0]) + state_bytes(topo.first[2], topo.last[2]);
}

static void teardown(void) {
  mpsl_model_free(&model);
  workdir_leave();
}

/* Layers of part i (0 = M_1, 1 = the hop, 2 = M_P) and the costs of its tasks on a device. */
static int layers(int i) { return topo.last[i] - topo.first[i] + 1; }
static double fwd(int i, double speed) { return layers(i) * FWD / speed; }
static double bwd(int i, double speed) { return layers(i) * (BWD + UPD) / speed; }
/* a message over a link of bw bytes/s (0: unlimited) and latency lat */
static double over(int64_t bytes, double bw, double lat) { return (bw > 0 ? (double)bytes / bw : 0) + lat; }

/* One data owner, one hop: each batch is the chain F1, hop forward, FP, BP, hop backward,
 * B1 with a message between each; then the state to the aggregator and the global model
 * back, each over the owner's aggregator link. */
static double one_owner(int batches, double s_do, double s_cn, double bw_cn, double lat_cn, double bw_agg,
                        double lat_agg) {
  double batch = fwd(0, s_do) + over(cut0, bw_cn, lat_cn) + fwd(1, s_cn) + over(cut1, bw_cn, lat_cn) + fwd(2, s_do) +
                 bwd(2, s_do) + over(cut1, bw_cn, lat_cn) + bwd(1, s_cn) + over(cut0, bw_cn, lat_cn) + bwd(0, s_do);
  return batches * batch + 2 * over(state, bw_agg, lat_agg);
}

static char logname[64];

/* Runs mpsl with `extra` on np ranks into NAME.h5 (log NAME.log); the rounds and events. */
static void run(const char *name, int np, const char *extra, mpsl_res_round **rounds, int64_t *nr, mpsl_res_event **ev,
                int64_t *ne) {
  const char *launch = getenv("MPSL_LAUNCH"), *build = getenv("MPSL_BUILDDIR");
  char cmd[4096];
  snprintf(logname, sizeof logname, "%s.log", name);
  snprintf(cmd, sizeof cmd, "%s -np %d %s/mpsl run %s %s --set output=%s.h5 >%s 2>&1",
           launch ? launch : "mpirun --oversubscribe", np, build ? build : ".", common, extra, name, logname);
  int rc = system(cmd);
  if (rc) {
    snprintf(cmd, sizeof cmd, "cat %s >&2", logname);
    ck_assert_int_eq(system(cmd), 0);
  }
  ck_assert_msg(rc == 0, "%s failed", name);
  char path[128];
  snprintf(path, sizeof path, "%s.h5", name);
  ck_assert_msg(mpsl_results_read(path, MPSL_RES_ROUNDS, (void **)rounds, nr) == 0, "%s", mpsl_errmsg());
  ck_assert_int_eq(*nr, 2);
  if (ev) ck_assert_msg(mpsl_results_read(path, MPSL_RES_EVENTS, (void **)ev, ne) == 0, "%s", mpsl_errmsg());
}

static void near(double got, double want, double rel, const char *what) {
  ck_assert_msg(fabs(got - want) <= rel * fabs(want), "%s: %.6f s, expected %.6f s (within %g %%)", what, got, want,
                rel * 100);
}

#define BASE "--set clients=1 --set compute=profiled --set do_devices=do1 --set cn_devices=cn "
#define LINKS "--set do_cn_lat=0.005 --set do_agg_bw=8Mbit --set do_agg_lat=0.002 "

/* (a) the hand-computed round, (b) twice the same, (c) a slower data owner and a
 * narrower link add what the arithmetic says */
START_TEST(profiled_one_owner) {
  mpsl_res_round *a, *b, *slow, *narrow;
  int64_t n;
  run("a", 3, BASE LINKS "--set do_cn_bw=80Mbit", &a, &n, NULL, NULL);
  double want = one_owner(3, 0.2, 0.5, 1e7, 0.005, 1e6, 0.002);
  for (int r = 0; r < 2; r++) {
    near(a[r].time_s, want, 0.02, "round of one data owner and one hop");
    ck_assert_int_eq(a[r].overruns, 0);
    ck_assert(isnan(a[r].train_loss) && isnan(a[r].test_loss));
  }
  run("b", 3, BASE LINKS "--set do_cn_bw=80Mbit", &b, &n, NULL, NULL);
  for (int r = 0; r < 2; r++) near(b[r].time_s, a[r].time_s, 0.02, "the same configuration again");

  run("slow", 3, BASE LINKS "--set do_cn_bw=80Mbit --set do_devices=do2", &slow, &n, NULL, NULL);
  double more = 3 * (fwd(0, 0.2) + fwd(2, 0.2) + bwd(2, 0.2) + bwd(0, 0.2)); /* twice as long: once more */
  near(slow[0].time_s - a[0].time_s, more, 0.03, "a data owner half as fast");
  ck_assert_double_eq_tol(more, one_owner(3, 0.1, 0.5, 1e7, 0.005, 1e6, 0.002) - want, 1e-9);

  run("narrow", 3, BASE LINKS "--set do_cn_bw=40Mbit", &narrow, &n, NULL, NULL);
  more = 3 * 2 * (double)(cut0 + cut1) * (1 / 5e6 - 1 / 1e7);
  near(narrow[0].time_s - a[0].time_s, more, 0.03, "a data-owner link half as wide");
  free(a), free(b), free(slow), free(narrow);
}
END_TEST

/* the end of a task of `owner` (part, direction, batch) in round `round` (from 0 here, from 1
 * in the table) among the events, and the event */
static const mpsl_res_event *find(const mpsl_res_event *ev, int64_t n, int round, int owner, int part, int dir,
                                  int batch) {
  for (int64_t i = 0; i < n; i++)
    if (ev[i].round == round + 1 && ev[i].owner == owner && ev[i].part == part && ev[i].direction == dir &&
        ev[i].batch == batch)
      return &ev[i];
  ck_abort_msg("no event of owner %d part %d direction %d batch %d", owner, part, dir, batch);
  return NULL;
}

static int by_start(const void *a, const void *b) {
  double x = ((const mpsl_res_event *)a)->start, y = ((const mpsl_res_event *)b)->start;
  return (x > y) - (x < y);
}

/* (d) three owners on one rank, a device mix and a per-owner link override */
START_TEST(profiled_mix) {
  mpsl_res_round *r;
  mpsl_res_event *ev;
  int64_t nr, ne;
  run("mix", 3,
      "--set clients=3 --set owners_per_rank=3 --set compute=profiled --set cn_devices=cn "
      "--set do_devices=do1:1,do2:2 --set do_cn_bw=80Mbit --set do_agg_bw=80Mbit --set do_links=8Mbit@0.01:1,inf@0:2",
      &r, &nr, &ev, &ne);
  ck_assert_int_eq(ne, 2 * 3 * 3 * 6);
  double speed[3] = {0.2, 0.1, 0.1}, bw[3] = {1e6, 0, 0}, lat[3] = {0.01, 0, 0};
  for (int round = 0; round < 2; round++) {
    double start = INFINITY, end = -INFINITY;
    for (int64_t i = 0; i < ne; i++)
      if (ev[i].round == round + 1) start = fmin(start, ev[i].start);
    for (int k = 0; k < 3; k++)
      for (int b = 3 * round; b < 3 * round + 3; b++) {
        const mpsl_res_event *f1 = find(ev, ne, round, k, 1, 0, b), *hf = find(ev, ne, round, k, 2, 0, b);
        ck_assert_double_eq_tol(f1->end - f1->start, fwd(0, speed[k]), 1e-9);
        ck_assert_double_eq_tol(find(ev, ne, round, k, 3, 1, b)->end - find(ev, ne, round, k, 3, 1, b)->start,
                                bwd(2, speed[k]), 1e-9);
        /* the activation arrives over the owner's own link */
        ck_assert_double_eq_tol(hf->start - hf->queue_wait, f1->end + over(cut0, bw[k], lat[k]), 1e-9);
        ck_assert_double_eq_tol(hf->end - hf->start, fwd(1, 0.5), 1e-9);
      }
    for (int k = 0; k < 3; k++) {
      const mpsl_res_event *b1 = find(ev, ne, round, k, 1, 1, 3 * round + 2);
      end = fmax(end, b1->end + over(state, k ? 1e7 : 1e6, lat[k]));
    }
    double back = fmax(over(state, 1e6, 0.01), over(state, 1e7, 0));
    near(r[round].time_s, end + back - start, 1e-6, "round with a mix of devices and links");
    /* the compute node is one device that never idles while a task has arrived */
    mpsl_res_event cn[18];
    int n = 0;
    for (int64_t i = 0; i < ne; i++)
      if (ev[i].round == round + 1 && ev[i].role == 1) cn[n++] = ev[i];
    ck_assert_int_eq(n, 18);
    qsort(cn, 18, sizeof *cn, by_start);
    for (int i = 1; i < n; i++)
      ck_assert_double_eq_tol(cn[i].start, fmax(cn[i - 1].end, cn[i].start - cn[i].queue_wait), 1e-9);
  }
  free(r);
  free(ev);
}
END_TEST

/* (e) real compute on slow devices: the chain of one owner is its measured tasks stretched
 * to the devices' speeds, the wall clock took at least that long, nothing overran, and the
 * training is the same as without emulation */
START_TEST(real_compute) {
  mpsl_res_round *r, *plain;
  mpsl_res_event *ev;
  int64_t nr, ne;
  run("real", 3, "--set clients=1 --set do_devices=do2 --set cn_devices=cn", &r, &nr, &ev, &ne);
  run("plain", 3, "--set clients=1", &plain, &nr, NULL, NULL);
  for (int round = 0; round < 2; round++) {
    ck_assert_int_eq(r[round].overruns, 0);
    double busy = 0;
    for (int64_t i = 0; i < ne; i++)
      if (ev[i].round == round + 1) {
        ck_assert(ev[i].end > ev[i].start);
        busy += ev[i].end - ev[i].start;
      }
    near(r[round].time_s, busy, 1e-6, "one owner's chain of tasks");
    ck_assert_msg(r[round].wall_s >= 0.99 * r[round].time_s, "round %d took %.3f s of wall time for %.3f s", round,
                  r[round].wall_s, r[round].time_s);
    ck_assert(isfinite(r[round].train_loss) && isfinite(r[round].test_loss));
    ck_assert_double_eq(r[round].train_loss, plain[round].train_loss);
    ck_assert_double_eq(r[round].test_loss, plain[round].test_loss);
  }
  free(r);
  free(plain);
  free(ev);
}
END_TEST

int main(void) {
  Suite *s = suite_create("emu");
  TCase *tc = tcase_create("run");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, profiled_one_owner);
  tcase_add_test(tc, profiled_mix);
  tcase_add_test(tc, real_compute);
  suite_add_tcase(s, tc);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
