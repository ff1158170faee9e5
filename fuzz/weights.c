/* Model weights in HDF5 (io/weights.c): the input is the file, from which
 * mpsl_weights_load reads three tensors of every type it knows, one of them nested in a
 * group; the seed corpus holds files written by mpsl_weights_save (fuzz/make_seeds.c) and
 * variations of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "h5ids.h"
#include "weights_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[4200];
  fuzz_write("weights.h5", data, size, path, sizeof path);
  float w[6];
  int64_t n;
  double g[4];
  mpsl_named_tensor t[3];
  fuzz_weights_layout(t, w, &n, g);
  ssize_t ids[FUZZ_H5_TYPES];
  fuzz_h5_count(ids);
  mpsl_weights_load(path, t, 3);
  fuzz_h5_check(ids, "mpsl_weights_load");
  return 0;
}
