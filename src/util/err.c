#include "util/err.h"

#include <mpi.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char errbuf[16384];
static const char *program = "mpsl";

void mpsl_set_program(const char *name) { program = name; }
const char *mpsl_program(void) { return program; }

/* The escape of byte c: itself, \t \n \r, or \xNN; its length. */
static size_t escape(unsigned char c, char e[5]) {
  static const char hex[] = "0123456789abcdef";
  if (c == '\t' || c == '\n' || c == '\r') {
    e[0] = '\\', e[1] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
    return 2;
  }
  if (c < 0x20 || c == 0x7f) {
    e[0] = '\\', e[1] = 'x', e[2] = hex[c >> 4], e[3] = hex[c & 15];
    return 4;
  }
  e[0] = (char)c;
  return 1;
}

const char *mpsl_shown(const char *text, char *buf, size_t cap) {
  if (cap == 0) return buf;
  const unsigned char *p = (const unsigned char *)text;
  char e[5];
  size_t all = 0;
  for (size_t i = 0; p[i]; i++) all += escape(p[i], e);
  /* all of it when it fits; else whole escapes up to the room left for "..." */
  size_t room = all < cap ? cap - 1 : cap >= 4 ? cap - 4 : cap - 1, k = 0;
  for (; *p; p++) {
    size_t n = escape(*p, e);
    if (k + n > room) break;
    memcpy(buf + k, e, n), k += n;
  }
  if (*p && cap >= 4) memcpy(buf + k, "...", 3), k += 3;
  buf[k] = '\0';
  return buf;
}

/* The recorded message with every control byte escaped (mpsl_shown). */
static void record(const char *msg) { mpsl_shown(msg, errbuf, sizeof errbuf); }

int mpsl_fail(const char *fmt, ...) {
  char msg[sizeof errbuf];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  record(msg);
  return -1;
}

int mpsl_fail_context(const char *fmt, ...) {
  char ctx[8192], msg[sizeof errbuf];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx, sizeof ctx, fmt, ap);
  va_end(ap);
  snprintf(msg, sizeof msg, "%s: %s", ctx, mpsl_errmsg());
  record(msg);
  return -1;
}

const char *mpsl_errmsg(void) { return errbuf[0] ? errbuf : "unknown error"; }

static _Noreturn void abort_all(void) {
  int up = 0, down = 0;
  MPI_Initialized(&up);
  MPI_Finalized(&down);
  fflush(stdout);
  fflush(stderr);
  if (up && !down) MPI_Abort(MPI_COMM_WORLD, 1);
  exit(1);
}

void mpsl_die(const char *file, int line, const char *expr, const char *msg) {
  fprintf(stderr, "%s: fatal: %s:%d: %s: %s\n", program, file, line, expr, msg);
  abort_all();
}

void mpsl_die_fmt(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: fatal: %s:%d: ", program, file, line);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort_all();
}

void *mpsl_xmalloc(size_t n, const char *what) {
  void *p = malloc(n ? n : 1);
  if (!p) MPSL_DIE("out of memory allocating %zu bytes for %s", n, what);
  return p;
}

void *mpsl_xcalloc(size_t n, size_t size, const char *what) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) MPSL_DIE("out of memory allocating %zu x %zu bytes for %s", n, size, what);
  return p;
}

void *mpsl_xalloc_aligned(size_t n, const char *what) {
  size_t sz = (n + 63) & ~(size_t)63;
  void *p = aligned_alloc(64, sz ? sz : 64);
  if (!p) MPSL_DIE("out of memory allocating %zu bytes for %s", n, what);
  memset(p, 0, sz ? sz : 64);
  return p;
}

const char *mpsl_dnnl_str(int s) {
  switch ((dnnl_status_t)s) {
    case dnnl_success: return "success";
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented";
    case dnnl_iterator_ends: return "iterator ends";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    default: return "unknown oneDNN status";
  }
}

const char *mpsl_mpi_str(int code) {
  static char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS) snprintf(buf, sizeof buf, "MPI error %d", code);
  return buf;
}
