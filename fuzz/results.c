/* Results files in HDF5 (io/results.c), as mpsl report and --resume read them: the input
 * is the file; every attribute they ask for, every table and the partition are read.
 * The seed is the results file of a small mpsl simulate. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "h5ids.h"
#include "io/results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const keys[] = {"config",        "status",  "mode", "format_version", "hosts", "program",
                                     "resumed_after", "clients", "cuts"};
  char path[4200];
  fuzz_write("results.h5", data, size, path, sizeof path);
  ssize_t ids[FUZZ_H5_TYPES];
  fuzz_h5_count(ids);
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    char *v = NULL;
    if (mpsl_results_attr(path, keys[i], &v) == 0 && !v) abort();
    free(v);
  }
  for (int t = 0; t < MPSL_RES_NTABLES; t++) {
    void *rows = NULL;
    int64_t n = 0;
    if (mpsl_results_read(path, (mpsl_res_table)t, &rows, &n) == 0 && n > 0) {
      char line[4096];
      mpsl_res_csv_row((mpsl_res_table)t, rows, line, sizeof line);
    }
    free(rows);
  }
  int64_t *rows = NULL;
  int k = 0, classes = 0;
  if (mpsl_results_read_partition(path, &rows, &k, &classes) == 0 && k > 0) {
    char line[8192];
    mpsl_res_partition_csv_row(rows, classes, line, sizeof line);
  }
  free(rows);
  fuzz_h5_check(ids, "the results readers");
  return 0;
}
