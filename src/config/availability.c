/* Who sits out which round (config/runconfig.h, docs/run.md "Faults on purpose"): the
 * absence key's seeded probability, or the availability file's list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/runconfig.h"
#include "util/err.h"
#include "util/provenance.h"
#include "util/rng.h"

/* Longest piece of a line a message quotes. */
#define QUOTED 40
/* A larger file is refused: a list of every owner of 10^4 in each of 10^4 rounds fits. */
#define MAX_BYTES ((size_t)1 << 30)

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f'; }

/* A whole number of decimal digits alone, at most `max`; -1 for anything else. */
static long long whole(const char *p, size_t n, long long max) {
  if (n == 0 || n > 18) return -1;
  long long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = 10 * v + (p[i] - '0');
  }
  return v <= max ? v : -1;
}

int sl_availability_parse(sl_absence *a, const char *text, size_t n, const char *path, int K, int rounds) {
  int *seen = mpsl_xcalloc((size_t)rounds, sizeof *seen, "availability rounds"); /* line of each round, 0: none */
  int64_t cap = 0;
  a->n = 0;
  a->pairs = NULL;
  a->file = 0;
  int rc = 0;
  long line = 0;
  for (size_t at = 0; at < n && !rc;) {
    line++;
    const char *p = text + at, *nl = memchr(p, '\n', n - at);
    size_t len = nl ? (size_t)(nl - p) : n - at;
    at += len + (nl != NULL);
    const char *nul = memchr(p, '\0', len);
    if (nul) {
      rc = mpsl_fail("%s:%ld: a NUL byte at column %ld: expected a text file", path, line, (long)(nul - p) + 1);
      break;
    }
    const char *hash = memchr(p, '#', len);
    if (hash) len = (size_t)(hash - p);
    while (len && is_space(p[len - 1])) len--;
    while (len && is_space(*p)) p++, len--;
    if (!len) continue;
    const char *colon = memchr(p, ':', len);
    if (!colon) {
      rc = mpsl_fail("%s:%ld: '%.*s': expected ROUND: OWNER ... (the data owners that sit out round ROUND)", path,
                     line, (int)(len < QUOTED ? len : QUOTED), p);
      break;
    }
    size_t rl = (size_t)(colon - p);
    while (rl && is_space(p[rl - 1])) rl--;
    long long r = whole(p, rl, rounds);
    if (r < 1) {
      rc = mpsl_fail("%s:%ld: round '%.*s': expected a round 1..%d (rounds = %d)", path, line,
                     (int)(rl < QUOTED ? rl : QUOTED), p, rounds, rounds);
      break;
    }
    if (seen[r - 1]) {
      rc = mpsl_fail("%s:%ld: round %lld again (first at line %d): expected each round on one line", path, line, r,
                     seen[r - 1]);
      break;
    }
    seen[r - 1] = line > 0x7fffffff ? 0x7fffffff : (int)line;
    int64_t from = a->n;
    const char *q = colon + 1, *end = p + len;
    while (q < end && !rc) {
      while (q < end && is_space(*q)) q++;
      const char *w = q;
      while (q < end && !is_space(*q)) q++;
      if (q == w) break;
      long long k = whole(w, (size_t)(q - w), (long long)K - 1);
      if (k < 0) {
        rc = mpsl_fail("%s:%ld: owner '%.*s' of round %lld: expected a data owner 0..%d (clients = %d)", path, line,
                       (int)(q - w < QUOTED ? q - w : QUOTED), w, r, K - 1, K);
        break;
      }
      if (a->n == cap) {
        cap = cap ? 2 * cap : 64;
        uint64_t *np = realloc(a->pairs, (size_t)cap * sizeof *np);
        if (!np) MPSL_DIE("out of memory reading availability file %s", path);
        a->pairs = np;
      }
      a->pairs[a->n++] = (uint64_t)(r - 1) << 32 | (uint64_t)k;
    }
    if (rc) break;
    qsort(a->pairs + from, (size_t)(a->n - from), sizeof *a->pairs, cmp_u64);
    for (int64_t i = from + 1; i < a->n && !rc; i++)
      if (a->pairs[i] == a->pairs[i - 1])
        rc = mpsl_fail("%s:%ld: owner %u of round %lld twice: expected each owner once a round", path, line,
                       (unsigned)(a->pairs[i] & 0xffffffffu), r);
  }
  free(seen);
  if (rc) {
    free(a->pairs);
    a->pairs = NULL;
    a->n = 0;
    return -1;
  }
  /* each round's owners are sorted and its key's high half differs from every other's */
  qsort(a->pairs, (size_t)a->n, sizeof *a->pairs, cmp_u64);
  a->file = 1;
  return 0;
}

int sl_absence_load(sl_absence *a, const sl_config *c) {
  memset(a, 0, sizeof *a);
  a->seed = (uint64_t)c->seed;
  a->p = c->absence;
  const char *path = c->availability;
  if (!path[0]) return 0;
  if (c->absence > 0)
    return mpsl_fail("availability = %s: absence = %g is given too: expected one of them (a trace file, or a "
                     "probability)",
                     path, c->absence);
  FILE *f = fopen(path, "rb");
  if (!f) return mpsl_fail("availability = %s: cannot open it (%s)", path, strerror(errno));
  size_t n = 0, cap = 1 << 12;
  char *text = mpsl_xmalloc(cap, "availability file");
  for (;;) {
    n += fread(text + n, 1, cap - n, f);
    if (n < cap) break;
    if (cap >= MAX_BYTES) break; /* refused below */
    char *nt = realloc(text, cap *= 2);
    if (!nt) MPSL_DIE("out of memory reading availability file %s", path);
    text = nt;
  }
  int rc = 0;
  if (ferror(f))
    rc = mpsl_fail("availability = %s: cannot read it (%s)", path, strerror(errno));
  else if (n == cap)
    rc = mpsl_fail("availability = %s: more than %zu bytes: expected a list of owners per round", path, cap);
  fclose(f);
  if (!rc && sl_availability_parse(a, text, n, path, c->clients, c->rounds))
    rc = mpsl_fail_context("availability = %s", path);
  if (!rc) mpsl_sha256_hex(text, n, a->sha256);
  free(text);
  if (rc) sl_absence_free(a);
  return rc;
}

void sl_absence_free(sl_absence *a) {
  free(a->pairs);
  a->pairs = NULL;
  a->n = 0;
  a->file = 0;
}

int sl_owner_absent(const sl_absence *a, int round, int k) {
  if (a->file) {
    uint64_t key = (uint64_t)round << 32 | (uint32_t)k;
    return a->n && bsearch(&key, a->pairs, (size_t)a->n, sizeof key, cmp_u64) != NULL;
  }
  if (a->p <= 0) return 0;
  uint64_t u = mpsl_rng_u64(a->seed ^ 0xbb67ae8584caa73bull, (uint64_t)k, (uint64_t)round);
  return (double)(u >> 11) * 0x1.0p-53 < a->p;
}
