/* Device types: how fast a device trains relative to the host a profile was measured on,
 * and how much memory it has. The catalogue is an ini file (experiments/devices.ini, format
 * in docs/profile.md), one [section] per device:
 *
 *   [rpi4b]
 *   description = Raspberry Pi 4B, 4 x Cortex-A72 1.5 GHz, 4 GB
 *   memory = 4G
 *   ref_step_resnet101_b128 = 91.9   # published seconds of one training step
 *   source = EdgeSys'25, Table 1
 *
 * A device's time for a layer is the host's profiled time divided by its speed
 * (speed 0.05: 20 times slower). The speed is either given (`speed = 1`) or derived from a
 * published step time of a model against the host's profile of that same model.
 *
 * With a model given as a layer table (docs/table.md) a device's times are the table's
 * own: the columns of its name, or of `columns = DEV` divided by `speed`. */
#ifndef MPSL_EMU_DEVICE_H
#define MPSL_EMU_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/opts.h"
#include "emu/profile.h"

#define MPSL_DEVICE_REFS 8

/* A published (or assumed) time of one full training step: forward, backward and update
 * of the whole model on one batch. */
typedef struct {
  char model[40]; /* a name mpsl_model_build accepts: "resnet101" */
  int batch;
  double seconds;
} mpsl_device_ref;

typedef struct {
  char name[32];
  char description[160];
  char source[400];                /* where the figures come from; required */
  char origin[MPSL_PATH_MAX + 24]; /* "devices.ini:12", the line of its [section] */
  double speed;     /* given factor on host times; 0 when derived from refs. With columns: on that column's times */
  char columns[32]; /* a layer table's device whose times it takes (docs/table.md); "" for none */
  int64_t memory;   /* cap in bytes */
  bool published;   /* false: the figures are an assumption (said in source) */
  int ref_size;     /* input side the refs were measured at (default 32) */
  int ref_classes;  /* classes of the refs' models (default 10) */
  int nrefs;
  mpsl_device_ref refs[MPSL_DEVICE_REFS];
} mpsl_device;

typedef struct {
  int n;
  mpsl_device *dev; /* (n) */
} mpsl_devices;

/* The catalogue that ships with mpsl: experiments/devices.ini of its data directory
 * (util/datadir.h: the source tree of a build, $(pkgdatadir) of an install). */
const char *mpsl_devices_default_path(void);

/* The fixed keys of a device section (the ref_step_<model>_b<batch> keys aside), for the
 * man page. */
const mpsl_optset *mpsl_device_keys(void);

/* Appends the devices of an ini file to c (start from a zeroed mpsl_devices). A device
 * named like one loaded from an earlier file replaces it, so a user's file can redefine
 * `host`; a name twice in one file is an error. -1 with mpsl_fail("file:line: ...");
 * c then keeps what it held before the call. */
int mpsl_devices_load(mpsl_devices *c, const char *path);
void mpsl_devices_free(mpsl_devices *c);
/* NULL with mpsl_fail listing the known names. */
const mpsl_device *mpsl_device_find(const mpsl_devices *c, const char *name);

/* The factor on host times: host step / device step, for the same model and batch.
 * A device with a reference step of host_profile's model (same width 1, input size and
 * classes as the reference; a different batch scales the reference linearly) derives it
 * from host_profile->whole_step_s; otherwise its given `speed` is used; otherwise -1 with
 * mpsl_fail naming the models a profile is needed for. host_profile may be NULL. */
int mpsl_device_speed(const mpsl_device *d, const mpsl_profile *host_profile, double *speed);

/* A memory size: bytes, or a number with K, M, G or T (binary: 4G = 4 * 2^30), optionally
 * followed by B or iB; "auto" is the physical memory of this machine. -1 on bad text
 * (no mpsl_fail: the caller says where). */
int mpsl_parse_bytes(const char *text, int64_t *bytes);

#endif
