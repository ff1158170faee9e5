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
} mpsl_profile;

typedef struct {
  int batch, reps, warmup;
  FILE *progress; /* one line per layer while measuring, or NULL */
} mpsl_profile_opts;

/* Measures every layer of m and then the whole model. -1 with mpsl_fail (bad batch). */
int mpsl_profile_measure(mpsl_profile *p, const mpsl_model *m, const mpsl_profile_opts *o);

/* Writes PATH.tmp, then renames it to PATH. -1 with mpsl_fail naming the file. */
int mpsl_profile_save(const mpsl_profile *p, const char *path);
/* Reads a file written by mpsl_profile_save. -1 with mpsl_fail naming the file and the
 * missing or malformed attribute or column; *p is then empty (safe to free). */
int mpsl_profile_load(mpsl_profile *p, const char *path);
void mpsl_profile_free(mpsl_profile *p);

/* A device's profile from the host's: every time divided by speed (> 0), bytes kept.
 * out is a new copy (free it with mpsl_profile_free). */
void mpsl_profile_scale(const mpsl_profile *host, double speed, mpsl_profile *out);

/* The readable table: one line per layer, then the totals and the cross-check. */
void mpsl_profile_print(const mpsl_profile *p, FILE *f);

/* Median of v[0..n) (sorts v). */
double mpsl_median(double *v, int n);

#endif
