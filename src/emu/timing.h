/* The timing scenario: everything the duration of an MP-SL round depends on, resolved from
 * a configuration for every data owner, compute node and link. It is the one input that
 * the emulator (`mpsl run` with device types, links and profiled compute), the
 * discrete-event simulator (`mpsl simulate`), the closed form (`mpsl estimate`) and the
 * cut planner (`mpsl plan`) share, so the four model the same thing. The semantics of
 * every field (what a task costs, when a message arrives) are written out in
 * docs/timing.md; the simulator and the emulator implement exactly those rules.
 *
 * Times are seconds of the emulated system ("model seconds"): what the task would take on
 * the device. Bytes are the real byte counts of the messages of the protocol. */
#ifndef MPSL_EMU_TIMING_H
#define MPSL_EMU_TIMING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "emu/device.h"
#include "emu/profile.h"
#include "models/model.h"
#include "config/runconfig.h"

/* A directed link class: a message of n bytes sent at t leaves at max(t, the link's free
 * time), occupies the link for n / bw, and arrives latency later. bw 0 = unlimited. */
typedef struct {
  double bw;  /* bytes per second; 0: unlimited */
  double lat; /* seconds */
} emu_link;

/* Seconds of one task of one batch: forward; backward including the SGD update. The
 * forward of M_P includes the loss. */
typedef struct {
  double fwd, bwd;
} emu_cost;

typedef enum { EMU_COMPUTE_REAL = 0, EMU_COMPUTE_PROFILED = 1 } emu_compute;

typedef struct {
  /* topology and protocol, as in sl_topo / sl_config */
  int K, H, R, P;
  int batch, B, r; /* samples per batch, batches per local epoch, local epochs */
  int policy;      /* index of the policy (proto/scheduler.h: sl_policy_at): 0 fifo, 1 bwd-first */
  emu_compute compute;
  double time_scale; /* emulation only: wall seconds per model second */
  bool emulated;     /* false: no delay anywhere (host devices, unlimited links, real compute) */

  /* compute, in model seconds on the device that runs it */
  emu_cost *first, *last; /* (K) M_1 and M_P of data owner k on its device */
  emu_cost *hop;          /* (R*H) hop h of pipeline p on its device, index p*H + h */
  double agg_s_per_byte;  /* averaging cost on the aggregator's and the hops' devices (0: not modelled) */
  double jitter;          /* data-owner task times are multiplied by emu_jitter() */
  sl_absence absence;     /* who sits out which round (sl_owner_absent) */
  double straggler_rate;  /* a data owner straggles in a round with this probability (emu_jitter) */
  double straggler_factor; /* ... and its tasks take this many times their time */
  int fail_round, fail_pipe; /* a compute node of pipeline fail_pipe (0-based) fails in round fail_round (1-based; 0: none) */
  double fail_at;            /* ... this long after the round's start (emu_pipeline_lost) */
  uint64_t seed;

  /* bytes of the messages (batch of `batch` samples) */
  int64_t *cut_bytes;  /* (H+1) activation at cut i (after part i+1); its gradient has the same size */
  int64_t owner_state; /* M_1 and M_P of one data owner, as sent to the aggregator and back */
  int64_t *hop_state;  /* (H) state of hop h's part (what pipelines exchange to average it) */

  /* links */
  emu_link *owner_cn;  /* (K) data owner k <-> the hops of its pipeline, both directions */
  emu_link *owner_agg; /* (K) data owner k <-> the aggregator, both directions */
  emu_link cn_cn;      /* hop h <-> hop h+1 of a pipeline, and hop <-> aggregator */

  /* devices, for reports and memory caps */
  const mpsl_device **owner_dev; /* (K) */
  const mpsl_device **cn_dev;    /* (R*H) */
  const mpsl_device *agg_dev;
  double *owner_speed, *cn_speed; /* (K), (R*H) factor on host times (a layer table: on its columns) */
  int *cn_col;                    /* (R*H) a layer table's device whose columns hop i uses; -1 otherwise */
  int *owner_pipe;                /* (K) the pipeline that serves data owner k (sl_owner_pipeline) */
  int *pipe_owners;               /* (R) data owners of pipeline p */
  double agg_speed;

  mpsl_devices catalogue; /* owns what the device pointers point to */
} emu_scenario;

/* Fills s from the resolved configuration c (sl_config_resolve done: c->cuts holds the
 * cuts), its model m and topology t. host is the host profile of m at c->batch (same
 * model, batch, input shape and width); it may be NULL when nothing needs per-layer times
 * (real compute), and is then not read. Device speeds derived from published step times
 * need host profiles of the reference models: they are found or measured through
 * emu_profile_get (measure as given, EMU_PROFILE_*; ASSUME also takes a missing host
 * profile of profiled compute: its costs are then zero). -1 with mpsl_fail naming the key and value. */
int emu_scenario_build(emu_scenario *s, const sl_config *c, const mpsl_model *m, const sl_topo *t,
                       const mpsl_profile *host, int measure);
void emu_scenario_free(emu_scenario *s);

/* What simulate, estimate and plan start from: a parsed configuration, its model and
 * topology, the host profile of the model (measured and cached when missing) and the
 * scenario built from them. */
typedef struct {
  sl_config c;
  mpsl_model m;
  sl_topo t;
  mpsl_profile profile;
  char profile_path[MPSL_PATH_MAX]; /* where the profile came from (a layer table: its file) */
  emu_scenario s;
} emu_input;

/* Resolves in->c (default cuts filled in) and builds the rest. A model given as a layer
 * table needs no host profile: in->profile is then the columns of pipeline 0's first hop,
 * on which the other hops' speeds are factors when they share those columns. -1 with
 * mpsl_fail; in is then safe to free. */
int emu_input_load(emu_input *in);
void emu_input_free(emu_input *in);

/* Does this configuration need a host profile of its own model (profiled compute, or a
 * command that works from per-layer times: simulate, estimate, plan)? */
bool emu_needs_profile(const sl_config *c);

/* What emu_profile_get does when the cached profile does not exist: refuse (READ), measure
 * and save it (MEASURE), or, to check a configuration without measuring (mpsl run --ranks,
 * sl_run_validate), check that it could be measured into profile_dir and answer 1 with an
 * empty profile (ASSUME); emu_scenario_build then takes speed 1 and zero costs where it is
 * missing. */
enum { EMU_PROFILE_READ = 0, EMU_PROFILE_MEASURE = 1, EMU_PROFILE_ASSUME = 2 };

/* The host profile of `model` at `batch` (input shape and width of c): the file named by
 * c->profile when it is set (it must match), else PROFILE_DIR/NAME.h5 (emu_profile_path);
 * when that file does not exist, as `measure` (EMU_PROFILE_*) says: measured (3 timed runs
 * per layer) and saved there first, with a note on stderr. 0, 1 (ASSUME: missing, could be
 * measured), or -1 with mpsl_fail. */
int emu_profile_get(const sl_config *c, const char *model, int batch, int size, int channels, int classes, double width,
                    int measure, mpsl_profile *out);
/* "DIR/vgg19-b128-s32x3-c10-w1.h5": where emu_profile_get caches a profile. */
void emu_profile_path(const sl_config *c, const char *model, int batch, int size, int channels, int classes,
                      double width, char *buf, int cap);

/* Bytes of the state of layers first..last as the protocol sends it: doubles of parameters,
 * running statistics and counters (from a one-sample instance of the part), or a layer
 * table's float32 parameters (docs/table.md). -1 with mpsl_fail. */
int64_t emu_state_bytes(const mpsl_model *m, int first, int last);

/* Seconds of layers first..last (1-based, inclusive) of a profile: sums of the per-layer
 * medians (forward; backward + update), divided by speed. */
emu_cost emu_range_cost(const mpsl_profile *p, int first, int last, double speed);

/* Multiplicative jitter of a data-owner task: uniform in [1 - jitter, 1 + jitter], a pure
 * function of (seed, owner, step, task) where step is the owner's batch counted over the
 * run and task 0..3 is M_1 forward, M_P forward, M_P backward, M_1 backward (1 when
 * jitter is 0); times straggler_factor in a round the owner straggles in, a pure function
 * of (seed, round, owner) with probability straggler_rate. */
double emu_jitter(const emu_scenario *s, int owner, int64_t step, int task);

/* The failed compute node of the fail_* keys (docs/run.md): 1 when, in round `round`
 * (0-based), pipeline `pipe` has lost it `since` seconds after the round's start; its data
 * owners then start no further batch. */
static inline int emu_pipeline_lost(const emu_scenario *s, int round, int pipe, double since) {
  return round + 1 == s->fail_round && pipe == s->fail_pipe && since >= s->fail_at;
}
/* After round `round` (0-based) of a run or a simulation: if a compute node left in it,
 * one line on out saying how many data owners stopped, or a warning on stderr that none
 * did (fail_at came after every owner of its pipeline had started its last batch). */
void emu_fail_note(const sl_config *c, int round, int stopped, FILE *out);

/* The pipeline of data owner k, and the data owners of pipeline p (a scenario made by hand,
 * without the arrays, serves owner k by pipeline k % R). */
static inline int emu_owner_pipe(const emu_scenario *s, int k) { return s->owner_pipe ? s->owner_pipe[k] : k % s->R; }
static inline int emu_pipe_owners(const emu_scenario *s, int p) {
  return s->pipe_owners ? s->pipe_owners[p] : (s->K - p + s->R - 1) / s->R;
}

/* Link occupancy and latency of a message: bytes / bw (0 if unlimited), and lat. */
static inline double emu_link_busy(emu_link l, int64_t bytes) { return l.bw > 0 ? (double)bytes / l.bw : 0.0; }
/* A message's time on a free link: bytes / bw + latency. */
static inline double emu_link_time(emu_link l, int64_t bytes) { return emu_link_busy(l, bytes) + l.lat; }

/* The end-of-round costs of docs/timing.md, the same in every mode: averaging `copies`
 * states of `bytes` on a device of `speed` (0 while agg_s_per_byte is not modelled), and
 * the exchange of hop h's state between pipelines, a reduce and a broadcast (0 with one
 * pipeline). */
static inline double emu_average_s(const emu_scenario *s, int64_t bytes, int copies, double speed) {
  return s->agg_s_per_byte > 0 && speed > 0 ? s->agg_s_per_byte * (double)bytes * copies / speed : 0.0;
}
static inline double emu_exchange_s(const emu_scenario *s, int h) {
  return s->R > 1 ? 2 * emu_link_time(s->cn_cn, s->hop_state[h]) : 0.0;
}

/* The link rule of docs/timing.md, shared by the emulator and the simulator: a message of
 * `bytes` handed at t to a directed link free from *free departs at max(t, *free), keeps
 * the link busy for bytes / bw (*free becomes the end of its transmission) and arrives
 * latency later; the arrival is returned. */
static inline double emu_link_send(double *free, emu_link l, int64_t bytes, double t) {
  double depart = t > *free ? t : *free;
  *free = depart + emu_link_busy(l, bytes);
  return *free + l.lat;
}

/* The device catalogue of a configuration: the shipped experiments/devices.ini, then
 * c->devices, then, for a model given as a layer table, every device of the table that
 * the catalogues do not name (no memory cap, its own columns). -1 with mpsl_fail. */
int emu_devices_load(mpsl_devices *cat, const sl_config *c, const mpsl_model *m);

/* A mix "rpi4b:20,rpi3b:10" or a single name "rpi4b" (= all of them), assigned in order
 * to n slots: out[i] is the i-th slot's device. A mix must cover n exactly, unless it is
 * a single name. -1 with mpsl_fail naming key and value. */
int emu_parse_mix(const mpsl_devices *cat, const char *key, const char *value, int n, const mpsl_device **out);

/* A bandwidth: "8Mbit", "8Mbit/s", "100MB/s", "1Gbit", "inf"/"0" (unlimited); bits with
 * "bit", bytes with "B"; decimal prefixes k, M, G (network convention). -1 without
 * mpsl_fail (the caller names the key). */
int emu_parse_bw(const char *text, double *bytes_per_s);

/* One line per data-owner device class, compute node and link class: the readable summary
 * that `mpsl run`, `simulate` and `estimate` print before they start. */
void emu_scenario_print(const emu_scenario *s, FILE *f, const char *prefix);

#endif
