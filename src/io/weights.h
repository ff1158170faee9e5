/* Model weights in HDF5: one dataset per tensor at the root, named by its PyTorch
 * state_dict key ("features.0.weight", "layer1.0.bn1.running_var", ...), shaped as in
 * PyTorch. float32 for parameters and running statistics, int64 for num_batches_tracked. */
#ifndef MPSL_IO_WEIGHTS_H
#define MPSL_IO_WEIGHTS_H

#include <stdint.h>

typedef enum { MPSL_F32 = 0, MPSL_I64 = 1, MPSL_F64 = 2 } mpsl_dtype;

typedef struct {
  char name[96];
  mpsl_dtype dtype;
  int ndims; /* 0 for a scalar */
  int64_t dims[4];
  void *data; /* dims product elements of dtype, C order */
} mpsl_named_tensor;

int64_t mpsl_tensor_numel(const mpsl_named_tensor *t);

/* Writes every tensor to a new file (replaced if it exists; written to PATH.tmp and
 * renamed, so a failed save never leaves a file that looks complete).
 * Returns 0, or -1 with mpsl_fail naming the file and tensor. */
int mpsl_weights_save(const char *path, const mpsl_named_tensor *t, int n);

/* Reads each tensor by name into t[i].data. The file may hold more tensors than asked.
 * A missing name, a shape or type that differs, a NaN or an infinity in a float tensor, or
 * an unreadable file is -1 with mpsl_fail naming the file, the key, what it holds and what
 * was expected. */
int mpsl_weights_load(const char *path, mpsl_named_tensor *t, int n);

#endif
