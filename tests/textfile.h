/* Shared by tests that write small input files (catalogues, configurations) and read back
 * what a command printed. */
#ifndef MPSL_TESTS_TEXTFILE_H
#define MPSL_TESTS_TEXTFILE_H

#include <check.h>
#include <stdio.h>

static inline void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

/* The file's first 64 KiB as a string, in a buffer the next call reuses. */
static inline char *read_text(const char *path) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

#endif
