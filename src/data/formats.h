/* File formats behind mpsl_dataset_load. Each loader fills n, channels, height, width,
 * images and labels of a dataset whose name, classes and constants are already set; on
 * -1 the caller frees whatever was allocated. */
#ifndef MPSL_DATA_FORMATS_H
#define MPSL_DATA_FORMATS_H

#include "data/data.h"

/* MNIST / Fashion-MNIST: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. */
int mpsl_idx_load(mpsl_dataset *d, const char *dir, int train);
/* CIFAR-10 (data_batch_{1..5}.bin, test_batch.bin) or CIFAR-100 (train.bin, test.bin)
 * binary versions, chosen by d->classes. */
int mpsl_cifar_load(mpsl_dataset *d, const char *dir, int train);

#endif
