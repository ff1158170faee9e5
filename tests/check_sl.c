/* MP-SL over MPI ends at the model of in-process FedAvg of the data owners trained
 * unsplit: for multihop, horizontally scaled one-hop and R x H topologies, both policies,
 * and data-owner ranks hosting several owners. Runs go through $MPSL_LAUNCH (mpirun or
 * srun) with one thread per rank, so the reference (also one thread) is reproduced bit for
 * bit up to the reassociation of the averages. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "config/runconfig.h"
#include "data/data.h"
#include "io/results.h"
#include "nn/stack.h"
#include "nn_util.h"
#include "proto/scheduler.h"
#include "sl/reference.h"
#include "sl_util.h"
#include "util/err.h"

static const char *common =
    "--set model=vgg11_bn-cifar --set width=0.0625 --set clients=4 --set batch=4 --set batches=2 "
    "--set local_epochs=1 --set rounds=2 --set test_limit=16 --set threads=1 --set lr=0.05";

static char tmpdir[256];
static mpsl_named_tensor *ref;
static int nref;
static nn_stack ref_stack;
static mpsl_model ref_model;
static mpsl_dataset train;

static void config_of(sl_config *c, const char *extra) { sl_test_config(c, common, extra); }

static void setup(void) {
  const char *t = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/check_sl.XXXXXX", t ? t : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
#ifdef _OPENMP
  omp_set_num_threads(1);
#endif
  sl_config c;
  config_of(&c, "");
  ck_assert_int_eq(sl_config_model(&c, &ref_model), 0);
  ck_assert_msg(mpsl_dataset_load(&train, c.dataset, NULL, 1) == 0, "%s", mpsl_errmsg());
  mpsl_partition part;
  ck_assert_int_eq(mpsl_partition_make(&part, &train, c.clients, c.partition, c.alpha, (uint64_t)c.seed), 0);
  ck_assert_int_eq(sl_reference_run(&c, &ref_model, &train, &part, NULL, &ref_stack, NULL, NULL), 0);
  nref = nn_stack_tensors(&ref_stack, &ref);
  mpsl_partition_free(&part);
  /* the comparisons below mean something only if training moved the model */
  nn_stack init;
  ck_assert_int_eq(nn_stack_init(&init, &ref_model, NULL, 0, c.batch), 0);
  nn_stack_init_weights(&init, (uint64_t)c.seed);
  mpsl_named_tensor *it;
  int ni = nn_stack_tensors(&init, &it);
  ck_assert_int_eq(ni, nref);
  double moved = 0;
  for (int i = 0; i < ni; i++)
    if (it[i].dtype == MPSL_F32) {
      double e = tu_relerr(ref[i].data, it[i].data, mpsl_tensor_numel(&it[i]), 1e-4);
      if (e > moved) moved = e;
    }
  ck_assert_msg(moved > 1e-3, "two rounds of training changed the model by only %.3g", moved);
  nn_stack_free(&init);
}

static int run(const char *extra, int np, const char *tag, char *model, char *results) {
  const char *launch = getenv("MPSL_LAUNCH"), *build = getenv("MPSL_BUILDDIR");
  snprintf(model, 512, "%s/m-%s.h5", tmpdir, tag);
  snprintf(results, 512, "%s/r-%s.h5", tmpdir, tag);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "%s -np %d %s/mpsl run %s %s --set output=%s --set save_model=%s >%s/%s.log 2>&1",
           launch ? launch : "mpirun --oversubscribe", np, build ? build : ".", common, extra, results, model, tmpdir,
           tag);
  return system(cmd);
}

/* Same tensors as the reference within 1e-5 relative; counters equal. */
static double compare(const char *model) {
  double worst = 0;
  for (int i = 0; i < nref; i++) {
    mpsl_named_tensor t = ref[i];
    int64_t n = mpsl_tensor_numel(&t);
    t.data = malloc((size_t)(n ? n : 1) * 8);
    ck_assert_msg(mpsl_weights_load(model, &t, 1) == 0, "%s", mpsl_errmsg());
    if (t.dtype == MPSL_I64) {
      ck_assert_int_eq(*(int64_t *)t.data, *(int64_t *)ref[i].data);
    } else {
      double e = tu_relerr(t.data, ref[i].data, n, 1e-4);
      ck_assert_msg(e <= 1e-5, "%s: %s differs from the reference by %.3g relative", model, t.name, e);
      if (e > worst) worst = e;
    }
    free(t.data);
  }
  return worst;
}

static void check_results(const char *path, const sl_config *c, int nranks) {
  char *status;
  ck_assert_msg(mpsl_results_attr(path, "status", &status) == 0, "%s", mpsl_errmsg());
  ck_assert_str_eq(status, "finished");
  free(status);
  mpsl_res_round *r;
  int64_t n;
  ck_assert_int_eq(mpsl_results_read(path, MPSL_RES_ROUNDS, (void **)&r, &n), 0);
  ck_assert_int_eq(n, c->rounds);
  for (int i = 0; i < n; i++) ck_assert(r[i].round == i + 1 && r[i].wall_s > 0 && r[i].test_acc >= 0);
  free(r);
  /* every data owner sent one activation and one gradient per batch, one model per round,
   * and never an input or a label */
  mpsl_res_audit *a;
  ck_assert_int_eq(mpsl_results_read(path, MPSL_RES_AUDIT, (void **)&a, &n), 0);
  ck_assert_int_eq(n, (int64_t)c->clients * c->rounds);
  for (int i = 0; i < n; i++) {
    ck_assert_int_eq(a[i].input, 0);
    ck_assert_int_eq(a[i].label, 0);
    ck_assert_int_eq(a[i].activation, c->batches * c->local_epochs);
    ck_assert_int_eq(a[i].gradient, c->batches * c->local_epochs);
    ck_assert_int_eq(a[i].model, 1);
  }
  free(a);
  /* per batch: 4 events on the data owner, 2 on each hop */
  mpsl_res_event *e;
  ck_assert_int_eq(mpsl_results_read(path, MPSL_RES_EVENTS, (void **)&e, &n), 0);
  ck_assert_int_eq(n, (int64_t)c->clients * c->rounds * c->batches * c->local_epochs * (4 + 2 * c->hops));
  /* every compute-node task ran on the hop of the pipeline that serves its data owner */
  mpsl_model mm;
  sl_topo t;
  sl_config cc = *c;
  ck_assert_int_eq(sl_config_model(&cc, &mm), 0);
  ck_assert_int_eq(sl_config_resolve(&cc, &mm, &t), 0);
  mpsl_model_free(&mm);
  for (int i = 0; i < n; i++) {
    ck_assert(e[i].end >= e[i].start && e[i].queue_wait >= 0);
    if (e[i].role == SL_COMPUTE)
      ck_assert_msg(e[i].rank == sl_compute_rank(&t, sl_owner_pipeline(&t, e[i].owner), e[i].part - 2),
                    "a task of data owner %d (part %d) ran on rank %d", e[i].owner, e[i].part, e[i].rank);
  }
  free(e);
  mpsl_res_memory *m;
  ck_assert_int_eq(mpsl_results_read(path, MPSL_RES_MEMORY, (void **)&m, &n), 0);
  ck_assert_int_eq(n, (int64_t)nranks * c->rounds);
  for (int i = 0; i < n; i++) ck_assert(m[i].peak_rss > 0 && (m[i].role == 0 || m[i].accounted > m[i].params));
  free(m);
  mpsl_res_link *l;
  ck_assert_int_eq(mpsl_results_read(path, MPSL_RES_LINKS, (void **)&l, &n), 0);
  ck_assert_int_gt(n, 0);
  free(l);
  int64_t *p;
  int K, classes;
  ck_assert_int_eq(mpsl_results_read_partition(path, &p, &K, &classes), 0);
  ck_assert_int_eq(K, c->clients);
  ck_assert_int_eq(classes, 10);
  int64_t samples = 0;
  for (int k = 0; k < K; k++) {
    samples += p[k * (4 + classes) + 3];
    ck_assert_int_eq(p[k * (4 + classes) + 2], sl_owner_pipeline(&t, k));
  }
  ck_assert_int_eq(samples, train.n);
  free(p);
}

static void topology(const char *extra, const char *tag) {
  sl_config c;
  config_of(&c, extra);
  sl_topo t;
  mpsl_model m;
  ck_assert_int_eq(sl_config_model(&c, &m), 0);
  ck_assert_msg(sl_config_resolve(&c, &m, &t) == 0, "%s", mpsl_errmsg());
  mpsl_model_free(&m);
  char model[512], results[512];
  int rc = run(extra, t.nranks, tag, model, results);
  ck_assert_msg(rc == 0, "%s: mpsl run failed (%d), see %s/%s.log", tag, rc, tmpdir, tag);
  double worst = compare(model);
  check_results(results, &c, t.nranks);
  printf("%-28s %2d ranks: worst relative difference from the reference %.2g\n", tag, t.nranks, worst);
}

START_TEST(multihop) {
  topology("--set pipelines=1 --set hops=1", "R1H1-fifo");
  topology("--set pipelines=1 --set hops=2", "R1H2-fifo");
  topology("--set pipelines=1 --set hops=3 --set policy=bwd-first", "R1H3-bwd-first");
  topology("--set pipelines=1 --set hops=3", "R1H3-fifo");
  topology("--set pipelines=1 --set hops=2 --set policy=bwd-first --set owners_per_rank=2", "R1H2-bwd-first-opr2");
}
END_TEST

START_TEST(scaled) {
  topology("--set pipelines=2 --set hops=1", "R2H1-fifo");
  topology("--set pipelines=2 --set hops=1 --set policy=bwd-first", "R2H1-bwd-first");
  topology("--set pipelines=2 --set hops=2", "R2H2-fifo");
  topology("--set pipelines=2 --set hops=2 --set policy=bwd-first --set cuts=2,9,22", "R2H2-bwd-first-cuts");
  /* owners 0..2 on pipeline 0, owner 3 alone on pipeline 1 */
  topology("--set pipelines=2 --set hops=1 --set distribution=3,1", "R2H1-blocks");
}
END_TEST

/* lr_schedule = cosine: lr * (1 + cos(pi t / rounds)) / 2 in round t, the same in the split
 * run as in the unsplit reference (whose model it changes: here 0.05 then 0.025). */
START_TEST(lr_schedule) {
  sl_config c;
  config_of(&c, "--set rounds=4");
  for (int t = 0; t < 4; t++) ck_assert_double_eq(sl_round_lr(&c, t), c.lr);
  config_of(&c, "--set rounds=4 --set lr_schedule=cosine");
  ck_assert_double_eq(sl_round_lr(&c, 0), c.lr);
  ck_assert_double_eq_tol(sl_round_lr(&c, 1), c.lr * (2 + sqrt(2.0)) / 4, 1e-15);
  ck_assert_double_eq_tol(sl_round_lr(&c, 2), c.lr / 2, 1e-15);
  ck_assert_double_eq_tol(sl_round_lr(&c, 3), c.lr * (2 - sqrt(2.0)) / 4, 1e-15);
  config_of(&c, "--set lr_schedule=cosine");
  mpsl_partition part;
  ck_assert_int_eq(mpsl_partition_make(&part, &train, c.clients, c.partition, c.alpha, (uint64_t)c.seed), 0);
  nn_stack cos_stack;
  ck_assert_int_eq(sl_reference_run(&c, &ref_model, &train, &part, NULL, &cos_stack, NULL, NULL), 0);
  mpsl_partition_free(&part);
  mpsl_named_tensor *cos;
  int ncos = nn_stack_tensors(&cos_stack, &cos);
  ck_assert_int_eq(ncos, nref);
  double apart = 0;
  for (int i = 0; i < ncos; i++)
    if (cos[i].dtype == MPSL_F32) {
      double e = tu_relerr(cos[i].data, ref[i].data, mpsl_tensor_numel(&cos[i]), 1e-4);
      if (e > apart) apart = e;
    }
  ck_assert_msg(apart > 1e-4, "the cosine schedule changed the reference's model by only %.3g", apart);
  /* the split run against the cosine reference */
  mpsl_named_tensor *keep = ref;
  ref = cos;
  char model[512], results[512];
  int rc = run("--set hops=2 --set lr_schedule=cosine", 7, "R1H2-cosine", model, results);
  ck_assert_msg(rc == 0, "mpsl run with lr_schedule = cosine failed (%d), see %s/R1H2-cosine.log", rc, tmpdir);
  double worst = compare(model);
  ref = keep;
  printf("%-28s %2d ranks: worst relative difference from the reference %.2g\n", "R1H2-cosine", 7, worst);
  nn_stack_free(&cos_stack);
}
END_TEST

/* A -np that does not match is one line from rank 0 and a failed job, before any work. */
START_TEST(wrong_np) {
  char model[512], results[512];
  int rc = run("--set hops=2", 5, "wrong-np", model, results);
  ck_assert_int_ne(rc, 0);
  char log[600], line[1024];
  snprintf(log, sizeof log, "%s/wrong-np.log", tmpdir);
  FILE *f = fopen(log, "r");
  ck_assert_ptr_nonnull(f);
  int hits = 0;
  while (fgets(line, sizeof line, f)) hits += strstr(line, "mpsl run: error: this configuration needs 7 ranks") != NULL;
  fclose(f);
  ck_assert_int_eq(hits, 1);
  ck_assert_int_ne(access(results, F_OK), 0);
}
END_TEST

START_TEST(default_cuts) {
  mpsl_model m;
  mpsl_model_opts o;
  mpsl_model_opts_default(&o);
  o.width = 0.0625;
  ck_assert_int_eq(mpsl_model_build(&m, "vgg11_bn-cifar", &o), 0);
  int cuts[8];
  ck_assert_int_eq(sl_default_cuts(&m, 3, cuts), 0);
  ck_assert_int_eq(cuts[0], 3);             /* M_1 ends after the first ReLU */
  ck_assert_int_eq(cuts[3], m.nlayers - 1); /* M_P is the classifier */
  int64_t f[3] = {0};
  for (int h = 0; h < 3; h++)
    for (int l = cuts[h] + 1; l <= cuts[h + 1]; l++) f[h] += m.layers[l - 1].flops;
  for (int h = 0; h < 3; h++)
    ck_assert_msg(f[h] > 0 && f[h] < 2 * (f[0] + f[1] + f[2]) / 3, "hop %d: %lld FLOPs", h, (long long)f[h]);
  ck_assert_int_eq(sl_default_cuts(&m, 40, cuts), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "too few"));
  mpsl_model_free(&m);
}
END_TEST

/* Ranks, roles and owners of a 2 x 3 topology with 7 owners, 3 per rank. */
START_TEST(topology_roles) {
  sl_config c;
  config_of(&c, "--set pipelines=2 --set hops=3 --set clients=7 --set owners_per_rank=3");
  mpsl_model m;
  sl_topo t;
  ck_assert_int_eq(sl_config_model(&c, &m), 0);
  ck_assert_int_eq(sl_config_resolve(&c, &m, &t), 0);
  ck_assert_int_eq(t.nranks, 1 + 6 + 3);
  ck_assert_int_eq(t.first[0], 1);
  ck_assert_int_eq(t.last[t.P - 1], m.nlayers);
  for (int p = 1; p < t.P; p++) ck_assert_int_eq(t.first[p], t.last[p - 1] + 1);
  int pl, hop, first, n;
  ck_assert_int_eq(sl_rank_role(&t, 0, &pl, &hop), SL_AGGREGATOR);
  ck_assert(sl_rank_role(&t, 5, &pl, &hop) == SL_COMPUTE && pl == 1 && hop == 1);
  ck_assert_int_eq(sl_compute_rank(&t, 1, 1), 5);
  ck_assert_int_eq(sl_rank_role(&t, 9, &pl, &hop), SL_OWNER);
  sl_rank_owners(&t, 9, &first, &n);
  ck_assert(first == 6 && n == 1);
  ck_assert_int_eq(sl_owner_rank(&t, 4), 8);
  ck_assert_int_eq(sl_owner_pipeline(&t, 5), 1);
  config_of(&c, "--set hops=2 --set cuts=3,12");
  ck_assert_int_eq(sl_config_resolve(&c, &m, &t), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "need 3"));
  config_of(&c, "--set pipelines=5 --set clients=4");
  ck_assert_int_eq(sl_config_resolve(&c, &m, &t), -1);
  /* distribution: contiguous blocks of the given sizes */
  config_of(&c, "--set pipelines=3 --set hops=1 --set clients=7 --set distribution=1,4,2");
  ck_assert_int_eq(sl_config_resolve(&c, &m, &t), 0);
  int want[7] = {0, 1, 1, 1, 1, 2, 2};
  for (int k = 0; k < 7; k++) ck_assert_int_eq(sl_owner_pipeline(&t, k), want[k]);
  ck_assert(sl_pipeline_owners(&t, 0) == 1 && sl_pipeline_owners(&t, 1) == 4 && sl_pipeline_owners(&t, 2) == 2);
  const char *bad[][2] = {{"--set pipelines=3 --set clients=7 --set distribution=4,3", "2 value(s) but there are 3"},
                          {"--set pipelines=2 --set clients=7 --set distribution=4,4", "add up to 8 but there are 7"},
                          {"--set pipelines=2 --set clients=7 --set distribution=7,0", "pipeline 1 gets 0"}};
  for (int i = 0; i < 3; i++) {
    config_of(&c, bad[i][0]);
    ck_assert_int_eq(sl_config_resolve(&c, &m, &t), -1);
    ck_assert_msg(strstr(mpsl_errmsg(), bad[i][1]) != NULL, "%s", mpsl_errmsg());
  }
  mpsl_model_free(&m);
}
END_TEST

/* The availability file's text (sl_availability_parse) and the one rule every engine asks
 * (sl_owner_absent): the owners it lists for a round, and nobody else; the seeded rule
 * where there is no file. */
START_TEST(availability) {
  sl_absence a = {0};
  const char *good = "# comment\n\n3: 2 0   # two\r\n1:\n 2 :1\t4\n";
  ck_assert_msg(sl_availability_parse(&a, good, strlen(good), "t.txt", 5, 3) == 0, "%s", mpsl_errmsg());
  ck_assert_int_eq(a.n, 4);
  int want[3][5] = {{0, 0, 0, 0, 0}, {0, 1, 0, 0, 1}, {1, 0, 1, 0, 0}};
  for (int r = 0; r < 3; r++)
    for (int k = 0; k < 5; k++) ck_assert_int_eq(sl_owner_absent(&a, r, k), want[r][k]);
  sl_absence_free(&a);
  ck_assert_int_eq(sl_availability_parse(&a, "", 0, "t.txt", 5, 3), 0); /* empty: everyone trains */
  ck_assert(a.file && !sl_owner_absent(&a, 0, 0));
  sl_absence_free(&a);
  const char *bad[][2] = {
      {"1: 5\n", "t.txt:1: owner '5' of round 1: expected a data owner 0..4 (clients = 5)"},
      {"\n\n4: 0\n", "t.txt:3: round '4': expected a round 1..3 (rounds = 3)"},
      {"1: 0\n1: 1\n", "t.txt:2: round 1 again (first at line 1)"},
      {"2: 3 3\n", "t.txt:1: owner 3 of round 2 twice"},
      {"2 3\n", "t.txt:1: '2 3': expected ROUND: OWNER"},
      {": 3\n", "t.txt:1: round '': expected a round 1..3"},
      {"99999999999999999999: 1\n", "t.txt:1: round '99999999999999999999'"},
      {"1: 4294967296\n", "t.txt:1: owner '4294967296' of round 1"},
      {"1: +1\n", "t.txt:1: owner '+1'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_eq(sl_availability_parse(&a, bad[i][0], strlen(bad[i][0]), "t.txt", 5, 3), -1);
    ck_assert_msg(strstr(mpsl_errmsg(), bad[i][1]) == mpsl_errmsg(), "%s: %s", bad[i][0], mpsl_errmsg());
    ck_assert(a.pairs == NULL && a.n == 0);
  }
  ck_assert_int_eq(sl_availability_parse(&a, "1: 0\0\n", 6, "t.txt", 5, 3), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "t.txt:1: a NUL byte at column 5"));
  /* no file: the seeded rule, a pure function of (seed, round, owner) */
  sl_config c;
  config_of(&c, "--set absence=0.5 --set clients=64");
  ck_assert_int_eq(sl_absence_load(&a, &c), 0);
  int out = 0;
  for (int k = 0; k < 64; k++) out += sl_owner_absent(&a, 0, k);
  ck_assert(out > 16 && out < 48);
  sl_absence_free(&a);
  config_of(&c, "--set absence=0.5 --set availability=t.txt");
  ck_assert_int_eq(sl_absence_load(&a, &c), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "availability = t.txt: absence = 0.5 is given too"));
}
END_TEST

START_TEST(policies) {
  sl_task f = {0, MPSL_DIR_FWD, 1.0}, b = {2, MPSL_DIR_BWD, 3.0}, early = {1, MPSL_DIR_BWD, 0.5};
  sl_task tie = {0, MPSL_DIR_BWD, 1.0}, later_owner = {1, MPSL_DIR_BWD, 1.0};
  sl_pick_fn fifo = sl_policy_find("fifo"), bwd = sl_policy_find("bwd-first");
  ck_assert(fifo && bwd && !sl_policy_find("lifo") && sl_policy_index("lifo") == -1);
  ck_assert(sl_policy_at(sl_policy_index("bwd-first")) == bwd && !sl_policy_at(2));
  ck_assert_int_eq(fifo(&f, &b), MPSL_DIR_FWD);           /* the older one */
  ck_assert_int_eq(fifo(&f, &early), MPSL_DIR_BWD);       /* the older one */
  ck_assert_int_eq(fifo(&f, &tie), MPSL_DIR_FWD);         /* a tie: forward before backward */
  ck_assert_int_eq(fifo(&f, &later_owner), MPSL_DIR_FWD); /* a tie: the lower data owner */
  ck_assert_int_eq(fifo(NULL, &b), MPSL_DIR_BWD);
  ck_assert_int_eq(bwd(&f, &b), MPSL_DIR_BWD);
  ck_assert_int_eq(bwd(&f, NULL), MPSL_DIR_FWD);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sl");
  TCase *t = tcase_create("sl");
  tcase_set_timeout(t, 600);
  tcase_add_unchecked_fixture(t, setup, NULL);
  tcase_add_test(t, default_cuts);
  tcase_add_test(t, topology_roles);
  tcase_add_test(t, policies);
  tcase_add_test(t, availability);
  tcase_add_test(t, wrong_np);
  tcase_add_test(t, multihop);
  tcase_add_test(t, scaled);
  tcase_add_test(t, lr_schedule);
  suite_add_tcase(s, t);
  return sl_test_run(s, tmpdir);
}
