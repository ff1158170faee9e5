/* CIFAR binary version (https://www.cs.toronto.edu/~kriz/cifar.html): fixed-size records,
 * CIFAR-10 <label><3072 pixels>, CIFAR-100 <coarse><fine><3072 pixels>; pixels are
 * 3x32x32 channel-major, which is already our (C, H, W) layout. */
#include "data/formats.h"
#include "util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { CIFAR_PIXELS = 3 * 32 * 32, CIFAR_MAX_FILES = 5 };

enum { PATH_CAP = 4096 };

/* out := dir/file; -1 if it does not fit. */
static int join(char *out, const char *dir, const char *file) {
  int len = snprintf(out, PATH_CAP, "%s/%s", dir, file);
  return len < 0 || len >= PATH_CAP ? -1 : 0;
}

/* Reads one file's records into images/labels (already sized); returns 0 or -1. */
static int cifar_read(mpsl_dataset *d, const char *path, int64_t first, int64_t count, int nlab) {
  uint8_t rec[2 + CIFAR_PIXELS];
  int rc = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return mpsl_fail("%s: cannot open: %s", path, strerror(errno));
  for (int64_t i = 0; i < count && rc == 0; i++) {
    if (fread(rec, 1, (size_t)(nlab + CIFAR_PIXELS), f) != (size_t)(nlab + CIFAR_PIXELS)) {
      rc = mpsl_fail("%s: truncated at record %lld (expected %lld records)", path, (long long)i, (long long)count);
      break;
    }
    uint8_t label = rec[nlab - 1]; /* CIFAR-100: the fine label follows the coarse one */
    if (label >= d->classes)
      rc = mpsl_fail("%s: label %u in record %lld (expected < %d)", path, label, (long long)i, d->classes);
    d->labels[first + i] = label;
    memcpy(d->images + (first + i) * CIFAR_PIXELS, rec + nlab, CIFAR_PIXELS);
  }
  fclose(f);
  return rc;
}

int mpsl_cifar_load(mpsl_dataset *d, const char *dir, int train) {
  static const char *c10_train[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                                    "data_batch_5.bin"};
  static const char *c10_test[] = {"test_batch.bin"}, *c100_train[] = {"train.bin"}, *c100_test[] = {"test.bin"};
  const int c100 = d->classes == 100, nlab = c100 ? 2 : 1, rec = nlab + CIFAR_PIXELS;
  const char **files = c100 ? (train ? c100_train : c100_test) : (train ? c10_train : c10_test);
  const int nfiles = !c100 && train ? CIFAR_MAX_FILES : 1;
  char base[PATH_CAP], path[PATH_CAP];
  int64_t records[CIFAR_MAX_FILES];
  struct stat st;

  /* Accept the folder the archive unpacks to, or its parent. */
  if (join(base, dir, c100 ? "cifar-100-binary" : "cifar-10-batches-bin") || join(path, base, files[0]) ||
      stat(path, &st) != 0)
    snprintf(base, sizeof base, "%s", dir);

  d->n = 0;
  for (int i = 0; i < nfiles; i++) {
    if (join(path, base, files[i])) return mpsl_fail("%s/%s: path too long", base, files[i]);
    if (stat(path, &st) != 0)
      return mpsl_fail("%s: cannot open: %s (expected the CIFAR-%d binary version in %s)", path, strerror(errno),
                       d->classes, dir);
    if (st.st_size == 0 || st.st_size % rec != 0)
      return mpsl_fail(
          "%s: size %lld is not a positive multiple of the %d-byte record "
          "(expected the CIFAR-%d binary version)",
          path, (long long)st.st_size, rec, d->classes);
    records[i] = st.st_size / rec;
    d->n += records[i];
  }
  d->channels = 3;
  d->height = d->width = 32;
  d->images = mpsl_xmalloc((size_t)d->n * CIFAR_PIXELS, "CIFAR images");
  d->labels = mpsl_xmalloc((size_t)d->n, "CIFAR labels");
  int64_t first = 0;
  for (int i = 0; i < nfiles; first += records[i++]) {
    if (join(path, base, files[i]) || cifar_read(d, path, first, records[i], nlab)) return -1;
  }
  return 0;
}
