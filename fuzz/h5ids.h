/* For the HDF5 targets (one include per target). libhdf5 itself is not ours to fix: it
 * leaks some of what it allocated while refusing a corrupt file, and it asks malloc for
 * sizes read from the file, expecting NULL when they are absurd. So its leaks are
 * suppressed and malloc may return NULL (mpsl's own allocations still end in MPSL_DIE,
 * a finding). What LeakSanitizer then no longer sees, an id of ours never closed, is
 * counted instead: after a reader returns, as many objects are open as before it ran. */
#ifndef MPSL_FUZZ_H5IDS_H
#define MPSL_FUZZ_H5IDS_H

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>

const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libhdf5\n"; }

enum { FUZZ_H5_TYPES = 5 };

/* Open ids of files, groups, datasets, named datatypes and attributes (HDF5 counts no
 * transient datatype or dataspace for a caller: those rely on LeakSanitizer). */
static void fuzz_h5_count(ssize_t n[FUZZ_H5_TYPES]) {
  static const unsigned types[FUZZ_H5_TYPES] = {H5F_OBJ_FILE, H5F_OBJ_GROUP, H5F_OBJ_DATATYPE, H5F_OBJ_DATASET,
                                                H5F_OBJ_ATTR};
  for (int i = 0; i < FUZZ_H5_TYPES; i++) n[i] = H5Fget_obj_count(H5F_OBJ_ALL, types[i]);
}

static void fuzz_h5_check(const ssize_t before[FUZZ_H5_TYPES], const char *reader) {
  static const char *const names[FUZZ_H5_TYPES] = {"file", "group", "named datatype", "dataset", "attribute"};
  ssize_t after[FUZZ_H5_TYPES];
  fuzz_h5_count(after);
  for (int i = 0; i < FUZZ_H5_TYPES; i++)
    if (after[i] != before[i]) {
      fprintf(stderr, "%s left %lld HDF5 %s id(s) open\n", reader, (long long)(after[i] - before[i]), names[i]);
      abort();
    }
}

#endif
