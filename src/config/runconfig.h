/* The configuration of an MP-SL run and the topology it implies: which rank plays which
 * role, which layers each part holds, which data owners each rank hosts.
 *
 * Ranks: 0 is the aggregator; 1 .. R*H are the compute nodes, pipeline p hop h (both from
 * 0) at rank 1 + p*H + h; the remaining ceil(K / owners_per_rank) ranks host the data
 * owners, owners j*opr .. (j+1)*opr-1 on the j-th of them. Data owner k is served by
 * pipeline k % R, or by contiguous blocks of the sizes `distribution` gives. Parts are numbered 0 .. P-1 (P = H + 2):
 * part 0 is M_1 and part P-1 is M_P (both on the data owner), part h+1 is hop h. */
#ifndef MPSL_CONFIG_RUNCONFIG_H
#define MPSL_CONFIG_RUNCONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "config/opts.h"
#include "models/model.h"

typedef struct {
  char model[MPSL_PATH_MAX], dataset[16], data_dir[MPSL_PATH_MAX], partition[16], policy[16], output[MPSL_PATH_MAX],
      save_model[MPSL_PATH_MAX], events[24], lr_schedule[16];
  double width, alpha, lr, momentum, weight_decay;
  /* emulation and timing (emu/timing.h, docs/timing.md) */
  char compute[16], profile[MPSL_PATH_MAX], profile_dir[MPSL_PATH_MAX], devices[MPSL_PATH_MAX];
  char do_devices[512], cn_devices[512], agg_device[32];
  char do_cn_bw[32], cn_cn_bw[32], do_agg_bw[32], do_links[512];
  char availability[MPSL_PATH_MAX]; /* the availability file (sl_absence_load; empty: none) */
  double do_cn_lat, cn_cn_lat, do_agg_lat, jitter, time_scale, absence, straggler_rate, straggler_factor;
  bool memory_check;
  int clients, hops, pipelines, batch, batches, local_epochs, rounds, owners_per_rank, test_limit, threads;
  int checkpoint_every;
  int fail_round, fail_node; /* a compute node that fails mid-round: round 1.., node 1.. (0: none) */
  double fail_at;            /* ... this many seconds after the round's start */
  int64_t seed;
  bool shuffle, augment;
  mpsl_intlist cuts;
  mpsl_intlist distribution; /* data owners per pipeline (empty: owner k on pipeline k % R) */
  mpsl_optmask given;
} sl_config;

/* Who sits out which round (docs/run.md, "Faults on purpose"): each data owner with
 * probability `absence`, a pure function of (seed, round, owner), or the owners the
 * availability file lists for the round. Every engine and the unsplit reference ask
 * sl_owner_absent, so that they agree. */
typedef struct {
  uint64_t seed;
  double p;        /* the absence key */
  int file;        /* 1: the availability file decides, p is 0 */
  int64_t n;       /* (round, owner) pairs the file lists */
  uint64_t *pairs; /* (n) sorted, (round - 1) << 32 | owner */
  char sha256[65]; /* of the file's bytes, as sha256sum prints it ("" without a file) */
} sl_absence;

/* From c: its seed and absence, and the availability file read and checked against its
 * clients and rounds; both absence > 0 and a file are refused. -1 with mpsl_fail
 * ("availability = FILE: FILE:LINE: ..."); *a is then empty. */
int sl_absence_load(sl_absence *a, const sl_config *c);
void sl_absence_free(sl_absence *a);
/* The text of an availability file (docs/run.md): lines `ROUND: OWNER OWNER ...` naming
 * the data owners (0 .. K-1) that sit out ROUND (1 .. rounds), each round on one line at
 * most, `#` to the end of a line a comment; a round it does not list, everyone trains.
 * path is for messages. -1 with mpsl_fail naming PATH:LINE, the value and what was
 * expected. */
int sl_availability_parse(sl_absence *a, const char *text, size_t n, const char *path, int K, int rounds);
/* Does data owner k sit out round `round` (0-based)? */
int sl_owner_absent(const sl_absence *a, int round, int k);

/* The learning rate of round `round` (0-based): lr, or with lr_schedule = cosine
 * lr * (1 + cos(pi * round / rounds)) / 2, held for the whole round. Every trainer of a
 * round (the split run's parts and the unsplit reference) takes it from here. */
double sl_round_lr(const sl_config *c, int round);

/* The option table of `mpsl run`: every key, its type, default, range and help. */
extern const mpsl_optset sl_config_opts;

typedef enum { SL_AGGREGATOR = 0, SL_COMPUTE = 1, SL_OWNER = 2 } sl_role;

typedef struct {
  int K, H, R, P, opr;
  int nranks;              /* 1 + R*H + owner ranks */
  int owner_ranks;         /* ceil(K / opr) */
  int first[66], last[66]; /* (P) layer range of each part, 1-based inclusive */
  /* distribution = N0,N1,...: pipeline p serves owners block_end[p-1] .. block_end[p]-1
   * (block_end[-1] = 0); blocks = 0: owner k is served by pipeline k % R */
  int blocks;
  int block_end[MPSL_INTLIST_MAX];
} sl_topo;

/* Classes, channels and side of the preprocessed images of a dataset, without reading it. */
int sl_dataset_shape(const char *name, int *classes, int *channels, int *size);

/* Builds the model of the configuration (caller frees with mpsl_model_free). */
int sl_config_model(const sl_config *c, mpsl_model *m);

/* Checks the configuration against the model, fills in default cuts (written back into
 * c->cuts, so the resolved configuration names them) and the topology. -1 with mpsl_fail. */
int sl_config_resolve(sl_config *c, const mpsl_model *m, sl_topo *t);

/* How many data owners' tasks the events table keeps (events key): INT_MAX (all), 0
 * (none) or N (owners:N: owners 0..N-1); -1 for a value that is none of those. */
int sl_events_owners(const sl_config *c);

/* What only `mpsl run` (and --ranks) needs beyond sl_config_resolve: a layer table runs
 * with compute = profiled alone, which has no model to save; the folders of output and
 * save_model take files now (not after the last round). -1 with mpsl_fail. */
int sl_config_check_run(const sl_config *c, const mpsl_model *m);

/* Default cuts: M_1 ends after the first ReLU (or the first block), M_P is the last layer,
 * and the layers between are cut into H contiguous groups of about equal forward FLOPs. */
int sl_default_cuts(const mpsl_model *m, int hops, int *cuts);

/* OpenMP threads of a rank that may run on `cores` CPUs (its affinity) shared with
 * `sharing` ranks (itself included): `asked` when positive; else the CPUs Slurm gave each
 * task (SLURM_CPUS_PER_TASK), at most `cores`; else cores / sharing; at least 1. */
int sl_threads(int asked, int cores, int sharing);

sl_role sl_rank_role(const sl_topo *t, int rank, int *pipeline, int *hop);
int sl_compute_rank(const sl_topo *t, int pipeline, int hop);
int sl_owner_rank(const sl_topo *t, int owner);
static inline int sl_owner_pipeline(const sl_topo *t, int owner) {
  if (!t->blocks) return owner % t->R;
  int p = 0;
  while (owner >= t->block_end[p]) p++;
  return p;
}
/* Data owners served by pipeline p. */
static inline int sl_pipeline_owners(const sl_topo *t, int p) {
  return t->blocks ? t->block_end[p] - (p ? t->block_end[p - 1] : 0) : (t->K - p + t->R - 1) / t->R;
}
/* Owners hosted by a data-owner rank: [*first, *first + *n). */
void sl_rank_owners(const sl_topo *t, int rank, int *first, int *n);
const char *sl_role_name(sl_role r);

#endif
