/* Small HDF5 helpers shared by every file format of mpsl. */
#ifndef MPSL_IO_H5UTIL_H
#define MPSL_IO_H5UTIL_H

#include <hdf5.h>

/* HDF5 prints its error stack by default; a user should see our one line instead. The
 * previous handler is saved on begin and restored on end, so a caller who wants the
 * stack printed elsewhere keeps it. Every file access of mpsl sits between the two, which
 * also let one thread at a time into HDF5 (Debian's serial library is not thread-safe; a
 * run's signal watcher writes the status from a thread of its own, sl/run.c); they nest. */
typedef struct {
  H5E_auto2_t func;
  void *data;
} quiet_h5;

void quiet_begin(quiet_h5 *q);
void quiet_end(const quiet_h5 *q);
/* Takes the lock for good: no other thread enters HDF5 again (a process about to end). */
void h5_hold(void);

/* The most specific message on HDF5's current error stack, or "" if there is none. */
const char *h5_detail(void);

/* The folders on the way to file `path`, made where missing (mkdir -p of its folder). -1
 * with mpsl_fail naming the folder. */
int h5_make_parent(const char *path);

/* A file written so that a failure never leaves one that looks complete: h5_tmp_create
 * makes PATH.tmp (errors quiet until finish), h5_tmp_finish closes it and renames it over
 * PATH when ok, or removes it. Both return 0, or -1 with mpsl_fail naming the file. */
typedef struct {
  hid_t file;
  char *tmp;
  const char *path;
  quiet_h5 q;
} h5_tmpfile;

int h5_tmp_create(h5_tmpfile *w, const char *path);
/* The same with the temporary PATH.tmp.HOST.PID, for files that several processes may
 * write at once (the profile cache of a Slurm array): two writers never share a
 * temporary, and the last rename wins with a complete file. */
int h5_tmp_create_unique(h5_tmpfile *w, const char *path);
int h5_tmp_finish(h5_tmpfile *w, int ok);

#endif
