/* A profile: what one training step of each layer of a model costs on this host, in time
 * (median and spread over repeated runs of forward, backward and update) and in bytes.
 * `mpsl profile` measures it with the engine and stores it in HDF5; the emulator, the
 * simulator and the estimator read it back with mpsl_profile_load. Device types scale it
 * (see emu/device.h). The file layout is documented in docs/profile.md. */
#ifndef MPSL_EMU_PROFILE_H
#define MPSL_EMU_PROFILE_H

#include <stdint.h>
#include <stdio.h>

#include "models/model.h"

/* Written into the file's `format` attribute; the loader refuses other values. */
#define MPSL_PROFILE_FORMAT "mpsl-profile 1"

/* One row of the `layers` table. Times are seconds for the whole batch; bytes are at the
 * profile's batch size. Each layer is measured alone, as a one-layer part with plain
 * (N, C, H, W) edges, so its times include the reorders a cut at either side would pay. */
typedef struct {
  int index;                                   /* 1-based, as in the layer table */
  char name[48];                               /* module path, "layer2.1" */
  char kind[16];                               /* "conv", "block", ... (mpsl_layer_kind_name) */
  double fwd_s, fwd_min_s, fwd_max_s;          /* forward in training mode */
  double bwd_s, bwd_min_s, bwd_max_s;          /* backward: input gradient (not for layer 1) and parameter gradients */
  double update_s, update_min_s, update_max_s; /* SGD with momentum and weight decay */
  int64_t params_bytes;                        /* 4 x trainable parameters */
  int64_t grads_bytes;                         /* parameter gradients, as allocated (64-byte aligned tensors) */
  int64_t optim_bytes;                         /* optimizer state: SGD momenta, as allocated */
  int64_t act_bytes;       /* activations stored by forward for backward (includes the layer's input) */
  int64_t workspace_bytes; /* oneDNN scratchpad + workspaces (max pooling indices, ...) */
  int64_t out_bytes;       /* output activation of the batch: what crosses a cut after this layer */
  int64_t flops;           /* forward FLOPs of the batch (multiply-add = 2) */
  int64_t stats_bytes;     /* batch-norm running statistics */
  int64_t act_grad_bytes;  /* buffers of activation gradients inside the part */
  int64_t copy_bytes;      /* engine copies of the weights in oneDNN's blocked layouts */
} mpsl_profile_layer;

typedef struct {
  char model[40];
  int batch, classes, channels, size;
  double width;
  int reps, warmup, threads;
  char host[64], dnnl_version[32], date[32], mpsl_version[32];
  int nlayers;
  mpsl_profile_layer *layers; /* (nlayers) */
  /* The whole model as one part, measured the same way: the cross-check for the sum of
   * the layers (which is larger by the edge reorders of every one-layer part). */
  double whole_fwd_s, whole_bwd_s, whole_update_s;
  double whole_step_s, whole_step_min_s, whole_step_max_s; /* median / min / max of fwd + bwd + update per run */
  double layers_step_s;                                    /* sum over layers of fwd_s + bwd_s + update_s */
  int64_t whole_bytes; /* everything nn_part_memory counts for the whole model at this batch */
  /* How contended the cores were while it was measured (docs/profile.md, "Busy cores"): */
  double cpu_ratio;   /* this process's CPU time / (wall time x threads) over the timed runs; -1 unknown */
  double others_load; /* share of the usable cores' time other processes took, 0..1; -1 unknown */
  int disturbed;      /* 1: the cores were contended, 0: they were not, -1: not recorded (older file) */
} mpsl_profile;

/* A profile is disturbed when other processes took more than MPSL_PROFILE_MAX_OTHERS_LOAD
 * of the cores our threads run on, or when this process got less than
 * MPSL_PROFILE_MIN_CPU_RATIO of wall x threads in CPU time while others took more than
 * MPSL_PROFILE_MAX_OTHERS_LOAD of the cores; without /proc/stat, the CPU time alone decides
 * (the rule and its reasons: meter_result in profile.c, docs/profile.md). */
#define MPSL_PROFILE_MIN_CPU_RATIO 0.75
#define MPSL_PROFILE_MAX_OTHERS_LOAD 0.25

typedef struct {
  int batch, reps, warmup;
  FILE *progress; /* lines while measuring (rounds, layers, the cores' load), or NULL */
} mpsl_profile_opts;

/* Measures every layer of m and then the whole model. Run r of every layer of a group
 * (consecutive layers whose parts fit in the whole model's bytes) comes before run r + 1
 * of any, so a burst of load spreads over the layers; cpu_ratio, others_load and disturbed
 * say how busy the cores were. -1 with mpsl_fail (bad batch). */
int mpsl_profile_measure(mpsl_profile *p, const mpsl_model *m, const mpsl_profile_opts *o);

/* Writes PATH.tmp.HOST.PID (one per process), then renames it to PATH. -1 with mpsl_fail
 * naming the file. */
int mpsl_profile_save(const mpsl_profile *p, const char *path);
/* Reads a file written by mpsl_profile_save. -1 with mpsl_fail naming the file and the
 * missing or malformed attribute or column; *p is then empty (safe to free). A file
 * without `disturbed`, `cpu_ratio`, `others_load` (written before mpsl recorded them)
 * loads with all three -1. */
int mpsl_profile_load(mpsl_profile *p, const char *path);
void mpsl_profile_free(mpsl_profile *p);

/* A device's profile from the host's: every time divided by speed (> 0), bytes kept.
 * out is a new copy (free it with mpsl_profile_free). */
void mpsl_profile_scale(const mpsl_profile *host, double speed, mpsl_profile *out);

/* An exclusive lock on PATH.lock (created when missing, kept afterwards) for filling a
 * shared profile cache: waits while another process holds it (with a note on stderr).
 * Returns the descriptor to pass to mpsl_profile_unlock, or -1 when the lock cannot be had
 * (the directory is not writable, the file system has no locks): a note says so and the
 * caller goes on without it (the rename of mpsl_profile_save still keeps the file whole). */
int mpsl_profile_lock(const char *path);
void mpsl_profile_unlock(int fd);

/* When p is disturbed (disturbed == 1), prints to f one line `mpsl: warning: profile PATH
 * was measured while the cores were busy (disturbed = 1: ...)`, once per PATH in this
 * process. Returns 1 when it printed, else 0. */
int mpsl_profile_warn(const mpsl_profile *p, const char *path, FILE *f);

/* The readable table: one line per layer, then the totals and the cross-check. */
void mpsl_profile_print(const mpsl_profile *p, FILE *f);

/* Median of v[0..n) (sorts v). */
double mpsl_median(double *v, int n);

#endif
