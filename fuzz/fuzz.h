/* What every fuzz target shares: a private folder for the inputs a reader takes by path
 * (made once, removed at exit), and a helper that writes one buffer to a file in it. */
#ifndef MPSL_FUZZ_FUZZ_H
#define MPSL_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The folder, made on the first call under $TMPDIR (default /tmp). */
const char *fuzz_dir(void);
/* fuzz_dir()/name holding exactly data[0..n); the path is written into path (cap bytes).
 * Aborts when the file cannot be written: a broken machine, not a finding. */
const char *fuzz_write(const char *name, const uint8_t *data, size_t n, char *path, size_t cap);
/* data[0..n) as a NUL-terminated string (malloc'd; the caller frees it). */
char *fuzz_text(const uint8_t *data, size_t n);

/* libFuzzer's entry points. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
