/* A layer table: a model given as numbers alone (docs/table.md). Per layer the bytes of
 * its output and parameters at one batch size, and per device the milliseconds of its
 * forward, backward and optimizer step. `model = csv:PATH` builds an mpsl_model from it
 * (mpsl_model_build), whose layers have no kind the engine can train: every mode that
 * needs no tensors reads the times and bytes from here instead of a host profile. */
#ifndef MPSL_MODELS_TABLE_H
#define MPSL_MODELS_TABLE_H

#include <stdint.h>

#define MPSL_TABLE_PREFIX "csv:"

typedef struct {
  char name[48];
  int64_t act_bytes;   /* output of the layer for the whole batch */
  int64_t param_bytes; /* trainable parameters */
} mpsl_table_layer;

typedef struct {
  char name[32];
  double *ms; /* (nlayers x 3): forward, backward, optimizer step of each layer, ms for the batch */
} mpsl_table_device;

typedef struct mpsl_table {
  char *path;   /* as given after csv: */
  char *source; /* the `# source = ...` line, or "" */
  int batch;
  /* `# disturbed = 0|1`, `# cpu_ratio = X`, `# others_load = Y` of a table written by mpsl
   * profile --csv (emu/profile.h); -1 when the table does not say */
  int disturbed;
  double cpu_ratio, others_load;
  int nlayers;
  mpsl_table_layer *layers; /* (nlayers) layers[0] is index 1 */
  int ndev;
  mpsl_table_device *dev; /* (ndev) in column order */
} mpsl_table;

/* Reads PATH. -1 with mpsl_fail("PATH:LINE: column 'X': 'value' is ... (expected ...)");
 * *t is then empty. */
int mpsl_table_load(mpsl_table *t, const char *path);
void mpsl_table_free(mpsl_table *t);

/* The device of that name, or NULL (no mpsl_fail). */
const mpsl_table_device *mpsl_table_device_find(const mpsl_table *t, const char *name);
/* "vm, rpi4b, rpi3b": the devices of the table, for error messages. */
void mpsl_table_device_list(const mpsl_table *t, char *buf, int cap);

#endif
