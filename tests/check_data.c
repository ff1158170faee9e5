/* Datasets: IDX and CIFAR parsing on small synthetic files (and every malformed case),
 * preprocessing against torchvision's formula, epoch order, partitions, and the real
 * Fashion-MNIST shipped by Debian. */
#define _GNU_SOURCE
#include "data/data.h"
#include "util/err.h"
#include "util/rng.h"

#include <check.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static char dir[512]; /* a fresh directory per test */

static void make_dir(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/mpsl-data-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) { return remove(path); }

static void remove_dir(void) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static void write_file(const char *name, int gz, const void *buf, size_t len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (gz) {
    gzFile f = gzopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(gzwrite(f, buf, (unsigned)len), (int)len);
    ck_assert_int_eq(gzclose(f), Z_OK);
  } else {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
  }
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* An IDX file: magic, dims, then `len` payload bytes (may differ from what dims say). */
static void write_idx(const char *name, int gz, uint32_t magic, int ndims, const uint32_t *dims, const uint8_t *payload,
                      size_t len) {
  size_t hdr = 4 * (size_t)(1 + ndims);
  uint8_t *buf = malloc(hdr + len);
  put_be32(buf, magic);
  for (int i = 0; i < ndims; i++) put_be32(buf + 4 * (i + 1), dims[i]);
  if (len) memcpy(buf + hdr, payload, len);
  write_file(name, gz, buf, hdr + len);
  free(buf);
}

static uint8_t idx_pixel(int64_t i, int y, int x) { return (uint8_t)(i * 31 + y * 7 + x * 3); }

/* A well-formed split of n samples: label i % 10, pixel idx_pixel(i, y, x). */
static void write_mnist(const char *split, int64_t n, int gz) {
  char name[128];
  uint8_t *lab = malloc((size_t)n), *img = malloc((size_t)n * 784);
  for (int64_t i = 0; i < n; i++) {
    lab[i] = (uint8_t)(i % 10);
    for (int p = 0; p < 784; p++) img[i * 784 + p] = idx_pixel(i, p / 28, p % 28);
  }
  uint32_t ldims[1] = {(uint32_t)n}, idims[3] = {(uint32_t)n, 28, 28};
  snprintf(name, sizeof name, "%s-labels-idx1-ubyte%s", split, gz ? ".gz" : "");
  write_idx(name, gz, 0x801, 1, ldims, lab, (size_t)n);
  snprintf(name, sizeof name, "%s-images-idx3-ubyte%s", split, gz ? ".gz" : "");
  write_idx(name, gz, 0x803, 3, idims, img, (size_t)n * 784);
  free(lab);
  free(img);
}

/* The load fails with a message that names `file` (relative to dir) and contains `what`,
 * leaving the dataset zeroed. */
static void expect_fail(const char *name, int train, const char *file, const char *what) {
  mpsl_dataset d;
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  ck_assert_int_eq(mpsl_dataset_load(&d, name, dir, train), -1);
  const char *msg = mpsl_errmsg();
  ck_assert_msg(strstr(msg, path) != NULL, "message '%s' does not name %s", msg, path);
  ck_assert_msg(strstr(msg, what) != NULL, "message '%s' does not say '%s'", msg, what);
  ck_assert_msg(strchr(msg, '\n') == NULL, "message '%s' is not one line", msg);
  ck_assert_ptr_null(d.images);
  ck_assert_ptr_null(d.labels);
  ck_assert_int_eq(d.n, 0);
}

/* ---- IDX ---------------------------------------------------------------------------- */

START_TEST(test_idx_load) {
  mpsl_dataset d;
  write_mnist("train", 7, 1);
  write_mnist("t10k", 3, 0);
  ck_assert_int_eq(mpsl_dataset_load(&d, "mnist", dir, 1), 0);
  ck_assert_str_eq(d.name, "mnist");
  ck_assert_int_eq(d.n, 7);
  ck_assert_int_eq(d.channels, 1);
  ck_assert_int_eq(d.height, 28);
  ck_assert_int_eq(d.width, 28);
  ck_assert_int_eq(d.classes, 10);
  ck_assert_int_eq(mpsl_dataset_size(&d), 32);
  ck_assert_float_eq(d.mean[0], 0.1307f);
  ck_assert_float_eq(d.std[0], 0.3081f);
  for (int64_t i = 0; i < d.n; i++) {
    ck_assert_int_eq(d.labels[i], i % 10);
    for (int p = 0; p < 784; p++) ck_assert_int_eq(d.images[i * 784 + p], idx_pixel(i, p / 28, p % 28));
  }
  mpsl_dataset_free(&d);
  ck_assert_ptr_null(d.images);
  mpsl_dataset_free(&d); /* twice is harmless */

  ck_assert_int_eq(mpsl_dataset_load(&d, "fashion-mnist", dir, 0), 0);
  ck_assert_int_eq(d.n, 3);
  ck_assert_int_eq(d.images[2 * 784 + 5 * 28 + 6], idx_pixel(2, 5, 6));
  ck_assert_float_eq(d.mean[0], 0.2860f);
  ck_assert_float_eq(d.std[0], 0.3530f);
  mpsl_dataset_free(&d);
}
END_TEST

START_TEST(test_idx_prefers_gz) {
  mpsl_dataset d;
  write_mnist("train", 4, 1);
  write_mnist("train", 2, 0);
  ck_assert_int_eq(mpsl_dataset_load(&d, "mnist", dir, 1), 0);
  ck_assert_int_eq(d.n, 4);
  mpsl_dataset_free(&d);
}
END_TEST

/* Bytes after the payload, or after the gzip stream, are ignored. */
START_TEST(test_idx_trailing) {
  mpsl_dataset d;
  uint8_t px[784 * 2 + 9] = {7}, lab[2] = {3, 4};
  uint32_t dims[3] = {2, 28, 28};
  write_idx("train-images-idx3-ubyte", 0, 0x803, 3, dims, px, sizeof px);
  write_idx("train-labels-idx1-ubyte.gz", 1, 0x801, 1, dims, lab, 2);
  char path[1024];
  snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
  FILE *f = fopen(path, "ab");
  ck_assert_ptr_nonnull(f);
  fputs("garbage", f);
  fclose(f);
  ck_assert_msg(mpsl_dataset_load(&d, "mnist", dir, 1) == 0, "%s", mpsl_errmsg());
  ck_assert_int_eq(d.n, 2);
  ck_assert_int_eq(d.labels[1], 4);
  ck_assert_int_eq(d.images[0], 7);
  mpsl_dataset_free(&d);
}
END_TEST

START_TEST(test_idx_missing) {
  expect_fail("mnist", 1, "train-labels-idx1-ubyte", "not found");
  uint8_t lab[5] = {0};
  uint32_t n[1] = {5};
  write_idx("train-labels-idx1-ubyte", 0, 0x801, 1, n, lab, 5);
  expect_fail("mnist", 1, "train-images-idx3-ubyte", "not found");
}
END_TEST

START_TEST(test_idx_bad_magic) {
  uint8_t px[784 * 2] = {0};
  uint32_t dims[3] = {2, 28, 28};
  write_mnist("train", 2, 0);
  write_idx("train-images-idx3-ubyte", 0, 0, 3, dims, px, sizeof px);
  expect_fail("mnist", 1, "train-images-idx3-ubyte", "bad magic 0x00000000 (expected 0x00000803 for IDX images)");
  write_idx("train-labels-idx1-ubyte", 0, 0x803, 1, dims, px, 2);
  expect_fail("mnist", 1, "train-labels-idx1-ubyte", "bad magic 0x00000803 (expected 0x00000801 for IDX labels)");
}
END_TEST

START_TEST(test_idx_truncated) {
  uint8_t px[784 * 5] = {0};
  uint32_t dims[3] = {5, 28, 28};
  write_mnist("train", 5, 1);
  write_idx("train-images-idx3-ubyte.gz", 1, 0x803, 3, dims, px, 1000);
  expect_fail("mnist", 1, "train-images-idx3-ubyte.gz", "truncated: expected 3920 bytes of pixels, found 1000");

  write_mnist("t10k", 5, 0);
  write_idx("t10k-images-idx3-ubyte", 0, 0x803, 3, dims, px, 784 * 5 - 1);
  expect_fail("mnist", 0, "t10k-images-idx3-ubyte", "truncated: expected 3920 bytes of pixels, found 3919");

  write_idx("t10k-images-idx3-ubyte", 0, 0x803, 1, dims, px, 2); /* 10 of 16 header bytes */
  expect_fail("mnist", 0, "t10k-images-idx3-ubyte", "truncated: expected a 16-byte IDX header");

  write_mnist("t10k", 5, 0);
  uint8_t lab[3] = {0};
  write_idx("t10k-labels-idx1-ubyte", 0, 0x801, 1, dims, lab, 3);
  expect_fail("mnist", 0, "t10k-labels-idx1-ubyte", "truncated: expected 5 bytes of labels, found 3");
}
END_TEST

/* A header claiming ~4 billion samples in a tiny file fails as truncated (no huge alloc). */
START_TEST(test_idx_huge_count) {
  uint8_t px[100] = {0};
  uint32_t dims[3] = {0xffffffffu, 28, 28};
  write_idx("train-labels-idx1-ubyte", 0, 0x801, 1, dims, px, sizeof px);
  write_idx("train-images-idx3-ubyte", 0, 0x803, 3, dims, px, sizeof px);
  expect_fail("mnist", 1, "train-labels-idx1-ubyte", "truncated: expected 4294967295 bytes of labels, found 100");
}
END_TEST

/* A gzip stream cut short (the file itself is damaged, not just the payload). */
START_TEST(test_idx_cut_gzip) {
  char path[1024];
  write_mnist("train", 20, 1);
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(truncate(path, st.st_size / 2), 0);
  expect_fail("mnist", 1, "train-images-idx3-ubyte.gz", "truncated");
}
END_TEST

/* A damaged CRC: zlib's own message, after the file name. */
START_TEST(test_idx_bad_crc) {
  char path[1024];
  write_mnist("train", 20, 1);
  snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fseek(f, -8, SEEK_END), 0); /* gzip trailer: CRC-32, then size */
  int c = fgetc(f);
  ck_assert_int_eq(fseek(f, -8, SEEK_END), 0);
  fputc(c ^ 0xff, f);
  fclose(f);
  expect_fail("mnist", 1, "train-labels-idx1-ubyte.gz", "corrupt or unreadable: incorrect data check");
}
END_TEST

START_TEST(test_idx_count_mismatch) {
  uint8_t px[784 * 4] = {0};
  uint32_t dims[3] = {4, 28, 28};
  write_mnist("train", 5, 0);
  write_idx("train-images-idx3-ubyte", 0, 0x803, 3, dims, px, sizeof px);
  expect_fail("mnist", 1, "train-images-idx3-ubyte", "4 images but");
  expect_fail("mnist", 1, "train-labels-idx1-ubyte", "holds 5 labels (expected the same count)");
}
END_TEST

START_TEST(test_idx_label_range) {
  uint8_t lab[3] = {1, 10, 2};
  uint32_t dims[1] = {3};
  write_mnist("train", 3, 1);
  write_idx("train-labels-idx1-ubyte.gz", 1, 0x801, 1, dims, lab, 3);
  expect_fail("fashion-mnist", 1, "train-labels-idx1-ubyte.gz", "label 10 at sample 1 (expected < 10)");
}
END_TEST

START_TEST(test_idx_dims) {
  uint8_t px[27 * 28 * 2] = {0};
  uint32_t dims[3] = {2, 27, 28};
  write_mnist("train", 2, 0);
  write_idx("train-images-idx3-ubyte", 0, 0x803, 3, dims, px, sizeof px);
  expect_fail("mnist", 1, "train-images-idx3-ubyte", "images are 27x28 (expected 28x28)");
}
END_TEST

/* ---- CIFAR ---------------------------------------------------------------------------- */

static uint8_t cifar_pixel(int64_t g, int c, int y, int x) { return (uint8_t)(g * 5 + c * 50 + y * 3 + x); }

/* `count` records numbered from g0 into dir/name: label byte(s) then CHW pixels.
 * CIFAR-100 labels: coarse g % 20, fine (7g) % 100; CIFAR-10: g % 10. */
static void write_cifar(const char *name, int c100, int64_t g0, int count) {
  const int nlab = c100 ? 2 : 1, rec = nlab + 3072;
  uint8_t *buf = malloc((size_t)count * rec);
  for (int r = 0; r < count; r++) {
    uint8_t *p = buf + (size_t)r * rec;
    int64_t g = g0 + r;
    if (c100)
      p[0] = (uint8_t)(g % 20), p[1] = (uint8_t)(g * 7 % 100);
    else
      p[0] = (uint8_t)(g % 10);
    for (int i = 0; i < 3072; i++) p[nlab + i] = cifar_pixel(g, i / 1024, i / 32 % 32, i % 32);
  }
  write_file(name, 0, buf, (size_t)count * rec);
  free(buf);
}

static const int batch_records[5] = {2, 1, 3, 1, 2};

static void write_cifar10(const char *prefix) {
  char name[256];
  int64_t g = 0;
  for (int b = 0; b < 5; g += batch_records[b++]) {
    snprintf(name, sizeof name, "%sdata_batch_%d.bin", prefix, b + 1);
    write_cifar(name, 0, g, batch_records[b]);
  }
  snprintf(name, sizeof name, "%stest_batch.bin", prefix);
  write_cifar(name, 0, 100, 2);
}

static void check_cifar10(const mpsl_dataset *d) {
  ck_assert_str_eq(d->name, "cifar10");
  ck_assert_int_eq(d->n, 9);
  ck_assert_int_eq(d->channels, 3);
  ck_assert_int_eq(d->height, 32);
  ck_assert_int_eq(d->classes, 10);
  ck_assert_int_eq(mpsl_dataset_size(d), 32);
  ck_assert_float_eq(d->mean[2], 0.4465f);
  ck_assert_float_eq(d->std[1], 0.2435f);
  for (int64_t g = 0; g < d->n; g++) {
    ck_assert_int_eq(d->labels[g], g % 10);
    for (int i = 0; i < 3072; i++)
      ck_assert_int_eq(d->images[g * 3072 + i], cifar_pixel(g, i / 1024, i / 32 % 32, i % 32));
  }
}

START_TEST(test_cifar10_load) {
  mpsl_dataset d;
  write_cifar10("");
  ck_assert_int_eq(mpsl_dataset_load(&d, "cifar10", dir, 1), 0);
  check_cifar10(&d);
  mpsl_dataset_free(&d);
  ck_assert_int_eq(mpsl_dataset_load(&d, "cifar10", dir, 0), 0);
  ck_assert_int_eq(d.n, 2);
  ck_assert_int_eq(d.labels[1], 101 % 10);
  ck_assert_int_eq(d.images[1 * 3072 + 2 * 1024 + 31 * 32 + 30], cifar_pixel(101, 2, 31, 30));
  mpsl_dataset_free(&d);
}
END_TEST

/* The folder the archive unpacks to may be given, or its parent. */
START_TEST(test_cifar10_subdir) {
  mpsl_dataset d;
  char sub[1024];
  snprintf(sub, sizeof sub, "%s/cifar-10-batches-bin", dir);
  ck_assert_int_eq(mkdir(sub, 0755), 0);
  write_cifar10("cifar-10-batches-bin/");
  ck_assert_int_eq(mpsl_dataset_load(&d, "cifar10", dir, 1), 0);
  check_cifar10(&d);
  mpsl_dataset_free(&d);
  ck_assert_int_eq(mpsl_dataset_load(&d, "cifar10", sub, 1), 0);
  check_cifar10(&d);
  mpsl_dataset_free(&d);
}
END_TEST

START_TEST(test_cifar100_load) {
  mpsl_dataset d;
  write_cifar("train.bin", 1, 0, 30);
  write_cifar("test.bin", 1, 50, 4);
  ck_assert_int_eq(mpsl_dataset_load(&d, "cifar100", dir, 1), 0);
  ck_assert_str_eq(d.name, "cifar100");
  ck_assert_int_eq(d.n, 30);
  ck_assert_int_eq(d.classes, 100);
  ck_assert_float_eq(d.mean[0], 0.5071f);
  ck_assert_float_eq(d.std[2], 0.2762f);
  for (int64_t g = 0; g < d.n; g++) {
    ck_assert_int_eq(d.labels[g], g * 7 % 100); /* the fine label */
    ck_assert_int_eq(d.images[g * 3072 + 1024 + 33], cifar_pixel(g, 1, 1, 1));
  }
  mpsl_dataset_free(&d);
  ck_assert_int_eq(mpsl_dataset_load(&d, "cifar100", dir, 0), 0);
  ck_assert_int_eq(d.n, 4);
  ck_assert_int_eq(d.labels[3], 53 * 7 % 100);
  mpsl_dataset_free(&d);
}
END_TEST

START_TEST(test_cifar_malformed) {
  expect_fail("cifar10", 0, "test_batch.bin", "cannot open");
  write_cifar10("");
  uint8_t junk[3072] = {0};
  write_file("data_batch_3.bin", 0, junk, sizeof junk);
  expect_fail("cifar10", 1, "data_batch_3.bin", "size 3072 is not a positive multiple of the 3073-byte record");
  write_file("data_batch_3.bin", 0, junk, 0);
  expect_fail("cifar10", 1, "data_batch_3.bin", "size 0");
  char path[1024];
  snprintf(path, sizeof path, "%s/data_batch_3.bin", dir);
  ck_assert_int_eq(remove(path), 0);
  expect_fail("cifar10", 1, "data_batch_3.bin", "cannot open");

  /* a CIFAR-10 file read as CIFAR-100: 3073 is not a multiple of 3074 */
  write_cifar("train.bin", 0, 0, 1);
  expect_fail("cifar100", 1, "train.bin", "3074-byte record");

  uint8_t rec[3073] = {10};
  write_file("test_batch.bin", 0, rec, sizeof rec);
  expect_fail("cifar10", 0, "test_batch.bin", "label 10 in record 0 (expected < 10)");
}
END_TEST

START_TEST(test_names_and_defaults) {
  mpsl_dataset d;
  ck_assert_int_eq(mpsl_dataset_load(&d, "foo", dir, 1), -1);
  ck_assert_str_eq(mpsl_errmsg(), "unknown dataset 'foo' (expected fashion-mnist, mnist, cifar10 or cifar100)");
  ck_assert_int_eq(mpsl_dataset_load(&d, "cifar10", NULL, 1), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "--data-dir"));
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "data_batch_1.bin"));
  ck_assert_int_eq(mpsl_dataset_load(&d, "cifar100", "", 0), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "--data-dir"));
  ck_assert_ptr_null(d.images);

  ck_assert_str_eq(mpsl_dataset_default_dir("fashion-mnist"), FASHION_DIR);
  ck_assert_ptr_null(mpsl_dataset_default_dir("cifar10"));
  ck_assert_ptr_null(mpsl_dataset_default_dir("cifar100"));
  ck_assert_ptr_null(mpsl_dataset_default_dir("foo"));
  struct stat st;
  int have_mnist = stat("/usr/share/datasets/mnist", &st) == 0;
  ck_assert_int_eq(mpsl_dataset_default_dir("mnist") != NULL, have_mnist);
  if (!have_mnist) {
    ck_assert_int_eq(mpsl_dataset_load(&d, "mnist", NULL, 1), -1);
    ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "--data-dir"));
  }
}
END_TEST

/* ---- preprocessing ---------------------------------------------------------------------- */

/* Normalize(ToTensor(v)) as torchvision computes it in float32. */
static float norm(int v, float mean, float std) { return ((float)v / 255.0f - mean) / std; }

/* A 1x28x28 dataset (n) in memory, pixels idx_pixel, labels i % 10 (Fashion constants). */
static mpsl_dataset mem_mnist(int64_t n) {
  mpsl_dataset d = {.name = "fashion-mnist",
                    .n = n,
                    .channels = 1,
                    .height = 28,
                    .width = 28,
                    .classes = 10,
                    .mean = {0.2860f},
                    .std = {0.3530f}};
  d.images = malloc((size_t)n * 784);
  d.labels = malloc((size_t)n);
  for (int64_t i = 0; i < n; i++) {
    d.labels[i] = (uint8_t)(i % 10);
    for (int p = 0; p < 784; p++) d.images[i * 784 + p] = idx_pixel(i, p / 28, p % 28);
  }
  return d;
}

#define AT(x, i, c, r, s) (x)[(((int64_t)(i)*C + (c)) * 32 + (r)) * 32 + (s)]

START_TEST(test_batch_pad) {
  enum { C = 1 };
  mpsl_dataset d = mem_mnist(5);
  int64_t idx[2] = {3, 1};
  float x[2 * 32 * 32];
  int32_t y[2];
  mpsl_dataset_batch(&d, idx, 2, x, y, NULL);
  ck_assert_int_eq(y[0], 3);
  ck_assert_int_eq(y[1], 1);
  const float padded = (0.0f - 0.2860f) / 0.3530f; /* -0.81020 */
  ck_assert_float_eq_tol(AT(x, 0, 0, 0, 0), padded, 1e-6f);
  ck_assert_float_eq_tol(AT(x, 0, 0, 1, 17), padded, 1e-6f);
  ck_assert_float_eq_tol(AT(x, 1, 0, 31, 31), padded, 1e-6f);
  ck_assert_float_eq_tol(AT(x, 1, 0, 30, 5), padded, 1e-6f);
  /* interior: output (2 + y, 2 + x) is stored (y, x); sample 3 at (0, 0) is 93 */
  ck_assert_int_eq(idx_pixel(3, 0, 0), 93);
  ck_assert_float_eq_tol(AT(x, 0, 0, 2, 2), (93.0f / 255.0f - 0.2860f) / 0.3530f, 1e-6f);
  ck_assert_float_eq_tol(AT(x, 0, 0, 29, 29), norm(idx_pixel(3, 27, 27), 0.2860f, 0.3530f), 1e-6f);
  ck_assert_float_eq_tol(AT(x, 1, 0, 12, 3), norm(idx_pixel(1, 10, 1), 0.2860f, 0.3530f), 1e-6f);
  /* a disabled augmentation is no augmentation */
  float x2[2 * 32 * 32];
  mpsl_augment off = {.enabled = 0, .seed = 1, .stream = 2};
  mpsl_dataset_batch(&d, idx, 2, x2, NULL, &off);
  ck_assert_int_eq(memcmp(x, x2, sizeof x), 0);
  mpsl_dataset_free(&d);
}
END_TEST

START_TEST(test_batch_rgb) {
  enum { C = 3 };
  mpsl_dataset d = {.name = "cifar10",
                    .n = 2,
                    .channels = 3,
                    .height = 32,
                    .width = 32,
                    .classes = 10,
                    .mean = {0.4914f, 0.4822f, 0.4465f},
                    .std = {0.2470f, 0.2435f, 0.2616f}};
  d.images = malloc(2 * 3072);
  d.labels = malloc(2);
  for (int g = 0; g < 2; g++) {
    d.labels[g] = (uint8_t)(9 - g);
    for (int i = 0; i < 3072; i++) d.images[g * 3072 + i] = cifar_pixel(g, i / 1024, i / 32 % 32, i % 32);
  }
  int64_t idx[1] = {1};
  float x[3 * 32 * 32];
  int32_t y;
  mpsl_dataset_batch(&d, idx, 1, x, &y, NULL);
  ck_assert_int_eq(y, 8);
  for (int c = 0; c < 3; c++) /* no padding at 32x32; each channel its own constants */
    ck_assert_float_eq_tol(AT(x, 0, c, 0, 0), norm(cifar_pixel(1, c, 0, 0), d.mean[c], d.std[c]), 1e-6f);
  ck_assert_float_eq_tol(AT(x, 0, 2, 31, 7), norm(cifar_pixel(1, 2, 31, 7), 0.4465f, 0.2616f), 1e-6f);
  mpsl_dataset_free(&d);
}
END_TEST

/* The stored pixel behind output (r, s) of the Pad(2)-ed 32x32 image, or -1 for padding. */
static int padded_pixel(int64_t i, int r, int s) {
  return r >= 2 && r < 30 && s >= 2 && s < 30 ? idx_pixel(i, r - 2, s - 2) : -1;
}

START_TEST(test_batch_augment_by_hand) {
  enum { C = 1 };
  const float m = 0.2860f, sd = 0.3530f, zero = norm(0, m, sd);
  mpsl_dataset d = mem_mnist(3);
  int64_t idx[1] = {2};
  float x[32 * 32];
  /* find a stream whose draws for position 0 flip and shift down/right by (3, 2) ... */
  uint64_t seed = 11, stream;
  for (stream = 0;; stream++)
    if (mpsl_rng_u64(seed, stream, 0) % 9 == 7 && mpsl_rng_u64(seed, stream, 1) % 9 == 6 &&
        mpsl_rng_u64(seed, stream, 2) >> 63)
      break;
  mpsl_augment aug = {1, seed, stream};
  mpsl_dataset_batch(&d, idx, 1, x, NULL, &aug);
  /* crop top 7, left 6 of the 40x40 (Pad 2 then pad 4) image; flip: out(r, s) reads the
   * Pad(2) image at (r + 3, 31 - s + 2) */
  ck_assert_float_eq_tol(AT(x, 0, 0, 0, 0), zero, 1e-6f);                             /* column 33: crop padding */
  ck_assert_float_eq_tol(AT(x, 0, 0, 0, 1), zero, 1e-6f);                             /* column 32 */
  ck_assert_float_eq_tol(AT(x, 0, 0, 0, 2), zero, 1e-6f);                             /* column 31: Pad(2) */
  ck_assert_float_eq_tol(AT(x, 0, 0, 0, 4), norm(idx_pixel(2, 1, 27), m, sd), 1e-6f); /* (3, 29) */
  ck_assert_float_eq_tol(AT(x, 0, 0, 10, 20), norm(idx_pixel(2, 11, 11), m, sd), 1e-6f);
  ck_assert_float_eq_tol(AT(x, 0, 0, 27, 31), zero, 1e-6f); /* row 30 */
  ck_assert_float_eq_tol(AT(x, 0, 0, 26, 31), norm(idx_pixel(2, 27, 0), m, sd), 1e-6f);

  /* ... and one that does not flip and shifts up/left by (-4, -1) */
  for (stream = 0;; stream++)
    if (mpsl_rng_u64(seed, stream, 0) % 9 == 0 && mpsl_rng_u64(seed, stream, 1) % 9 == 3 &&
        !(mpsl_rng_u64(seed, stream, 2) >> 63))
      break;
  aug.stream = stream;
  mpsl_dataset_batch(&d, idx, 1, x, NULL, &aug);
  for (int r = 0; r < 32; r++) /* out(r, s) reads the Pad(2) image at (r - 4, s - 1) */
    for (int s = 0; s < 32; s++) {
      int v = r - 4 >= 0 && s - 1 >= 0 ? padded_pixel(2, r - 4, s - 1) : -1;
      ck_assert_float_eq_tol(AT(x, 0, 0, r, s), v < 0 ? zero : norm(v, m, sd), 1e-6f);
    }
  ck_assert_float_eq_tol(AT(x, 0, 0, 6, 3), norm(idx_pixel(2, 0, 0), m, sd), 1e-6f);
  mpsl_dataset_free(&d);
}
END_TEST

START_TEST(test_batch_augment_determinism) {
  enum { N = 8, C = 1 };
  mpsl_dataset d = mem_mnist(4);
  int64_t idx[N];
  for (int i = 0; i < N; i++) idx[i] = 1; /* one sample at every position */
  static float a[N * 1024], b[N * 1024], plain[N * 1024];
  mpsl_dataset_batch(&d, idx, N, plain, NULL, NULL);
  mpsl_augment aug = {1, 42, 7};
  mpsl_dataset_batch(&d, idx, N, a, NULL, &aug);
  mpsl_dataset_batch(&d, idx, N, b, NULL, &aug);
  ck_assert_int_eq(memcmp(a, b, sizeof a), 0);

  /* positions in a batch draw differently; some differ from the plain image */
  int distinct_pos = 0, changed = 0;
  for (int i = 1; i < N; i++) distinct_pos += memcmp(a, a + i * 1024, 1024 * sizeof(float)) != 0;
  for (int i = 0; i < N; i++) changed += memcmp(plain, a + i * 1024, 1024 * sizeof(float)) != 0;
  ck_assert_int_ge(distinct_pos, 5);
  ck_assert_int_ge(changed, 5);

  /* streams draw differently for the same position; so do seeds */
  int distinct_stream = 0;
  for (uint64_t s = 8; s < 18; s++) {
    mpsl_augment other = {1, 42, s};
    mpsl_dataset_batch(&d, idx, 1, b, NULL, &other);
    distinct_stream += memcmp(a, b, 1024 * sizeof(float)) != 0;
  }
  ck_assert_int_ge(distinct_stream, 8);
  mpsl_augment seed2 = {1, 43, 7};
  mpsl_dataset_batch(&d, idx, N, b, NULL, &seed2);
  ck_assert_int_ne(memcmp(a, b, sizeof a), 0);
  mpsl_dataset_free(&d);
}
END_TEST

/* ---- epoch order ------------------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

START_TEST(test_epoch_order) {
  enum { N = 50 };
  int64_t shard[N], o[N], o2[N], sorted[N];
  for (int i = 0; i < N; i++) shard[i] = 3 * i + 1;
  mpsl_epoch_order(o, shard, N, 5, 0, 0);
  ck_assert_int_eq(memcmp(o, shard, sizeof o), 0);

  mpsl_epoch_order(o, shard, N, 5, 0, 1);
  ck_assert_int_ne(memcmp(o, shard, sizeof o), 0);
  memcpy(sorted, o, sizeof o);
  qsort(sorted, N, sizeof *sorted, cmp_i64);
  ck_assert_int_eq(memcmp(sorted, shard, sizeof o), 0); /* a permutation of the shard */

  mpsl_epoch_order(o2, shard, N, 5, 0, 1);
  ck_assert_int_eq(memcmp(o, o2, sizeof o), 0);
  mpsl_epoch_order(o2, shard, N, 5, 1, 1);
  ck_assert_int_ne(memcmp(o, o2, sizeof o), 0);
  mpsl_epoch_order(o2, shard, N, 6, 0, 1);
  ck_assert_int_ne(memcmp(o, o2, sizeof o), 0);
  mpsl_epoch_order(o2, shard, 0, 6, 0, 1); /* empty shard is fine */
}
END_TEST

/* ---- partitions ------------------------------------------------------------------------- */

/* Labels only: n samples, label i % classes. */
static mpsl_dataset mem_labels(int64_t n, int classes) {
  mpsl_dataset d = {.name = "synthetic", .n = n, .channels = 1, .height = 28, .width = 28, .classes = classes};
  d.labels = malloc((size_t)n);
  for (int64_t i = 0; i < n; i++) d.labels[i] = (uint8_t)(i % classes);
  return d;
}

/* Every sample appears in exactly one shard, each shard ascending. */
static void check_cover(const mpsl_partition *p, int64_t n) {
  char *seen = calloc((size_t)n, 1);
  int64_t total = 0;
  for (int j = 0; j < p->k; j++) {
    ck_assert_int_ge(p->count[j], 1);
    for (int64_t t = 0; t < p->count[j]; t++) {
      int64_t i = p->index[j][t];
      ck_assert(i >= 0 && i < n);
      ck_assert_msg(!seen[i], "sample %lld in two shards", (long long)i);
      seen[i] = 1;
      if (t) ck_assert_int_lt(p->index[j][t - 1], i);
    }
    total += p->count[j];
  }
  ck_assert_int_eq(total, n);
  free(seen);
}

static int same_partition(const mpsl_partition *a, const mpsl_partition *b) {
  if (a->k != b->k) return 0;
  for (int j = 0; j < a->k; j++)
    if (a->count[j] != b->count[j] || memcmp(a->index[j], b->index[j], (size_t)a->count[j] * sizeof(int64_t)) != 0)
      return 0;
  return 1;
}

START_TEST(test_partition_iid) {
  mpsl_dataset d = mem_labels(103, 10);
  mpsl_partition p, q;
  ck_assert_int_eq(mpsl_partition_make(&p, &d, 10, "iid", 0, 9), 0);
  ck_assert_int_eq(p.k, 10);
  for (int j = 0; j < 10; j++) ck_assert(p.count[j] == 10 || p.count[j] == 11);
  check_cover(&p, d.n);
  ck_assert_int_eq(mpsl_partition_make(&q, &d, 10, "iid", 0, 9), 0);
  ck_assert(same_partition(&p, &q));
  mpsl_partition_free(&q);
  ck_assert_int_eq(mpsl_partition_make(&q, &d, 10, "iid", 0, 10), 0);
  ck_assert(!same_partition(&p, &q));
  /* shards are not just contiguous runs of the file */
  ck_assert_int_gt(p.index[0][p.count[0] - 1] - p.index[0][0], 20);
  mpsl_partition_free(&q);
  mpsl_partition_free(&p);
  ck_assert_ptr_null(p.index);
  mpsl_partition_free(&p);

  for (int k = 1; k <= 103; k += 51) { /* 1, 52, 103 owners */
    ck_assert_int_eq(mpsl_partition_make(&p, &d, k, "iid", 0, 1), 0);
    check_cover(&p, d.n);
    for (int j = 0; j < k; j++) ck_assert(p.count[j] == 103 / k || p.count[j] == 103 / k + 1);
    mpsl_partition_free(&p);
  }
  mpsl_dataset_free(&d);
}
END_TEST

/* The mean over owners of the largest share one class takes of that owner's samples. */
static double mean_top_share(const mpsl_partition *p, const mpsl_dataset *d) {
  double sum = 0;
  for (int j = 0; j < p->k; j++) {
    int64_t hist[10] = {0}, top = 0;
    for (int64_t t = 0; t < p->count[j]; t++) hist[d->labels[p->index[j][t]]]++;
    for (int c = 0; c < 10; c++) top = hist[c] > top ? hist[c] : top;
    sum += (double)top / (double)p->count[j];
  }
  return sum / p->k;
}

START_TEST(test_partition_dirichlet) {
  mpsl_dataset d = mem_labels(2000, 10);
  mpsl_partition p, q;
  ck_assert_int_eq(mpsl_partition_make(&p, &d, 5, "dirichlet", 0.5, 3), 0);
  check_cover(&p, d.n);
  ck_assert_int_eq(mpsl_partition_make(&q, &d, 5, "dirichlet", 0.5, 3), 0);
  ck_assert(same_partition(&p, &q));
  mpsl_partition_free(&q);
  ck_assert_int_eq(mpsl_partition_make(&q, &d, 5, "dirichlet", 0.5, 4), 0);
  ck_assert(!same_partition(&p, &q));
  mpsl_partition_free(&q);
  mpsl_partition_free(&p);

  /* alpha 0.05: owners are dominated by few classes */
  ck_assert_int_eq(mpsl_partition_make(&p, &d, 5, "dirichlet", 0.05, 3), 0);
  check_cover(&p, d.n);
  double skewed = mean_top_share(&p, &d);
  ck_assert_msg(skewed > 0.5, "alpha 0.05: mean top class share %.3f (expected > 0.5)", skewed);
  mpsl_partition_free(&p);

  /* alpha 1000: about 1/5 of every class (200 samples) goes to every owner */
  ck_assert_int_eq(mpsl_partition_make(&p, &d, 5, "dirichlet", 1000, 3), 0);
  check_cover(&p, d.n);
  for (int j = 0; j < 5; j++) {
    int64_t hist[10] = {0};
    for (int64_t t = 0; t < p.count[j]; t++) hist[d.labels[p.index[j][t]]]++;
    for (int c = 0; c < 10; c++)
      ck_assert_msg(llabs(hist[c] - 40) <= 6, "owner %d class %d: %lld samples (expected 40 +- 6)", j, c,
                    (long long)hist[c]);
  }
  ck_assert_double_lt(mean_top_share(&p, &d), 0.15);
  mpsl_partition_free(&p);
  mpsl_dataset_free(&d);
}
END_TEST

START_TEST(test_partition_errors) {
  mpsl_dataset d = mem_labels(20, 10);
  mpsl_partition p;
  struct {
    int k;
    const char *kind;
    double alpha;
    const char *what;
  } bad[] = {
      {0, "iid", 0, "over 0 data owners (expected 1 to 20)"},
      {21, "iid", 0, "over 21 data owners (expected 1 to 20)"},
      {-3, "dirichlet", 1, "over -3 data owners"},
      {4, "dirichlet", 0, "Dirichlet alpha 0 (expected > 0)"},
      {4, "dirichlet", -1, "Dirichlet alpha -1 (expected > 0)"},
      {4, "dirichlet", NAN, "(expected > 0)"},
      {4, "random", 1, "unknown partition 'random' (expected iid or dirichlet)"},
      {20, "dirichlet", 0.01, "left some owner empty in 100 draws"},
  };
  for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
    ck_assert_int_eq(mpsl_partition_make(&p, &d, bad[t].k, bad[t].kind, bad[t].alpha, 1), -1);
    ck_assert_msg(strstr(mpsl_errmsg(), bad[t].what) != NULL, "case %zu: '%s' lacks '%s'", t, mpsl_errmsg(),
                  bad[t].what);
    ck_assert_ptr_null(p.index);
    ck_assert_ptr_null(p.count);
  }
  ck_assert_int_eq(mpsl_partition_make(&p, &d, 4, NULL, 1, 1), -1);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "unknown partition"));
  mpsl_dataset_free(&d);
}
END_TEST

START_TEST(test_partition_print) {
  mpsl_dataset d = mem_labels(10, 10);
  mpsl_partition p;
  ck_assert_int_eq(mpsl_partition_make(&p, &d, 3, "iid", 0, 2), 0);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  mpsl_partition_print(&p, &d, f);
  fclose(f);
  int lines = 0;
  for (char *c = text; *c; c++) lines += *c == '\n';
  ck_assert_int_eq(lines, 3);
  char want[64];
  snprintf(want, sizeof want, "owner 2: %lld samples, labels ", (long long)p.count[2]);
  ck_assert_msg(strstr(text, want) != NULL, "'%s' lacks '%s'", text, want);
  /* the histogram of owner 0 holds count[0] ones (labels are distinct) */
  int ones = 0;
  char *line0 = strstr(text, "labels ") + 7;
  for (int c = 0; c < 10; c++) ones += (int)strtol(line0, &line0, 10);
  ck_assert_int_eq(ones, p.count[0]);
  free(text);
  mpsl_partition_free(&p);
  mpsl_dataset_free(&d);
}
END_TEST

/* ---- the real Fashion-MNIST ------------------------------------------------------------ */

START_TEST(test_fashion_mnist) {
  struct stat st;
  if (stat(FASHION_DIR, &st) != 0) {
    fprintf(stderr, "check_data: %s missing (Debian's dataset-fashion-mnist): skipped\n", FASHION_DIR);
    return;
  }
  mpsl_dataset d;
  ck_assert_msg(mpsl_dataset_load(&d, "fashion-mnist", NULL, 1) == 0, "%s", mpsl_errmsg());
  ck_assert_int_eq(d.n, 60000);
  ck_assert_int_eq(d.height, 28);
  ck_assert_int_eq(d.width, 28);
  ck_assert_int_eq(d.classes, 10);
  double sum = 0;
  for (int64_t i = 0; i < d.n * 784; i++) sum += d.images[i];
  double mean = sum / 255.0 / (double)(d.n * 784);
  ck_assert_msg(fabs(mean - 0.2860) < 0.0005, "mean pixel %.5f (expected 0.2860)", mean);
  int64_t per_class[10] = {0};
  for (int64_t i = 0; i < d.n; i++) per_class[d.labels[i]]++;
  for (int c = 0; c < 10; c++) ck_assert_int_eq(per_class[c], 6000);
  mpsl_dataset_free(&d);

  ck_assert_int_eq(mpsl_dataset_load(&d, "fashion-mnist", "", 0), 0);
  ck_assert_int_eq(d.n, 10000);
  mpsl_dataset_free(&d);
}
END_TEST

static Suite *data_suite(void) {
  Suite *s = suite_create("data");
  TCase *files = tcase_create("files");
  tcase_add_checked_fixture(files, make_dir, remove_dir);
  tcase_add_test(files, test_idx_load);
  tcase_add_test(files, test_idx_prefers_gz);
  tcase_add_test(files, test_idx_trailing);
  tcase_add_test(files, test_idx_missing);
  tcase_add_test(files, test_idx_bad_magic);
  tcase_add_test(files, test_idx_truncated);
  tcase_add_test(files, test_idx_huge_count);
  tcase_add_test(files, test_idx_cut_gzip);
  tcase_add_test(files, test_idx_bad_crc);
  tcase_add_test(files, test_idx_count_mismatch);
  tcase_add_test(files, test_idx_label_range);
  tcase_add_test(files, test_idx_dims);
  tcase_add_test(files, test_cifar10_load);
  tcase_add_test(files, test_cifar10_subdir);
  tcase_add_test(files, test_cifar100_load);
  tcase_add_test(files, test_cifar_malformed);
  tcase_add_test(files, test_names_and_defaults);
  suite_add_tcase(s, files);

  TCase *prep = tcase_create("preprocess");
  tcase_add_test(prep, test_batch_pad);
  tcase_add_test(prep, test_batch_rgb);
  tcase_add_test(prep, test_batch_augment_by_hand);
  tcase_add_test(prep, test_batch_augment_determinism);
  tcase_add_test(prep, test_epoch_order);
  suite_add_tcase(s, prep);

  TCase *part = tcase_create("partition");
  tcase_add_test(part, test_partition_iid);
  tcase_add_test(part, test_partition_dirichlet);
  tcase_add_test(part, test_partition_errors);
  tcase_add_test(part, test_partition_print);
  suite_add_tcase(s, part);

  TCase *real = tcase_create("fashion-mnist");
  tcase_add_test(real, test_fashion_mnist);
  suite_add_tcase(s, real);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(data_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
