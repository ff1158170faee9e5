#include "config/runconfig.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/data.h"
#include "models/table.h"
#include "util/err.h"

static const mpsl_opt keys[] = {
    {"model", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, model), "vgg11-cifar", 0, 0, NULL,
     "model name (mpsl layers --help lists them; e.g. vgg19_bn-cifar, resnet18), or csv:PATH, a layer table "
     "(docs/table.md)",
     0},
    {"width", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, width), "1", 0.001, 16, NULL,
     "channel multiplier of the model (1 = the published model)", 0},
    {"dataset", MPSL_OPT_ENUM, MPSL_OPT_FIELD(sl_config, dataset), "fashion-mnist", 0, 0,
     "fashion-mnist|mnist|cifar10|cifar100", "training and test data", 0},
    {"data_dir", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, data_dir), NULL, 0, 0, NULL,
     "folder of the data files (default: Debian's dataset-fashion-mnist for fashion-mnist)", 0},
    {"clients", MPSL_OPT_INT, MPSL_OPT_FIELD(sl_config, clients), "4", 1, 1 << 20, NULL, "K: number of data owners", 0},
    {"hops", MPSL_OPT_INT, MPSL_OPT_FIELD(sl_config, hops), "2", 1, 63, NULL,
     "H: compute nodes in each pipeline (hops between M_1 and M_P)", 0},
    {"pipelines", MPSL_OPT_INT, MPSL_OPT_FIELD(sl_config, pipelines), "1", 1, 4096, NULL,
     "R: parallel pipelines; data owner k is served by pipeline k % R unless distribution says otherwise", 0},
    {"cuts", MPSL_OPT_INTLIST, MPSL_OPT_FIELD(sl_config, cuts), NULL, 1, 100000, NULL,
     "H+1 layer indices: M_1 = 1..c1, hop i = c_i+1..c_{i+1}, M_P = c_{H+1}+1..L "
     "(empty: after the first ReLU, FLOP-balanced hops, M_P = last layer); plan: the cut planner's optimum between "
     "the default first and last cuts, plan:FIRST,LAST between those (mpsl plan)",
     MPSL_OPT_PLAN},
    {"distribution", MPSL_OPT_INTLIST, MPSL_OPT_FIELD(sl_config, distribution), NULL, 0, 1 << 20, NULL,
     "data owners per pipeline, N0,N1,... adding up to clients: the first N0 on pipeline 0, the next N1 on "
     "pipeline 1, ... (empty: data owner k on pipeline k % R); plan: the planner's distribution by speed within "
     "the memory caps (mpsl plan)",
     MPSL_OPT_PLAN},
    {"owners_per_rank", MPSL_OPT_INT, MPSL_OPT_FIELD(sl_config, owners_per_rank), "1", 1, 1 << 20, NULL,
     "data owners hosted by each data-owner rank", 0},
    {"batch", MPSL_OPT_INT, MPSL_OPT_FIELD(sl_config, batch), "128", 1, 65536, NULL,
     "mini-batch size of every data owner", 0},
    {"batches", MPSL_OPT_INT, MPSL_OPT_FIELD(sl_config, batches), "16", 1, 1 << 24, NULL,
     "B: batches per local epoch (a shard smaller than B*batch wraps around)", 0},
    {"local_epochs", MPSL_OPT_INT, MPSL_OPT_FIELD(sl_config, local_epochs), "2", 1, 1 << 20, NULL,
     "r: local epochs of B batches per round", 0},
    {"rounds", MPSL_OPT_INT, MPSL_OPT_FIELD(sl_config, rounds), "1", 1, 1 << 20, NULL,
     "global rounds (aggregation and evaluation after each)", 0},
    {"lr", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, lr), "0.01", 0, 100, NULL, "SGD learning rate", 0},
    {"lr_schedule", MPSL_OPT_ENUM, MPSL_OPT_FIELD(sl_config, lr_schedule), "constant", 0, 0, "constant|cosine",
     "learning rate per round: constant (lr), or cosine, lr * (1 + cos(pi * t / rounds)) / 2 in round t = 0 .. "
     "rounds-1 (held for the round)",
     0},
    {"momentum", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, momentum), "0.9", 0, 1, NULL,
     "SGD momentum (buffers restart from zero every round)", 0},
    {"weight_decay", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, weight_decay), "1e-4", 0, 1, NULL,
     "L2 weight decay (PyTorch's SGD rule)", 0},
    {"seed", MPSL_OPT_INT64, MPSL_OPT_FIELD(sl_config, seed), "1", 0, 9007199254740992.0, NULL,
     "seed of initial weights, partition, batch order, augmentation and dropout", 0},
    {"partition", MPSL_OPT_ENUM, MPSL_OPT_FIELD(sl_config, partition), "iid", 0, 0, "iid|dirichlet",
     "how the training set is split over the data owners", 0},
    {"alpha", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, alpha), "0.5", 1e-6, 1e6, NULL,
     "Dirichlet concentration for partition=dirichlet (small: more skewed labels)", 0},
    {"shuffle", MPSL_OPT_BOOL, MPSL_OPT_FIELD(sl_config, shuffle), "true", 0, 0, NULL,
     "reshuffle each shard every local epoch", 0},
    {"augment", MPSL_OPT_BOOL, MPSL_OPT_FIELD(sl_config, augment), "false", 0, 0, NULL,
     "random crop (padding 4) and horizontal flip of training batches", 0},
    {"policy", MPSL_OPT_ENUM, MPSL_OPT_FIELD(sl_config, policy), "fifo", 0, 0, "fifo|bwd-first",
     "order in which a compute node serves its queue of tasks", 0},
    {"compute", MPSL_OPT_ENUM, MPSL_OPT_FIELD(sl_config, compute), "real", 0, 0, "real|profiled",
     "real: train with oneDNN, then wait until the device would have finished; profiled: compute nothing, "
     "wait the profiled time of the device (messages keep their real sizes)",
     0},
    {"profile", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, profile), NULL, 0, 0, NULL,
     "host profile of the model at this batch (mpsl profile); empty: PROFILE_DIR/MODEL-bBATCH-....h5, "
     "measured there when missing",
     0},
    {"profile_dir", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, profile_dir), "profiles", 0, 0, NULL,
     "where host profiles are looked for and cached", 0},
    {"devices", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, devices), NULL, 0, 0, NULL,
     "a device catalogue read after the shipped experiments/devices.ini (adds or replaces devices)", 0},
    {"do_devices", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, do_devices), "host", 0, 0, NULL,
     "device of the data owners: a name, or a mix NAME:COUNT,... covering all of them in order "
     "(rpi4b:20,rpi3b:10)",
     0},
    {"cn_devices", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, cn_devices), "host", 0, 0, NULL,
     "device of the compute nodes: a name, or a mix NAME:COUNT,... over pipeline 0 hop 1..H, pipeline 1, ...", 0},
    {"agg_device", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, agg_device), "host", 0, 0, NULL,
     "device of the aggregator", 0},
    {"do_cn_bw", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, do_cn_bw), "inf", 0, 0, NULL,
     "bandwidth between a data owner and its hops (8Mbit, 100MB/s, inf)", 0},
    {"do_cn_lat", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, do_cn_lat), "0", 0, 3600, NULL,
     "latency between a data owner and its hops, seconds", 0},
    {"cn_cn_bw", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, cn_cn_bw), "inf", 0, 0, NULL,
     "bandwidth between consecutive hops, and between a hop and the aggregator", 0},
    {"cn_cn_lat", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, cn_cn_lat), "0", 0, 3600, NULL,
     "latency between consecutive hops, and between a hop and the aggregator, seconds", 0},
    {"do_agg_bw", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, do_agg_bw), "inf", 0, 0, NULL,
     "bandwidth between a data owner and the aggregator", 0},
    {"do_agg_lat", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, do_agg_lat), "0", 0, 3600, NULL,
     "latency between a data owner and the aggregator, seconds", 0},
    {"do_links", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, do_links), NULL, 0, 0, NULL,
     "per-data-owner link overrides BW@LATENCY:COUNT,... in data-owner order (8Mbit@0.02:20,2Mbit@0.05:10); "
     "they replace both links of those data owners",
     0},
    {"jitter", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, jitter), "0", 0, 0.9, NULL,
     "data-owner task times are multiplied by a seeded uniform factor in [1-jitter, 1+jitter]", 0},
    {"absence", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, absence), "0", 0, 0.99, NULL,
     "probability that a data owner sits out a round, seeded by (seed, round, owner): it trains and sends nothing "
     "and gets the global model at the round's end; FedAvg is over the owners that trained (the audit table's "
     "zeros say who sat out)",
     0},
    {"availability", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, availability), NULL, 0, 0, NULL,
     "a trace file of the data owners that sit out each round, lines ROUND: OWNER OWNER ... (rounds from 1, owners "
     "from 0, # comments; docs/run.md), instead of absence",
     0},
    {"straggler_rate", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, straggler_rate), "0", 0, 1, NULL,
     "probability that a data owner straggles in a round, seeded by (seed, round, owner): its tasks take "
     "straggler_factor times their time (emulation and simulation)",
     0},
    {"straggler_factor", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, straggler_factor), "4", 1, 1e6, NULL,
     "how many times longer a straggling data owner's tasks take", 0},
    {"fail_round", MPSL_OPT_INT, MPSL_OPT_FIELD(sl_config, fail_round), "0", 0, 1 << 30, NULL,
     "a compute node leaves in this round (1-based; 0: none), after a notice: from fail_at seconds after the "
     "round's start no data owner of its pipeline starts another batch; the batches in flight finish, the node's "
     "finished copies still join the average, the owners that did not finish the round are left out of its FedAvg; "
     "it is back for the next round (docs/run.md)",
     0},
    {"fail_node", MPSL_OPT_INT, MPSL_OPT_FIELD(sl_config, fail_node), "1", 1, 1 << 20, NULL,
     "which compute node leaves in fail_round: the I-th of cn_devices' order (pipeline 0 hop 1..H, pipeline 1, "
     "...); only its pipeline matters, whose chain it breaks",
     0},
    {"fail_at", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, fail_at), "0", 0, 1e9, NULL,
     "when the node leaves: seconds after the start of fail_round (model seconds in emulation and simulation, "
     "else wall seconds since each data-owner rank began the round)",
     0},
    {"time_scale", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(sl_config, time_scale), "1", 1e-6, 1e6, NULL,
     "emulation: wall seconds per emulated second (0.01 runs a 100 s round in 1 s)", 0},
    {"memory_check", MPSL_OPT_BOOL, MPSL_OPT_FIELD(sl_config, memory_check), "true", 0, 0, NULL,
     "refuse a configuration whose accounted memory exceeds a device's cap (false: warn only, and cuts = plan ignores "
     "the caps)",
     0},
    {"test_limit", MPSL_OPT_INT, MPSL_OPT_FIELD(sl_config, test_limit), "0", 0, 1 << 30, NULL,
     "evaluate on the first N test samples only (0: all)", 0},
    {"threads", MPSL_OPT_INT, MPSL_OPT_FIELD(sl_config, threads), "0", 0, 1024, NULL,
     "OpenMP threads per rank (0: $SLURM_CPUS_PER_TASK under Slurm, else the CPUs of the rank's affinity divided by "
     "the ranks of its host whose CPUs overlap its own, at least 1)",
     0},
    {"output", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, output), "mpsl-run.h5", 0, 0, NULL,
     "results file (HDF5, docs/results.md; empty: none)", 0},
    {"checkpoint_every", MPSL_OPT_INT, MPSL_OPT_FIELD(sl_config, checkpoint_every), "1", 0, 1000000, NULL,
     "write the checkpoint OUTPUT.ckpt (the global model, the round) after every this many rounds and the last, "
     "for mpsl run --resume (0: never)",
     0},
    {"events", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, events), "all", 0, 0, NULL,
     "the results' events table: all (every task), none (no events; the rounds, memory, links and audit stay), or "
     "owners:N (the tasks of data owners 0..N-1 alone, at their devices and hops: a sample of a run of many)",
     0},
    {"save_model", MPSL_OPT_STRING, MPSL_OPT_FIELD(sl_config, save_model), NULL, 0, 0, NULL,
     "write the global model after the last round here (HDF5, PyTorch state_dict names)", 0},
};
const mpsl_optset sl_config_opts = {
    "run", "[CONFIG.ini]",   "Run MP-SL over MPI: mpirun -np $(mpsl run --ranks CONFIG) mpsl run CONFIG",
    keys,  MPSL_NOPTS(keys), offsetof(sl_config, given)};

int sl_dataset_shape(const char *name, int *classes, int *channels, int *size) {
  mpsl_dataset_facts f;
  if (mpsl_dataset_facts_of(name, &f)) return -1;
  *classes = f.classes, *channels = f.channels, *size = 32; /* 28x28 inputs are padded to 32x32 */
  return 0;
}

int sl_config_model(const sl_config *c, mpsl_model *m) {
  mpsl_model_opts o;
  mpsl_model_opts_default(&o);
  if (sl_dataset_shape(c->dataset, &o.classes, &o.channels, &o.size)) return -1;
  o.width = c->width;
  return mpsl_model_build(m, c->model, &o) ? mpsl_fail_context("model = %s", c->model) : 0;
}

/* What default cuts balance: forward FLOPs, or for a layer table (which has none) the
 * layer's time summed over the table's devices, in microseconds. */
static int64_t cut_weight(const mpsl_model *m, int i) {
  if (m->table) {
    double us = 0;
    for (int d = 0; d < m->table->ndev; d++)
      for (int k = 0; k < 3; k++) us += 1e3 * m->table->dev[d].ms[3 * i + k];
    return (int64_t)llround(us);
  }
  return m->layers[i].flops;
}

int sl_default_cuts(const mpsl_model *m, int hops, int *cuts) {
  int c1 = m->table ? 1 : 0; /* a table has no kinds: M_1 is its first layer */
  for (int i = 0; i < m->nlayers && !c1; i++)
    if (m->layers[i].kind == MPSL_L_RELU || m->layers[i].kind == MPSL_L_BLOCK) c1 = i + 1;
  int last = m->nlayers - 1; /* M_P is the last layer alone */
  if (!c1 || last - c1 < hops)
    return mpsl_fail(
        "%s has %d layers: too few to give M_1, %d hop(s) and M_P one layer each after its first "
        "ReLU (give cuts)",
        m->name, m->nlayers, hops);
  /* middle layers c1+1 .. last: cut where the running FLOP sum comes closest to i/H of the
   * total, keeping at least one layer for every hop still to come */
  int64_t total = 0;
  for (int l = c1 + 1; l <= last; l++) total += cut_weight(m, l - 1);
  cuts[0] = c1;
  int64_t run = 0;
  int at = c1;
  for (int h = 1; h < hops; h++) {
    double target = (double)total * h / hops;
    int best = at + 1;
    int64_t s = run + cut_weight(m, at);
    double bestd = s > target ? s - target : target - s;
    int64_t bests = s;
    for (int l = at + 2; l <= last - (hops - h); l++) {
      s += cut_weight(m, l - 1);
      double d = s > target ? s - target : target - s;
      if (d < bestd) bestd = d, best = l, bests = s;
    }
    cuts[h] = best;
    at = best;
    run = bests;
  }
  cuts[hops] = last;
  return 0;
}

int sl_events_owners(const sl_config *c) {
  if (!strcmp(c->events, "all")) return INT_MAX;
  if (!strcmp(c->events, "none")) return 0;
  char *end;
  long n = strncmp(c->events, "owners:", 7) ? 0 : strtol(c->events + 7, &end, 10);
  return n >= 1 && n <= INT_MAX && c->events[7] && !*end ? (int)n : -1;
}

/* "3,7,12": a list as given, for messages. */
static const char *list_text(const mpsl_intlist *l, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = '\0';
  for (int i = 0; i < l->n && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, "%s%d", i ? "," : "", l->v[i]);
  return buf;
}

int sl_config_resolve(sl_config *c, const mpsl_model *m, sl_topo *t) {
  char given[MPSL_INTLIST_MAX * 12];
  memset(t, 0, sizeof *t);
  if (sl_events_owners(c) < 0) return mpsl_fail("events = %s: expected all, none or owners:N (N >= 1)", c->events);
  int H = c->hops;
  if (mpsl_model_check_batch(m, c->batch)) return -1;
  if (!mpsl_model_trainable(m) && c->width != 1)
    return mpsl_fail("width = %g: a layer table (%s) is the model it describes, at width 1", c->width, m->name);
  if (!mpsl_model_trainable(m) && c->profile[0])
    return mpsl_fail("profile = %s: a layer table (%s) has its own times; profile is for mpsl's own models", c->profile,
                     m->name);
  if (c->cuts.plan) {
    /* a placeholder until the planner has chosen (plan/resolve.h): the default cuts, or
     * the given ends with the hops before the last one layer each */
    if (c->cuts.n == 2) {
      int a = c->cuts.v[0], b = c->cuts.v[1], top = m->table ? m->nlayers : m->nlayers - 1;
      if (a < 1 || b > top || b - a < H)
        return mpsl_fail(
            "cuts = plan:%d,%d: expected 1 <= FIRST and LAST <= %d with at least one layer for each of "
            "the %d hop(s) between them (%s has %d layers)",
            a, b, top, H, m->name, m->nlayers);
      for (int h = 0; h < H; h++) c->cuts.v[h] = a + h;
      c->cuts.v[H] = b;
    } else if (sl_default_cuts(m, H, c->cuts.v)) {
      return mpsl_fail_context("hops = %d", H);
    }
    c->cuts.n = H + 1;
  } else if (c->cuts.n == 0) {
    if (sl_default_cuts(m, H, c->cuts.v)) return mpsl_fail_context("hops = %d", H);
    c->cuts.n = H + 1;
  } else if (c->cuts.n != H + 1) {
    return mpsl_fail("cuts = %s: %d value(s) but %d hop(s) need %d (expected M_1 | hop 1 | ... | hop %d | M_P)",
                     list_text(&c->cuts, given, sizeof given), c->cuts.n, H, H + 1, H);
  }
  /* a layer table's data owner may keep no last part: it computes only the loss */
  int top = m->table ? m->nlayers : m->nlayers - 1;
  for (int i = 0; i <= H; i++) {
    if (c->cuts.v[i] < 1 || c->cuts.v[i] > top || (i < H && c->cuts.v[i] >= m->nlayers))
      return mpsl_fail(
          "cuts = %s: cut %d is out of range: %s has %d layers, so a cut lies in 1..%d (see mpsl layers %s)",
          list_text(&c->cuts, given, sizeof given), c->cuts.v[i], m->name, m->nlayers, i < H ? m->nlayers - 1 : top,
          m->name);
    if (i && c->cuts.v[i] <= c->cuts.v[i - 1])
      return mpsl_fail("cuts = %s: cuts must be strictly increasing: %d follows %d",
                       list_text(&c->cuts, given, sizeof given), c->cuts.v[i], c->cuts.v[i - 1]);
  }
  if (c->clients < c->pipelines)
    return mpsl_fail(
        "pipelines = %d: %d pipelines for %d data owners: some pipeline would serve nobody (expected pipelines <= "
        "clients)",
        c->pipelines, c->pipelines, c->clients);
  if (c->fail_round > c->rounds)
    return mpsl_fail("fail_round = %d: the run has %d round(s) (expected 0 for none, or 1..%d)", c->fail_round,
                     c->rounds, c->rounds);
  if (c->fail_round && c->fail_node > H * c->pipelines)
    return mpsl_fail("fail_node = %d: there are %d compute node(s), %d pipeline(s) of %d hop(s) (expected 1..%d)",
                     c->fail_node, H * c->pipelines, c->pipelines, H, H * c->pipelines);
  t->K = c->clients;
  t->H = H;
  t->R = c->pipelines;
  t->P = H + 2;
  t->opr = c->owners_per_rank;
  t->owner_ranks = (t->K + t->opr - 1) / t->opr;
  t->nranks = 1 + t->R * t->H + t->owner_ranks;
  if (c->distribution.plan && c->distribution.n)
    return mpsl_fail("distribution = plan takes no values (got %d)", c->distribution.n);
  if (c->distribution.n) {
    /* also the placeholder of distribution = plan: k % R is used until the planner chose */
    if (c->distribution.n != t->R)
      return mpsl_fail("distribution = %s: %d value(s) but there are %d pipelines (expected one count per pipeline)",
                       list_text(&c->distribution, given, sizeof given), c->distribution.n, t->R);
    int sum = 0;
    for (int p = 0; p < t->R; p++) {
      if (c->distribution.v[p] < 1)
        return mpsl_fail("distribution = %s: pipeline %d gets %d data owners (expected at least 1)",
                         list_text(&c->distribution, given, sizeof given), p, c->distribution.v[p]);
      sum += c->distribution.v[p];
      t->block_end[p] = sum;
    }
    if (sum != t->K)
      return mpsl_fail(
          "distribution = %s: the counts add up to %d but there are %d data owners (expected clients = %d)",
          list_text(&c->distribution, given, sizeof given), sum, t->K, t->K);
    t->blocks = 1;
  }
  for (int p = 0; p < t->P; p++) {
    t->first[p] = p ? c->cuts.v[p - 1] + 1 : 1;
    t->last[p] = p < t->P - 1 ? c->cuts.v[p] : m->nlayers;
  }
  return 0;
}

/* A file the run will write every round or at its end: the nearest folder on its way that
 * exists must take files (the others are made when it is written), now rather than after
 * the last round. */
static int writable_dir(const char *key, const char *path) {
  if (!path[0]) return 0;
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return mpsl_fail("%s = %s: a folder (expected the path of a file to write)", key, path);
  char dir[MPSL_PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  for (;;) {
    char *slash = strrchr(dir, '/');
    if (!slash)
      snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
      dir[1] = '\0';
    else
      *slash = '\0';
    if (access(dir, F_OK) == 0 || !slash || slash == dir) break;
  }
  if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
    return mpsl_fail("%s = %s: %s is not a folder (expected a path whose folders can be made)", key, path, dir);
  if (access(dir, W_OK | X_OK))
    return mpsl_fail("%s = %s: cannot write into %s (%s)", key, path, dir, strerror(errno));
  return 0;
}

int sl_config_check_run(const sl_config *c, const mpsl_model *m) {
  if (!mpsl_model_trainable(m) && strcmp(c->compute, "profiled"))
    return mpsl_fail("model = %s is a layer table: it has nothing to train (expected compute = profiled, got %s)",
                     c->model, c->compute);
  if (c->save_model[0] && !strcmp(c->compute, "profiled"))
    return mpsl_fail("save_model = %s: compute = profiled trains no model to save (expected save_model empty, or "
                     "compute = real)",
                     c->save_model);
  return writable_dir("output", c->output) || writable_dir("save_model", c->save_model) ? -1 : 0;
}

sl_role sl_rank_role(const sl_topo *t, int rank, int *pipeline, int *hop) {
  *pipeline = *hop = -1;
  if (rank == 0) return SL_AGGREGATOR;
  if (rank <= t->R * t->H) {
    *pipeline = (rank - 1) / t->H;
    *hop = (rank - 1) % t->H;
    return SL_COMPUTE;
  }
  return SL_OWNER;
}

int sl_compute_rank(const sl_topo *t, int pipeline, int hop) { return 1 + pipeline * t->H + hop; }
int sl_owner_rank(const sl_topo *t, int owner) { return 1 + t->R * t->H + owner / t->opr; }

void sl_rank_owners(const sl_topo *t, int rank, int *first, int *n) {
  int j = rank - 1 - t->R * t->H;
  *first = j * t->opr;
  *n = t->K - *first < t->opr ? t->K - *first : t->opr;
  if (j < 0 || *n < 0) *first = *n = 0;
}

int sl_threads(int asked, int cores, int sharing) {
  if (asked > 0) return asked;
  const char *slurm = getenv("SLURM_CPUS_PER_TASK");
  int t = slurm && atoi(slurm) > 0 ? atoi(slurm) : cores / (sharing > 0 ? sharing : 1);
  if (t > cores) t = cores;
  return t < 1 ? 1 : t;
}

const char *sl_role_name(sl_role r) {
  switch (r) {
    case SL_AGGREGATOR: return "aggregator";
    case SL_COMPUTE: return "compute node";
    default: return "data owner";
  }
}

double sl_round_lr(const sl_config *c, int round) {
  if (strcmp(c->lr_schedule, "cosine") || c->rounds < 1) return c->lr;
  return c->lr * 0.5 * (1.0 + cos(M_PI * (double)round / (double)c->rounds));
}
