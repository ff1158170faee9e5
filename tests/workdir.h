/* Shared by tests that write files: each test runs in its own empty directory under
 * $TMPDIR (or /tmp), so messages name plain file names; the directory is removed after. */
#ifndef MPSL_TESTS_WORKDIR_H
#define MPSL_TESTS_WORKDIR_H

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/err.h"

static char workdir[4096];

static int workdir_remove_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

/* tag names the directory, e.g. "weights" gives $TMPDIR/mpsl-weights-XXXXXX */
static inline void workdir_enter(const char *tag) {
  const char *base = getenv("TMPDIR");
  snprintf(workdir, sizeof workdir, "%s/mpsl-%s-XXXXXX", base && *base ? base : "/tmp", tag);
  ck_assert_ptr_nonnull(mkdtemp(workdir));
  ck_assert_int_eq(chdir(workdir), 0);
}

static inline void workdir_leave(void) {
  if (chdir("/") == 0) nftw(workdir, workdir_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
