/* The discrete-event simulator against arithmetic done by hand: scenarios are written out
 * directly (costs in seconds, bytes, links), so every expected time below follows from the
 * rules of docs/timing.md alone, and no assertion depends on how fast this machine is.
 * The last tests drive `mpsl simulate` end to end from a profile and a device catalogue
 * whose numbers are chosen here. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/profile.h"
#include "emu/timing.h"
#include "io/results.h"
#include "models/model.h"
#include "sim/sim.h"
#include "util/err.h"
#include "workdir.h"

#define EPS 1e-9

/* ---- hand-written scenarios ------------------------------------------------------ */

typedef struct {
  emu_scenario s;
  sl_topo t;
} world;

/* K data owners over R pipelines of H hops, opr owners per rank, B batches per epoch and
 * r epochs; every owner has costs f (M_1) and l (M_P), every hop h; cuts of `cut` bytes;
 * links unlimited, nothing for aggregation. Tests change what they need. */
static void world_init(world *w, int K, int H, int R, int opr, int B, int r, emu_cost f, emu_cost l, emu_cost h) {
  memset(w, 0, sizeof *w);
  emu_scenario *s = &w->s;
  sl_topo *t = &w->t;
  t->K = K, t->H = H, t->R = R, t->P = H + 2, t->opr = opr;
  t->owner_ranks = (K + opr - 1) / opr;
  t->nranks = 1 + R * H + t->owner_ranks;
  s->K = K, s->H = H, s->R = R, s->P = H + 2;
  s->batch = 4, s->B = B, s->r = r;
  s->policy = 0;
  s->compute = EMU_COMPUTE_PROFILED;
  s->time_scale = 1;
  s->first = calloc((size_t)K, sizeof *s->first);
  s->last = calloc((size_t)K, sizeof *s->last);
  s->hop = calloc((size_t)(R * H), sizeof *s->hop);
  s->cut_bytes = calloc((size_t)H + 1, sizeof *s->cut_bytes);
  s->hop_state = calloc((size_t)H, sizeof *s->hop_state);
  s->owner_cn = calloc((size_t)K, sizeof *s->owner_cn);
  s->owner_agg = calloc((size_t)K, sizeof *s->owner_agg);
  s->owner_speed = calloc((size_t)K, sizeof *s->owner_speed);
  s->cn_speed = calloc((size_t)(R * H), sizeof *s->cn_speed);
  s->agg_speed = 1;
  for (int k = 0; k < K; k++) s->first[k] = f, s->last[k] = l, s->owner_speed[k] = 1;
  for (int i = 0; i < R * H; i++) s->hop[i] = h, s->cn_speed[i] = 1;
  for (int i = 0; i <= H; i++) s->cut_bytes[i] = 1000;
  for (int i = 0; i < H; i++) s->hop_state[i] = 5000;
  s->owner_state = 200;
}

static void world_free(world *w) { emu_scenario_free(&w->s); }

/* every row of a run, in the order the simulator settled them */
typedef struct {
  mpsl_res_event *v;
  int64_t n, cap;
} rows;

static int collect(void *ctx, const mpsl_res_event *r, int64_t n) {
  rows *c = ctx;
  if (c->n + n > c->cap) {
    c->cap = 2 * (c->n + n);
    c->v = realloc(c->v, (size_t)c->cap * sizeof *c->v);
  }
  memcpy(c->v + c->n, r, (size_t)n * sizeof *r);
  c->n += n;
  return 0;
}

/* Plays `rounds` rounds; returns the first round's time; rows collected into *out. */
static double play(world *w, int rounds, rows *out, double *times) {
  sim *x = sim_new(&w->s, &w->t);
  sim_sink sink = {collect, out, 7, 0}; /* a small chunk: rows cross many flushes */
  double t0 = 0, first = 0;
  for (int i = 0; i < rounds; i++) {
    double len;
    ck_assert_int_eq(sim_round(x, i, t0, &sink, &len), 0);
    if (i == 0) first = len;
    if (times) times[i] = len;
    t0 += len;
  }
  ck_assert_int_eq(sim_tasks(x), out->n);
  sim_free(x);
  return first;
}

/* The row of (rank, owner, batch, direction, part); fails if there is none. */
static const mpsl_res_event *find(const rows *r, int rank, int owner, int batch, int dir, int part) {
  for (int64_t i = 0; i < r->n; i++) {
    const mpsl_res_event *e = &r->v[i];
    if (e->rank == rank && e->owner == owner && e->batch == batch && e->direction == dir && e->part == part) return e;
  }
  ck_abort_msg("no row rank %d owner %d batch %d direction %d part %d", rank, owner, batch, dir, part);
  return NULL;
}

static void assert_near(double got, double want, const char *what) {
  ck_assert_msg(fabs(got - want) <= EPS * (1 + fabs(want)), "%s: %.12g, expected %.12g", what, got, want);
}

/* ---- one data owner, one hop -------------------------------------------------------- */

START_TEST(one_owner_one_hop) {
  world w;
  /* per batch: M_1 1 + hop 2 + M_P 0.5 + 0.25 + hop 3 + M_1 1.5 = 8.25; 2 x 2 batches */
  world_init(&w, 1, 1, 1, 1, 2, 2, (emu_cost){1, 1.5}, (emu_cost){0.5, 0.25}, (emu_cost){2, 3});
  rows r = {0};
  double times[2];
  assert_near(play(&w, 2, &r, times), 4 * 8.25, "round time");
  assert_near(times[1], 4 * 8.25, "second round");
  ck_assert_int_eq(r.n, 2 * 4 * (4 + 2));
  /* ranks: 0 aggregator, 1 the hop, 2 the data owner; parts 1 (M_1), 2 (hop), 3 (M_P) */
  const mpsl_res_event *e = find(&r, 2, 0, 0, MPSL_DIR_FWD, 1);
  ck_assert_int_eq(e->role, 2);
  assert_near(e->start, 0, "F1 start");
  assert_near(e->end, 1, "F1 end");
  ck_assert_int_eq(e->bytes, 1000);
  e = find(&r, 1, 0, 0, MPSL_DIR_FWD, 2);
  ck_assert_int_eq(e->role, 1);
  assert_near(e->start, 1, "hop forward start");
  assert_near(e->end, 3, "hop forward end");
  e = find(&r, 2, 0, 0, MPSL_DIR_FWD, 3);
  assert_near(e->end, 3.5, "M_P forward end");
  ck_assert_int_eq(e->bytes, 0);
  e = find(&r, 2, 0, 0, MPSL_DIR_BWD, 3);
  assert_near(e->end, 3.75, "M_P backward end");
  ck_assert_int_eq(e->bytes, 1000);
  e = find(&r, 1, 0, 0, MPSL_DIR_BWD, 2);
  assert_near(e->end, 6.75, "hop backward end");
  e = find(&r, 2, 0, 0, MPSL_DIR_BWD, 1);
  assert_near(e->end, 8.25, "M_1 backward end");
  /* batches count over the run: round 2 holds batches 4..7, starting where round 1 ended */
  e = find(&r, 2, 0, 4, MPSL_DIR_FWD, 1);
  ck_assert_int_eq(e->round, 1);
  assert_near(e->start, 33, "round 2 start");
  free(r.v);
  world_free(&w);
}
END_TEST

/* ---- two data owners through one hop: the pipeline, worked out by hand -------------- */

START_TEST(two_owners_pipelined) {
  world w;
  world_init(&w, 2, 1, 1, 1, 2, 1, (emu_cost){1, 1}, (emu_cost){0.5, 0.5}, (emu_cost){2, 3});
  rows r = {0};
  /* both forwards reach the hop at 1 (owner 0 first on the tie): fwd0 1-3, fwd1 3-5,
   * bwd0 5-8, bwd1 8-11, fwd0' 11-13, fwd1' 13-15 (arrived at 13, as the hop freed),
   * bwd0' 15-18, bwd1' 18-21; owner 1's last M_1 backward ends at 22 */
  assert_near(play(&w, 1, &r, NULL), 22, "round time");
  const mpsl_res_event *e = find(&r, 1, 1, 0, MPSL_DIR_FWD, 2);
  assert_near(e->start, 3, "owner 1 forward start");
  assert_near(e->queue_wait, 2, "owner 1 forward queue wait");
  e = find(&r, 1, 0, 0, MPSL_DIR_BWD, 2);
  assert_near(e->start, 5, "owner 0 backward start");
  assert_near(e->queue_wait, 1, "owner 0 backward wait");
  e = find(&r, 1, 1, 1, MPSL_DIR_FWD, 2);
  assert_near(e->start, 13, "owner 1 second forward");
  assert_near(e->queue_wait, 0, "no wait when it arrives as the hop frees");
  e = find(&r, 3, 1, 1, MPSL_DIR_BWD, 1);
  assert_near(e->end, 22, "last M_1 backward");
  free(r.v);
  world_free(&w);
}
END_TEST

/* ---- policies ----------------------------------------------------------------------- */

/* Three owners, one hop; at t = 5 the hop holds owner 2's forward (arrived at 1) and
 * owner 0's backward (arrived at 4). fifo: fwd2 5-7, bwd0 7-8, bwd1 8-9, bwd2 9-10, last
 * M_1 backward ends at 11. bwd-first: bwd0 5-6, bwd1 6-7, fwd2 7-9, bwd2 10-11 (owner 2's
 * M_P runs 9-10), ends at 12. */
static double policy_round(int policy, rows *r) {
  world w;
  world_init(&w, 3, 1, 1, 1, 1, 1, (emu_cost){1, 1}, (emu_cost){0.5, 0.5}, (emu_cost){2, 1});
  w.s.policy = policy;
  double t = play(&w, 1, r, NULL);
  world_free(&w);
  return t;
}

START_TEST(policies_differ) {
  rows f = {0}, b = {0};
  assert_near(policy_round(0, &f), 11, "fifo round");
  assert_near(policy_round(1, &b), 12, "bwd-first round");
  assert_near(find(&f, 1, 2, 0, MPSL_DIR_FWD, 2)->start, 5, "fifo runs the older forward");
  assert_near(find(&f, 1, 0, 0, MPSL_DIR_BWD, 2)->start, 7, "fifo: backward after it");
  assert_near(find(&b, 1, 0, 0, MPSL_DIR_BWD, 2)->start, 5, "bwd-first runs the backward");
  assert_near(find(&b, 1, 1, 0, MPSL_DIR_BWD, 2)->start, 6, "and the next backward");
  assert_near(find(&b, 1, 2, 0, MPSL_DIR_FWD, 2)->start, 7, "the forward waits");
  assert_near(find(&b, 1, 2, 0, MPSL_DIR_FWD, 2)->queue_wait, 6, "for 6 s");
  /* ties at t = 1: the lower data owner first */
  assert_near(find(&f, 1, 0, 0, MPSL_DIR_FWD, 2)->start, 1, "owner 0 first");
  assert_near(find(&f, 1, 1, 0, MPSL_DIR_FWD, 2)->start, 3, "owner 1 second");
  free(f.v);
  free(b.v);
}
END_TEST

/* With a single owner there is never a choice: both policies give the same rows. */
START_TEST(policies_agree_without_choice) {
  world w;
  rows a = {0}, b = {0};
  world_init(&w, 1, 3, 1, 1, 3, 2, (emu_cost){1, 1}, (emu_cost){0.5, 0.5}, (emu_cost){2, 1});
  double ta = play(&w, 1, &a, NULL);
  w.s.policy = 1;
  double tb = play(&w, 1, &b, NULL);
  ck_assert(ta == tb);
  ck_assert_int_eq(a.n, b.n);
  ck_assert(memcmp(a.v, b.v, (size_t)a.n * sizeof *a.v) == 0);
  free(a.v);
  free(b.v);
  world_free(&w);
}
END_TEST

/* ---- links ------------------------------------------------------------------------- */

/* One owner, one hop, one batch: compute 1 + 2 + 0.5 + 0.5 + 3 + 1 = 8; four messages on
 * the owner's link (activation 1000 B up, 500 B down; gradient 500 B up, 1000 B down),
 * each n / bw + lat; then the state (200 B) to the aggregator and back. */
static double link_round(double bw, double lat) {
  world w;
  world_init(&w, 1, 1, 1, 1, 1, 1, (emu_cost){1, 1}, (emu_cost){0.5, 0.5}, (emu_cost){2, 3});
  w.s.cut_bytes[1] = 500;
  w.s.owner_cn[0] = (emu_link){bw, lat};
  w.s.owner_agg[0] = (emu_link){100, 0.05};
  rows r = {0};
  double t = play(&w, 1, &r, NULL);
  free(r.v);
  world_free(&w);
  return t;
}

START_TEST(narrow_link) {
  double agg = 2 * (200 / 100.0 + 0.05);
  assert_near(link_round(1000, 0.1), 8 + 3000 / 1000.0 + 4 * 0.1 + agg, "1000 B/s");
  assert_near(link_round(2000, 0.1), 8 + 3000 / 2000.0 + 4 * 0.1 + agg, "2000 B/s");
  assert_near(link_round(0, 0), 8 + agg, "unlimited");
  /* halving the bandwidth adds the bytes' time once more */
  assert_near(link_round(500, 0.1) - link_round(1000, 0.1), 3000 / 1000.0, "difference");
}
END_TEST

/* A link sends one message at a time: hop 1 finishes two forwards 1 s apart, but each
 * activation takes 3 s on the hop-to-hop link, so the second leaves when the first has
 * gone (at 5) and reaches hop 2 at 8. */
START_TEST(link_busy_while_sending) {
  world w;
  world_init(&w, 2, 2, 1, 1, 1, 1, (emu_cost){1, 1}, (emu_cost){0.5, 0.5}, (emu_cost){1, 1});
  w.s.cut_bytes[1] = 3000;
  w.s.cn_cn = (emu_link){1000, 0};
  rows r = {0};
  play(&w, 1, &r, NULL);
  const mpsl_res_event *e = find(&r, 2, 0, 0, MPSL_DIR_FWD, 3);
  assert_near(e->start, 5, "first activation at hop 2");
  e = find(&r, 2, 1, 0, MPSL_DIR_FWD, 3);
  assert_near(e->start, 8, "second activation at hop 2");
  assert_near(e->queue_wait, 0, "it waited on the link, not in the queue");
  free(r.v);
  world_free(&w);
}
END_TEST

/* ---- the end of a round ------------------------------------------------------------- */

/* Two pipelines of one hop, one owner each: they run side by side; then each hop averages
 * its one copy (1e-3 s/B x 5000 B x 1 / speed 1 = 5 s) and the two exchange the hop's
 * 5000 B twice over the hop-to-hop link (2 x (5 + 0.5) s). The owners' state goes up and
 * back over unlimited links, the aggregator averages in 1e-3 x 200 x 2 / 2 = 0.2 s. */
START_TEST(round_end) {
  world w;
  world_init(&w, 2, 1, 2, 1, 1, 1, (emu_cost){1, 1}, (emu_cost){0.5, 0.5}, (emu_cost){2, 3});
  w.s.agg_s_per_byte = 1e-3;
  w.s.agg_speed = 2;
  w.s.cn_cn = (emu_link){1000, 0.5};
  rows r = {0};
  /* each owner: 1 + 2 + 1 + 3 = 7 when its hop ends, 8 when its M_1 backward ends */
  assert_near(play(&w, 1, &r, NULL), 7 + 5 + 2 * 5.5, "hops decide");
  ck_assert_int_eq(find(&r, 2, 1, 0, MPSL_DIR_FWD, 2)->rank, 2); /* owner 1: pipeline 1 */
  free(r.v);
  r.n = 0, r.v = NULL, r.cap = 0;
  /* a slow way to the aggregator makes the owners decide */
  for (int k = 0; k < 2; k++) w.s.owner_agg[k] = (emu_link){10, 1};
  assert_near(play(&w, 1, &r, NULL), 8 + (20 + 1) + 0.2 + (20 + 1), "owners decide");
  free(r.v);
  world_free(&w);
}
END_TEST

/* ---- traffic ----------------------------------------------------------------------- */

START_TEST(links_and_audit) {
  world w;
  /* 3 owners, 2 per rank, one pipeline of 2 hops: ranks 0 agg, 1-2 hops, 3 (owners 0, 1), 4 (owner 2) */
  world_init(&w, 3, 2, 1, 2, 2, 2, (emu_cost){1, 1}, (emu_cost){0.5, 0.5}, (emu_cost){1, 1});
  w.s.cut_bytes[0] = 100, w.s.cut_bytes[1] = 10, w.s.cut_bytes[2] = 1;
  w.s.hop_state[0] = 7000, w.s.hop_state[1] = 9000;
  rows r = {0};
  sim *x = sim_new(&w.s, &w.t);
  sim_sink sink = {collect, &r, 0, 0};
  double len;
  ck_assert_int_eq(sim_round(x, 0, 0, &sink, &len), 0);
  mpsl_res_link *l;
  int64_t n = sim_links(x, 0, &l);
  struct {
    int src, dst;
    int64_t bytes, msgs;
  } want[] = {
      {1, 0, 7000, 1},    {1, 2, 4 * 3 * 10, 12}, {1, 3, 8 * 100, 8}, {1, 4, 4 * 100, 4},
      {2, 0, 9000, 1},    {2, 1, 4 * 3 * 10, 12}, {2, 3, 8 * 1, 8},   {2, 4, 4 * 1, 4},
      {3, 0, 2 * 200, 2}, {3, 1, 8 * 100, 8},     {3, 2, 8 * 1, 8},   {4, 0, 200, 1},
      {4, 1, 4 * 100, 4}, {4, 2, 4 * 1, 4},       {0, 3, 200, 1},     {0, 4, 200, 1},
  };
  int nw = (int)(sizeof want / sizeof want[0]);
  ck_assert_int_eq(n, nw);
  for (int i = 0; i < nw; i++) {
    int found = 0;
    for (int64_t j = 0; j < n; j++)
      if (l[j].src == want[i].src && l[j].dst == want[i].dst) {
        found = 1;
        ck_assert_msg(l[j].bytes == want[i].bytes && l[j].messages == want[i].msgs,
                      "link %d->%d: %lld bytes %lld messages, expected %lld %lld", want[i].src, want[i].dst,
                      (long long)l[j].bytes, (long long)l[j].messages, (long long)want[i].bytes,
                      (long long)want[i].msgs);
      }
    ck_assert_msg(found, "no row for link %d->%d", want[i].src, want[i].dst);
  }
  for (int64_t j = 1; j < n; j++)
    ck_assert(l[j - 1].src < l[j].src || (l[j - 1].src == l[j].src && l[j - 1].dst < l[j].dst));
  mpsl_res_audit a[3];
  sim_audit(x, 0, a);
  for (int k = 0; k < 3; k++) {
    ck_assert_int_eq(a[k].owner, k);
    ck_assert_int_eq(a[k].activation, 4);
    ck_assert_int_eq(a[k].gradient, 4);
    ck_assert_int_eq(a[k].model, 1);
    ck_assert_int_eq(a[k].input + a[k].label, 0);
  }
  /* 3 owners x 4 batches x (4 + 2 x 2) tasks */
  ck_assert_int_eq(r.n, 3 * 4 * 8);
  ck_assert_int_eq(find(&r, 3, 1, 0, MPSL_DIR_FWD, 1)->rank, 3);
  ck_assert_int_eq(find(&r, 4, 2, 0, MPSL_DIR_FWD, 4)->part, 4);
  free(l);
  free(r.v);
  sim_free(x);
  world_free(&w);
}
END_TEST

/* ---- determinism --------------------------------------------------------------------- */

START_TEST(same_input_same_rows) {
  world w;
  world_init(&w, 7, 3, 2, 3, 3, 2, (emu_cost){0.3, 0.7}, (emu_cost){0.1, 0.2}, (emu_cost){0.4, 0.6});
  w.s.jitter = 0.3;
  w.s.seed = 42;
  w.s.policy = 1;
  w.s.cn_cn = (emu_link){1e4, 0.01};
  for (int k = 0; k < 7; k++) w.s.owner_cn[k] = (emu_link){2e3 * (k + 1), 0.02};
  rows a = {0}, b = {0};
  double ta[3], tb[3];
  play(&w, 3, &a, ta);
  play(&w, 3, &b, tb);
  ck_assert_int_eq(a.n, 3 * 7 * 6 * (4 + 2 * 3));
  ck_assert_int_eq(a.n, b.n);
  ck_assert(memcmp(a.v, b.v, (size_t)a.n * sizeof *a.v) == 0);
  ck_assert(memcmp(ta, tb, sizeof ta) == 0);
  /* jitter moves data-owner tasks inside [1 - j, 1 + j] of their cost, never the hops' */
  int moved = 0;
  for (int64_t i = 0; i < a.n; i++) {
    const mpsl_res_event *e = &a.v[i];
    double d = e->end - e->start;
    if (e->role == 1) {
      assert_near(d, e->direction ? 0.6 : 0.4, "hop task");
    } else if (e->part == 1) {
      double c = e->direction ? 0.7 : 0.3;
      ck_assert(d >= c * 0.7 - EPS && d <= c * 1.3 + EPS);
      moved += fabs(d - c) > 1e-6;
    }
  }
  ck_assert_int_gt(moved, 0);
  free(a.v);
  free(b.v);
  world_free(&w);
}
END_TEST

/* ---- mpsl simulate end to end ------------------------------------------------------- */

/* A profile of vgg11-cifar (width 1/16, 1x32x32 inputs as Fashion-MNIST gives, batch 4)
 * whose layer i takes i ms forward, 2i ms backward and 0.5 ms to update. */
static double write_profile(const char *path) {
  mpsl_model m;
  mpsl_model_opts o = {10, 1, 32, 0.0625};
  ck_assert_int_eq(mpsl_model_build(&m, "vgg11-cifar", &o), 0);
  mpsl_profile p;
  memset(&p, 0, sizeof p);
  snprintf(p.model, sizeof p.model, "vgg11-cifar");
  p.batch = 4, p.classes = 10, p.channels = 1, p.size = 32, p.width = 0.0625;
  p.reps = 1, p.threads = 1;
  snprintf(p.host, sizeof p.host, "test");
  p.nlayers = m.nlayers;
  p.layers = calloc((size_t)m.nlayers, sizeof *p.layers);
  double step = 0;
  for (int i = 0; i < m.nlayers; i++) {
    mpsl_profile_layer *l = &p.layers[i];
    l->index = i + 1;
    snprintf(l->name, sizeof l->name, "%s", m.layers[i].name);
    snprintf(l->kind, sizeof l->kind, "%s", mpsl_layer_kind_name(m.layers[i].kind));
    l->fwd_s = l->fwd_min_s = l->fwd_max_s = 1e-3 * (i + 1);
    l->bwd_s = l->bwd_min_s = l->bwd_max_s = 2e-3 * (i + 1);
    l->update_s = l->update_min_s = l->update_max_s = 0.5e-3;
    step += l->fwd_s + l->bwd_s + l->update_s;
  }
  p.whole_step_s = p.whole_step_min_s = p.whole_step_max_s = p.layers_step_s = step;
  ck_assert_msg(mpsl_profile_save(&p, path) == 0, "%s", mpsl_errmsg());
  mpsl_profile_free(&p);
  mpsl_model_free(&m);
  return step;
}

static void config(sl_config *c, const char *extra[], int n) {
  mpsl_opts_defaults(sim_config_opts(), c);
  const char *base[] = {"model=vgg11-cifar", "width=0.0625", "batch=4",        "batches=2",
                        "local_epochs=2",    "rounds=2",     "clients=1",      "hops=1",
                        "profile=p.h5",      "output=s.h5",  "devices=dev.ini"};
  for (unsigned i = 0; i < sizeof base / sizeof base[0]; i++) {
    char kv[128];
    snprintf(kv, sizeof kv, "%s", base[i]);
    char *eq = strchr(kv, '=');
    *eq = '\0';
    ck_assert_int_eq(mpsl_opts_set(sim_config_opts(), c, kv, eq + 1, "test"), 0);
  }
  for (int i = 0; i < n; i++) {
    char kv[128];
    snprintf(kv, sizeof kv, "%s", extra[i]);
    char *eq = strchr(kv, '=');
    *eq = '\0';
    ck_assert_int_eq(mpsl_opts_set(sim_config_opts(), c, kv, eq + 1, "test"), 0);
  }
}

static void setup(void) {
  workdir_enter("sim");
  FILE *f = fopen("dev.ini", "w");
  ck_assert_ptr_nonnull(f);
  fputs(
      "[half]\ndescription = a device at half the host's speed\nspeed = 0.5\nmemory = 64G\n"
      "source = a test device\n",
      f);
  fclose(f);
}
static void teardown(void) { workdir_leave(); }

/* One owner, one hop, unlimited links: a batch costs the sum of every layer's forward,
 * backward and update whatever the cuts, on the data owner's device for M_1 and M_P. */
START_TEST(simulate_end_to_end) {
  double step = write_profile("p.h5");
  sl_config c;
  config(&c, NULL, 0);
  FILE *log = fopen("log.txt", "w");
  ck_assert_msg(sim_simulate(&c, 0, log) == 0, "%s", mpsl_errmsg());
  fclose(log);
  mpsl_res_round *r;
  int64_t n;
  ck_assert_int_eq(mpsl_results_read("s.h5", MPSL_RES_ROUNDS, (void **)&r, &n), 0);
  ck_assert_int_eq(n, 2);
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(r[i].round, i + 1);
    assert_near(r[i].time_s, 4 * step, "time_s");
    ck_assert(r[i].wall_s == r[i].time_s);
    ck_assert(isnan(r[i].train_loss) && isnan(r[i].test_loss) && isnan(r[i].test_acc));
    ck_assert_int_eq(r[i].overruns, 0);
  }
  free(r);
  mpsl_res_event *e;
  ck_assert_int_eq(mpsl_results_read("s.h5", MPSL_RES_EVENTS, (void **)&e, &n), 0);
  ck_assert_int_eq(n, 2 * 4 * 6);
  free(e);
  char *v;
  ck_assert_int_eq(mpsl_results_attr("s.h5", "mode", &v), 0);
  ck_assert_str_eq(v, "simulate");
  free(v);
  ck_assert_int_eq(mpsl_results_attr("s.h5", "status", &v), 0);
  ck_assert_str_eq(v, "finished");
  free(v);
  ck_assert_int_eq(mpsl_results_attr("s.h5", "config", &v), 0);
  ck_assert_ptr_nonnull(strstr(v, "compute = profiled"));
  ck_assert_ptr_nonnull(strstr(v, "cuts = "));
  free(v);
  ck_assert_int_eq(mpsl_results_attr("s.h5", "sim_events_per_s", &v), 0);
  ck_assert(atof(v) > 0);
  free(v);

  /* data owners at half speed: their parts cost twice as much; the hop's do not */
  mpsl_profile p;
  ck_assert_int_eq(mpsl_profile_load(&p, "p.h5"), 0);
  emu_cost m1 = emu_range_cost(&p, 1, c.cuts.v[0], 1), mid = emu_range_cost(&p, c.cuts.v[0] + 1, c.cuts.v[1], 1),
           mp = emu_range_cost(&p, c.cuts.v[1] + 1, p.nlayers, 1);
  mpsl_profile_free(&p);
  const char *slow[] = {"do_devices=half"};
  config(&c, slow, 1);
  log = fopen("log.txt", "w");
  ck_assert_msg(sim_simulate(&c, 0, log) == 0, "%s", mpsl_errmsg());
  fclose(log);
  ck_assert_int_eq(mpsl_results_read("s.h5", MPSL_RES_ROUNDS, (void **)&r, &n), 0);
  double batch = 2 * (m1.fwd + m1.bwd + mp.fwd + mp.bwd) + mid.fwd + mid.bwd;
  assert_near(r[0].time_s, 4 * batch, "half-speed owners");
  free(r);
}
END_TEST

/* A configuration over a device's memory is refused like `mpsl run` refuses it, and a
 * profile of another model is refused naming the file. */
START_TEST(simulate_refuses) {
  write_profile("p.h5");
  sl_config c;
  const char *tiny[] = {"devices=tiny.ini", "cn_devices=tiny"};
  FILE *f = fopen("tiny.ini", "w");
  fputs("[tiny]\ndescription = a device with 1 KiB of memory\nspeed = 1\nmemory = 1K\nsource = a test device\n", f);
  fclose(f);
  config(&c, tiny, 2);
  FILE *log = fopen("log.txt", "w");
  ck_assert_int_eq(sim_simulate(&c, 0, log), -1);
  ck_assert_msg(strstr(mpsl_errmsg(), "tiny") != NULL, "%s", mpsl_errmsg());
  const char *other[] = {"width=0.125"};
  config(&c, other, 1);
  ck_assert_int_eq(sim_simulate(&c, 0, log), -1);
  ck_assert_msg(strstr(mpsl_errmsg(), "p.h5") != NULL, "%s", mpsl_errmsg());
  fclose(log);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sim");
  TCase *t = tcase_create("engine");
  tcase_add_test(t, one_owner_one_hop);
  tcase_add_test(t, two_owners_pipelined);
  tcase_add_test(t, policies_differ);
  tcase_add_test(t, policies_agree_without_choice);
  tcase_add_test(t, narrow_link);
  tcase_add_test(t, link_busy_while_sending);
  tcase_add_test(t, round_end);
  tcase_add_test(t, links_and_audit);
  tcase_add_test(t, same_input_same_rows);
  suite_add_tcase(s, t);
  TCase *e = tcase_create("simulate");
  tcase_add_checked_fixture(e, setup, teardown);
  tcase_add_test(e, simulate_end_to_end);
  tcase_add_test(e, simulate_refuses);
  suite_add_tcase(s, e);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
