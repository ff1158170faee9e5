/* The memory plan (sl/memplan.h): it equals what a real run reports rank by rank; it never
 * allocates the copies it counts; a rank over its device's cap is refused before training
 * with a line naming rank, role, part, bytes and cap, or only warned about with
 * memory_check = false; and on a compute node that holds a few real copies, peak RSS and
 * accounted + dataset + baseline agree within 10 %. Runs go through $MPSL_LAUNCH. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "io/results.h"
#include "sl/memplan.h"
#include "config/runconfig.h"
#include "sl_util.h"
#include "textfile.h"
#include "util/err.h"

static char tmpdir[256];

static void config_of(sl_config *c, const char *args) { sl_test_config(c, args, ""); }

/* Plans every rank of args; m and t are filled for the caller. */
static void plan_of(const char *args, sl_config *c, mpsl_model *m, sl_topo *t, sl_memplan *p) {
  config_of(c, args);
  ck_assert_msg(sl_config_model(c, m) == 0, "%s", mpsl_errmsg());
  ck_assert_msg(sl_config_resolve(c, m, t) == 0, "%s", mpsl_errmsg());
  ck_assert_msg(sl_memplan_build(p, c, m, t, NULL, -1) == 0, "%s", mpsl_errmsg());
}

/* mpsl run over the launcher; returns the exit status, the log in tmpdir/TAG.log. */
static int launch(const char *args, int np, const char *tag) {
  const char *l = getenv("MPSL_LAUNCH"), *build = getenv("MPSL_BUILDDIR");
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "%s -np %d %s/mpsl run %s >%s/%s.log 2>&1", l ? l : "mpirun --oversubscribe", np,
           build ? build : ".", args, tmpdir, tag);
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* What the run logged as `tag` (launch's output). */
static char *slurp(const char *tag) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.log", tmpdir, tag);
  return read_text(path);
}

static const char *tiny =
    "--set model=vgg11-cifar --set width=0.0625 --set clients=5 --set hops=2 --set owners_per_rank=2 --set batch=4 "
    "--set batches=2 --set local_epochs=1 --set rounds=2 --set test_limit=16 --set threads=1";

/* What the plan says each rank holds is, byte for byte and kind by kind, what the roles of
 * a real run allocated (memory_row), for every role, both rounds. */
START_TEST(plan_equals_run) {
#ifdef _OPENMP
  omp_set_num_threads(1); /* scratchpads depend on the threads: the run uses threads=1 */
#endif
  char args[1024], out[512];
  snprintf(out, sizeof out, "%s/equal.h5", tmpdir);
  snprintf(args, sizeof args, "%s --set output=%s", tiny, out);
  sl_config c;
  mpsl_model m;
  sl_topo t;
  sl_memplan p;
  plan_of(args, &c, &m, &t, &p);
  ck_assert_int_eq(launch(args, t.nranks, "equal"), 0);
  mpsl_res_memory *r;
  int64_t n;
  ck_assert_msg(mpsl_results_read(out, MPSL_RES_MEMORY, (void **)&r, &n) == 0, "%s", mpsl_errmsg());
  ck_assert_int_eq(n, (int64_t)t.nranks * c.rounds);
  for (int64_t i = 0; i < n; i++) {
    const mpsl_res_memory *a = &r[i], *b = &p.row[a->rank].mem;
    ck_assert_int_eq(a->role, b->role);
    const int64_t ra[] = {a->accounted,     a->params,      a->grads,     a->optim,   a->stats,
                          a->weight_copies, a->activations, a->act_grads, a->scratch, a->workspace,
                          a->buffers,       a->cap,         a->dataset};
    const int64_t rb[] = {b->accounted,     b->params,      b->grads,     b->optim,   b->stats,
                          b->weight_copies, b->activations, b->act_grads, b->scratch, b->workspace,
                          b->buffers,       b->cap,         b->dataset};
    for (unsigned k = 0; k < sizeof ra / sizeof ra[0]; k++)
      ck_assert_msg(ra[k] == rb[k], "rank %d round %d column %u: run %lld, plan %lld", a->rank, a->round, k,
                    (long long)ra[k], (long long)rb[k]);
    ck_assert_int_gt(a->accounted, 0);
    ck_assert_int_gt(a->baseline, 0);
    ck_assert_int_ge(a->peak_rss, a->baseline);
  }
  /* the two hops and the data-owner ranks differ, so the comparison covered distinct rows */
  ck_assert_int_ne(p.row[1].mem.accounted, p.row[2].mem.accounted);
  ck_assert_int_eq(p.row[3].copies, 2);
  ck_assert_int_eq(p.row[5].copies, 1);
  free(r);
  sl_memplan_free(&p);
  mpsl_model_free(&m);
}
END_TEST

/* A hop serving 100 data owners is planned from one instance of its part: the copies are
 * multiplied, not allocated, so planning costs about one copy of memory. */
START_TEST(plan_does_not_allocate_copies) {
  struct rusage before, after;
  getrusage(RUSAGE_SELF, &before);
  sl_config c;
  mpsl_model m;
  sl_topo t;
  sl_memplan p;
  plan_of("--set model=vgg11-cifar --set clients=100 --set hops=1 --set batch=32", &c, &m, &t, &p);
  getrusage(RUSAGE_SELF, &after);
  const sl_memrank *cn = &p.row[1];
  ck_assert_int_eq(cn->copies, 100);
  int64_t acc = cn->mem.accounted - 100 * cn->per_copy; /* the FedAvg accumulator */
  ck_assert_int_gt(acc, 0);
  ck_assert_int_eq(acc % (int64_t)sizeof(double), 0);
  int64_t grew = ((int64_t)after.ru_maxrss - before.ru_maxrss) * 1024;
  printf("plan of 100 copies of layers %d..%d: accounted %.1f MiB, per copy %.1f MiB, peak RSS grew %.1f MiB\n",
         cn->first, cn->last, cn->mem.accounted / 1048576.0, cn->per_copy / 1048576.0, grew / 1048576.0);
  ck_assert_msg(grew < 4 * cn->per_copy, "planning grew the peak RSS by %lld bytes: copies were allocated",
                (long long)grew);
  /* one-hop parts: M_1 ends after the first ReLU, M_P is the last layer */
  ck_assert_int_eq(cn->first, 3);
  ck_assert_int_eq(cn->last, m.nlayers - 1);
  sl_memplan_free(&p);
  mpsl_model_free(&m);
}
END_TEST

/* The refusal line, from the library: rank, role, pipeline and hop, layers and their
 * names, bytes, copies, device and cap; data owners against their own devices. */
START_TEST(explain_over_cap) {
  char cat[512], args[1024];
  snprintf(cat, sizeof cat, "%s/small.ini", tmpdir);
  write_text(cat,
             "[small]\ndescription = a test device\nmemory = 64M\nspeed = 1\nsource = a test catalogue\n"
             "[tiny]\ndescription = a test device\nmemory = 1M\nspeed = 1\nsource = a test catalogue\n");
  snprintf(args, sizeof args,
           "--set model=vgg11-cifar --set width=0.5 --set clients=4 --set hops=2 --set batch=32 --set devices=%s "
           "--set cn_devices=host:1,small:1 --set do_devices=host:3,tiny:1 --set owners_per_rank=2",
           cat);
  sl_config c;
  mpsl_model m;
  sl_topo t;
  sl_memplan p;
  plan_of(args, &c, &m, &t, &p);
  ck_assert(!p.row[0].over && !p.row[1].over && p.row[2].over);
  ck_assert_int_eq(p.row[2].mem.cap, 64 << 20);
  ck_assert_str_eq(p.row[2].device, "small");
  char why[1024], want[512];
  sl_memrank_explain(&p.row[2], &m, why, sizeof why);
  snprintf(want, sizeof want, "rank 2 (compute node, pipeline 0 hop 2, part layers %d..%d %s..%s): needs ", t.first[2],
           t.last[2], m.layers[t.first[2] - 1].name, m.layers[t.last[2] - 1].name);
  ck_assert_msg(strncmp(why, want, strlen(want)) == 0, "%s", why);
  ck_assert_msg(strstr(why, " for 4 copies but device 'small' has 64 MiB"), "%s", why);
  /* owners 2 and 3 share rank 4; owner 3's device is the small one */
  ck_assert(!p.row[3].over && p.row[4].over);
  ck_assert_str_eq(p.row[4].device, "mixed");
  sl_memrank_explain(&p.row[4], &m, why, sizeof why);
  ck_assert_msg(strstr(why, "rank 4 (data owner, owners 2..3, parts M_1 layers 1..2 ") == why, "%s", why);
  ck_assert_msg(strstr(why, "data owner 3 needs ") && strstr(why, "but device 'tiny' has 1 MiB"), "%s", why);
  sl_memplan_free(&p);
  mpsl_model_free(&m);

  /* a device name the catalogue does not have is a one-line error naming key and value */
  config_of(&c, "--set model=vgg11-cifar --set width=0.0625 --set clients=2 --set cn_devices=nosuch");
  ck_assert_int_eq(sl_config_model(&c, &m), 0);
  ck_assert_int_eq(sl_config_resolve(&c, &m, &t), 0);
  ck_assert_int_eq(sl_memplan_build(&p, &c, &m, &t, NULL, -1), -1);
  ck_assert_msg(strstr(mpsl_errmsg(), "cn_devices = nosuch") && !strchr(mpsl_errmsg(), '\n'), "%s", mpsl_errmsg());
  mpsl_model_free(&m);
}
END_TEST

/* Over a cap the run is refused before training: one line from the lowest such rank, a
 * non-zero exit, no results file. With memory_check = false it warns and trains. */
START_TEST(refused_under_cap) {
  char cat[512], out[512], args[2048];
  snprintf(cat, sizeof cat, "%s/small.ini", tmpdir);
  write_text(cat, "[small]\ndescription = a test device\nmemory = 64M\nspeed = 1\nsource = a test catalogue\n");
  snprintf(out, sizeof out, "%s/refused.h5", tmpdir);
  const char *base =
      "--set model=vgg11-cifar --set width=0.5 --set clients=3 --set hops=1 --set owners_per_rank=3 --set batch=32 "
      "--set batches=1 --set local_epochs=1 --set rounds=1 --set test_limit=16 --set threads=1";
  snprintf(args, sizeof args, "%s --set devices=%s --set cn_devices=small --set output=%s", base, cat, out);
  ck_assert_int_ne(launch(args, 3, "refused"), 0);
  const char *log = slurp("refused");
  ck_assert_msg(strstr(log, "mpsl run: error: cn_devices = small: rank 1 (compute node, pipeline 0 hop 1, part layers 3..") &&
                    strstr(log, " for 3 copies but device 'small' has 64 MiB"),
                "%s", log);
  ck_assert_msg(!strstr(log, "round 1"), "training started: %s", log);
  ck_assert_msg(access(out, F_OK) != 0, "a refused run wrote %s", out);
  int lines = 0;
  for (const char *q = log; (q = strstr(q, "mpsl run: error:")); q++) lines++;
  ck_assert_int_eq(lines, 1);

  snprintf(args, sizeof args, "%s --set devices=%s --set cn_devices=small --set memory_check=false --set output=%s",
           base, cat, out);
  ck_assert_int_eq(launch(args, 3, "warned"), 0);
  log = slurp("warned");
  ck_assert_msg(strstr(log, "mpsl run: warning: rank 1 (compute node") && strstr(log, "round 1"), "%s", log);
  ck_assert_int_eq(access(out, F_OK), 0);
  mpsl_res_memory *r;
  int64_t n;
  ck_assert_int_eq(mpsl_results_read(out, MPSL_RES_MEMORY, (void **)&r, &n), 0);
  for (int64_t i = 0; i < n; i++)
    if (r[i].rank == 1) ck_assert(r[i].cap == 64 << 20 && r[i].accounted > r[i].cap);
  free(r);
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

/* Real compute, one hop holding 3 copies of almost all of vgg11-cifar at batch 32: the
 * accounted bytes dominate the process, and peak RSS must agree with accounted + dataset
 * + baseline within 10 % on the compute node. Every rank's numbers are printed. */
START_TEST(rss_matches_accounted) {
  char out[512], args[1024];
#ifdef TEST_ASAN
  /* AddressSanitizer keeps freed blocks in a quarantine (256 MiB by default) instead of
   * reusing them, and oneDNN's sgemm allocates its packing buffers on every call: the
   * quarantine, not mpsl, would grow the peak. This run (only) reuses freed memory. */
  const char *asan = getenv("ASAN_OPTIONS");
  char opts[1024];
  snprintf(opts, sizeof opts, "%s%squarantine_size_mb=0", asan ? asan : "", asan && *asan ? ":" : "");
  setenv("ASAN_OPTIONS", opts, 1);
#endif
  snprintf(out, sizeof out, "%s/rss.h5", tmpdir);
  snprintf(args, sizeof args,
           "--set model=vgg11-cifar --set clients=3 --set hops=1 --set owners_per_rank=3 --set batch=32 "
           "--set batches=1 --set local_epochs=1 --set rounds=2 --set test_limit=32 --set threads=1 --set output=%s",
           out);
  ck_assert_int_eq(launch(args, 3, "rss"), 0);
  mpsl_res_memory *r;
  int64_t n;
  ck_assert_int_eq(mpsl_results_read(out, MPSL_RES_MEMORY, (void **)&r, &n), 0);
  int checked = 0;
  for (int64_t i = 0; i < n; i++) {
    const mpsl_res_memory *a = &r[i];
    if (a->round != 1) continue;
    int64_t expect = a->accounted + a->dataset + a->baseline;
    double err = (double)(a->peak_rss - expect) / (double)a->peak_rss;
    printf("rank %d (%s): peak RSS %.1f MiB, accounted %.1f + dataset %.1f + baseline %.1f = %.1f MiB: %+.1f %%\n",
           a->rank,
           a->role == 0   ? "aggregator"
           : a->role == 1 ? "compute node"
                          : "data owner",
           a->peak_rss / 1048576.0, a->accounted / 1048576.0, a->dataset / 1048576.0, a->baseline / 1048576.0,
           expect / 1048576.0, 100 * err);
    if (a->role == 1) {
      ck_assert_msg(a->accounted > 4 * a->baseline, "the copies should dominate the process");
      ck_assert_msg(err < 0.10 && err > -0.10, "compute node: peak RSS %lld vs accounted+dataset+baseline %lld",
                    (long long)a->peak_rss, (long long)expect);
      checked++;
    }
  }
  ck_assert_int_eq(checked, 1);
  free(r);
}
END_TEST

int main(void) {
  const char *t = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/check_memory.XXXXXX", t ? t : "/tmp");
  if (!mkdtemp(tmpdir)) return 1;
  Suite *s = suite_create("memory");
  TCase *tc = tcase_create("memory");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, plan_does_not_allocate_copies);
  tcase_add_test(tc, explain_over_cap);
  tcase_add_test(tc, plan_equals_run);
  tcase_add_test(tc, refused_under_cap);
  tcase_add_test(tc, rss_matches_accounted);
  suite_add_tcase(s, tc);
  return sl_test_run(s, tmpdir);
}
