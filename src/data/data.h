/* Datasets, preprocessing and the partition of the training set over the K data owners.
 * Images stay uint8 in memory (Fashion-MNIST train is 47 MB, CIFAR 150 MB); a batch is
 * turned into float only when it is drawn, exactly as torchvision's
 * Pad(2) [28x28 only] -> RandomCrop(32, padding=4) + RandomHorizontalFlip [optional]
 * -> ToTensor -> Normalize(mean, std) would. */
#ifndef MPSL_DATA_DATA_H
#define MPSL_DATA_DATA_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
  char name[32];               /* "fashion-mnist", "mnist", "cifar10", "cifar100" */
  int64_t n;                   /* samples */
  int channels, height, width; /* as stored in the file: 1x28x28 or 3x32x32 */
  int classes;                 /* 10 or 100 */
  uint8_t *images;             /* (n, channels, height, width), C order */
  uint8_t *labels;             /* (n) */
  float mean[3], std[3];       /* Normalize constants per channel (torchvision's) */
} mpsl_dataset;

/* Reads the training (train != 0) or test split of `name` from `dir` (NULL or "" means
 * mpsl_dataset_default_dir(name)). IDX files are read as FILE.gz if present, else FILE.
 * Returns 0, or -1 with a one-line mpsl_fail naming the file, what is wrong and what was
 * expected; on failure *d is left zeroed and nothing is leaked. */
int mpsl_dataset_load(mpsl_dataset *d, const char *name, const char *dir, int train);
void mpsl_dataset_free(mpsl_dataset *d); /* safe on a zeroed or already freed dataset */

/* Side of a preprocessed image: 32 (28x28 inputs are padded by 2 on each side). */
int mpsl_dataset_size(const mpsl_dataset *d);

/* What is known of a dataset without reading it: the standard files' sample counts and
 * the stored images (uint8, `side` x `side` x `channels`; preprocessing pads 28 to 32). */
typedef struct {
  int classes, channels, side;
  int64_t train, test;
} mpsl_dataset_facts;

/* -1 with mpsl_fail for an unknown name. */
int mpsl_dataset_facts_of(const char *name, mpsl_dataset_facts *f);

/* Where `name` lives when no directory is given, or NULL when there is no such place
 * (CIFAR, or MNIST when /usr/share/datasets/mnist does not exist). */
const char *mpsl_dataset_default_dir(const char *name);

/* Augmentation draws are a pure function of (seed, stream, position in the batch i):
 * crop top = u64(seed, stream, 4i) % 9, left = u64(.., 4i+1) % 9 (offsets into the image
 * padded by 4), flip = u64(.., 4i+2) >> 63. Callers pick `stream` per step. */
typedef struct {
  int enabled;
  uint64_t seed;
  uint64_t stream;
} mpsl_augment;

/* x (n, channels, S, S) with S = mpsl_dataset_size(d); y (n) labels, may be NULL.
 * idx (n) sample indices into d; aug NULL or !enabled means no augmentation. */
void mpsl_dataset_batch(const mpsl_dataset *d, const int64_t *idx, int n, float *x, int32_t *y,
                        const mpsl_augment *aug);

/* order (n) := shard (n) as given (shuffle 0) or in a permutation that depends only on
 * (seed, epoch). order and shard must not overlap. */
void mpsl_epoch_order(int64_t *order, const int64_t *shard, int64_t n, uint64_t seed, uint64_t epoch, int shuffle);

typedef struct {
  int k;           /* data owners */
  int64_t *count;  /* (k) */
  int64_t **index; /* (k) arrays: index[j][0..count[j]-1], sorted ascending */
} mpsl_partition;

/* kind "iid": a seeded permutation cut into k shards whose sizes differ by at most 1.
 * kind "dirichlet": each class is split over the owners by proportions ~ Dir(alpha);
 * redrawn a bounded number of times while some owner gets no sample.
 * Returns 0, or -1 with mpsl_fail (bad k, alpha or kind; no valid split found). */
int mpsl_partition_make(mpsl_partition *p, const mpsl_dataset *d, int k, const char *kind, double alpha, uint64_t seed);
void mpsl_partition_free(mpsl_partition *p);
/* One line per owner: its sample count and label histogram. */
void mpsl_partition_print(const mpsl_partition *p, const mpsl_dataset *d, FILE *f);

#endif
