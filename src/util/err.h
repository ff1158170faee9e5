/* Errors: a user's mistake is reported with mpsl_fail() and travels back as -1;
 * a library failure that means a bug or a broken machine ends the program with
 * file:line, the expression and the library's own message (MPI_Abort when MPI is up). */
#ifndef MPSL_UTIL_ERR_H
#define MPSL_UTIL_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* Record a one-line message for the caller to print; returns -1 so that
 * `return mpsl_fail("...")` reads naturally. Each failure replaces the message before it
 * (one per thread), so the message read after a -1 is always that failure's: nothing to
 * clear. A caller that adds to it uses mpsl_fail_context. */
int mpsl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Puts context in front of the recorded message: "do_devices = x: " + message. -1. */
int mpsl_fail_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *mpsl_errmsg(void);

/* `text` as a message may quote it: every control byte written as an escape (\t, \n, \r,
 * else \xNN, so an escape sequence or a line break from a file never reaches the terminal
 * raw), and cut with "..." to fit `cap` bytes. Returns buf. mpsl_fail and
 * mpsl_fail_context pass every message through it, whatever it quotes; a message printed
 * otherwise quotes input through it. */
const char *mpsl_shown(const char *text, char *buf, size_t cap);

/* The name the library's own messages begin with ("mpsl run: warning: ..."): the command
 * that runs, set by the command line ("mpsl" until then). */
void mpsl_set_program(const char *name);
const char *mpsl_program(void);

_Noreturn void mpsl_die(const char *file, int line, const char *expr, const char *msg);
_Noreturn void mpsl_die_fmt(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define MPSL_DIE(...) mpsl_die_fmt(__FILE__, __LINE__, __VA_ARGS__)

#define DNNL_CHECK(expr)                                                            \
  do {                                                                              \
    dnnl_status_t s_ = (expr);                                                      \
    if (s_ != dnnl_success) mpsl_die(__FILE__, __LINE__, #expr, mpsl_dnnl_str(s_)); \
  } while (0)

#define MPI_CHECK(expr)                                                 \
  do {                                                                  \
    int e_ = (expr);                                                    \
    if (e_ != 0) mpsl_die(__FILE__, __LINE__, #expr, mpsl_mpi_str(e_)); \
  } while (0)

/* Allocation that cannot fail quietly: dies with the size asked for. */
void *mpsl_xmalloc(size_t n, const char *what);
void *mpsl_xcalloc(size_t n, size_t size, const char *what);
/* 64-byte aligned, zeroed; release with free(). */
void *mpsl_xalloc_aligned(size_t n, const char *what);

const char *mpsl_dnnl_str(int status);
const char *mpsl_mpi_str(int code);

#endif
