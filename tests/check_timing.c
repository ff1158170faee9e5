/* The timing scenario (emu/timing.h): bandwidth and mix syntax, seeded jitter, and a
 * scenario built from a hand-made profile and a test catalogue, so every cost, byte count
 * and link is checked against arithmetic written out here. Nothing is measured. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/opts.h"
#include "emu/timing.h"
#include "textfile.h"
#include "util/err.h"
#include "workdir.h"

static void setup(void) { workdir_enter("timing"); }
static void teardown(void) { workdir_leave(); }

static const char *catalogue =
    "[a]\ndescription = half the host\nspeed = 0.5\nmemory = 1G\nsource = test\n"
    "[b]\ndescription = a quarter of the host\nspeed = 0.25\nmemory = 64M\nsource = test\n";

START_TEST(bandwidths) {
  double bw = -1;
  ck_assert_int_eq(emu_parse_bw("8Mbit", &bw), 0);
  ck_assert_double_eq(bw, 1e6);
  ck_assert_int_eq(emu_parse_bw("8Mbit/s", &bw), 0);
  ck_assert_double_eq(bw, 1e6);
  ck_assert_int_eq(emu_parse_bw("100MB/s", &bw), 0);
  ck_assert_double_eq(bw, 1e8);
  ck_assert_int_eq(emu_parse_bw("1Gbit", &bw), 0);
  ck_assert_double_eq(bw, 1.25e8);
  ck_assert_int_eq(emu_parse_bw("512kB", &bw), 0);
  ck_assert_double_eq(bw, 512e3);
  ck_assert_int_eq(emu_parse_bw("inf", &bw), 0);
  ck_assert_double_eq(bw, 0);
  const char *bad[] = {"8", "8Mbat", "-1Mbit", "Mbit", "8Mbit/h", "nan"};
  for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) ck_assert_int_eq(emu_parse_bw(bad[i], &bw), -1);
}
END_TEST

START_TEST(mixes) {
  write_text("dev.ini", catalogue);
  mpsl_devices cat = {0};
  ck_assert_int_eq(mpsl_devices_load(&cat, "dev.ini"), 0);
  const mpsl_device *d[3];
  ck_assert_int_eq(emu_parse_mix(&cat, "do_devices", "a:1,b:2", 3, d), 0);
  ck_assert_str_eq(d[0]->name, "a");
  ck_assert_str_eq(d[1]->name, "b");
  ck_assert_str_eq(d[2]->name, "b");
  ck_assert_int_eq(emu_parse_mix(&cat, "do_devices", " b ", 3, d), 0);
  ck_assert(d[0] == d[2] && !strcmp(d[1]->name, "b"));
  ck_assert_int_eq(emu_parse_mix(&cat, "do_devices", "a:1,b:1", 3, d), -1);
  ck_assert_str_eq(mpsl_errmsg(), "do_devices = a:1,b:1: the counts add up to 2 but there are 3 slots");
  ck_assert_int_eq(emu_parse_mix(&cat, "cn_devices", "c:3", 3, d), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "cn_devices = c:3: "));
  ck_assert_int_eq(emu_parse_mix(&cat, "do_devices", "a:x,b:2", 3, d), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "the count of 'a' is not a whole number"));
  ck_assert_int_eq(emu_parse_mix(&cat, "do_devices", "a,b", 3, d), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "'a' is not NAME:COUNT"));
  mpsl_devices_free(&cat);
}
END_TEST

START_TEST(jitter) {
  emu_scenario s;
  memset(&s, 0, sizeof s);
  s.seed = 7;
  ck_assert_double_eq(emu_jitter(&s, 3, 5, 1), 1.0);
  s.jitter = 0.2;
  double sum = 0, lo = 2, hi = 0;
  int n = 20000;
  for (int i = 0; i < n; i++) {
    double j = emu_jitter(&s, i % 7, i / 7, i % 4);
    ck_assert(j >= 0.8 && j <= 1.2);
    ck_assert_double_eq(j, emu_jitter(&s, i % 7, i / 7, i % 4)); /* a pure function */
    sum += j, lo = fmin(lo, j), hi = fmax(hi, j);
  }
  ck_assert_double_eq_tol(sum / n, 1.0, 0.005);
  ck_assert(lo < 0.81 && hi > 1.19);
  ck_assert(emu_jitter(&s, 0, 0, 0) != emu_jitter(&s, 1, 0, 0));
  s.seed = 8;
  double other = emu_jitter(&s, 0, 0, 0);
  s.seed = 7;
  ck_assert(other != emu_jitter(&s, 0, 0, 0));
}
END_TEST

/* A profile of m with layer i (1-based) costing i ms forward, 2i ms backward and 0.5 ms update. */
static void fake_profile(mpsl_profile *p, const mpsl_model *m, int batch) {
  memset(p, 0, sizeof *p);
  snprintf(p->model, sizeof p->model, "%s", m->name);
  p->batch = batch, p->classes = m->classes, p->channels = m->channels, p->size = m->size, p->width = m->width;
  p->nlayers = m->nlayers;
  p->layers = calloc((size_t)m->nlayers, sizeof *p->layers);
  for (int i = 0; i < m->nlayers; i++) {
    p->layers[i].index = i + 1;
    p->layers[i].fwd_s = 1e-3 * (i + 1);
    p->layers[i].bwd_s = 2e-3 * (i + 1);
    p->layers[i].update_s = 0.5e-3;
  }
}

static double sum_fwd(int a, int b) { return 1e-3 * (a + b) * (b - a + 1) / 2.0; }
static double sum_bwd(int a, int b) { return 2 * sum_fwd(a, b) + 0.5e-3 * (b - a + 1); }

static void base_config(sl_config *c) {
  mpsl_opts_defaults(&sl_config_opts, c);
  snprintf(c->model, sizeof c->model, "vgg11-cifar");
  c->width = 0.25, c->batch = 8, c->clients = 3, c->hops = 2;
  snprintf(c->devices, sizeof c->devices, "dev.ini");
}

START_TEST(scenario) {
  write_text("dev.ini", catalogue);
  sl_config c;
  base_config(&c);
  mpsl_model m;
  sl_topo t;
  ck_assert_int_eq(sl_config_model(&c, &m), 0);
  ck_assert_int_eq(sl_config_resolve(&c, &m, &t), 0);
  mpsl_profile p;
  fake_profile(&p, &m, c.batch);

  /* defaults: the host everywhere, unlimited links, real compute: nothing to emulate */
  emu_scenario s;
  ck_assert_int_eq(emu_scenario_build(&s, &c, &m, &t, &p, false), 0);
  ck_assert(!s.emulated);
  emu_scenario_free(&s);

  snprintf(c.compute, sizeof c.compute, "profiled");
  snprintf(c.do_devices, sizeof c.do_devices, "a:1,b:2");
  snprintf(c.cn_devices, sizeof c.cn_devices, "b:1,a:1");
  snprintf(c.do_cn_bw, sizeof c.do_cn_bw, "8Mbit");
  c.do_cn_lat = 0.01;
  snprintf(c.do_links, sizeof c.do_links, "1Mbit@0.5:1,inf:2");
  ck_assert_int_eq(emu_scenario_build(&s, &c, &m, &t, &p, false), 0);
  ck_assert(s.emulated);
  ck_assert_int_eq(s.K, 3);
  ck_assert_int_eq(s.H, 2);
  ck_assert_double_eq(s.owner_speed[0], 0.5);
  ck_assert_double_eq(s.owner_speed[2], 0.25);
  int a = t.first[0], b = t.last[0], L = m.nlayers;
  ck_assert_double_eq_tol(s.first[0].fwd, sum_fwd(a, b) / 0.5, 1e-12);
  ck_assert_double_eq_tol(s.first[1].bwd, sum_bwd(a, b) / 0.25, 1e-12);
  ck_assert_double_eq_tol(s.last[2].fwd, sum_fwd(L, L) / 0.25, 1e-12);
  ck_assert_double_eq_tol(s.hop[0].fwd, sum_fwd(t.first[1], t.last[1]) / 0.25, 1e-12);
  ck_assert_double_eq_tol(s.hop[1].bwd, sum_bwd(t.first[2], t.last[2]) / 0.5, 1e-12);
  for (int i = 0; i <= 2; i++) ck_assert_int_eq(s.cut_bytes[i], m.layers[c.cuts.v[i] - 1].out_elems * 8 * 4);
  ck_assert(s.owner_state > 0 && s.hop_state[0] > 0 && s.hop_state[1] > 0);
  /* data owner 0 has the 1 Mbit/s override on both of its links, the others inf with latency 0 */
  ck_assert_double_eq(s.owner_cn[0].bw, 125e3);
  ck_assert_double_eq(s.owner_cn[0].lat, 0.5);
  ck_assert_double_eq(s.owner_agg[0].bw, 125e3);
  ck_assert_double_eq(s.owner_cn[1].bw, 0);
  ck_assert_double_eq(s.owner_cn[1].lat, 0.01);
  ck_assert_double_eq(emu_link_busy(s.owner_cn[0], 250000), 2.0);
  ck_assert_double_eq(emu_link_busy(s.owner_cn[1], 250000), 0.0);
  /* busy while sending: the second message, handed over during the first, waits for it */
  double free = 0;
  ck_assert_double_eq(emu_link_send(&free, s.owner_cn[0], 250000, 1.0), 3.5);
  ck_assert_double_eq(free, 3.0);
  ck_assert_double_eq(emu_link_send(&free, s.owner_cn[0], 250000, 2.0), 5.5);
  ck_assert_double_eq(emu_link_send(&free, s.owner_cn[0], 0, 9.0), 9.5);
  emu_scenario_free(&s);

  /* bad values name their key and value */
  snprintf(c.do_links, sizeof c.do_links, "1Mbit@0.5:2,inf:2");
  ck_assert_int_eq(emu_scenario_build(&s, &c, &m, &t, &p, false), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "do_links = 1Mbit@0.5:2,inf:2"));
  c.do_links[0] = '\0';
  snprintf(c.cn_cn_bw, sizeof c.cn_cn_bw, "fast");
  ck_assert_int_eq(emu_scenario_build(&s, &c, &m, &t, &p, false), -1);
  ck_assert_str_eq(mpsl_errmsg(), "cn_cn_bw = fast: expected a bandwidth such as 8Mbit, 100MB/s, 1Gbit or inf");
  mpsl_profile_free(&p);
  mpsl_model_free(&m);
}
END_TEST

START_TEST(profile_mismatch) {
  sl_config c;
  base_config(&c);
  mpsl_model m;
  ck_assert_int_eq(sl_config_model(&c, &m), 0);
  mpsl_profile p, q;
  fake_profile(&p, &m, 8);
  ck_assert_int_eq(mpsl_profile_save(&p, "p.h5"), 0);
  snprintf(c.profile, sizeof c.profile, "p.h5");
  ck_assert_int_eq(emu_profile_get(&c, c.model, 8, m.size, m.channels, m.classes, c.width, false, &q), 0);
  ck_assert_double_eq(q.layers[2].fwd_s, 3e-3);
  mpsl_profile_free(&q);
  ck_assert_int_eq(emu_profile_get(&c, c.model, 16, m.size, m.channels, m.classes, c.width, false, &q), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "profile p.h5 is of vgg11-cifar at batch 8"));
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "mpsl profile --model vgg11-cifar --batch 16"));
  /* no file in profile_dir and measuring not allowed: the command that makes it */
  c.profile[0] = '\0';
  snprintf(c.profile_dir, sizeof c.profile_dir, "cache");
  ck_assert_int_eq(emu_profile_get(&c, c.model, 8, m.size, m.channels, m.classes, c.width, false, &q), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "cache/vgg11-cifar-b8-s32x1-c10-w0.25.h5 does not exist"));
  mpsl_profile_free(&p);
  mpsl_model_free(&m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("timing");
  TCase *tc = tcase_create("scenario");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, bandwidths);
  tcase_add_test(tc, mixes);
  tcase_add_test(tc, jitter);
  tcase_add_test(tc, scenario);
  tcase_add_test(tc, profile_mismatch);
  suite_add_tcase(s, tc);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
