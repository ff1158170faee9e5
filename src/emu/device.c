/* The device catalogue: an ini file with one [section] per device. The fixed keys of a
 * device are an option table, so a bad value is reported exactly as everywhere else
 * ("devices.ini:14: speed: 'fast' is not a number (expected ...)"); the keys
 * ref_step_<model>_b<batch> are read here, since their names carry data. */
#include "emu/device.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/opts.h"
#include "models/model.h"
#include "util/datadir.h"
#include "util/err.h"

typedef struct {
  char description[160], source[400], memory[32], columns[32];
  double speed;
  bool published;
  int ref_size, ref_classes;
  mpsl_optmask given;
} device_cfg;

static const mpsl_opt keys[] = {
    {"description", MPSL_OPT_STRING, MPSL_OPT_FIELD(device_cfg, description), NULL, 0, 0, NULL,
     "what the device is: board, CPU, RAM", MPSL_OPT_REQUIRED},
    {"source", MPSL_OPT_STRING, MPSL_OPT_FIELD(device_cfg, source), NULL, 0, 0, NULL,
     "where its figures come from: a publication, a measurement, or the assumption made", MPSL_OPT_REQUIRED},
    {"memory", MPSL_OPT_STRING, MPSL_OPT_FIELD(device_cfg, memory), NULL, 0, 0, NULL,
     "memory cap: bytes, or a number with K, M, G or T, binary; auto is this machine's RAM", MPSL_OPT_REQUIRED},
    {"speed", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(device_cfg, speed), NULL, 1e-6, 1e6, NULL,
     "factor on the host's times, 0.05 meaning 20 times slower; used when no ref_step fits the profile", 0},
    {"published", MPSL_OPT_BOOL, MPSL_OPT_FIELD(device_cfg, published), "true", 0, 0, NULL,
     "false when the figures are an assumption rather than a published or measured value", 0},
    {"columns", MPSL_OPT_STRING, MPSL_OPT_FIELD(device_cfg, columns), NULL, 0, 0, NULL,
     "with a model given as a layer table: take the times of this device of the table, divided by speed "
     "(default 1)",
     0},
    {"ref_size", MPSL_OPT_INT, MPSL_OPT_FIELD(device_cfg, ref_size), "32", 1, 4096, NULL,
     "input height and width of the models of the ref_step figures", 0},
    {"ref_classes", MPSL_OPT_INT, MPSL_OPT_FIELD(device_cfg, ref_classes), "10", 1, 100000, NULL,
     "output classes of the models of the ref_step figures", 0},
};
static const mpsl_optset device_opts = {
    "device", NULL, "A device type of the catalogue.", keys, MPSL_NOPTS(keys), offsetof(device_cfg, given)};

static const char REF_PREFIX[] = "ref_step_";

const mpsl_optset *mpsl_device_keys(void) { return &device_opts; }

const char *mpsl_devices_default_path(void) {
  static char path[MPSL_PATH_MAX];
  return mpsl_data_file("experiments/devices.ini", path, sizeof path);
}

int mpsl_parse_bytes(const char *text, int64_t *bytes) {
  while (isspace((unsigned char)*text)) text++;
  if (!strcmp(text, "auto")) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return -1;
    *bytes = (int64_t)pages * page;
    return 0;
  }
  if (!isdigit((unsigned char)*text) && *text != '.') return -1;
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || errno || !isfinite(v) || v < 0) return -1;
  while (isspace((unsigned char)*end)) end++;
  double mult = 1;
  const char *units = "KMGT";
  const char *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
  if (u) {
    mult = ldexp(1.0, 10 * (int)(u - units + 1));
    end++;
    if (*end == 'i') end++;
    if (*end == 'B') end++;
  } else if (*end == 'B') {
    end++;
  }
  while (isspace((unsigned char)*end)) end++;
  if (*end) return -1;
  double b = v * mult;
  if (b >= 9.2e18 || b != floor(b)) return -1;
  *bytes = (int64_t)b;
  return 0;
}

/* ---- parsing ------------------------------------------------------------------------ */

typedef struct {
  mpsl_device *dev;
  int n, cap;
  device_cfg cfg; /* the section being read */
  int open;       /* inside a [section] */
} parse_state;

static int valid_name(const char *s) {
  if (!*s || strlen(s) >= sizeof((mpsl_device *)0)->name) return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr("_-.", *s)) return 0;
  return 1;
}

/* ref_step_<model>_b<batch> = seconds */
static int ref_line(mpsl_device *d, const char *key, const char *value, const char *origin) {
  const char *model = key + strlen(REF_PREFIX);
  const char *b = strrchr(model, '_');
  char *end = NULL;
  long batch = b && b[1] == 'b' && isdigit((unsigned char)b[2]) ? strtol(b + 2, &end, 10) : 0;
  if (!b || b == model || !end || *end || batch < 1 || batch > 1 << 20)
    return mpsl_fail("%s: %s: expected ref_step_<model>_b<batch>, e.g. ref_step_resnet101_b128", origin, key);
  mpsl_device_ref r;
  memset(&r, 0, sizeof r);
  if ((size_t)(b - model) >= sizeof r.model) return mpsl_fail("%s: %s: model name too long", origin, key);
  memcpy(r.model, model, (size_t)(b - model));
  r.batch = (int)batch;
  mpsl_model m;
  mpsl_model_opts mo;
  mpsl_model_opts_default(&mo);
  if (mpsl_model_build(&m, r.model, &mo)) {
    char why[512];
    snprintf(why, sizeof why, "%s", mpsl_errmsg());
    return mpsl_fail("%s: %s: %s", origin, key, why);
  }
  mpsl_model_free(&m);
  errno = 0;
  r.seconds = strtod(value, &end);
  if (end == value || *end || errno || !isfinite(r.seconds) || r.seconds <= 0)
    return mpsl_fail("%s: %s: '%s' is not a time (expected a positive number of seconds)", origin, key, value);
  for (int i = 0; i < d->nrefs; i++)
    if (!strcmp(d->refs[i].model, r.model) && d->refs[i].batch == r.batch)
      return mpsl_fail("%s: %s: given twice for device '%s'", origin, key, d->name);
  if (d->nrefs == MPSL_DEVICE_REFS)
    return mpsl_fail("%s: %s: device '%s' has more than %d ref_step lines", origin, key, d->name, MPSL_DEVICE_REFS);
  d->refs[d->nrefs++] = r;
  return 0;
}

/* Checks the section just read and copies its table values into the device. */
static int close_section(parse_state *st) {
  if (!st->open) return 0;
  st->open = 0;
  mpsl_device *d = &st->dev[st->n - 1];
  device_cfg *c = &st->cfg;
  for (int i = 0; i < MPSL_NOPTS(keys); i++)
    if ((keys[i].flags & MPSL_OPT_REQUIRED) && !mpsl_opts_was_set(&device_opts, c, keys[i].key))
      return mpsl_fail("%s: device '%s' has no '%s' line (expected %s)", d->origin, d->name, keys[i].key, keys[i].help);
  char at[MPSL_OPT_FILE_MAX + 24];
  if (mpsl_parse_bytes(c->memory, &d->memory))
    return mpsl_fail(
        "%s: device '%s': memory: '%s' is not a size (expected bytes, or a number with K, M, G or T, "
        "or auto)",
        mpsl_opts_origin(&device_opts, c, "memory", at, sizeof at), d->name, c->memory);
  if (c->speed <= 0 && d->nrefs == 0 && !c->columns[0])
    return mpsl_fail("%s: device '%s' has neither 'speed', 'columns' nor a 'ref_step_<model>_b<batch>' line", d->origin,
                     d->name);
  snprintf(d->columns, sizeof d->columns, "%s", c->columns);
  snprintf(d->description, sizeof d->description, "%s", c->description);
  snprintf(d->source, sizeof d->source, "%s", c->source);
  d->speed = c->speed;
  d->published = c->published;
  d->ref_size = c->ref_size;
  d->ref_classes = c->ref_classes;
  return 0;
}

static int parse_line(parse_state *st, char *line, const char *path, long ln, const char *origin) {
  char *key, *value;
  int kind = mpsl_ini_line(line, origin, "device", &key, &value);
  if (kind <= MPSL_INI_BLANK) return kind;
  if (kind == MPSL_INI_SECTION) {
    if (close_section(st)) return -1;
    const char *name = key;
    if (!valid_name(name))
      return mpsl_fail("%s: [%s]: a device name is 1..31 letters, digits, '_', '-' or '.'", origin, name);
    for (int i = 0; i < st->n; i++)
      if (!strcmp(st->dev[i].name, name))
        return mpsl_fail("%s: device '%s' is already defined at %s", origin, name, st->dev[i].origin);
    if (st->n == st->cap) {
      st->cap = st->cap ? 2 * st->cap : 8;
      mpsl_device *nd = realloc(st->dev, (size_t)st->cap * sizeof *nd);
      if (!nd) MPSL_DIE("out of memory reading a device catalogue");
      st->dev = nd;
    }
    mpsl_device *d = &st->dev[st->n++];
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    snprintf(d->origin, sizeof d->origin, "%s", origin);
    mpsl_opts_defaults(&device_opts, &st->cfg);
    st->open = 1;
    return 0;
  }
  if (!st->open) return mpsl_fail("%s: '%s' comes before any [device] header", origin, key);
  if (!strncmp(key, REF_PREFIX, strlen(REF_PREFIX))) return ref_line(&st->dev[st->n - 1], key, value, origin);
  return mpsl_opts_set_at(&device_opts, &st->cfg, key, value, path, ln);
}

int mpsl_devices_load(mpsl_devices *c, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return mpsl_fail("%s: cannot open device catalogue (%s)", path, strerror(errno));
  parse_state st;
  memset(&st, 0, sizeof st);
  size_t olen = strlen(path) + 24, cap = 0;
  char *origin = mpsl_xmalloc(olen, "catalogue origin"), *line = NULL;
  int rc = 0;
  for (long ln = 1; rc == 0 && getline(&line, &cap, f) >= 0; ln++) {
    snprintf(origin, olen, "%s:%ld", path, ln);
    rc = parse_line(&st, line, path, ln, origin);
  }
  if (rc == 0 && ferror(f)) rc = mpsl_fail("%s: read error (%s)", path, strerror(errno));
  if (rc == 0) rc = close_section(&st);
  if (rc == 0 && st.n == 0) rc = mpsl_fail("%s: no [device] sections", path);
  if (rc == 0) {
    for (int i = 0; i < st.n; i++) {
      int k = 0;
      while (k < c->n && strcmp(c->dev[k].name, st.dev[i].name)) k++;
      if (k == c->n) {
        mpsl_device *nd = realloc(c->dev, (size_t)(c->n + 1) * sizeof *nd);
        if (!nd) MPSL_DIE("out of memory reading a device catalogue");
        c->dev = nd;
        c->n++;
      }
      c->dev[k] = st.dev[i];
    }
  }
  free(st.dev);
  free(line);
  free(origin);
  fclose(f);
  return rc;
}

void mpsl_devices_free(mpsl_devices *c) {
  free(c->dev);
  c->dev = NULL;
  c->n = 0;
}

const mpsl_device *mpsl_device_find(const mpsl_devices *c, const char *name) {
  for (int i = 0; i < c->n; i++)
    if (!strcmp(c->dev[i].name, name)) return &c->dev[i];
  char list[512] = "";
  size_t k = 0;
  for (int i = 0; i < c->n && k < sizeof list; i++)
    k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", c->dev[i].name);
  mpsl_fail("unknown device '%s' (known: %s)", name, c->n ? list : "none; no catalogue loaded");
  return NULL;
}

/* ---- speed -------------------------------------------------------------------------- */

int mpsl_device_speed(const mpsl_device *d, const mpsl_profile *h, double *speed) {
  const mpsl_device_ref *best = NULL;
  if (d->columns[0])
    return mpsl_fail(
        "device '%s' (%s) takes its times from the columns '%s' of a layer table: it works with "
        "model = csv:PATH only",
        d->name, d->origin, d->columns);
  if (h)
    for (int i = 0; i < d->nrefs; i++) {
      const mpsl_device_ref *r = &d->refs[i];
      if (strcmp(r->model, h->model)) continue;
      if (!best || abs(r->batch - h->batch) < abs(best->batch - h->batch)) best = r;
    }
  if (best) {
    if (h->width != 1 || h->size != d->ref_size || h->classes != d->ref_classes)
      return mpsl_fail(
          "device '%s': its step time of %s is for width 1, %dx%d inputs and %d classes; the profile "
          "has width %g, %dx%d inputs and %d classes",
          d->name, best->model, d->ref_size, d->ref_size, d->ref_classes, h->width, h->size, h->size, h->classes);
    if (!(h->whole_step_s > 0))
      return mpsl_fail("device '%s': the profile of %s has no whole-model step time", d->name, h->model);
    /* another batch: the step time is taken as proportional to the batch */
    double dev_s = best->seconds * h->batch / best->batch;
    *speed = h->whole_step_s / dev_s;
    return 0;
  }
  if (d->speed > 0) {
    *speed = d->speed;
    return 0;
  }
  char list[256] = "";
  size_t k = 0;
  for (int i = 0; i < d->nrefs && k < sizeof list; i++)
    k += (size_t)snprintf(list + k, sizeof list - k, "%s%s (batch %d)", i ? ", " : "", d->refs[i].model,
                          d->refs[i].batch);
  return mpsl_fail(
      "device '%s' (%s) has no fixed speed: it is derived from its step time of %s, which needs a "
      "host profile of that model (mpsl profile --model %s --batch %d)%s%s",
      d->name, d->origin, list, d->refs[0].model, d->refs[0].batch, h ? "; got a profile of " : "", h ? h->model : "");
}
