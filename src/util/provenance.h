/* Where a result came from: the build (version, source commit, compiler and flags, taken
 * when the program was built), the command line it was started with, UTC times, the host,
 * and the SHA-256 of an input file. Every results file carries them (docs/results.md). */
#ifndef MPSL_UTIL_PROVENANCE_H
#define MPSL_UTIL_PROVENANCE_H

#include <stddef.h>

/* `git describe --always --dirty` of the source tree at build time; "" when the program
 * was built from a release tarball (no git checkout). */
const char *mpsl_source_commit(void);
/* The compiler (as invoked, then the first line of its --version) and every flag it got
 * besides include paths and macros: CFLAGS then the build's own (warnings, OpenMP). */
const char *mpsl_build_compiler(void);
const char *mpsl_build_cflags(void);

/* Records argv (what main got); mpsl_command_line then gives it as one line, each
 * argument quoted for a POSIX shell where it needs it: "mpsl run 'a b.ini'". */
void mpsl_set_command_line(int argc, char **argv);
const char *mpsl_command_line(void);

/* "2026-12-01T14:05:37Z", now; buf holds at least 21 bytes. */
void mpsl_utc_now(char *buf, size_t cap);

/* This host's name ("" if it has none). */
void mpsl_host_name(char *buf, size_t cap);

/* The SHA-256 of the bytes of file `path` as 64 lowercase hex digits (what sha256sum
 * prints) into hex[65]; -1 with mpsl_fail when it cannot be read. */
int mpsl_sha256_file(const char *path, char hex[65]);
/* The digest of a buffer; and as 64 lowercase hex digits into hex[65]. */
void mpsl_sha256(const void *data, size_t n, unsigned char out[32]);
void mpsl_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
