/* A layer table (docs/table.md): the CSV of per-layer bytes and per-device times that
 * `model = csv:PATH` reads (mpsl_table_load through mpsl_model_build), then what every
 * mode that takes one computes from it: the model's sizes, the default cuts, each
 * device's columns as a profile (printed, scaled, written back as a table) and the
 * memory of parts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/runconfig.h"
#include "emu/table.h"
#include "fuzz.h"
#include "models/model.h"
#include "util/err.h"

static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  sink = fopen("/dev/null", "w");
  if (!sink) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[4200], name[4300];
  fuzz_write("table.csv", data, size, path, sizeof path);
  snprintf(name, sizeof name, "csv:%s", path);
  mpsl_model m;
  memset(&m, 0, sizeof m);
  if (mpsl_model_build(&m, name, NULL)) return 0;
  const mpsl_table *t = m.table;
  int n = m.nlayers;
  mpsl_model_params(&m);
  mpsl_model_flops(&m);
  mpsl_model_check_batch(&m, t->batch);
  mpsl_model_check_batch(&m, t->batch + 1);
  for (int i = 1; i <= n; i++) mpsl_model_out_bytes(&m, i, t->batch);
  int cuts[5];
  for (int h = 1; h <= 4; h++) sl_default_cuts(&m, h, cuts);
  char list[512];
  mpsl_table_device_list(t, list, (int)sizeof list);
  mpsl_table_device_find(t, "vm");
  for (int d = 0; d < t->ndev; d++) {
    mpsl_profile p, q;
    emu_table_profile(&m, &t->dev[d], &p);
    mpsl_profile_print(&p, sink);
    mpsl_profile_scale(&p, 2.5, &q);
    emu_profile_write_table(&q, t->dev[d].name, sink, "fuzz");
    mpsl_profile_free(&q);
    mpsl_profile_free(&p);
  }
  nn_mem_stats s;
  int range[][2] = {{1, n}, {2, n}, {n, n}, {1, 1}, {n, n - 1}};
  for (int i = 0; i < 5; i++) emu_table_part_memory(&m, range[i][0], range[i][1], &s);
  mpsl_model_free(&m);
  return 0;
}
