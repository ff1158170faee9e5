/* Model weights in HDF5 (io/weights.c): the input is the file, from which
 * mpsl_weights_load reads three tensors of every type it knows, one of them nested in a
 * group; the seed corpus holds files written by mpsl_weights_save (fuzz/make_seeds.c) and
 * variations of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "h5ids.h"
#include "io/weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[4200];
  fuzz_write("weights.h5", data, size, path, sizeof path);
  float w[2 * 3];
  int64_t n;
  double g[4];
  mpsl_named_tensor t[3];
  memset(t, 0, sizeof t);
  snprintf(t[0].name, sizeof t[0].name, "features.0.weight");
  t[0].dtype = MPSL_F32, t[0].ndims = 2, t[0].dims[0] = 2, t[0].dims[1] = 3, t[0].data = w;
  snprintf(t[1].name, sizeof t[1].name, "bn.num_batches_tracked");
  t[1].dtype = MPSL_I64, t[1].ndims = 0, t[1].data = &n;
  snprintf(t[2].name, sizeof t[2].name, "part/state");
  t[2].dtype = MPSL_F64, t[2].ndims = 1, t[2].dims[0] = 4, t[2].data = g;
  ssize_t ids[FUZZ_H5_TYPES];
  fuzz_h5_count(ids);
  mpsl_weights_load(path, t, 3);
  fuzz_h5_check(ids, "mpsl_weights_load");
  return 0;
}
