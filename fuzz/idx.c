/* MNIST-format IDX files (data/idx.c), plain or gzip (FUZZ_IDX_GZ): the input is the
 * labels file and the images file of one split,
 *   <labels length L: 4 bytes big-endian> <L bytes: t10k-labels-idx1-ubyte>
 *   <the rest: t10k-images-idx3-ubyte>
 * written to a folder as FILE (plain) or FILE.gz (the bytes as they are: the gzip
 * layer is fuzzed too), then read by mpsl_dataset_load as the test split of mnist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data.h"
#include "fuzz.h"

#ifdef FUZZ_IDX_GZ
#define EXT ".gz"
#else
#define EXT ""
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4) return 0;
  size_t l = (size_t)data[0] << 24 | (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3];
  if (l > size - 4) l = size - 4;
  char path[4200];
  fuzz_write("t10k-labels-idx1-ubyte" EXT, data + 4, l, path, sizeof path);
  fuzz_write("t10k-images-idx3-ubyte" EXT, data + 4 + l, size - 4 - l, path, sizeof path);
  mpsl_dataset d;
  if (mpsl_dataset_load(&d, "mnist", fuzz_dir(), 0) == 0) {
    if (d.n < 1 || d.channels != 1 || d.height != 28 || d.width != 28) abort();
    for (int64_t i = 0; i < d.n; i++)
      if (d.labels[i] >= d.classes) abort();
  } else if (d.images || d.labels || d.n) {
    abort(); /* a failed load leaves the dataset zeroed */
  }
  mpsl_dataset_free(&d);
  return 0;
}
