/* Small HDF5 helpers shared by every file format of mpsl. */
#ifndef MPSL_IO_H5UTIL_H
#define MPSL_IO_H5UTIL_H

#include <hdf5.h>

/* HDF5 prints its error stack by default; a user should see our one line instead. The
 * previous handler is saved on begin and restored on end, so a caller who wants the
 * stack printed elsewhere keeps it. */
typedef struct {
  H5E_auto2_t func;
  void *data;
} quiet_h5;

void quiet_begin(quiet_h5 *q);
void quiet_end(const quiet_h5 *q);

/* The most specific message on HDF5's current error stack, or "" if there is none. */
const char *h5_detail(void);

#endif
