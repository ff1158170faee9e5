/* Layer tables (models/table.h, emu/table.h, docs/table.md): the published EdgeSys tables
 * load with their published totals, every malformed table is refused naming file, line,
 * column and value, and a scenario and a memory plan built from a table take exactly the
 * table's numbers. Nothing is measured. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emu/table.h"
#include "emu/timing.h"
#include "models/table.h"
#include "plan/cuts.h"
#include "sl/memplan.h"
#include "textfile.h"
#include "util/err.h"
#include "workdir.h"

static void setup(void) { workdir_enter("table"); }
static void teardown(void) { workdir_leave(); }

/* Three layers, two devices; batch 4. Times chosen so every sum is exact in binary. */
static const char *small =
    "# a test table\n"
    "# batch = 4\n"
    "# source = hand-made\n"
    "index,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms,b_fwd_ms,b_bwd_ms,b_opt_ms\n"
    "1,l1,8,1,1,2,0.5,10,20,5\n"
    "2,l2,4,2,2,4,0.25,20,40,2.5\n"
    "3,l3,0.5,16,4,8,0.125,40,80,1.25\n";

static void expect_fail(int rc, const char *want) {
  ck_assert_int_eq(rc, -1);
  ck_assert_msg(strstr(mpsl_errmsg(), want) != NULL, "error '%s' does not contain '%s'", mpsl_errmsg(), want);
}

START_TEST(published_tables) {
  /* EdgeSys'25 Table 1: one training step of the full model on the RPi 4B, batch 128:
   * VGG-19 71.9 s, ResNet-101 91.9 s. The per-layer sheets add up to 71.91 s and 95.53 s
   * (each layer timed alone: ResNet-101's 37 rows add 4 % over the whole model's step) */
  const struct {
    const char *file;
    int layers;
    double rpi4b_s, tol;
  } tab[] = {{"vgg19.csv", 25, 71.9, 0.001}, {"resnet101.csv", 37, 91.9, 0.04}};
  for (int i = 0; i < 2; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/datasets/edgesys/%s", MPSL_SRCDIR, tab[i].file);
    mpsl_table t;
    ck_assert_msg(mpsl_table_load(&t, path) == 0, "%s", mpsl_errmsg());
    ck_assert_int_eq(t.batch, 128);
    ck_assert_int_eq(t.nlayers, tab[i].layers);
    ck_assert_int_eq(t.ndev, 6);
    const mpsl_table_device *d = mpsl_table_device_find(&t, "rpi4b");
    ck_assert_ptr_nonnull(d);
    double s = 0;
    for (int l = 0; l < t.nlayers; l++) s += d->ms[3 * l] + d->ms[3 * l + 1] + d->ms[3 * l + 2];
    ck_assert_msg(fabs(1e-3 * s - tab[i].rpi4b_s) < tab[i].tol * tab[i].rpi4b_s, "%s: rpi4b step %.3f s", tab[i].file,
                  1e-3 * s);
    ck_assert_ptr_null(mpsl_table_device_find(&t, "vm8"));
    mpsl_table_free(&t);
  }
  /* the first row of vgg19.csv: 32769.568359 KiB of activation */
  char path[4096];
  snprintf(path, sizeof path, "csv:%s/datasets/edgesys/vgg19.csv", MPSL_SRCDIR);
  mpsl_model m;
  ck_assert_int_eq(mpsl_model_build(&m, path, NULL), 0);
  ck_assert(!mpsl_model_trainable(&m));
  ck_assert_int_eq(mpsl_model_out_bytes(&m, 1, 128), llround(32769.568359 * 1024));
  ck_assert_str_eq(m.layers[22].name, "fc1");
  expect_fail(mpsl_model_check_batch(&m, 64), "batch = 64, but the layer table");
  ck_assert_ptr_null(nn_part_new(&m, 1, 2, 128));
  expect_fail(-1, "is a layer table");
  mpsl_model_free(&m);
}
END_TEST

START_TEST(parse) {
  write_text("t.csv", small);
  mpsl_table t;
  ck_assert_int_eq(mpsl_table_load(&t, "t.csv"), 0);
  ck_assert_int_eq(t.batch, 4);
  ck_assert_str_eq(t.source, "hand-made");
  ck_assert_int_eq(t.ndev, 2);
  ck_assert_str_eq(t.dev[1].name, "b");
  ck_assert_int_eq(t.layers[2].act_bytes, 512);
  ck_assert_int_eq(t.layers[2].param_bytes, 16384);
  ck_assert_double_eq(t.dev[1].ms[3 * 2 + 2], 1.25);
  ck_assert_int_eq(t.disturbed, -1); /* not said */
  mpsl_table_free(&t);
  char text[2048];
  snprintf(text, sizeof text, "# disturbed = 1\n# cpu_ratio = 0.5\n%s", small);
  write_text("d.csv", text);
  ck_assert_int_eq(mpsl_table_load(&t, "d.csv"), 0);
  ck_assert_int_eq(t.disturbed, 1);
  ck_assert_double_eq(t.cpu_ratio, 0.5);
  mpsl_table_free(&t);
  /* a byte-order mark and CRLF line ends are read as well */
  char crlf[2048] = "\xef\xbb\xbf";
  for (const char *s = small; *s; s++) {
    size_t n = strlen(crlf);
    if (*s == '\n') crlf[n++] = '\r';
    crlf[n++] = *s;
    crlf[n] = '\0';
  }
  write_text("crlf.csv", crlf);
  ck_assert_msg(mpsl_table_load(&t, "crlf.csv") == 0, "%s", mpsl_errmsg());
  ck_assert_int_eq(t.nlayers, 3);
  mpsl_table_free(&t);
}
END_TEST

START_TEST(errors) {
  const struct {
    const char *text, *want;
  } bad[] = {
      {"index,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n1,l1,1,1,1,1,1\n2,l2,1,1,1,1,1\n",
       "t.csv: no '# batch = N' line"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n1,l1,1,1,1,1,1\n",
       "t.csv: only one layer"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n1,l1,1,1,0x10,1,1\n",
       "t.csv:3: column 'a_fwd_ms': '0x10' is not a number >= 0"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n1,l1,1,1,-0,1,1\n",
       "t.csv:3: column 'a_fwd_ms': '-0' is not a number >= 0"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n1,l1,1,8e15,1,1,1\n",
       "t.csv:3: column 'parameter_kib': '8e15' is too large"},
      /* found by fuzz_table: times near DBL_MAX overflowed the default cuts' int64 sums */
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n1,l1,1,1,1,1e300,1\n",
       "t.csv:3: column 'a_bwd_ms': '1e300' is too large (expected at most 10000000 ms)"},
      {"# batch = 0\n", "t.csv:1: batch = '0'"},
      {"# batch = 4\n# batch = 4\n", "t.csv:2: a second 'batch' line"},
      {"# batch = 4\nindex,name,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n",
       "t.csv:2: column 2 is 'name' (expected 'layer'"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms\n",
       "t.csv:2: 2 device column(s) after parameter_kib"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,b_bwd_ms,a_opt_ms\n",
       "t.csv:2: column 6 is 'b_bwd_ms' (expected a_bwd_ms"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms,a_fwd_ms,a_bwd_ms,a_opt_ms\n",
       "device 'a' has its columns twice"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n1,l1,1,1,1,x,1\n",
       "t.csv:3: column 'a_bwd_ms': 'x' is not a number >= 0"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n1,l1,1,1,1,-2,1\n",
       "t.csv:3: column 'a_bwd_ms': '-2' is not a number >= 0"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n1,l1,1,1,1,,1\n",
       "t.csv:3: column 'a_bwd_ms': '' is not a number"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n1,l1,1,1,1,1\n",
       "t.csv:3: 6 cells (expected 7"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n2,l1,1,1,1,1,1\n",
       "t.csv:3: column 'index': '2' (expected 1"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n1,,1,1,1,1,1\n",
       "t.csv:3: column 'layer': ''"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n1,l1,nan,1,1,1,1\n",
       "column 'activation_kib': 'nan' is not a number"},
      {"# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n", "t.csv: no layers"},
      {"# batch = 4\n", "t.csv: no header line"},
      {"# batch = 4\n# disturbed = 2\n", "t.csv:2: disturbed = '2' (expected 0, 1 or -1)"},
  };
  for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    write_text("t.csv", bad[i].text);
    mpsl_table t;
    expect_fail(mpsl_table_load(&t, "t.csv"), bad[i].want);
    ck_assert_int_eq(t.nlayers, 0);
  }
  /* a NUL byte inside a line */
  FILE *f = fopen("t.csv", "w");
  fputs("# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n1,l", f);
  fputc('\0', f);
  fputs("1,1,1,1,1,1\n", f);
  fclose(f);
  mpsl_table t;
  expect_fail(mpsl_table_load(&t, "t.csv"), "t.csv:3: a NUL byte");
  /* the largest time there is, and one row too many */
  f = fopen("t.csv", "w");
  fputs("# batch = 4\nindex,layer,activation_kib,parameter_kib,a_fwd_ms,a_bwd_ms,a_opt_ms\n", f);
  for (int i = 1; i <= 100001; i++) fprintf(f, "%d,l,1,1,10000000,1,1\n", i);
  fclose(f);
  expect_fail(mpsl_table_load(&t, "t.csv"), "t.csv:100003: more than 100000 layers");
  ck_assert_int_eq(t.nlayers, 0);
  expect_fail(mpsl_table_load(&t, "missing.csv"), "missing.csv: cannot open the layer table");
  mpsl_model m;
  expect_fail(mpsl_model_build(&m, "csv:", NULL), "model = csv: names no file");
}
END_TEST

static void config(sl_config *c, const char *devices) {
  mpsl_opts_defaults(&sl_config_opts, c);
  snprintf(c->model, sizeof c->model, "csv:t.csv");
  c->batch = 4, c->clients = 3, c->hops = 1, c->batches = 2, c->local_epochs = 1;
  snprintf(c->do_devices, sizeof c->do_devices, "b");
  snprintf(c->cn_devices, sizeof c->cn_devices, "%s", devices);
  snprintf(c->agg_device, sizeof c->agg_device, "a");
  snprintf(c->compute, sizeof c->compute, "profiled");
  snprintf(c->devices, sizeof c->devices, "dev.ini");
  c->cuts.n = 2, c->cuts.v[0] = 1, c->cuts.v[1] = 2;
}

START_TEST(scenario) {
  write_text("t.csv", small);
  write_text("dev.ini",
             "[half]\ndescription = a at half speed\ncolumns = a\nspeed = 0.5\nmemory = 1K\nsource = test\n"
             "[ghost]\ndescription = no columns\ncolumns = zz\nmemory = 1G\nsource = test\n"
             "[host2]\ndescription = a speed only\nspeed = 2\nmemory = 1G\nsource = test\n");
  sl_config c;
  config(&c, "a");
  mpsl_model m;
  sl_topo t;
  ck_assert_int_eq(sl_config_model(&c, &m), 0);
  ck_assert_int_eq(sl_config_resolve(&c, &m, &t), 0);
  emu_scenario s;
  ck_assert_msg(emu_scenario_build(&s, &c, &m, &t, NULL, false) == 0, "%s", mpsl_errmsg());
  /* data owners on b: M_1 = layer 1, M_P = layer 3; the hop on a: layer 2 */
  ck_assert_double_eq_tol(s.first[0].fwd, 0.010, 1e-15);
  ck_assert_double_eq_tol(s.first[0].bwd, 0.025, 1e-15);
  ck_assert_double_eq_tol(s.last[2].fwd, 0.040, 1e-15);
  ck_assert_double_eq_tol(s.last[2].bwd, 0.08125, 1e-15);
  ck_assert_double_eq_tol(s.hop[0].fwd, 0.002, 1e-15);
  ck_assert_double_eq_tol(s.hop[0].bwd, 0.00425, 1e-15);
  ck_assert_int_eq(s.cut_bytes[0], 8192);
  ck_assert_int_eq(s.cut_bytes[1], 4096);
  ck_assert_int_eq(s.owner_state, 1024 + 16384); /* float32 parameters of M_1 and M_P */
  ck_assert_int_eq(s.hop_state[0], 2048);
  ck_assert_int_eq(s.cn_col[0], 0);
  ck_assert_int_eq(s.cn_dev[0]->memory, 0); /* a table's own device has no cap */
  emu_scenario_free(&s);

  /* a catalogue device on a's columns at half speed: twice the time, and its cap */
  config(&c, "half");
  ck_assert_msg(emu_scenario_build(&s, &c, &m, &t, NULL, false) == 0, "%s", mpsl_errmsg());
  ck_assert_double_eq_tol(s.hop[0].fwd, 0.004, 1e-15);
  ck_assert_double_eq_tol(s.hop[0].bwd, 0.0085, 1e-15);
  ck_assert_int_eq(s.cn_dev[0]->memory, 1024);
  emu_scenario_free(&s);

  /* devices without columns in the table */
  config(&c, "host2");
  expect_fail(emu_scenario_build(&s, &c, &m, &t, NULL, false),
              "device 'host2' has no columns in the layer table t.csv (its devices: a, b)");
  config(&c, "ghost");
  expect_fail(emu_scenario_build(&s, &c, &m, &t, NULL, false), "takes the columns 'zz', which the layer table");

  /* the memory plan from the table's bytes: the compute node holds 3 copies of layer 2 */
  config(&c, "half");
  sl_memplan p;
  ck_assert_msg(sl_memplan_build(&p, &c, &m, &t, NULL, -1) == 0, "%s", mpsl_errmsg());
  const mpsl_res_memory *cn = &p.row[1].mem;
  ck_assert_int_eq(cn->params, 3 * 2048);
  ck_assert_int_eq(cn->grads, 3 * 2048);
  ck_assert_int_eq(cn->optim, 3 * 2048);
  ck_assert_int_eq(cn->activations, 3 * (8192 + 4096)); /* its input and its output */
  ck_assert_int_eq(p.row[1].over, 1);                   /* 1 KiB cap */

  /* the cut planner counts the same bytes for that hop: 3 copies of the part with its
   * input stored, the activations and gradients at both edges, one FedAvg accumulator
   * (the memory plan sizes edges in whole floats per sample: here they are whole) */
  mpsl_profile prof;
  emu_table_profile(&m, &m.table->dev[0], &prof);
  double speed = 1;
  int64_t cap = 0;
  mpsl_cut_problem pb;
  ck_assert_int_eq(mpsl_cut_problem_init(&pb, &prof, 1, 2, 1, &speed, &cap, 3), 0);
  int cuts[2] = {1, 2};
  mpsl_cut_plan e;
  ck_assert_int_eq(mpsl_cut_eval(&pb, cuts, &e), 0);
  ck_assert_int_eq(e.mem[0], cn->accounted);
  mpsl_cut_problem_free(&pb);
  mpsl_profile_free(&prof);
  sl_memplan_free(&p);
  mpsl_model_free(&m);
}
END_TEST

START_TEST(long_paths) {
  /* a table behind a path far longer than the 39 characters model names once had */
  char dir[2048] = ".";
  for (int i = 0; i < 12; i++) {
    strcat(dir, "/a-rather-long-folder-name-for-a-test");
    ck_assert_int_eq(mkdir(dir, 0777), 0);
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/t.csv", dir);
  write_text(path, small);
  write_text("dev.ini", "[x]\ndescription = x\nspeed = 1\nmemory = 1G\nsource = test\n");
  sl_config c;
  config(&c, "a");
  snprintf(c.model, sizeof c.model, "csv:%s", path);
  ck_assert(strlen(c.model) > 400);
  mpsl_model m;
  sl_topo t;
  ck_assert_msg(sl_config_model(&c, &m) == 0, "%s", mpsl_errmsg());
  ck_assert_int_eq(sl_config_resolve(&c, &m, &t), 0);
  emu_scenario s;
  ck_assert_msg(emu_scenario_build(&s, &c, &m, &t, NULL, false) == 0, "%s", mpsl_errmsg());
  emu_scenario_free(&s);
  mpsl_model_free(&m);
  /* an error names the whole path */
  snprintf(c.model, sizeof c.model, "csv:%s/missing.csv", dir);
  ck_assert_int_eq(sl_config_model(&c, &m), -1);
  ck_assert_msg(strstr(mpsl_errmsg(), "/missing.csv: cannot open the layer table") != NULL, "%s", mpsl_errmsg());
}
END_TEST

START_TEST(empty_last_part) {
  /* a table's last cut may be its last layer: the data owner then computes only the loss */
  write_text("t.csv", small);
  write_text("dev.ini", "[x]\ndescription = x\nspeed = 1\nmemory = 1G\nsource = test\n");
  sl_config c;
  config(&c, "a");
  c.cuts.v[1] = 3;
  mpsl_model m;
  sl_topo t;
  ck_assert_int_eq(sl_config_model(&c, &m), 0);
  ck_assert_msg(sl_config_resolve(&c, &m, &t) == 0, "%s", mpsl_errmsg());
  ck_assert_int_eq(t.first[2], 4);
  ck_assert_int_eq(t.last[2], 3);
  emu_scenario s;
  ck_assert_msg(emu_scenario_build(&s, &c, &m, &t, NULL, false) == 0, "%s", mpsl_errmsg());
  ck_assert_double_eq(s.last[0].fwd, 0);
  ck_assert_double_eq(s.last[0].bwd, 0);
  ck_assert_int_eq(s.cut_bytes[1], 512);
  emu_scenario_free(&s);
  c.cuts.v[1] = 4;
  expect_fail(sl_config_resolve(&c, &m, &t), "cut 4 is out of range");
  /* cuts = plan:FIRST,LAST keeps those ends; the placeholder between them needs no defaults */
  c.hops = 2, c.cuts.n = 2, c.cuts.plan = 1, c.cuts.v[0] = 1, c.cuts.v[1] = 3;
  ck_assert_msg(sl_config_resolve(&c, &m, &t) == 0, "%s", mpsl_errmsg());
  ck_assert(c.cuts.n == 3 && c.cuts.v[0] == 1 && c.cuts.v[1] == 2 && c.cuts.v[2] == 3);
  c.cuts.n = 2, c.cuts.v[0] = 1, c.cuts.v[1] = 4;
  expect_fail(sl_config_resolve(&c, &m, &t), "cuts = plan:1,4: expected 1 <= FIRST and LAST <= 3");
  c.cuts.plan = 0, c.hops = 1, c.cuts.n = 2, c.cuts.v[0] = 1, c.cuts.v[1] = 2;
  /* what a table cannot honour is refused */
  c.width = 0.5;
  expect_fail(sl_config_resolve(&c, &m, &t), "width = 0.5: a layer table");
  c.width = 1;
  snprintf(c.profile, sizeof c.profile, "p.h5");
  expect_fail(sl_config_resolve(&c, &m, &t), "profile = p.h5: a layer table");
  c.profile[0] = '\0';
  mpsl_model_free(&m);
  /* the engine's models keep a last part of at least one layer */
  mpsl_opts_defaults(&sl_config_opts, &c);
  c.hops = 1, c.cuts.n = 2, c.cuts.v[0] = 2;
  ck_assert_int_eq(sl_config_model(&c, &m), 0);
  c.cuts.v[1] = m.nlayers;
  expect_fail(sl_config_resolve(&c, &m, &t), "is out of range");
  mpsl_model_free(&m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("table");
  TCase *tc = tcase_create("table");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, published_tables);
  tcase_add_test(tc, parse);
  tcase_add_test(tc, errors);
  tcase_add_test(tc, scenario);
  tcase_add_test(tc, long_paths);
  tcase_add_test(tc, empty_last_part);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
