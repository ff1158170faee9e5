/* CIFAR binary files (data/cifar.c): the first byte chooses CIFAR-10 (even) or
 * CIFAR-100 (odd); the rest is its test file (test_batch.bin or test.bin), read by
 * mpsl_dataset_load as the test split. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int c100 = data[0] & 1;
  char path[4200];
  fuzz_write(c100 ? "test.bin" : "test_batch.bin", data + 1, size - 1, path, sizeof path);
  mpsl_dataset d;
  if (mpsl_dataset_load(&d, c100 ? "cifar100" : "cifar10", fuzz_dir(), 0) == 0) {
    if (d.n < 1 || d.channels != 3 || d.height != 32 || d.width != 32) abort();
    for (int64_t i = 0; i < d.n; i++)
      if (d.labels[i] >= d.classes) abort();
  } else if (d.images || d.labels || d.n) {
    abort(); /* a failed load leaves the dataset zeroed */
  }
  mpsl_dataset_free(&d);
  unlink(path);
  return 0;
}
