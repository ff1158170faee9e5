/* Profiles and device types: a measured profile of a tiny model has one consistent row per
 * layer and survives the HDF5 round trip; broken files are refused naming file and key; a
 * profile measured while busy processes hold every core is marked disturbed and every use
 * of it warns; older files without the mark load as unknown; concurrent jobs filling the
 * profile cache measure once; the shipped device catalogue parses and cites a source for
 * every device; bad catalogue lines are reported with file:line; the speed factor follows
 * its arithmetic. No assertion here depends on how fast this machine is, nor on it being
 * idle (CI machines are not). */
#define _GNU_SOURCE /* CPU_COUNT */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <hdf5.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli/cli.h"
#include "emu/device.h"
#include "emu/profile.h"
#include "models/model.h"
#include "textfile.h"
#include "util/err.h"
#include "workdir.h"

/* Each test runs in its own empty directory, so messages name plain "p.h5". */
static void setup(void) { workdir_enter("profile"); }
static void teardown(void) { workdir_leave(); }

/* rc is -1 and the recorded message contains `want`. */
static void expect_fail(int rc, const char *want) {
  ck_assert_int_eq(rc, -1);
  ck_assert_msg(strstr(mpsl_errmsg(), want) != NULL, "message '%s' lacks '%s'", mpsl_errmsg(), want);
}

/* Whether the working directory holds a file whose name starts with `prefix`. */
static int has_file(const char *prefix) {
  DIR *d = opendir(".");
  ck_assert_ptr_nonnull(d);
  int found = 0;
  for (struct dirent *e; (e = readdir(d));) found |= !strncmp(e->d_name, prefix, strlen(prefix));
  closedir(d);
  return found;
}

/* ---- measuring --------------------------------------------------------------------- */

static void check_measured(const char *name, int batch) {
  mpsl_model m;
  mpsl_model_opts mo;
  mpsl_model_opts_default(&mo);
  mo.width = 1.0 / 16;
  ck_assert_int_eq(mpsl_model_build(&m, name, &mo), 0);
  mpsl_profile p;
  mpsl_profile_opts po = {batch, 2, 1, NULL};
  ck_assert_msg(mpsl_profile_measure(&p, &m, &po) == 0, "%s", mpsl_errmsg());
  ck_assert_int_eq(p.nlayers, m.nlayers);
  ck_assert_str_eq(p.model, name);
  ck_assert_int_eq(p.batch, batch);
  ck_assert_int_eq(p.reps, 2);
  double sum = 0;
  for (int i = 0; i < m.nlayers; i++) {
    const mpsl_layer *l = &m.layers[i];
    const mpsl_profile_layer *r = &p.layers[i];
    ck_assert_int_eq(r->index, i + 1);
    ck_assert_str_eq(r->name, l->name);
    ck_assert_str_eq(r->kind, mpsl_layer_kind_name(l->kind));
    ck_assert_msg(r->fwd_s > 0 && r->bwd_s > 0 && r->update_s >= 0, "%s: times %g %g %g", r->name, r->fwd_s, r->bwd_s,
                  r->update_s);
    ck_assert(r->fwd_min_s <= r->fwd_s && r->fwd_s <= r->fwd_max_s);
    ck_assert(r->bwd_min_s <= r->bwd_s && r->bwd_s <= r->bwd_max_s);
    ck_assert(r->update_min_s <= r->update_s && r->update_s <= r->update_max_s);
    ck_assert_int_eq(r->params_bytes, 4 * l->params);
    /* one gradient and one momentum per parameter; tensors start 64-byte aligned */
    ck_assert_int_eq(r->optim_bytes, r->grads_bytes);
    ck_assert(r->grads_bytes >= r->params_bytes && r->grads_bytes < r->params_bytes + 64 * 16);
    ck_assert_int_eq(r->out_bytes, 4 * l->out_elems * batch);
    ck_assert_int_eq(r->flops, l->flops * batch);
    ck_assert(r->act_bytes >= 0 && r->workspace_bytes >= 0 && r->copy_bytes >= 0);
    if (l->kind == MPSL_L_CONV || l->kind == MPSL_L_BLOCK)
      ck_assert_msg(r->act_bytes > 0, "%s stores nothing", r->name);
    sum += r->fwd_s + r->bwd_s + r->update_s;
  }
  ck_assert(fabs(sum - p.layers_step_s) <= 1e-9 * sum);
  ck_assert(p.whole_fwd_s > 0 && p.whole_bwd_s > 0 && p.whole_step_s > 0);
  ck_assert(p.whole_step_min_s <= p.whole_step_s && p.whole_step_s <= p.whole_step_max_s);
  ck_assert(p.whole_bytes >= 3 * 4 * mpsl_model_params(&m));
  ck_assert_str_ne(p.dnnl_version, "");
  ck_assert_str_ne(p.host, "");
  /* how busy the cores were: recorded, consistent with the thresholds (either way: this
   * machine may be busy) */
  /* CPU time is accounted in ticks and may include a little outside the timed runs, so a
   * short measurement can exceed 1 (1.14 seen on an idle machine): a sanity bound only */
  ck_assert_msg(p.cpu_ratio > 0 && p.cpu_ratio < 4, "cpu_ratio %g", p.cpu_ratio);
  ck_assert_msg(p.others_load == -1 || (p.others_load >= 0 && p.others_load <= 1), "others_load %g", p.others_load);
  ck_assert(p.disturbed == 0 || p.disturbed == 1);
  cpu_set_t set;
  ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
  if (p.others_load >= 0 && p.threads >= CPU_COUNT(&set)) /* a thread per core: the load itself decides */
    ck_assert_int_eq(p.disturbed, p.others_load > MPSL_PROFILE_MAX_OTHERS_LOAD);

  /* the round trip keeps every value */
  ck_assert_msg(mpsl_profile_save(&p, "p.h5") == 0, "%s", mpsl_errmsg());
  ck_assert(!has_file("p.h5.tmp"));
  mpsl_profile q;
  ck_assert_msg(mpsl_profile_load(&q, "p.h5") == 0, "%s", mpsl_errmsg());
  ck_assert_str_eq(q.model, p.model);
  ck_assert_str_eq(q.host, p.host);
  ck_assert_str_eq(q.date, p.date);
  ck_assert_str_eq(q.dnnl_version, p.dnnl_version);
  ck_assert_int_eq(q.batch, p.batch);
  ck_assert_int_eq(q.size, p.size);
  ck_assert(q.width == p.width);
  ck_assert(q.whole_step_s == p.whole_step_s && q.layers_step_s == p.layers_step_s);
  ck_assert_int_eq(q.whole_bytes, p.whole_bytes);
  ck_assert(q.cpu_ratio == p.cpu_ratio && q.others_load == p.others_load);
  ck_assert_int_eq(q.disturbed, p.disturbed);
  ck_assert_int_eq(q.nlayers, p.nlayers);
  for (int i = 0; i < p.nlayers; i++) {
    const mpsl_profile_layer *a = &p.layers[i], *b = &q.layers[i];
    ck_assert_str_eq(a->name, b->name);
    ck_assert_str_eq(a->kind, b->kind);
    ck_assert(a->fwd_s == b->fwd_s && a->fwd_min_s == b->fwd_min_s && a->fwd_max_s == b->fwd_max_s);
    ck_assert(a->bwd_s == b->bwd_s && a->update_s == b->update_s && a->update_max_s == b->update_max_s);
    ck_assert(a->params_bytes == b->params_bytes && a->act_bytes == b->act_bytes && a->out_bytes == b->out_bytes);
    ck_assert(a->workspace_bytes == b->workspace_bytes && a->flops == b->flops && a->copy_bytes == b->copy_bytes);
  }
  /* the text form names every layer */
  FILE *f = fopen("p.txt", "w");
  mpsl_profile_print(&q, f);
  fclose(f);
  char *txt = read_text("p.txt");
  for (int i = 0; i < p.nlayers; i++) ck_assert_msg(strstr(txt, p.layers[i].name), "%s not printed", p.layers[i].name);
  mpsl_profile_free(&q);
  mpsl_profile_free(&p);
  mpsl_model_free(&m);
}

START_TEST(test_measure_resnet) { check_measured("resnet18-cifar", 2); }
END_TEST

START_TEST(test_measure_vgg) { check_measured("vgg11_bn-cifar", 3); }
END_TEST

START_TEST(test_measure_bad) {
  mpsl_model m;
  mpsl_model_opts mo;
  mpsl_model_opts_default(&mo);
  mo.width = 1.0 / 16;
  ck_assert_int_eq(mpsl_model_build(&m, "resnet18-cifar", &mo), 0);
  mpsl_profile p;
  mpsl_profile_opts po = {0, 1, 0, NULL};
  expect_fail(mpsl_profile_measure(&p, &m, &po), "batch must be at least 1");
  mpsl_profile_free(&p);
  mpsl_model_free(&m);
}
END_TEST

/* ---- the file format ---------------------------------------------------------------- */

/* A made-up profile: no measurement, exact values. */
static void fake_profile(mpsl_profile *p, const char *model, int batch, double step) {
  memset(p, 0, sizeof *p);
  snprintf(p->model, sizeof p->model, "%s", model);
  p->batch = batch;
  p->classes = 10;
  p->channels = 3;
  p->size = 32;
  p->width = 1;
  p->reps = 3;
  snprintf(p->host, sizeof p->host, "testhost");
  p->nlayers = 3;
  p->layers = calloc(3, sizeof *p->layers);
  for (int i = 0; i < 3; i++) {
    mpsl_profile_layer *r = &p->layers[i];
    r->index = i + 1;
    snprintf(r->name, sizeof r->name, "l%d", i + 1);
    snprintf(r->kind, sizeof r->kind, "conv");
    r->fwd_s = r->fwd_min_s = r->fwd_max_s = step / 9;
    r->bwd_s = r->bwd_min_s = r->bwd_max_s = step / 9;
    r->update_s = r->update_min_s = r->update_max_s = step / 9;
    r->params_bytes = r->grads_bytes = r->optim_bytes = 1024 * (i + 1);
    r->out_bytes = 4096;
  }
  p->whole_step_s = p->whole_step_min_s = p->whole_step_max_s = step;
  p->layers_step_s = step;
  p->whole_bytes = 1 << 20;
}

static void h5_edit(const char *path, void (*edit)(hid_t)) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  ck_assert_int_ge(f, 0);
  edit(f);
  H5Fclose(f);
}

static void drop_table(hid_t f) { ck_assert_int_ge(H5Ldelete(f, "layers", H5P_DEFAULT), 0); }
static void drop_batch(hid_t f) { ck_assert_int_ge(H5Adelete(f, "batch"), 0); }
static void narrow_table(hid_t f) {
  ck_assert_int_ge(H5Ldelete(f, "layers", H5P_DEFAULT), 0);
  hid_t t = H5Tcreate(H5T_COMPOUND, 4);
  H5Tinsert(t, "index", 0, H5T_NATIVE_INT);
  hsize_t n = 1;
  hid_t sp = H5Screate_simple(1, &n, NULL);
  hid_t d = H5Dcreate2(f, "layers", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int one = 1;
  H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &one);
  H5Dclose(d);
  H5Sclose(sp);
  H5Tclose(t);
}
static void string_batch(hid_t f) {
  ck_assert_int_ge(H5Adelete(f, "batch"), 0);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, 4);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f, "batch", t, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, t, "128");
  H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
}

/* Found by fuzz/profile.c (the inputs are in fuzz/corpus/profile/regress-*): H5Aread
 * writes every element of an attribute, so an array `batch` overran the profile; and a
 * table claiming 2^34 rows was allocated before anything was read. */
static void array_batch(hid_t f) {
  ck_assert_int_ge(H5Adelete(f, "batch"), 0);
  hsize_t n = 1024;
  static int v[1024];
  hid_t sp = H5Screate_simple(1, &n, NULL);
  hid_t a = H5Acreate2(f, "batch", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_INT, v);
  H5Aclose(a);
  H5Sclose(sp);
}
static void huge_table(hid_t f) {
  hid_t d = H5Dopen2(f, "layers", H5P_DEFAULT);
  hid_t t = H5Dget_type(d);
  H5Dclose(d);
  ck_assert_int_ge(H5Ldelete(f, "layers", H5P_DEFAULT), 0);
  hsize_t n = (hsize_t)1 << 34;
  hid_t sp = H5Screate_simple(1, &n, NULL);
  d = H5Dcreate2(f, "layers", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT); /* no row written */
  H5Dclose(d);
  H5Sclose(sp);
  H5Tclose(t);
}

START_TEST(test_load_errors) {
  mpsl_profile p, q;
  expect_fail(mpsl_profile_load(&q, "missing.h5"), "missing.h5: cannot open profile (No such file or directory)");
  write_text("text.h5", "not hdf5\n");
  expect_fail(mpsl_profile_load(&q, "text.h5"), "text.h5: cannot open profile (not an HDF5 file?)");

  fake_profile(&p, "resnet101", 128, 0.9);
  void (*edits[])(hid_t) = {drop_table, drop_batch, narrow_table, string_batch, array_batch, huge_table};
  const char *want[] = {"t.h5: no table 'layers'",
                        "t.h5: no attribute 'batch'",
                        "t.h5: table 'layers' has no column 'name'",
                        "t.h5: attribute 'batch' is not an integer",
                        "t.h5: attribute 'batch' holds 1024 values, expected one",
                        "t.h5: table 'layers' has 17179869184 rows (expected at most 65536, one per layer)"};
  for (int i = 0; i < 6; i++) {
    ck_assert_int_eq(mpsl_profile_save(&p, "t.h5"), 0);
    ck_assert_int_eq(mpsl_profile_load(&q, "t.h5"), 0);
    mpsl_profile_free(&q);
    h5_edit("t.h5", edits[i]);
    expect_fail(mpsl_profile_load(&q, "t.h5"), want[i]);
    ck_assert_ptr_null(q.layers);
  }
  /* an HDF5 file of another kind (weights, results) */
  hid_t f = H5Fcreate("other.h5", H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5Fclose(f);
  expect_fail(mpsl_profile_load(&q, "other.h5"), "other.h5: no attribute 'format' (not an mpsl profile?)");
  /* the temporary is the writer's own: PATH.tmp.HOST.PID */
  char host[64] = "", want_tmp[256];
  gethostname(host, sizeof host);
  host[sizeof host - 1] = '\0';
  /* (the folders on its way are made; a file in the way is an error) */
  FILE *in_the_way = fopen("afile", "w");
  ck_assert_ptr_nonnull(in_the_way);
  fclose(in_the_way);
  snprintf(want_tmp, sizeof want_tmp, "afile/p.h5.tmp.%s%s%ld: cannot create (Not a directory)", host,
           host[0] ? "." : "", (long)getpid());
  expect_fail(mpsl_profile_save(&p, "afile/p.h5"), want_tmp);
  mpsl_profile_free(&p);
}
END_TEST

/* ---- busy cores ------------------------------------------------------------------------ */

static int run_mpsl(const char *const *args); /* below, with the command's tests */

/* One process per usable core (at least two) spinning until killed; they die with this
 * process too (PR_SET_PDEATHSIG), so a crashed test leaves none behind. */
static int spinners_start(pid_t *pids, int max) {
  cpu_set_t set;
  int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 2;
  n = n < 2 ? 2 : n > max ? max : n;
  pid_t parent = getpid();
  for (int i = 0; i < n; i++) {
    pids[i] = fork();
    if (pids[i] == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(0);
      for (volatile unsigned long k = 0;; k++) continue;
    }
    ck_assert_int_gt(pids[i], 0);
  }
  return n;
}

static void spinners_stop(const pid_t *pids, int n) {
  for (int i = 0; i < n; i++) kill(pids[i], SIGKILL);
  for (int i = 0; i < n; i++) waitpid(pids[i], NULL, 0);
}

static void tiny_model(mpsl_model *m) {
  mpsl_model_opts mo;
  mpsl_model_opts_default(&mo);
  mo.width = 1.0 / 16;
  ck_assert_int_eq(mpsl_model_build(m, "vgg11-cifar", &mo), 0);
}

/* What estimate needs for the tiny model of tiny_model at batch 2 (cifar10: 3 channels). */
#define TINY_ESTIMATE                                                                                                \
  "estimate", "--set", "model=vgg11-cifar", "--set", "width=0.0625", "--set", "batch=2", "--set", "dataset=cifar10", \
      "--set", "clients=2", "--set", "hops=1"

/* A measurement with a thread per core while every core is held by a busy process is
 * disturbed: other processes took about half of the cores' time (that is certain; how
 * much CPU time this process still got depends on the scheduler, so cpu_ratio is only
 * printed). The marks survive the file, and a command using the profile warns naming it. */
START_TEST(test_disturbed) {
  mpsl_model m;
  tiny_model(&m);
  pid_t pids[64];
  int n = spinners_start(pids, 64);
#ifdef _OPENMP
  /* a thread per core, as by default: then every core our threads need is contended
   * (OMP_NUM_THREADS=1 would leave the scheduler free to give our one thread a core) */
  int threads = omp_get_max_threads();
  omp_set_num_threads(n);
#endif
  usleep(50000); /* let them get going */
  mpsl_profile p;
  mpsl_profile_opts po = {2, 3, 1, NULL};
  int rc = mpsl_profile_measure(&p, &m, &po);
  spinners_stop(pids, n); /* before any assertion can end the test */
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  mpsl_model_free(&m);
  ck_assert_msg(rc == 0, "%s", mpsl_errmsg());
  printf("check_profile: with %d busy processes: cpu_ratio %.2f, others' load %.2f, disturbed %d\n", n, p.cpu_ratio,
         p.others_load, p.disturbed);
  ck_assert_msg(p.disturbed == 1, "not disturbed: cpu_ratio %.2f, others' load %.2f", p.cpu_ratio, p.others_load);

  ck_assert_int_eq(mpsl_profile_save(&p, "busy.h5"), 0);
  mpsl_profile q;
  ck_assert_int_eq(mpsl_profile_load(&q, "busy.h5"), 0);
  ck_assert_int_eq(q.disturbed, 1);
  ck_assert(q.cpu_ratio == p.cpu_ratio && q.others_load == p.others_load);
  mpsl_profile_free(&q);
  mpsl_profile_free(&p);

  const char *est[] = {TINY_ESTIMATE, "--set", "profile=busy.h5", NULL};
  ck_assert_int_eq(run_mpsl(est), 0);
  const char *out = read_text("out.txt");
  ck_assert_msg(strstr(out, "mpsl: warning: profile busy.h5 was measured while the cores were busy (disturbed = 1: "),
                "%s", out);
  ck_assert_msg(strstr(out, "T_round"), "%s", out);
}
END_TEST

/* A made-up profile with the given marks, saved to path. */
static void save_marked(const char *path, int disturbed, double ratio, double others) {
  mpsl_profile p;
  fake_profile(&p, "resnet101", 128, 0.9);
  p.disturbed = disturbed, p.cpu_ratio = ratio, p.others_load = others;
  ck_assert_int_eq(mpsl_profile_save(&p, path), 0);
  mpsl_profile_free(&p);
}

/* The warning: one line naming the file and "disturbed", once per file in a process, and
 * only for disturbed profiles. */
START_TEST(test_warning) {
  save_marked("d.h5", 1, 0.42, 0.5);
  save_marked("q.h5", 0, 0.97, 0.01);
  const char *show[] = {"profile", "--show", "d.h5", NULL};
  ck_assert_int_eq(run_mpsl(show), 0);
  char *out = read_text("out.txt");
  ck_assert_msg(strstr(out,
                       "mpsl: warning: profile d.h5 was measured while the cores were busy (disturbed = 1: "
                       "cpu_ratio 0.42, others' load 0.50); its times are too large or uneven: measure it again "
                       "on an idle machine\n"),
                "%s", out);
  ck_assert_msg(strstr(out, "# cores while measuring: cpu_ratio 0.42, others' load 0.50: disturbed = 1"), "%s", out);
  ck_assert_int_eq(run_mpsl(show), 0); /* the same process: not again */
  ck_assert_msg(!strstr(read_text("out.txt"), "warning"), "%s", read_text("out.txt"));
  const char *quiet[] = {"profile", "--show", "q.h5", NULL};
  ck_assert_int_eq(run_mpsl(quiet), 0);
  out = read_text("out.txt");
  ck_assert_msg(!strstr(out, "warning") && strstr(out, "disturbed = 0 (quiet)"), "%s", out);

  /* others' load unknown (no /proc/stat) */
  mpsl_profile p;
  fake_profile(&p, "resnet101", 128, 0.9);
  p.disturbed = 1, p.cpu_ratio = 0.5, p.others_load = -1;
  FILE *f = fopen("w.txt", "w");
  ck_assert_int_eq(mpsl_profile_warn(&p, "x.h5", f), 1);
  ck_assert_int_eq(mpsl_profile_warn(&p, "x.h5", f), 0);
  p.disturbed = 0;
  ck_assert_int_eq(mpsl_profile_warn(&p, "y.h5", f), 0);
  fclose(f);
  ck_assert_msg(strstr(read_text("w.txt"),
                       "profile x.h5 was measured while the cores were busy (disturbed = 1: "
                       "cpu_ratio 0.50, others' load unknown)"),
                "%s", read_text("w.txt"));
  mpsl_profile_free(&p);
}
END_TEST

static void drop_marks(hid_t f) {
  const char *k[] = {"disturbed", "cpu_ratio", "others_load"};
  for (int i = 0; i < 3; i++) ck_assert_int_ge(H5Adelete(f, k[i]), 0);
}
static void bad_mark(hid_t f) {
  hid_t a = H5Aopen(f, "disturbed", H5P_DEFAULT);
  int v = 5;
  ck_assert_int_ge(H5Awrite(a, H5T_NATIVE_INT, &v), 0);
  H5Aclose(a);
}

/* A profile written before the marks existed loads as disturbed = -1 (unknown), warns
 * nothing and says "not recorded"; a mark that is neither 0 nor 1 is refused. */
START_TEST(test_old_profile) {
  save_marked("old.h5", 1, 0.3, 0.6);
  h5_edit("old.h5", drop_marks);
  mpsl_profile q;
  ck_assert_msg(mpsl_profile_load(&q, "old.h5") == 0, "%s", mpsl_errmsg());
  ck_assert_int_eq(q.disturbed, -1);
  ck_assert(q.cpu_ratio == -1 && q.others_load == -1);
  ck_assert_int_eq(q.nlayers, 3);
  mpsl_profile_free(&q);
  const char *show[] = {"profile", "--show", "old.h5", NULL};
  ck_assert_int_eq(run_mpsl(show), 0);
  char *out = read_text("out.txt");
  ck_assert_msg(!strstr(out, "warning") && strstr(out, "not recorded (disturbed = -1, unknown"), "%s", out);

  save_marked("bad.h5", 1, 0.3, 0.6);
  h5_edit("bad.h5", bad_mark);
  expect_fail(mpsl_profile_load(&q, "bad.h5"), "bad.h5: attribute 'disturbed' is 5, expected 0 or 1");
}
END_TEST

/* The mpsl binary of this build: $MPSL_BUILDDIR/mpsl, else next to tests/. */
static void mpsl_binary(char *buf, size_t n) {
  const char *b = getenv("MPSL_BUILDDIR");
  if (b && *b) {
    snprintf(buf, n, "%s/mpsl", b);
    return;
  }
  char exe[4096];
  ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
  ck_assert_int_gt(k, 0);
  exe[k] = '\0';
  for (int i = 0; i < 2; i++) *strrchr(exe, '/') = '\0'; /* .../tests/check_profile */
  snprintf(buf, n, "%s/mpsl", exe);
}

/* Starts `mpsl ARGS...` with stdout and stderr into `out`. A new program rather than a
 * fork of this one: OpenMP does not survive fork. */
static pid_t spawn_mpsl(const char *bin, const char *const *args, const char *out) {
  pid_t p = fork();
  ck_assert_int_ge(p, 0);
  if (p == 0) {
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(126);
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"mpsl";
    for (; *args && argc < 31; args++) argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    execv(bin, argv);
    _exit(127);
  }
  return p;
}

static int count(const char *text, const char *what) {
  int n = 0;
  for (const char *s = text; (s = strstr(s, what)); s += strlen(what)) n++;
  return n;
}

/* Two jobs that need the same missing profile at once (a Slurm array on one profile_dir):
 * one measures it, the other waits for the lock and loads it; whichever order they get
 * there in, the profile is measured once and both give the same estimate. */
START_TEST(test_cache_lock) {
  char bin[4200];
  mpsl_binary(bin, sizeof bin);
  ck_assert_msg(access(bin, X_OK) == 0, "no mpsl at %s", bin);
  const char *est[] = {TINY_ESTIMATE, "--set", "profile_dir=prof", NULL};
  pid_t a = spawn_mpsl(bin, est, "a.txt"), b = spawn_mpsl(bin, est, "b.txt");
  int sa, sb;
  ck_assert_int_eq(waitpid(a, &sa, 0), a);
  ck_assert_int_eq(waitpid(b, &sb, 0), b);
  char *ta = strdup(read_text("a.txt")), *tb = strdup(read_text("b.txt")); /* read_text reuses its buffer */
  ck_assert_msg(WIFEXITED(sa) && WEXITSTATUS(sa) == 0, "first job: %s", ta);
  ck_assert_msg(WIFEXITED(sb) && WEXITSTATUS(sb) == 0, "second job: %s", tb);
  const char *note = "mpsl: measuring a host profile of vgg11-cifar at batch 2 into prof/";
  ck_assert_msg(count(ta, note) + count(tb, note) == 1, "measured %d times:\n%s\n%s", count(ta, note) + count(tb, note),
                ta, tb);
  const char *ra = strstr(ta, "\nT_round"), *rb = strstr(tb, "\nT_round");
  ck_assert_msg(ra && rb, "%s\n%s", ta, tb);
  ck_assert(strncmp(ra, rb, strcspn(ra + 1, "\n") + 1) == 0);
  ck_assert_int_eq(chdir("prof"), 0);
  ck_assert(has_file("vgg11-cifar-b2-s32x3-c10-w0.0625.h5.lock"));
  ck_assert(!has_file("vgg11-cifar-b2-s32x3-c10-w0.0625.h5.tmp"));
  ck_assert_int_eq(chdir(".."), 0);
  free(ta);
  free(tb);
}
END_TEST

static const char *python(void) {
  const char *p = getenv("MPSL_PYTHON");
  return p && *p ? p : "/usr/bin/python3";
}

START_TEST(test_h5py_reads) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "'%s' -c 'import h5py' >/dev/null 2>&1", python());
  if (access(python(), X_OK) != 0 || system(cmd) != 0) {
    printf("check_profile: no h5py at %s, skipping the h5py check\n", python());
    return;
  }
  mpsl_profile p;
  fake_profile(&p, "resnet101", 128, 0.9);
  ck_assert_int_eq(mpsl_profile_save(&p, "p.h5"), 0);
  mpsl_profile_free(&p);
  write_text("show.py",
             "import sys, h5py\n"
             "f = h5py.File(sys.argv[1], 'r')\n"
             "t = f['layers']\n"
             "print(f.attrs['model'].decode(), int(f.attrs['batch']), len(t), t['name'][1].decode(),"
             " int(t['params_bytes'].sum()), '%.2f' % (t['fwd_s'].sum() * 3))\n");
  snprintf(cmd, sizeof cmd, "'%s' show.py p.h5 >out.txt 2>&1", python());
  int rc = system(cmd);
  ck_assert_msg(rc == 0, "%s failed:\n%s", cmd, read_text("out.txt"));
  ck_assert_str_eq(read_text("out.txt"), "resnet101 128 3 l2 6144 0.90\n");
}
END_TEST

/* ---- devices ------------------------------------------------------------------------ */

START_TEST(test_catalogue) {
  mpsl_devices c = {0};
  ck_assert_msg(mpsl_devices_load(&c, mpsl_devices_default_path()) == 0, "%s", mpsl_errmsg());
  const char *names[] = {"host", "rpi4b", "rpi3b", "jetson", "vm8"};
  for (int i = 0; i < 5; i++) ck_assert_msg(mpsl_device_find(&c, names[i]) != NULL, "%s", mpsl_errmsg());
  for (int i = 0; i < c.n; i++) {
    ck_assert_msg(strlen(c.dev[i].source) > 10, "device %s cites no source", c.dev[i].name);
    ck_assert_msg(c.dev[i].memory > 0, "device %s has no memory", c.dev[i].name);
    /* an assumed figure says so in its source */
    if (!c.dev[i].published) ck_assert_msg(strstr(c.dev[i].source, "ASSUMED"), "%s", c.dev[i].name);
  }
  const mpsl_device *pi4 = mpsl_device_find(&c, "rpi4b"), *pi3 = mpsl_device_find(&c, "rpi3b"),
                    *vm = mpsl_device_find(&c, "vm8");
  ck_assert_int_eq(pi4->memory, 4LL << 30);
  ck_assert_int_eq(pi3->memory, 1LL << 30);
  ck_assert_int_eq(vm->memory, 16LL << 30);
  ck_assert(pi4->published && vm->published && !pi3->published);
  ck_assert_int_eq(pi4->nrefs, 2);
  ck_assert_str_eq(pi4->refs[0].model, "resnet101");
  ck_assert_int_eq(pi4->refs[0].batch, 128);
  ck_assert(pi4->refs[0].seconds == 91.9 && pi4->refs[1].seconds == 71.9);
  ck_assert(vm->refs[0].seconds == 2.0 && vm->refs[1].seconds == 3.6);
  ck_assert(mpsl_device_find(&c, "host")->speed == 1);
  /* the devices on a layer table's columns */
  const char *col[][2] = {{"d2", "rpi4b"}, {"node16g", "vm"}, {"node8g", "vm"}, {"node4g", "vm"}};
  const double colspeed[] = {3.15 / 7.25, 1, 0.5, 0.25};
  for (int i = 0; i < 4; i++) {
    const mpsl_device *d = mpsl_device_find(&c, col[i][0]);
    ck_assert_msg(d != NULL, "%s", mpsl_errmsg());
    ck_assert_str_eq(d->columns, col[i][1]);
    ck_assert_msg(fabs(d->speed - colspeed[i]) < 1e-4, "%s: speed %g", d->name, d->speed);
  }
  ck_assert_int_eq(mpsl_device_find(&c, "node4g")->memory, 4LL << 30);
  double s;
  expect_fail(mpsl_device_speed(mpsl_device_find(&c, "node4g"), NULL, &s), "works with model = csv:PATH only");
  expect_fail(mpsl_device_find(&c, "rpi5") ? 0 : -1, "unknown device 'rpi5' (known: host, rpi4b");

  /* the published fact that an RPi 3B+ cannot train VGG-19: its parameters, gradients and
   * momenta alone exceed 1 GB, while they fit the RPi 4B */
  mpsl_model m;
  mpsl_model_opts mo;
  mpsl_model_opts_default(&mo);
  ck_assert_int_eq(mpsl_model_build(&m, "vgg19", &mo), 0);
  int64_t need = 3 * 4 * mpsl_model_params(&m);
  ck_assert(need > pi3->memory && need < pi4->memory);
  mpsl_model_free(&m);

  /* a user's file adds devices and replaces shipped ones */
  write_text("mine.ini",
             "[host]\ndescription = a faster host\nspeed = 2\nmemory = 8G\nsource = measured\n"
             "[pi-zero]\ndescription = Pi Zero 2 W\nspeed = 0.01 ; a comment\nmemory = 512M\n"
             "source = \"a guess; see #3\"\n");
  int n = c.n;
  ck_assert_msg(mpsl_devices_load(&c, "mine.ini") == 0, "%s", mpsl_errmsg());
  ck_assert_int_eq(c.n, n + 1);
  ck_assert(mpsl_device_find(&c, "host")->speed == 2);
  ck_assert_int_eq(mpsl_device_find(&c, "host")->memory, 8LL << 30);
  ck_assert_int_eq(mpsl_device_find(&c, "pi-zero")->memory, 512LL << 20);
  ck_assert_str_eq(mpsl_device_find(&c, "pi-zero")->source, "a guess; see #3");
  ck_assert(mpsl_device_find(&c, "pi-zero")->speed == 0.01);
  mpsl_devices_free(&c);
}
END_TEST

START_TEST(test_bytes) {
  int64_t b;
  ck_assert(mpsl_parse_bytes("4G", &b) == 0 && b == 4LL << 30);
  ck_assert(mpsl_parse_bytes("1.5 GiB", &b) == 0 && b == 3LL << 29);
  ck_assert(mpsl_parse_bytes("512MB", &b) == 0 && b == 512LL << 20);
  ck_assert(mpsl_parse_bytes("1000", &b) == 0 && b == 1000);
  ck_assert(mpsl_parse_bytes("auto", &b) == 0 && b > 0);
  const char *bad[] = {"", "4X", "-1G", "G", "4 G B", "1.5", "nan", "1e30T"};
  for (int i = 0; i < 8; i++) ck_assert_msg(mpsl_parse_bytes(bad[i], &b) == -1, "'%s' accepted", bad[i]);
}
END_TEST

/* Each bad catalogue and the start of the message it must give. */
static const struct {
  const char *text, *want;
} bad_files[] = {
    {"speed = 1\n", "bad.ini:1: 'speed' comes before any [device] header"},
    {"[d]\ndescription = x\nsource = y\nmemory = 1G\nspeed = fast\n", "bad.ini:5: speed: 'fast' is not a number"},
    {"[d]\ndescription = x\nsource = y\nmemory = 1G\nspeed = 0\n", "bad.ini:5: speed: '0' is out of range"},
    {"[d]\ndescription = x\nsource = y\nmemory = 1G\nsped = 1\n",
     "bad.ini:5: unknown key 'sped' (did you mean 'speed'?)"},
    {"[d]\ndescription = x\nsource = y\nmemory = 4X\nspeed = 1\n", "bad.ini:4: device 'd': memory: '4X' is not a size"},
    {"[d]\ndescription = x\nmemory = 1G\nspeed = 1\n", "bad.ini:1: device 'd' has no 'source'"},
    {"[d]\ndescription = x\nsource = y\nmemory = 1G\n", "bad.ini:1: device 'd' has neither 'speed', 'columns' nor"},
    {"[d]\ndescription = x\nsource = y\nmemory = 1G\nref_step_resnet1O1_b128 = 9\n",
     "bad.ini:5: ref_step_resnet1O1_b128: unknown model"},
    {"[d]\ndescription = x\nsource = y\nmemory = 1G\nref_step_resnet101 = 9\n",
     "bad.ini:5: ref_step_resnet101: expected ref_step_<model>_b<batch>"},
    {"[d]\ndescription = x\nsource = y\nmemory = 1G\nref_step_resnet101_b128 = -2\n",
     "bad.ini:5: ref_step_resnet101_b128: '-2' is not a time"},
    {"[d]\ndescription = x\nsource = y\nmemory = 1G\nspeed = 1\n\n[d]\n",
     "bad.ini:7: device 'd' is already defined at bad.ini:1"},
    {"[d\n", "bad.ini:1: '[d' is not a [device] header"},
    {"[a b]\n", "bad.ini:1: [a b]: a device name is"},
    {"[d]\njust words\n", "bad.ini:2: expected 'key = value', got 'just words'"},
    {"[d]\nsource = \"open\n", "bad.ini:2: source: '\"open': no closing quote"},
    {"# nothing\n", "bad.ini: no [device] sections"},
};

START_TEST(test_catalogue_errors) {
  mpsl_devices c = {0};
  expect_fail(mpsl_devices_load(&c, "none.ini"), "none.ini: cannot open device catalogue");
  int n = (int)(sizeof bad_files / sizeof *bad_files);
  for (int i = 0; i < n; i++) {
    write_text("bad.ini", bad_files[i].text);
    int rc = mpsl_devices_load(&c, "bad.ini");
    ck_assert_msg(rc == -1 && !strncmp(mpsl_errmsg(), bad_files[i].want, strlen(bad_files[i].want)),
                  "case %d: got '%s', expected '%s...'", i, rc ? mpsl_errmsg() : "success", bad_files[i].want);
    ck_assert_int_eq(c.n, 0); /* nothing half-loaded */
  }
}
END_TEST

START_TEST(test_speed) {
  mpsl_devices c = {0};
  ck_assert_int_eq(mpsl_devices_load(&c, mpsl_devices_default_path()), 0);
  const mpsl_device *pi4 = mpsl_device_find(&c, "rpi4b"), *vm = mpsl_device_find(&c, "vm8"),
                    *host = mpsl_device_find(&c, "host");
  mpsl_profile p;
  double s;
  /* this host: 0.919 s per ResNet-101 step of 128, so the RPi 4B is 100 times slower */
  fake_profile(&p, "resnet101", 128, 0.919);
  ck_assert_int_eq(mpsl_device_speed(pi4, &p, &s), 0);
  ck_assert_double_eq_tol(s, 0.01, 1e-12);
  ck_assert_int_eq(mpsl_device_speed(vm, &p, &s), 0);
  ck_assert_double_eq_tol(s, 0.919 / 2.0, 1e-12);
  /* the device's profile: every time divided by the speed, bytes unchanged */
  mpsl_profile dev;
  mpsl_profile_scale(&p, 0.01, &dev);
  ck_assert_double_eq_tol(dev.layers[0].fwd_s, 100 * 0.919 / 9, 1e-9);
  ck_assert_double_eq_tol(dev.layers[2].update_max_s, 100 * 0.919 / 9, 1e-9);
  ck_assert_double_eq_tol(dev.whole_step_s, 91.9, 1e-9);
  ck_assert_int_eq(dev.layers[1].params_bytes, p.layers[1].params_bytes);
  ck_assert(p.whole_step_s == 0.919); /* the host's profile is untouched */
  mpsl_profile_free(&dev);
  ck_assert_int_eq(mpsl_device_speed(host, &p, &s), 0);
  ck_assert(s == 1);
  mpsl_profile_free(&p);
  /* VGG-19 gives the RPi 4B its own factor */
  fake_profile(&p, "vgg19", 128, 0.719);
  ck_assert_int_eq(mpsl_device_speed(pi4, &p, &s), 0);
  ck_assert_double_eq_tol(s, 0.01, 1e-12);
  mpsl_profile_free(&p);
  /* half the batch, half the time on both sides: the same factor */
  fake_profile(&p, "resnet101", 64, 0.4595);
  ck_assert_int_eq(mpsl_device_speed(pi4, &p, &s), 0);
  ck_assert_double_eq_tol(s, 0.01, 1e-12);
  mpsl_profile_free(&p);
  /* a profile of another model cannot calibrate it */
  fake_profile(&p, "resnet18-cifar", 128, 0.3);
  expect_fail(mpsl_device_speed(pi4, &p, &s), "needs a host profile of that model (mpsl profile --model resnet101");
  expect_fail(mpsl_device_speed(pi4, NULL, &s), "device 'rpi4b'");
  ck_assert_int_eq(mpsl_device_speed(host, NULL, &s), 0);
  mpsl_profile_free(&p);
  /* nor one of the right model at another width or input size */
  fake_profile(&p, "resnet101", 128, 0.9);
  p.width = 0.5;
  expect_fail(mpsl_device_speed(pi4, &p, &s), "the profile has width 0.5");
  p.width = 1;
  p.size = 64;
  expect_fail(mpsl_device_speed(vm, &p, &s), "64x64 inputs");
  mpsl_profile_free(&p);
  mpsl_devices_free(&c);
}
END_TEST

/* ---- the command ---------------------------------------------------------------------- */

/* Runs `mpsl ARGS...` with stdout and stderr into out.txt; returns the exit status. */
static int run_mpsl(const char *const *args) {
  char *argv[32];
  int argc = 0;
  argv[argc++] = (char *)"mpsl";
  for (; *args; args++) argv[argc++] = (char *)*args;
  argv[argc] = NULL;
  fflush(stdout);
  fflush(stderr);
  /* put stdout and stderr back afterwards, so CK_FORK=no runs still print */
  int keep_out = dup(STDOUT_FILENO), keep_err = dup(STDERR_FILENO);
  FILE *o = fopen("out.txt", "w");
  ck_assert(o && keep_out >= 0 && keep_err >= 0);
  ck_assert(dup2(fileno(o), STDOUT_FILENO) >= 0 && dup2(fileno(o), STDERR_FILENO) >= 0);
  int rc = mpsl_main(argc, argv);
  fflush(stdout);
  fflush(stderr);
  dup2(keep_out, STDOUT_FILENO);
  dup2(keep_err, STDERR_FILENO);
  close(keep_out);
  close(keep_err);
  fclose(o);
  return rc;
}

START_TEST(test_command) {
  const char *measure[] = {"profile", "--model", "resnet18-cifar", "--width", "0.0625",   "--batch", "2",
                           "--reps",  "1",       "--warmup",       "0",       "--output", "c.h5",    NULL};
  ck_assert_int_eq(run_mpsl(measure), 0);
  mpsl_profile p;
  ck_assert_msg(mpsl_profile_load(&p, "c.h5") == 0, "%s", mpsl_errmsg());
  ck_assert_int_eq(p.batch, 2);
  ck_assert_int_eq(p.reps, 1);
  ck_assert(p.width == 0.0625);
  mpsl_profile_free(&p);
  write_text("mine.ini", "[slow]\ndescription = d\nspeed = 0.5\nmemory = 1K\nsource = test\n");
  const char *show[] = {"profile", "--show", "c.h5", "--devices", "mine.ini", NULL};
  ck_assert_int_eq(run_mpsl(show), 0);
  char *out = read_text("out.txt");
  ck_assert_msg(strstr(out, "layer4.1") && strstr(out, "whole model:"), "%s", out);
  ck_assert_msg(strstr(out, "\n  slow ") && strstr(out, "0.5"), "%s", out); /* the user's device, too big */
  const char *no_model[] = {"profile", "--batch", "2", "--text", NULL};
  ck_assert_int_eq(run_mpsl(no_model), 1);
  ck_assert_msg(strstr(read_text("out.txt"), "mpsl profile: error: --model is required"), "%s", read_text("out.txt"));
  const char *nothing[] = {"profile", "--model", "resnet18-cifar", NULL};
  ck_assert_int_eq(run_mpsl(nothing), 1);
  ck_assert_msg(strstr(read_text("out.txt"), "nothing to do"), "%s", read_text("out.txt"));
  const char *missing[] = {"profile", "--show", "gone.h5", NULL};
  ck_assert_int_eq(run_mpsl(missing), 1);
  ck_assert_msg(strstr(read_text("out.txt"), "gone.h5: cannot open profile"), "%s", read_text("out.txt"));
  const char *bad_dev[] = {"profile", "--show", "c.h5", "--devices", "gone.ini", NULL};
  ck_assert_int_eq(run_mpsl(bad_dev), 1);
  ck_assert_msg(strstr(read_text("out.txt"), "gone.ini: cannot open device catalogue"), "%s", read_text("out.txt"));
}
END_TEST

static Suite *profile_suite(void) {
  Suite *s = suite_create("profile");
  TCase *tc = tcase_create("profile");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_measure_resnet);
  tcase_add_test(tc, test_measure_vgg);
  tcase_add_test(tc, test_measure_bad);
  tcase_add_test(tc, test_load_errors);
  tcase_add_test(tc, test_h5py_reads);
  tcase_add_test(tc, test_command);
  tcase_add_test(tc, test_disturbed);
  tcase_add_test(tc, test_warning);
  tcase_add_test(tc, test_old_profile);
  tcase_add_test(tc, test_cache_lock);
  suite_add_tcase(s, tc);
  TCase *td = tcase_create("devices");
  tcase_add_checked_fixture(td, setup, teardown);
  tcase_add_test(td, test_catalogue);
  tcase_add_test(td, test_bytes);
  tcase_add_test(td, test_catalogue_errors);
  tcase_add_test(td, test_speed);
  suite_add_tcase(s, td);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(profile_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
