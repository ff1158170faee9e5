/* Writing an HDF5 file so that a failed write (a full disk, a quota) leaves it as it was
 * opened, and a write that succeeded is on the disk when its H5Fclose returns
 * (io/h5commit.c says how). The files are plain HDF5 files: any reader opens them. */
#ifndef MPSL_IO_H5COMMIT_H
#define MPSL_IO_H5COMMIT_H

#include <hdf5.h>

/* A file access list with the driver (and without file locks), for H5Fcreate and H5Fopen
 * with H5F_ACC_RDWR; H5I_INVALID_HID on failure. The caller closes it. */
hid_t h5_commit_fapl(void);
/* After H5Fclose of such a file: 0 when every byte of the session is in the file and
 * synced, or the errno of the write that failed (ENOSPC, EDQUOT, EIO), in which case the
 * file holds exactly what it held when it was opened (a created one is empty), unless
 * h5_commit_torn(). */
int h5_commit_error(void);
/* After such a failure: 1 when it came after the in-place bytes began to be written (an
 * EIO, or a copy-on-write file system that needed space to overwrite), so that the file
 * may not be as it was. */
int h5_commit_torn(void);
/* While on (1), a close of such a file starts writing its bytes to the disk and returns
 * without waiting for them: for rows that a later close, which waits, makes durable (a
 * simulation's events within a round, before the round's own rows). A full disk is still
 * found by the write that needs the space. */
void h5_commit_defer_sync(int on);

#endif
