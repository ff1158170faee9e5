#include "config/opts.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/err.h"

/* Flags that parse_argv handles itself, so no table may use them as keys. */
static const char *const reserved_keys[] = {"set", "config", "help"};

enum { SHOWN = 120, WHY = 256, DESC = 160 };

static bool ranged(const mpsl_opt *o) { return o->min < o->max; }

static char *field_of(const mpsl_optset *s, void *cfg, int i) { return (char *)cfg + s->opts[i].offset; }

static const char *cfield_of(const mpsl_optset *s, const void *cfg, int i) {
  return (const char *)cfg + s->opts[i].offset;
}

static mpsl_optmask *mask_of(const mpsl_optset *s, void *cfg) { return (mpsl_optmask *)((char *)cfg + s->given); }

static const mpsl_optmask *cmask_of(const mpsl_optset *s, const void *cfg) {
  return (const mpsl_optmask *)((const char *)cfg + s->given);
}

static bool bit_get(const mpsl_optmask *m, int i) { return (m->bits[i / 64] >> (i % 64)) & 1u; }
static void bit_set(mpsl_optmask *m, int i) { m->bits[i / 64] |= (uint64_t)1 << (i % 64); }

/* A user's value inside a one-line message: bounded, control characters escaped. */
static const char *shown(const char *v, char buf[SHOWN]) { return mpsl_shown(v, buf, SHOWN); }

static char norm(char c) { return c == '-' ? '_' : c; }

/* Whether table key `key` names the first n characters of `name`. */
static bool key_eqn(const char *key, const char *name, size_t n) {
  size_t i = 0;
  for (; i < n && key[i]; i++)
    if (key[i] != norm(name[i])) return false;
  return i == n && key[i] == '\0';
}

static int find_key(const mpsl_optset *s, const char *name, size_t n) {
  for (int i = 0; i < s->n; i++)
    if (key_eqn(s->opts[i].key, name, n)) return i;
  return -1;
}

static int edit_distance(const char *a, size_t na, const char *b) {
  enum { L = 64 };
  size_t nb = strlen(b);
  if (na >= L || nb >= L) return INT_MAX;
  int prev[L + 1], cur[L + 1];
  for (size_t j = 0; j <= nb; j++) prev[j] = (int)j;
  for (size_t i = 1; i <= na; i++) {
    cur[0] = (int)i;
    for (size_t j = 1; j <= nb; j++) {
      int sub = prev[j - 1] + (norm(a[i - 1]) != b[j - 1]);
      int del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, cur, sizeof prev);
  }
  return prev[nb];
}

/* The closest key to a misspelt one, if it is close enough to be a typo. */
static const char *suggest(const mpsl_optset *s, const char *name, size_t n) {
  const char *best = NULL;
  int bestd = INT_MAX;
  for (int i = 0; i < s->n; i++) {
    int d = edit_distance(name, n, s->opts[i].key);
    if (d < bestd) bestd = d, best = s->opts[i].key;
  }
  return bestd <= 2 && (size_t)(2 * bestd) <= n ? best : NULL;
}

static int fail_unknown(const mpsl_optset *s, const char *origin, const char *dash, const char *name, size_t n) {
  char buf[SHOWN], cut[SHOWN];
  snprintf(cut, sizeof cut, "%.*s", (int)(n < SHOWN - 1 ? n : SHOWN - 1), name);
  const char *near = suggest(s, name, n);
  const char *what = *dash ? "option" : "key";
  if (near)
    return mpsl_fail("%s: unknown %s '%s%s' (did you mean '%s%s'?)", origin, what, dash, shown(cut, buf), dash, near);
  return mpsl_fail("%s: unknown %s '%s%s'", origin, what, dash, shown(cut, buf));
}

/* ---- numbers ---------------------------------------------------------------------- */

/* Shortest text that reads back to the same double; whole numbers without exponent. */
static void fmt_double(double x, char buf[32]) {
  if (x == trunc(x) && fabs(x) < 1e15) {
    snprintf(buf, 32, "%.0f", x);
    return;
  }
  for (int p = 1; p <= 17; p++) {
    snprintf(buf, 32, "%.*g", p, x);
    if (strtod(buf, NULL) == x) return;
  }
}

/* The integers an option accepts: its range clipped to what the field can hold. */
static void int_bounds(const mpsl_opt *o, long long tmin, long long tmax, long long *lo, long long *hi) {
  *lo = tmin;
  *hi = tmax;
  if (!ranged(o)) return;
  if (o->min > (double)tmin) *lo = (long long)ceil(o->min);
  if (o->max < (double)tmax) *hi = (long long)floor(o->max);
}

static void opt_bounds(const mpsl_opt *o, long long *lo, long long *hi) {
  if (o->type == MPSL_OPT_INT64)
    int_bounds(o, INT64_MIN, INT64_MAX, lo, hi);
  else
    int_bounds(o, INT_MIN, INT_MAX, lo, hi);
}

/* 0: parsed; 1: not an integer; 2: does not fit in long long. */
static int parse_ll(const char *t, long long *v) {
  const char *p = t + (*t == '+' || *t == '-');
  if (!isdigit((unsigned char)*p)) return 1;
  char *end;
  errno = 0;
  long long x = strtoll(t, &end, 10);
  if (*end) return 1;
  if (errno == ERANGE) return 2;
  *v = x;
  return 0;
}

/* What a valid value looks like, completing "expected ...". */
static const char *describe(const mpsl_opt *o, char buf[DESC]) {
  long long lo, hi;
  char a[32], b[32];
  switch (o->type) {
    case MPSL_OPT_INT:
    case MPSL_OPT_INT64:
      opt_bounds(o, &lo, &hi);
      snprintf(buf, DESC, "an integer in %lld..%lld", lo, hi);
      break;
    case MPSL_OPT_DOUBLE:
      if (ranged(o)) {
        fmt_double(o->min, a);
        fmt_double(o->max, b);
        snprintf(buf, DESC, "a number in %s..%s", a, b);
      } else {
        snprintf(buf, DESC, "a finite number");
      }
      break;
    case MPSL_OPT_BOOL: snprintf(buf, DESC, "1/0/true/false/yes/no/on/off"); break;
    case MPSL_OPT_STRING: snprintf(buf, DESC, "a string of at most %zu characters", o->size - 1); break;
    case MPSL_OPT_ENUM: snprintf(buf, DESC, "one of %s", o->choices); break;
    case MPSL_OPT_INTLIST:
      int_bounds(o, INT_MIN, INT_MAX, &lo, &hi);
      snprintf(buf, DESC, "a comma-separated list of at most %d integers in %lld..%lld", MPSL_INTLIST_MAX, lo, hi);
      break;
  }
  return buf;
}

/* One integer of an INT, INT64 or INTLIST option; on error `why` completes "'VALUE'". */
static int convert_int(const mpsl_opt *o, const char *t, long long *v, char *why) {
  char d[DESC];
  long long lo, hi;
  opt_bounds(o, &lo, &hi);
  int r = parse_ll(t, v);
  if (r == 1) {
    snprintf(why, WHY, " is not an integer (expected %s)", describe(o, d));
    return -1;
  }
  if (r == 2 || *v < lo || *v > hi) {
    snprintf(why, WHY, " is out of range (expected %s)", describe(o, d));
    return -1;
  }
  return 0;
}

static int convert_list(const mpsl_opt *o, const char *t, mpsl_intlist *l, char *why) {
  char d[DESC], el[SHOWN], buf[SHOWN];
  memset(l, 0, sizeof *l);
  while (isspace((unsigned char)*t)) t++;
  if (!*t) return 0;
  if ((o->flags & MPSL_OPT_PLAN) && !strncmp(t, "plan", 4) && (!t[4] || isspace((unsigned char)t[4]) || t[4] == ':')) {
    const char *rest = t + 4;
    while (isspace((unsigned char)*rest)) rest++;
    if (!*rest) {
      l->plan = 1;
      return 0;
    }
    if (*rest != ':') {
      snprintf(why, WHY, " is not plan, plan:FIRST,LAST or %s", describe(o, d));
      return -1;
    }
    if (convert_list(o, rest + 1, l, why)) return -1;
    if (l->n != 2 || l->plan) {
      snprintf(why, WHY, ": plan:FIRST,LAST takes two cuts, the fixed ends (got %d)", l->n);
      return -1;
    }
    l->plan = 1;
    return 0;
  }
  for (const char *p = t;;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    while (n && isspace((unsigned char)*p)) p++, n--;
    while (n && isspace((unsigned char)p[n - 1])) n--;
    if (l->n == MPSL_INTLIST_MAX) {
      snprintf(why, WHY, " has too many elements (expected %s)", describe(o, d));
      return -1;
    }
    snprintf(el, sizeof el, "%.*s", (int)(n < SHOWN - 1 ? n : SHOWN - 1), p);
    long long v;
    int r = n < SHOWN - 1 ? parse_ll(el, &v) : 2;
    long long lo, hi;
    int_bounds(o, INT_MIN, INT_MAX, &lo, &hi);
    if (r || v < lo || v > hi) {
      snprintf(why, WHY, ": element %d '%s' is %s (expected %s)", l->n + 1, shown(el, buf),
               r == 1 ? "not an integer" : "out of range", describe(o, d));
      return -1;
    }
    l->v[l->n++] = (int)v;
    if (!end) return 0;
    p = end + 1;
  }
}

static bool is_choice(const char *choices, const char *t) {
  size_t n = strlen(t);
  for (const char *p = choices;;) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && !memcmp(p, t, n)) return true;
    if (!bar) return false;
    p = bar + 1;
  }
}

/* Text to a field image in dst (o->size bytes, fully written). On error returns -1 and
 * `why` completes a message of the form "'VALUE'<why>". */
static int convert(const mpsl_opt *o, const char *t, void *dst, char *why) {
  char d[DESC];
  long long v;
  memset(dst, 0, o->size);
  switch (o->type) {
    case MPSL_OPT_INT:
      if (convert_int(o, t, &v, why)) return -1;
      *(int *)dst = (int)v;
      return 0;
    case MPSL_OPT_INT64:
      if (convert_int(o, t, &v, why)) return -1;
      *(int64_t *)dst = (int64_t)v;
      return 0;
    case MPSL_OPT_DOUBLE: {
      char *end;
      double x = strtod(t, &end);
      if (!*t || isspace((unsigned char)*t) || *end) {
        snprintf(why, WHY, " is not a number (expected %s)", describe(o, d));
        return -1;
      }
      if (!isfinite(x)) {
        snprintf(why, WHY, " is not a finite number (expected %s)", describe(o, d));
        return -1;
      }
      if (ranged(o) && (x < o->min || x > o->max)) {
        snprintf(why, WHY, " is out of range (expected %s)", describe(o, d));
        return -1;
      }
      *(double *)dst = x;
      return 0;
    }
    case MPSL_OPT_BOOL: {
      static const char *const yes[] = {"1", "true", "yes", "on"};
      static const char *const no[] = {"0", "false", "no", "off"};
      for (int i = 0; i < 4; i++) {
        if (!strcasecmp(t, yes[i])) return *(bool *)dst = true, 0;
        if (!strcasecmp(t, no[i])) return *(bool *)dst = false, 0;
      }
      snprintf(why, WHY, " is not a boolean (expected %s)", describe(o, d));
      return -1;
    }
    case MPSL_OPT_STRING:
      if (strlen(t) >= o->size) {
        snprintf(why, WHY, " is too long (expected %s)", describe(o, d));
        return -1;
      }
      for (const char *p = t; *p; p++)
        if (iscntrl((unsigned char)*p)) {
          snprintf(why, WHY, " contains a control character (expected %s)", describe(o, d));
          return -1;
        }
      memcpy(dst, t, strlen(t));
      return 0;
    case MPSL_OPT_ENUM:
      /* Empty means unset, allowed only where the table gives no default. */
      if (!(*t == '\0' && !o->def) && !is_choice(o->choices, t)) {
        snprintf(why, WHY, " is not one of %s", o->choices);
        return -1;
      }
      memcpy(dst, t, strlen(t));
      return 0;
    case MPSL_OPT_INTLIST: return convert_list(o, t, dst, why);
  }
  return -1;
}

/* `shownkey` is how the key appears in messages: "--batch" on the command line. */
static int set_index(const mpsl_optset *s, void *cfg, int i, const char *value, const char *origin,
                     const char *shownkey) {
  const mpsl_opt *o = &s->opts[i];
  char why[WHY], buf[SHOWN];
  void *tmp = mpsl_xmalloc(o->size, "option value");
  int rc = convert(o, value, tmp, why);
  if (rc == 0) {
    memcpy(field_of(s, cfg, i), tmp, o->size);
    bit_set(mask_of(s, cfg), i);
    mask_of(s, cfg)->file[i] = 0; /* mpsl_opts_set_at says when it came from a file */
  } else {
    mpsl_fail("%s: %s: '%s'%s", origin, shownkey, shown(value, buf), why);
  }
  free(tmp);
  return rc;
}

/* ---- the table itself --------------------------------------------------------------- */

static size_t type_size(mpsl_opt_type t) {
  switch (t) {
    case MPSL_OPT_INT: return sizeof(int);
    case MPSL_OPT_INT64: return sizeof(int64_t);
    case MPSL_OPT_DOUBLE: return sizeof(double);
    case MPSL_OPT_BOOL: return sizeof(bool);
    case MPSL_OPT_INTLIST: return sizeof(mpsl_intlist);
    case MPSL_OPT_STRING:
    case MPSL_OPT_ENUM: return 0;
  }
  return 0;
}

static bool overlap(size_t a, size_t na, size_t b, size_t nb) { return a < b + nb && b < a + na; }

/* Choices are written unquoted in files, so they avoid what a file line would alter. */
static void check_choices(const mpsl_optset *s, const mpsl_opt *o) {
  const char *p = o->choices;
  if (!p || !*p) MPSL_DIE("option table %s: %s: an enum needs choices", s->name, o->key);
  size_t len = 0;
  for (;; p++) {
    if (*p == '|' || *p == '\0') {
      if (len == 0) MPSL_DIE("option table %s: %s: empty choice", s->name, o->key);
      if (len >= o->size) MPSL_DIE("option table %s: %s: choice longer than the field", s->name, o->key);
      if (!*p) break;
      len = 0;
    } else if (!isgraph((unsigned char)*p) || strchr("#;\"", *p)) {
      MPSL_DIE("option table %s: %s: choice with a blank, '#', ';' or '\"'", s->name, o->key);
    } else {
      len++;
    }
  }
}

static void check_table(const mpsl_optset *s) {
  if (!s->opts || s->n < 0 || s->n > MPSL_OPT_MAX)
    MPSL_DIE("option table %s: needs 0..%d keys, has %d", s->name, MPSL_OPT_MAX, s->n);
  for (int i = 0; i < s->n; i++) {
    const mpsl_opt *o = &s->opts[i];
    const char *k = o->key;
    if (!k) MPSL_DIE("option table %s: row %d has no key", s->name, i);
    if (!islower((unsigned char)k[0]))
      MPSL_DIE("option table %s: key '%s' must start with a lower-case letter", s->name, k);
    for (const char *p = k; *p; p++)
      if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
        MPSL_DIE("option table %s: key '%s' may hold only a-z, 0-9 and '_'", s->name, k);
    for (size_t r = 0; r < sizeof reserved_keys / sizeof *reserved_keys; r++)
      if (!strcmp(k, reserved_keys[r])) MPSL_DIE("option table %s: '%s' is reserved", s->name, k);
    if (!o->help) MPSL_DIE("option table %s: %s: no help text", s->name, k);
    size_t want = type_size(o->type);
    if (want ? o->size != want : o->size < 2)
      MPSL_DIE("option table %s: %s: field size %zu does not suit its type", s->name, k, o->size);
    if (o->type == MPSL_OPT_ENUM) check_choices(s, o);
    if (overlap(o->offset, o->size, s->given, sizeof(mpsl_optmask)))
      MPSL_DIE("option table %s: %s overlaps the given-mask", s->name, k);
    for (int j = 0; j < i; j++) {
      const mpsl_opt *q = &s->opts[j];
      if (!strcmp(k, q->key)) MPSL_DIE("option table %s: key '%s' twice", s->name, k);
      if (overlap(o->offset, o->size, q->offset, q->size))
        MPSL_DIE("option table %s: %s and %s share memory", s->name, k, q->key);
      /* --no-KEY of a boolean must not be another key's flag. */
      const mpsl_opt *b = o->type == MPSL_OPT_BOOL ? o : q, *other = b == o ? q : o;
      if (b->type == MPSL_OPT_BOOL && !strncmp(other->key, "no_", 3) && !strcmp(other->key + 3, b->key))
        MPSL_DIE("option table %s: '%s' clashes with --no-%s", s->name, other->key, b->key);
    }
  }
}

void mpsl_opts_defaults(const mpsl_optset *s, void *cfg) {
  check_table(s);
  memset(mask_of(s, cfg), 0, sizeof(mpsl_optmask));
  for (int i = 0; i < s->n; i++) {
    const mpsl_opt *o = &s->opts[i];
    char why[WHY];
    if (!o->def)
      memset(field_of(s, cfg, i), 0, o->size);
    else if (convert(o, o->def, field_of(s, cfg, i), why))
      MPSL_DIE("option table %s: %s: default '%s'%s", s->name, o->key, o->def, why);
  }
}

/* ---- reading ------------------------------------------------------------------------ */

int mpsl_opts_set(const mpsl_optset *s, void *cfg, const char *key, const char *value, const char *origin) {
  int i = find_key(s, key, strlen(key));
  if (i < 0) return fail_unknown(s, origin, "", key, strlen(key));
  return set_index(s, cfg, i, value, origin, s->opts[i].key);
}

/* Key i was set from line `line` of `path`: an index into the mask's files, which keeps
 * the first MPSL_OPT_FILES names (a key of a further file is remembered as from none). */
static void remember(mpsl_optmask *m, int i, const char *path, long line) {
  int f = 0;
  while (f < MPSL_OPT_FILES && m->files[f][0] && strcmp(m->files[f], path)) f++;
  if (f < MPSL_OPT_FILES && !m->files[f][0] && strlen(path) < MPSL_OPT_FILE_MAX)
    snprintf(m->files[f], MPSL_OPT_FILE_MAX, "%s", path);
  bool ok = f < MPSL_OPT_FILES && !strcmp(m->files[f], path);
  m->file[i] = ok ? (uint8_t)(f + 1) : 0;
  m->line[i] = ok ? (int32_t)line : 0;
}

int mpsl_opts_set_at(const mpsl_optset *s, void *cfg, const char *key, const char *value, const char *path, long line) {
  char origin[MPSL_OPT_FILE_MAX + 24];
  snprintf(origin, sizeof origin, "%s:%ld", path, line);
  int i = find_key(s, key, strlen(key));
  if (i < 0) return fail_unknown(s, origin, "", key, strlen(key));
  if (set_index(s, cfg, i, value, origin, s->opts[i].key)) return -1;
  remember(mask_of(s, cfg), i, path, line);
  return 0;
}

const char *mpsl_opts_origin(const mpsl_optset *s, const void *cfg, const char *key, char *buf, size_t cap) {
  int i = find_key(s, key, strlen(key));
  const mpsl_optmask *m = cmask_of(s, cfg);
  if (cap) buf[0] = '\0';
  if (i >= 0 && bit_get(m, i) && m->file[i] > 0 && m->file[i] <= MPSL_OPT_FILES)
    snprintf(buf, cap, "%s:%ld", m->files[m->file[i] - 1], (long)m->line[i]);
  return buf;
}

int mpsl_opts_fail_where(const mpsl_optset *s, const void *cfg) {
  const char *msg = mpsl_errmsg();
  size_t n = 0;
  while (islower((unsigned char)msg[n]) || isdigit((unsigned char)msg[n]) || msg[n] == '_') n++;
  if (n == 0 || (msg[n] != ' ' && msg[n] != ':' && msg[n] != '=')) return -1;
  char key[64], where[MPSL_OPT_FILE_MAX + 24];
  if (n >= sizeof key) return -1;
  memcpy(key, msg, n);
  key[n] = '\0';
  if (find_key(s, key, n) < 0 || !mpsl_opts_origin(s, cfg, key, where, sizeof where)[0]) return -1;
  return mpsl_fail_context("%s", where);
}

static char *trim(char *p) {
  while (isspace((unsigned char)*p)) p++;
  size_t n = strlen(p);
  while (n && isspace((unsigned char)p[n - 1])) p[--n] = '\0';
  return p;
}

/* In place: a "quoted" value with \" and \\, or a bare one ending at a comment. */
static int file_value(char *v, const char *origin, const char *key, char **out) {
  char buf[SHOWN];
  if (*v != '"') {
    /* v[-1] is inside the line: at least the '=' precedes the value. */
    for (char *p = v; *p; p++)
      if ((*p == '#' || *p == ';') && (p[-1] == ' ' || p[-1] == '\t')) {
        *p = '\0';
        break;
      }
    *out = trim(v);
    return 0;
  }
  char *end = v + 1;
  while (*end && *end != '"') end += *end == '\\' && (end[1] == '"' || end[1] == '\\') ? 2 : 1;
  char *rest = *end ? trim(end + 1) : NULL;
  if (!rest || (*rest && *rest != '#' && *rest != ';'))
    return mpsl_fail("%s: %s: '%s': %s", origin, key, shown(v, buf),
                     rest ? "text after the closing quote" : "no closing quote");
  char *dst = v;
  for (char *src = v + 1; src < end; src++) {
    if (*src == '\\' && (src[1] == '"' || src[1] == '\\')) src++;
    *dst++ = *src;
  }
  *dst = '\0';
  *out = v;
  return 0;
}

int mpsl_ini_line(char *line, const char *origin, const char *what, char **key, char **value) {
  char buf[SHOWN];
  char *t = trim(line);
  if (!*t || *t == '#' || *t == ';') return MPSL_INI_BLANK;
  if (*t == '[') {
    size_t n = strlen(t);
    if (t[n - 1] != ']') return mpsl_fail("%s: '%s' is not a [%s] header", origin, shown(t, buf), what);
    t[n - 1] = '\0';
    *key = trim(t + 1);
    return MPSL_INI_SECTION;
  }
  char *eq = strchr(t, '=');
  if (!eq) return mpsl_fail("%s: expected 'key = value', got '%s'", origin, shown(t, buf));
  *eq = '\0';
  *key = trim(t);
  if (!**key) return mpsl_fail("%s: no key before '=' in '= %s'", origin, shown(eq + 1, buf));
  if (file_value(trim(eq + 1), origin, *key, value)) return -1;
  return MPSL_INI_PAIR;
}

/* One line; seen[i]: the line that set key i of this file before (0: none). */
static int file_line(const mpsl_optset *s, void *cfg, char *line, const char *path, const char *origin, long ln,
                     long *seen) {
  char *key, *value;
  int kind = mpsl_ini_line(line, origin, "section", &key, &value);
  if (kind != MPSL_INI_PAIR) return kind < 0 ? -1 : 0;
  int i = find_key(s, key, strlen(key));
  if (i >= 0 && seen[i]) {
    char buf[SHOWN];
    return mpsl_fail("%s: %s is given twice in one file, first at line %ld (expected it once)", origin,
                     shown(key, buf), seen[i]);
  }
  if (i >= 0) seen[i] = ln;
  return mpsl_opts_set_at(s, cfg, key, value, path, ln);
}

/* The lines of f, named path:LINE in messages. A UTF-8 byte-order mark before the first
 * line is skipped; a NUL byte inside a line is an error. */
static int parse_stream(const mpsl_optset *s, void *cfg, FILE *f, const char *path) {
  size_t olen = strlen(path) + 24, cap = 0;
  char *origin = mpsl_xmalloc(olen, "config origin"), *line = NULL;
  long *seen = mpsl_xcalloc((size_t)(s->n ? s->n : 1), sizeof *seen, "config keys");
  int rc = 0;
  ssize_t len;
  for (long ln = 1; rc == 0 && (len = getline(&line, &cap, f)) >= 0; ln++) {
    snprintf(origin, olen, "%s:%ld", path, ln);
    char *text = line;
    if (ln == 1 && len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) text += 3, len -= 3;
    if ((size_t)len != strlen(text))
      rc = mpsl_fail("%s: a NUL byte in the line (expected text)", origin);
    else
      rc = file_line(s, cfg, text, path, origin, ln, seen);
  }
  free(seen);
  if (rc == 0 && ferror(f)) rc = mpsl_fail("%s: read error: %s", path, strerror(errno));
  free(line);
  free(origin);
  return rc;
}

int mpsl_opts_parse_file(const mpsl_optset *s, void *cfg, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return mpsl_fail("%s: cannot open config file: %s", path, strerror(errno));
  int rc = parse_stream(s, cfg, f, path);
  fclose(f);
  return rc;
}

int mpsl_opts_parse_text(const mpsl_optset *s, void *cfg, const char *text, const char *origin) {
  FILE *f = fmemopen((void *)text, strlen(text), "r");
  if (!f) return mpsl_fail("%s: cannot read (%s)", origin, strerror(errno));
  int rc = parse_stream(s, cfg, f, origin);
  fclose(f);
  return rc;
}

static const char CMDLINE[] = "command line";

static int argv_set(const mpsl_optset *s, void *cfg, const char *kv) {
  char buf[SHOWN];
  const char *eq = strchr(kv, '=');
  if (!eq) return mpsl_fail("%s: --set '%s': expected key=value", CMDLINE, shown(kv, buf));
  size_t n = (size_t)(eq - kv);
  int i = find_key(s, kv, n);
  if (i < 0) return fail_unknown(s, CMDLINE, "", kv, n);
  return set_index(s, cfg, i, eq + 1, CMDLINE, s->opts[i].key);
}

int mpsl_opts_parse_argv(const mpsl_optset *s, void *cfg, int argc, char **argv, int *npos, char **pos, int maxpos) {
  char buf[SHOWN], d[DESC];
  int np = 0;
  bool options = true;
  if (npos) *npos = 0;
  for (int a = 0; a < argc; a++) {
    const char *arg = argv[a];
    if (!options || arg[0] != '-' || !strcmp(arg, "-")) {
      if (np >= maxpos) {
        if (maxpos == 0)
          return mpsl_fail("%s: unexpected argument '%s' (mpsl %s takes none)", CMDLINE, shown(arg, buf), s->name);
        return mpsl_fail("%s: unexpected argument '%s' (mpsl %s takes at most %d)", CMDLINE, shown(arg, buf), s->name,
                         maxpos);
      }
      pos[np++] = argv[a];
      if (npos) *npos = np;
      continue;
    }
    if (!strcmp(arg, "--")) {
      options = false;
      continue;
    }
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) return 1;
    if (arg[1] != '-') return mpsl_fail("%s: unknown option '%s'", CMDLINE, shown(arg, buf));

    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    const char *value = eq ? eq + 1 : NULL;
    bool is_set = key_eqn("set", name, n), is_config = key_eqn("config", name, n);
    int i = -1;
    char flag[SHOWN + 8];
    if (is_set || is_config) {
      snprintf(flag, sizeof flag, "--%s", is_set ? "set" : "config");
    } else {
      i = find_key(s, name, n);
      bool negated = false;
      if (i < 0 && n > 3 && !strncmp(name, "no", 2) && norm(name[2]) == '_') {
        i = find_key(s, name + 3, n - 3);
        negated = i >= 0 && s->opts[i].type == MPSL_OPT_BOOL;
        if (!negated) i = -1;
      }
      if (i < 0) return fail_unknown(s, CMDLINE, "--", name, n);
      snprintf(flag, sizeof flag, "--%s%s", negated ? "no-" : "", s->opts[i].key);
      if (negated && value) return mpsl_fail("%s: %s takes no value (got '%s')", CMDLINE, flag, shown(value, buf));
      if (s->opts[i].type == MPSL_OPT_BOOL && !value) value = negated ? "false" : "true";
    }
    if (!value) {
      if (a + 1 >= argc)
        return mpsl_fail("%s: %s needs a value (%s)", CMDLINE, flag,
                         is_set      ? "key=value"
                         : is_config ? "a file name"
                                     : describe(&s->opts[i], d));
      value = argv[++a];
    }
    int rc = is_set      ? argv_set(s, cfg, value)
             : is_config ? mpsl_opts_parse_file(s, cfg, value)
                         : set_index(s, cfg, i, value, CMDLINE, flag);
    if (rc) return rc;
  }
  return 0;
}

static bool empty_value(const mpsl_opt *o, const char *p) {
  if (o->type == MPSL_OPT_STRING || o->type == MPSL_OPT_ENUM) return *p == '\0';
  if (o->type == MPSL_OPT_INTLIST)
    return ((const mpsl_intlist *)(const void *)p)->n == 0 && !((const mpsl_intlist *)(const void *)p)->plan;
  return false;
}

int mpsl_opts_check_required(const mpsl_optset *s, const void *cfg) {
  char d[DESC];
  for (int i = 0; i < s->n; i++) {
    const mpsl_opt *o = &s->opts[i];
    if (!(o->flags & MPSL_OPT_REQUIRED)) continue;
    if (!bit_get(cmask_of(s, cfg), i) || empty_value(o, cfield_of(s, cfg, i)))
      return mpsl_fail("%s: --%s is required (expected %s)", s->name, o->key, describe(o, d));
  }
  return 0;
}

int mpsl_opts_was_set(const mpsl_optset *s, const void *cfg, const char *key) {
  int i = find_key(s, key, strlen(key));
  if (i < 0) MPSL_DIE("option table %s has no key '%s'", s->name, key);
  return bit_get(cmask_of(s, cfg), i);
}

/* ---- writing ------------------------------------------------------------------------ */

/* In the syntax mpsl_opts_parse_file reads back; strings always quoted. */
static void write_value(const mpsl_opt *o, const char *p, FILE *f) {
  char num[32];
  switch (o->type) {
    case MPSL_OPT_INT: fprintf(f, "%d", *(const int *)(const void *)p); break;
    case MPSL_OPT_INT64: fprintf(f, "%" PRId64, *(const int64_t *)(const void *)p); break;
    case MPSL_OPT_DOUBLE:
      fmt_double(*(const double *)(const void *)p, num);
      fputs(num, f);
      break;
    case MPSL_OPT_BOOL: fputs(*(const bool *)(const void *)p ? "true" : "false", f); break;
    case MPSL_OPT_STRING:
      fputc('"', f);
      for (size_t k = 0; k < o->size && p[k]; k++) {
        if (p[k] == '"' || p[k] == '\\') fputc('\\', f);
        fputc(p[k], f);
      }
      fputc('"', f);
      break;
    case MPSL_OPT_ENUM: fprintf(f, "%.*s", (int)o->size, p); break;
    case MPSL_OPT_INTLIST: {
      const mpsl_intlist *l = (const mpsl_intlist *)(const void *)p;
      if (l->plan) fprintf(f, l->n ? "plan:" : "plan");
      for (int k = 0; k < l->n; k++) fprintf(f, k ? ",%d" : "%d", l->v[k]);
      break;
    }
  }
}

void mpsl_opts_print(const mpsl_optset *s, const void *cfg, FILE *f, const char *prefix) {
  for (int i = 0; i < s->n; i++) {
    fprintf(f, "%s%s = ", prefix ? prefix : "", s->opts[i].key);
    write_value(&s->opts[i], cfield_of(s, cfg, i), f);
    fputc('\n', f);
  }
}

char *mpsl_opts_to_ini(const mpsl_optset *s, const void *cfg) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) MPSL_DIE("open_memstream: %s", strerror(errno));
  fprintf(f, "[%s]\n", s->name);
  mpsl_opts_print(s, cfg, f, "");
  if (fclose(f) != 0) MPSL_DIE("writing configuration %s: %s", s->name, strerror(errno));
  return text;
}

static const char *placeholder(const mpsl_opt *o) {
  switch (o->type) {
    case MPSL_OPT_INT:
    case MPSL_OPT_INT64: return " INT";
    case MPSL_OPT_DOUBLE: return " NUM";
    case MPSL_OPT_STRING: return " STR";
    case MPSL_OPT_INTLIST: return " INT,INT,...";
    case MPSL_OPT_BOOL:
    case MPSL_OPT_ENUM: return "";
  }
  return "";
}

/* ", range 1..65536" for numbers and list elements that have one, else "". */
static void range_text(const mpsl_opt *o, char *buf, size_t n) {
  char a[32], b[32];
  long long lo, hi;
  buf[0] = '\0';
  if (!ranged(o)) return;
  switch (o->type) {
    case MPSL_OPT_INT:
    case MPSL_OPT_INT64:
      opt_bounds(o, &lo, &hi);
      snprintf(buf, n, ", range %lld..%lld", lo, hi);
      break;
    case MPSL_OPT_INTLIST:
      int_bounds(o, INT_MIN, INT_MAX, &lo, &hi);
      snprintf(buf, n, ", elements in %lld..%lld", lo, hi);
      break;
    case MPSL_OPT_DOUBLE:
      fmt_double(o->min, a);
      fmt_double(o->max, b);
      snprintf(buf, n, ", range %s..%s", a, b);
      break;
    case MPSL_OPT_BOOL:
    case MPSL_OPT_STRING:
    case MPSL_OPT_ENUM: break;
  }
}

/* What a field holds when the table gives no default. */
static const char *zero_text(const mpsl_opt *o) {
  switch (o->type) {
    case MPSL_OPT_INT:
    case MPSL_OPT_INT64:
    case MPSL_OPT_DOUBLE: return "0";
    case MPSL_OPT_BOOL: return "false";
    case MPSL_OPT_STRING:
    case MPSL_OPT_ENUM:
    case MPSL_OPT_INTLIST: return "none";
  }
  return "none";
}

/* "required" or "default 128", then ", at most N characters" for strings and the range:
 * what --help and the man page say of a key besides its flag and help line. */
static void key_facts(const mpsl_opt *o, char *buf, size_t n) {
  char range[96], len[48] = "";
  range_text(o, range, sizeof range);
  if (o->type == MPSL_OPT_STRING) snprintf(len, sizeof len, ", at most %zu characters", o->size - 1);
  if (o->flags & MPSL_OPT_REQUIRED)
    snprintf(buf, n, "required%s%s", len, range);
  else if (o->def && o->type == MPSL_OPT_STRING)
    snprintf(buf, n, "default \"%s\"%s%s", o->def, len, range);
  else
    snprintf(buf, n, "default %s%s%s", o->def ? o->def : zero_text(o), len, range);
}

void mpsl_opts_help(const mpsl_optset *s, FILE *f) {
  fprintf(f, "usage: mpsl %s [--KEY VALUE | --KEY=VALUE | --set KEY=VALUE | --config FILE]...%s%s\n", s->name,
          s->args ? " " : "", s->args ? s->args : "");
  if (s->summary) fprintf(f, "%s\n", s->summary);
  fputs("\noptions:\n", f);
  for (int i = 0; i < s->n; i++) {
    const mpsl_opt *o = &s->opts[i];
    char flag[256], desc[512];
    if (o->type == MPSL_OPT_BOOL)
      snprintf(flag, sizeof flag, "--%s, --no-%s", o->key, o->key);
    else if (o->type == MPSL_OPT_ENUM)
      snprintf(flag, sizeof flag, "--%s %s", o->key, o->choices);
    else
      snprintf(flag, sizeof flag, "--%s%s", o->key, placeholder(o));
    key_facts(o, desc, sizeof desc);
    fprintf(f, "  %-30s %s\n      %s\n", flag, desc, o->help);
  }
  fprintf(f, "  %-30s %s\n", "--set KEY=VALUE", "set any key above");
  fprintf(f, "  %-30s %s\n", "--config FILE", "read KEY = VALUE lines; later arguments override them");
  fprintf(f, "  %-30s %s\n", "-h, --help", "show this help");
  fputs("In keys '-' and '_' are interchangeable.\n", f);
}

/* ---- the man page --------------------------------------------------------------------- */

void mpsl_roff_escape(const char *text, FILE *f) {
  for (const char *p = text; *p; p++) {
    if (*p == '\\')
      fputs("\\e", f);
    else if (*p == '-')
      fputs("\\-", f);
    else if (*p == '"')
      fputs("\\(dq", f);
    else if (*p == '\n')
      fputs("\n\\&", f);
    else
      fputc(*p, f);
  }
}

void mpsl_roff_text(const char *text, FILE *f) {
  fputs("\\&", f);
  mpsl_roff_escape(text, f);
}

void mpsl_opts_man(const mpsl_optset *s, FILE *f, bool as_ini) {
  for (int i = 0; i < s->n; i++) {
    const mpsl_opt *o = &s->opts[i];
    char desc[512];
    /* the tag: the flag in bold, its argument in italics, on the one line .TP takes */
    fputs(".TP\n", f);
    if (as_ini) {
      fputs(".BI \"", f);
      mpsl_roff_escape(o->key, f);
      fputs(" = \" \"", f);
      const char *arg = o->type == MPSL_OPT_BOOL   ? "true|false"
                        : o->type == MPSL_OPT_ENUM ? o->choices
                                                   : placeholder(o) + 1;
      mpsl_roff_escape(arg, f);
      fputs("\"\n", f);
    } else if (o->type == MPSL_OPT_BOOL) {
      fputs(".BR \"\\-\\-", f);
      mpsl_roff_escape(o->key, f);
      fputs("\" \", \" \"\\-\\-no\\-", f);
      mpsl_roff_escape(o->key, f);
      fputs("\"\n", f);
    } else {
      fputs(".BI \"\\-\\-", f);
      mpsl_roff_escape(o->key, f);
      fputs("\" \" ", f);
      mpsl_roff_escape(o->type == MPSL_OPT_ENUM ? o->choices : placeholder(o) + 1, f);
      fputs("\"\n", f);
    }
    key_facts(o, desc, sizeof desc);
    mpsl_roff_text(desc, f);
    fputs(".\n.br\n", f);
    mpsl_roff_text(o->help, f);
    fputc('\n', f);
  }
}
