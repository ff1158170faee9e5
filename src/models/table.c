/* Reading a layer table (models/table.h, docs/table.md). Every error names the file, the
 * line, the column and the value, since a table is typed or converted by hand. */
#include "models/table.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static const char *const fixed_cols[] = {"index", "layer", "activation_kib", "parameter_kib"};
static const char *const dev_suffix[] = {"_fwd_ms", "_bwd_ms", "_opt_ms"};
#define NFIXED 4
#define MAX_COLS 1024
/* Bounds that keep every sum of a table within int64 (the default cuts add times in
 * microseconds over all devices and layers, memory adds bytes over a part): the cut
 * points of a run go to 100000 anyway, and 10^7 ms (2.8 hours) is far beyond any layer's
 * step on a device of the EdgeSys testbed (VGG-19's whole step on a Raspberry Pi 4B: 72 s). */
#define MAX_LAYERS 100000
#define MAX_MS 1e7

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  for (char *e = s + strlen(s); e > s && isspace((unsigned char)e[-1]);) *--e = '\0';
  return s;
}

/* Splits a line at commas in place; -1 when there are more than cap cells. */
static int split(char *line, char **cell, int cap) {
  int n = 0;
  for (char *s = line;;) {
    if (n == cap) return -1;
    char *c = strchr(s, ',');
    if (c) *c = '\0';
    cell[n++] = trim(s);
    if (!c) return n;
    s = c + 1;
  }
}

static int device_name_ok(const char *s, size_t n) {
  if (n == 0 || n >= sizeof((mpsl_table_device *)0)->name) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && !strchr("_-.", s[i])) return 0;
  return 1;
}

/* The header: the fixed columns, then DEV_fwd_ms, DEV_bwd_ms, DEV_opt_ms per device. */
static int read_header(mpsl_table *t, char **cell, int n, const char *where) {
  for (int i = 0; i < NFIXED; i++)
    if (i >= n || strcmp(cell[i], fixed_cols[i]))
      return mpsl_fail(
          "%s: column %d is '%s' (expected '%s': the header starts index,layer,activation_kib,"
          "parameter_kib)",
          where, i + 1, i < n ? cell[i] : "", fixed_cols[i]);
  if (n == NFIXED || (n - NFIXED) % 3)
    return mpsl_fail(
        "%s: %d device column(s) after parameter_kib (expected three per device: DEV_fwd_ms, "
        "DEV_bwd_ms, DEV_opt_ms)",
        where, n - NFIXED);
  t->ndev = (n - NFIXED) / 3;
  t->dev = mpsl_xcalloc((size_t)t->ndev, sizeof *t->dev, "table devices");
  for (int d = 0; d < t->ndev; d++) {
    for (int k = 0; k < 3; k++) {
      const char *c = cell[NFIXED + 3 * d + k];
      size_t len = strlen(c), sl = strlen(dev_suffix[k]);
      if (len <= sl || strcmp(c + len - sl, dev_suffix[k]) || !device_name_ok(c, len - sl))
        return mpsl_fail("%s: column %d is '%s' (expected DEV%s, DEV being 1..31 letters, digits, '_', '-' or '.')",
                         where, NFIXED + 3 * d + k + 1, c, dev_suffix[k]);
      if (k == 0) {
        memcpy(t->dev[d].name, c, len - sl);
      } else if (strlen(t->dev[d].name) != len - sl || strncmp(t->dev[d].name, c, len - sl)) {
        return mpsl_fail("%s: column %d is '%s' (expected %s%s, after %s_fwd_ms)", where, NFIXED + 3 * d + k + 1, c,
                         t->dev[d].name, dev_suffix[k], t->dev[d].name);
      }
    }
    for (int e = 0; e < d; e++)
      if (!strcmp(t->dev[e].name, t->dev[d].name))
        return mpsl_fail("%s: device '%s' has its columns twice", where, t->dev[d].name);
  }
  return 0;
}

/* A plain decimal number >= 0 ("12", "0.5", "1e3"; not "0x10", "-0", "inf"). */
static int number(const char *s, double *v) {
  if (!isdigit((unsigned char)*s) && *s != '.') return -1;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return -1;
  char *end;
  errno = 0;
  *v = strtod(s, &end);
  return !*end && !errno && isfinite(*v) && *v >= 0 ? 0 : -1;
}

static int read_row(mpsl_table *t, char **cell, int n, int ncols, char **head, const char *where) {
  if (n != ncols) return mpsl_fail("%s: %d cells (expected %d, one per column of the header)", where, n, ncols);
  int i = t->nlayers;
  char *end;
  errno = 0;
  long idx = strtol(cell[0], &end, 10);
  if (!*cell[0] || *end || errno || idx != i + 1)
    return mpsl_fail("%s: column 'index': '%s' (expected %d: rows are the layers 1, 2, 3, ... in order)", where,
                     cell[0], i + 1);
  mpsl_table_layer *l = &t->layers[i];
  if (!*cell[1] || strlen(cell[1]) >= sizeof l->name)
    return mpsl_fail("%s: column 'layer': '%s' (expected a name of 1..%zu characters)", where, cell[1],
                     sizeof l->name - 1);
  snprintf(l->name, sizeof l->name, "%s", cell[1]);
  for (int c = 2; c < ncols; c++) {
    double v;
    if (number(cell[c], &v)) return mpsl_fail("%s: column '%s': '%s' is not a number >= 0", where, head[c], cell[c]);
    if (c == 2 || c == 3) {
      /* at most 1 TiB per layer, so that a million copies still add up within int64 */
      if (v > 1024.0 * 1024 * 1024)
        return mpsl_fail("%s: column '%s': '%s' is too large (expected at most 1073741824 KiB, 1 TiB)", where, head[c],
                         cell[c]);
      int64_t b = (int64_t)llround(v * 1024);
      if (c == 2)
        l->act_bytes = b;
      else
        l->param_bytes = b;
    } else {
      if (v > MAX_MS)
        return mpsl_fail("%s: column '%s': '%s' is too large (expected at most %.0f ms)", where, head[c], cell[c],
                         MAX_MS);
      int d = (c - NFIXED) / 3, k = (c - NFIXED) % 3;
      t->dev[d].ms[3 * i + k] = v;
    }
  }
  t->nlayers++;
  return 0;
}

/* "# key = value" in a comment: the table's metadata. */
static int meta_line(mpsl_table *t, char *text, const char *where) {
  char *eq = strchr(text, '=');
  if (!eq) return 0;
  *eq = '\0';
  char *key = trim(text), *value = trim(eq + 1);
  if (!strcmp(key, "batch")) {
    char *end;
    errno = 0;
    long b = strtol(value, &end, 10);
    if (!*value || *end || errno || b < 1 || b > 1 << 20)
      return mpsl_fail("%s: batch = '%s' (expected the batch size of the table, a whole number >= 1)", where, value);
    if (t->batch) return mpsl_fail("%s: a second 'batch' line", where);
    t->batch = (int)b;
  } else if (!strcmp(key, "disturbed") || !strcmp(key, "cpu_ratio") || !strcmp(key, "others_load")) {
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    int dist = !strcmp(key, "disturbed");
    if (!*value || *end || errno || !isfinite(v) || (dist && v != 0 && v != 1 && v != -1))
      return mpsl_fail("%s: %s = '%s' (expected %s)", where, key, value, dist ? "0, 1 or -1" : "a number");
    if (dist)
      t->disturbed = (int)v;
    else if (key[0] == 'c')
      t->cpu_ratio = v;
    else
      t->others_load = v;
  } else if (!strcmp(key, "source")) {
    free(t->source);
    t->source = strdup(value);
    if (!t->source) MPSL_DIE("out of memory reading a table");
  }
  return 0;
}

int mpsl_table_load(mpsl_table *t, const char *path) {
  memset(t, 0, sizeof *t);
  FILE *f = fopen(path, "r");
  if (!f) return mpsl_fail("%s: cannot open the layer table (%s)", path, strerror(errno));
  t->disturbed = -1, t->cpu_ratio = t->others_load = -1;
  t->path = strdup(path);
  if (!t->path) MPSL_DIE("out of memory reading a table");
  char *line = NULL, **cell = mpsl_xmalloc(MAX_COLS * sizeof *cell, "table cells");
  char **head = NULL;
  char *head_line = NULL;
  size_t cap = 0, where_cap = strlen(path) + 32;
  char *where = mpsl_xmalloc(where_cap, "table origin");
  int rc = 0, ncols = 0, layer_cap = 0;
  ssize_t len;
  for (long ln = 1; rc == 0 && (len = getline(&line, &cap, f)) >= 0; ln++) {
    snprintf(where, where_cap, "%s:%ld", path, ln);
    if ((size_t)len != strlen(line)) {
      rc = mpsl_fail("%s: a NUL byte in the line (expected text)", where);
      break;
    }
    char *s = line;
    if (ln == 1 && !strncmp(s, "\xef\xbb\xbf", 3)) s += 3; /* a UTF-8 byte-order mark */
    s = trim(s);
    if (*s == '#') {
      rc = meta_line(t, s + 1, where);
      continue;
    }
    if (!*s) continue;
    if (!head) {
      head_line = strdup(s);
      if (!head_line) MPSL_DIE("out of memory reading a table");
      head = mpsl_xmalloc(MAX_COLS * sizeof *head, "table header");
      ncols = split(head_line, head, MAX_COLS);
      rc = ncols < 0 ? mpsl_fail("%s: more than %d columns", where, MAX_COLS) : read_header(t, head, ncols, where);
      continue;
    }
    if (t->nlayers == MAX_LAYERS) {
      rc = mpsl_fail("%s: more than %d layers (expected at most %d rows after the header)", where, MAX_LAYERS,
                     MAX_LAYERS);
      break;
    }
    if (t->nlayers == layer_cap) {
      layer_cap = layer_cap ? 2 * layer_cap : 64;
      mpsl_table_layer *nl = realloc(t->layers, (size_t)layer_cap * sizeof *nl);
      if (!nl) MPSL_DIE("out of memory reading a table");
      t->layers = nl;
      for (int d = 0; d < t->ndev; d++) {
        double *nm = realloc(t->dev[d].ms, (size_t)layer_cap * 3 * sizeof *nm);
        if (!nm) MPSL_DIE("out of memory reading a table");
        t->dev[d].ms = nm;
      }
    }
    memset(&t->layers[t->nlayers], 0, sizeof *t->layers);
    int n = split(s, cell, MAX_COLS);
    rc = read_row(t, cell, n < 0 ? MAX_COLS + 1 : n, ncols, head, where);
  }
  if (rc == 0 && ferror(f)) rc = mpsl_fail("%s: read error (%s)", path, strerror(errno));
  if (rc == 0 && !head)
    rc = mpsl_fail("%s: no header line (expected index,layer,activation_kib,parameter_kib,...)", path);
  if (rc == 0 && t->nlayers < 2)
    rc = mpsl_fail("%s: %s (expected one row per layer after the header, at least 2 layers to split)", path,
                   t->nlayers ? "only one layer" : "no layers");
  if (rc == 0 && !t->batch)
    rc = mpsl_fail("%s: no '# batch = N' line (expected the batch size the times and activations are for)", path);
  if (rc == 0 && !t->source) {
    t->source = strdup("");
    if (!t->source) MPSL_DIE("out of memory reading a table");
  }
  fclose(f);
  free(line);
  free(cell);
  free(head);
  free(head_line);
  free(where);
  if (rc) mpsl_table_free(t);
  return rc;
}

void mpsl_table_free(mpsl_table *t) {
  for (int d = 0; d < t->ndev && t->dev; d++) free(t->dev[d].ms);
  free(t->dev);
  free(t->layers);
  free(t->path);
  free(t->source);
  memset(t, 0, sizeof *t);
}

const mpsl_table_device *mpsl_table_device_find(const mpsl_table *t, const char *name) {
  for (int d = 0; d < t->ndev; d++)
    if (!strcmp(t->dev[d].name, name)) return &t->dev[d];
  return NULL;
}

void mpsl_table_device_list(const mpsl_table *t, char *buf, int cap) {
  int k = 0;
  buf[0] = '\0';
  for (int d = 0; d < t->ndev && k < cap; d++)
    k += snprintf(buf + k, (size_t)(cap - k), "%s%s", d ? ", " : "", t->dev[d].name);
}
