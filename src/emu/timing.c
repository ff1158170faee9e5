/* The timing scenario of a configuration (emu/timing.h, docs/timing.md). */
#include "emu/timing.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu/table.h"
#include "nn/nn.h"
#include "nn/replica.h"
#include "proto/scheduler.h"
#include "util/err.h"
#include "util/rng.h"

int emu_parse_bw(const char *text, double *bytes_per_s) {
  while (isspace((unsigned char)*text)) text++;
  if (!strcmp(text, "inf") || !strcmp(text, "0")) {
    *bytes_per_s = 0;
    return 0;
  }
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || errno || !isfinite(v) || v <= 0) return -1;
  while (isspace((unsigned char)*end)) end++;
  double mult = 1;
  if (*end == 'k' || *end == 'K')
    mult = 1e3, end++;
  else if (*end == 'M')
    mult = 1e6, end++;
  else if (*end == 'G')
    mult = 1e9, end++;
  double unit;
  if (!strncmp(end, "bit", 3))
    unit = 0.125, end += 3;
  else if (!strncmp(end, "bps", 3))
    unit = 0.125, end += 3;
  else if (*end == 'B')
    unit = 1, end++;
  else
    return -1; /* a bare number is ambiguous between bits and bytes */
  if (!strcmp(end, "/s") || !strcmp(end, "ps")) end += strlen(end);
  while (isspace((unsigned char)*end)) end++;
  if (*end) return -1;
  *bytes_per_s = v * mult * unit;
  return 0;
}

int emu_parse_mix(const mpsl_devices *cat, const char *key, const char *value, int n, const mpsl_device **out) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", value);
  if (!strchr(buf, ':') && !strchr(buf, ',')) {
    char *name = buf;
    while (isspace((unsigned char)*name)) name++;
    for (char *e = name + strlen(name); e > name && isspace((unsigned char)e[-1]);) *--e = '\0';
    const mpsl_device *d = mpsl_device_find(cat, name);
    if (!d) return mpsl_fail_context("%s = %s", key, value);
    for (int i = 0; i < n; i++) out[i] = d;
    return 0;
  }
  /* two passes: the counts must add up to n before anything is assigned */
  int64_t total = 0;
  for (int pass = 0; pass < 2; pass++) {
    snprintf(buf, sizeof buf, "%s", value);
    int at = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      char *colon = strchr(tok, ':');
      if (!colon)
        return mpsl_fail("%s = %s: '%s' is not NAME:COUNT (expected a mix like rpi4b:20,rpi3b:10)", key, value, tok);
      *colon = '\0';
      while (isspace((unsigned char)*tok)) tok++;
      for (char *e = tok + strlen(tok); e > tok && isspace((unsigned char)e[-1]);) *--e = '\0';
      char *end;
      errno = 0;
      long cnt = strtol(colon + 1, &end, 10);
      while (isspace((unsigned char)*end)) end++;
      if (errno || end == colon + 1 || *end || cnt < 0 || cnt > (1 << 24))
        return mpsl_fail("%s = %s: the count of '%s' is not a whole number >= 0", key, value, tok);
      const mpsl_device *d = mpsl_device_find(cat, tok);
      if (!d) return mpsl_fail_context("%s = %s", key, value);
      if (pass == 0)
        total += cnt;
      else
        for (long i = 0; i < cnt; i++) out[at++] = d;
    }
    if (pass == 0 && total != n)
      return mpsl_fail("%s = %s: the counts add up to %lld but there are %d %s", key, value, (long long)total, n,
                       n == 1 ? "slot" : "slots");
  }
  return 0;
}

bool emu_needs_profile(const sl_config *c) { return !strcmp(c->compute, "profiled"); }

void emu_profile_path(const sl_config *c, const char *model, int batch, int size, int channels, int classes,
                      double width, char *buf, int cap) {
  snprintf(buf, (size_t)cap, "%s/%s-b%d-s%dx%d-c%d-w%g.h5", c->profile_dir[0] ? c->profile_dir : ".", model, batch,
           size, channels, classes, width);
}

/* The profile must describe what it is used for: a stale or foreign file gives wrong times. */
static int profile_matches(const mpsl_profile *p, const char *path, const char *model, int batch, int size,
                           int channels, int classes, double width) {
  if (strcmp(p->model, model) || p->batch != batch || p->size != size || p->channels != channels ||
      p->classes != classes || fabs(p->width - width) > 1e-12)
    return mpsl_fail(
        "profile %s is of %s at batch %d (%dx%dx%d inputs, %d classes, width %g) but %s at batch %d "
        "(%dx%dx%d, %d classes, width %g) is needed: mpsl profile --model %s --batch %d --size %d "
        "--channels %d --classes %d --width %g --output %s",
        path, p->model, p->batch, p->channels, p->size, p->size, p->classes, p->width, model, batch, channels, size,
        size, classes, width, model, batch, size, channels, classes, width, path);
  return 0;
}

static int mkdir_p(const char *dir) {
  char *buf = strdup(dir);
  if (!buf) MPSL_DIE("out of memory");
  int rc = 0;
  for (char *s = buf + 1; *s && !rc; s++)
    if (*s == '/') {
      *s = '\0';
      if (mkdir(buf, 0777) && errno != EEXIST) rc = -1;
      *s = '/';
    }
  if (!rc && mkdir(buf, 0777) && errno != EEXIST) rc = -1;
  free(buf);
  return rc;
}

/* Fills the cache file `path` and loads it, under its lock: the jobs of a Slurm array that
 * start at once measure it once (the first to take the lock) and the others wait and load
 * it, so the check for the file is repeated after the lock is taken. */
static int measure_cached(const char *path, const char *model, int batch, int size, int channels, int classes,
                          double width, mpsl_profile *out) {
  int lock = mpsl_profile_lock(path), rc = -1;
  if (access(path, R_OK) == 0) {
    rc = mpsl_profile_load(out, path);
  } else {
    mpsl_model m;
    mpsl_model_opts mo = {classes, channels, size, width};
    if (mpsl_model_build(&m, model, &mo) == 0) {
      fprintf(stderr, "mpsl: measuring a host profile of %s at batch %d into %s (once; later runs reuse it)\n", model,
              batch, path);
      mpsl_profile_opts po = {batch, 3, 1, NULL};
      rc = mpsl_profile_measure(out, &m, &po);
      mpsl_model_free(&m);
      if (rc == 0 && (rc = mpsl_profile_save(out, path)) != 0) mpsl_profile_free(out);
    }
  }
  mpsl_profile_unlock(lock);
  return rc;
}

/* Why mkdir_p(dir) could not make dir and write into it, without making anything: 0 when
 * it could, else the errno (a file on the way, or a folder that takes no files). */
static int creatable_dir(const char *dir) {
  char buf[2 * MPSL_PATH_MAX];
  snprintf(buf, sizeof buf, "%s", dir);
  struct stat st;
  for (;;) {
    if (stat(buf, &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return ENOTDIR;
      return access(buf, W_OK | X_OK) ? errno : 0;
    }
    if (errno != ENOENT) return errno;
    char *slash = strrchr(buf, '/');
    if (!slash) return access(".", W_OK | X_OK) ? errno : 0;
    if (slash == buf) return 0;
    *slash = '\0';
  }
}

int emu_profile_get(const sl_config *c, const char *model, int batch, int size, int channels, int classes, double width,
                    int measure, mpsl_profile *out) {
  memset(out, 0, sizeof *out);
  char path[2 * MPSL_PATH_MAX];
  bool own = !strcmp(model, c->model) && c->profile[0];
  if (own) {
    snprintf(path, sizeof path, "%s", c->profile);
    if (mpsl_profile_load(out, path)) return mpsl_fail_context("profile = %s", c->profile);
  } else {
    emu_profile_path(c, model, batch, size, channels, classes, width, path, (int)sizeof path);
    if (access(path, R_OK) == 0) {
      if (mpsl_profile_load(out, path)) return -1;
    } else {
      if (measure == EMU_PROFILE_READ)
        return mpsl_fail(
            "no host profile of %s at batch %d: %s does not exist (mpsl profile --model %s --batch %d "
            "--output %s)",
            model, batch, path, model, batch, path);
      int e = creatable_dir(c->profile_dir[0] ? c->profile_dir : ".");
      if (e) return mpsl_fail("profile_dir = %s: cannot create it (%s)", c->profile_dir, strerror(e));
      if (measure == EMU_PROFILE_ASSUME) return 1;
      if (mkdir_p(c->profile_dir[0] ? c->profile_dir : "."))
        return mpsl_fail("profile_dir = %s: cannot create it (%s)", c->profile_dir, strerror(errno));
      if (measure_cached(path, model, batch, size, channels, classes, width, out)) return -1;
    }
  }
  if (profile_matches(out, path, model, batch, size, channels, classes, width)) {
    mpsl_profile_free(out);
    return -1;
  }
  mpsl_profile_warn(out, path, stderr); /* once per file: run, simulate, estimate, plan */
  return 0;
}

emu_cost emu_range_cost(const mpsl_profile *p, int first, int last, double speed) {
  emu_cost e = {0, 0};
  for (int i = 0; i < p->nlayers; i++) {
    const mpsl_profile_layer *l = &p->layers[i];
    if (l->index < first || l->index > last) continue;
    e.fwd += l->fwd_s;
    e.bwd += l->bwd_s + l->update_s;
  }
  e.fwd /= speed;
  e.bwd /= speed;
  return e;
}

double emu_jitter(const emu_scenario *s, int owner, int64_t step, int task) {
  double f = 1.0;
  if (s->straggler_rate > 0) { /* stream: the owner; index: the round */
    uint64_t u = mpsl_rng_u64(s->seed ^ 0x3c6ef372fe94f82bull, (uint64_t)owner, (uint64_t)(step / (s->r * s->B)));
    if ((double)(u >> 11) * 0x1.0p-53 < s->straggler_rate) f = s->straggler_factor;
  }
  if (s->jitter <= 0) return f;
  /* stream: the owner; index: its task counter, so every (owner, batch, task) has its own draw */
  uint64_t u = mpsl_rng_u64(s->seed ^ 0x6a09e667f3bcc909ull, (uint64_t)owner, (uint64_t)step * 4 + (uint64_t)task);
  double x = (double)(u >> 11) * 0x1.0p-53; /* [0, 1) */
  return f * (1.0 + s->jitter * (2 * x - 1));
}

/* A device's factor on host times; derived speeds need a host profile of a reference model,
 * found in or measured into profile_dir. */
static int device_speed(const sl_config *c, const mpsl_device *d, const mpsl_profile *host, int measure,
                        double *speed) {
  if (host && !mpsl_device_speed(d, host, speed)) return 0;
  if (d->nrefs == 0) return mpsl_device_speed(d, NULL, speed);
  for (int i = 0; i < d->nrefs; i++)
    if (host && !strcmp(d->refs[i].model, host->model)) return mpsl_device_speed(d, host, speed);
  /* the reference of the run model's family (vgg, resnet) first, then one already profiled */
  const mpsl_device_ref *r = &d->refs[0];
  int best = -1;
  for (int i = 0; i < d->nrefs; i++) {
    const mpsl_device_ref *q = &d->refs[i];
    char path[2 * MPSL_PATH_MAX];
    emu_profile_path(c, q->model, q->batch, d->ref_size, 3, d->ref_classes, 1.0, path, (int)sizeof path);
    int score = 2 * (strncmp(q->model, c->model, 3) == 0) + (access(path, R_OK) == 0);
    if (score > best) best = score, r = q;
  }
  mpsl_profile ref;
  int got = emu_profile_get(c, r->model, r->batch, d->ref_size, 3, d->ref_classes, 1.0, measure, &ref);
  if (got < 0) return mpsl_fail_context("device '%s' derives its speed from its step time of %s", d->name, r->model);
  if (got == 1) { /* EMU_PROFILE_ASSUME: it would be measured */
    *speed = 1;
    return 0;
  }
  int rc = mpsl_device_speed(d, &ref, speed);
  mpsl_profile_free(&ref);
  return rc;
}

/* A layer table's devices that the catalogue does not name become devices of their own:
 * no memory cap, times from their columns. */
static void add_table_devices(mpsl_devices *cat, const mpsl_model *m) {
  for (int d = 0; d < m->table->ndev; d++) {
    const char *name = m->table->dev[d].name;
    int k = 0;
    while (k < cat->n && strcmp(cat->dev[k].name, name)) k++;
    if (k < cat->n) continue;
    mpsl_device *nd = realloc(cat->dev, (size_t)(cat->n + 1) * sizeof *nd);
    if (!nd) MPSL_DIE("out of memory adding table devices");
    cat->dev = nd;
    mpsl_device *x = &cat->dev[cat->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    snprintf(x->columns, sizeof x->columns, "%s", name);
    snprintf(x->description, sizeof x->description, "the device '%s' of the layer table", name);
    snprintf(x->source, sizeof x->source, "%s", m->table->source[0] ? m->table->source : m->table->path);
    snprintf(x->origin, sizeof x->origin, "%s", m->table->path);
    x->speed = 1;
    x->published = true;
  }
}

int emu_devices_load(mpsl_devices *cat, const sl_config *c, const mpsl_model *m) {
  if (mpsl_devices_load(cat, mpsl_devices_default_path()) || (c->devices[0] && mpsl_devices_load(cat, c->devices)))
    return -1;
  if (m->table) add_table_devices(cat, m);
  return 0;
}

/* The table columns a device of a table model takes its times from, and the factor on them. */
static int table_columns(const mpsl_model *m, const mpsl_device *d, int *col, double *speed) {
  const char *name = d->columns[0] ? d->columns : d->name;
  for (int i = 0; i < m->table->ndev; i++)
    if (!strcmp(m->table->dev[i].name, name)) {
      *col = i;
      *speed = d->columns[0] && d->speed > 0 ? d->speed : 1;
      return 0;
    }
  char list[512];
  mpsl_table_device_list(m->table, list, sizeof list);
  if (d->columns[0])
    return mpsl_fail(
        "device '%s' (%s) takes the columns '%s', which the layer table %s does not have (its devices: %s)", d->name,
        d->origin, d->columns, m->table->path, list);
  return mpsl_fail(
      "device '%s' has no columns in the layer table %s (its devices: %s): name one of them, or give the device "
      "'columns = DEV' in a catalogue",
      d->name, m->table->path, list);
}

static int link_of(const char *key, const char *bw, double lat, emu_link *l) {
  if (emu_parse_bw(bw, &l->bw))
    return mpsl_fail("%s = %s: expected a bandwidth such as 8Mbit, 100MB/s, 1Gbit or inf", key, bw);
  l->lat = lat;
  return 0;
}

/* do_links = BW@LAT:COUNT,... in data-owner order: the counts must cover all K */
static int owner_links(const sl_config *c, int K, emu_link *cn, emu_link *agg) {
  if (!c->do_links[0]) return 0;
  char buf[512];
  snprintf(buf, sizeof buf, "%s", c->do_links);
  int at = 0;
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *colon = strrchr(tok, ':'), *atsign = strchr(tok, '@');
    if (!colon) return mpsl_fail("do_links = %s: '%s' is not BW@LATENCY:COUNT (e.g. 8Mbit@0.02:20)", c->do_links, tok);
    *colon = '\0';
    double lat = c->do_cn_lat;
    if (atsign) {
      *atsign = '\0';
      char *end;
      errno = 0;
      lat = strtod(atsign + 1, &end);
      if (errno || end == atsign + 1 || *end || !(lat >= 0) || lat > 3600)
        return mpsl_fail("do_links = %s: latency '%s' is not a number of seconds in 0..3600", c->do_links, atsign + 1);
    }
    emu_link l;
    if (link_of("do_links", tok, lat, &l)) return -1;
    char *end;
    errno = 0;
    long n = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || n < 0 || n > K - at)
      return mpsl_fail("do_links = %s: count '%s' is not a whole number that fits the %d data owners", c->do_links,
                       colon + 1, K);
    for (long i = 0; i < n; i++, at++) cn[at] = agg[at] = l;
  }
  if (at != K)
    return mpsl_fail("do_links = %s: the counts add up to %d but there are %d data owners", c->do_links, at, K);
  return 0;
}

int64_t emu_state_bytes(const mpsl_model *m, int first, int last) {
  if (m->table) {
    int64_t b = 0;
    for (int i = first; i <= last; i++) b += m->table->layers[i - 1].param_bytes;
    return b;
  }
  nn_part *p = nn_part_new_sizing(m, first, last, 1);
  if (!p) return -1;
  int64_t n = nn_part_state_len(p);
  nn_part_free(p);
  return n * (int64_t)sizeof(double);
}

int emu_scenario_build(emu_scenario *s, const sl_config *c, const mpsl_model *m, const sl_topo *t,
                       const mpsl_profile *host, int measure) {
  memset(s, 0, sizeof *s);
  s->K = t->K, s->H = t->H, s->R = t->R, s->P = t->P;
  s->batch = c->batch, s->B = c->batches, s->r = c->local_epochs;
  s->policy = sl_policy_index(c->policy);
  if (s->policy < 0) return mpsl_fail("policy = %s: expected fifo or bwd-first", c->policy);
  s->compute = emu_needs_profile(c) ? EMU_COMPUTE_PROFILED : EMU_COMPUTE_REAL;
  s->time_scale = c->time_scale;
  s->jitter = c->jitter;
  s->straggler_rate = c->straggler_rate;
  s->straggler_factor = c->straggler_factor;
  s->fail_round = c->fail_round;
  s->fail_pipe = (c->fail_node - 1) / t->H;
  s->fail_at = c->fail_at;
  s->seed = (uint64_t)c->seed;
  int K = t->K, N = t->R * t->H;
  if (s->compute == EMU_COMPUTE_PROFILED && !host && !m->table && measure != EMU_PROFILE_ASSUME)
    return mpsl_fail("compute = profiled needs a host profile of %s at batch %d", m->name, c->batch);

  if (emu_devices_load(&s->catalogue, c, m) || sl_absence_load(&s->absence, c)) {
    emu_scenario_free(s);
    return -1;
  }
  s->cn_col = mpsl_xcalloc((size_t)N, sizeof *s->cn_col, "table columns");
  s->owner_pipe = mpsl_xcalloc((size_t)K, sizeof *s->owner_pipe, "pipelines");
  s->pipe_owners = mpsl_xcalloc((size_t)t->R, sizeof *s->pipe_owners, "pipelines");
  for (int k = 0; k < K; k++) s->pipe_owners[s->owner_pipe[k] = sl_owner_pipeline(t, k)]++;
  s->owner_dev = mpsl_xcalloc((size_t)K, sizeof *s->owner_dev, "devices");
  s->cn_dev = mpsl_xcalloc((size_t)N, sizeof *s->cn_dev, "devices");
  s->owner_speed = mpsl_xcalloc((size_t)K, sizeof *s->owner_speed, "speeds");
  s->cn_speed = mpsl_xcalloc((size_t)N, sizeof *s->cn_speed, "speeds");
  s->first = mpsl_xcalloc((size_t)K, sizeof *s->first, "costs");
  s->last = mpsl_xcalloc((size_t)K, sizeof *s->last, "costs");
  s->hop = mpsl_xcalloc((size_t)N, sizeof *s->hop, "costs");
  s->cut_bytes = mpsl_xcalloc((size_t)t->H + 1, sizeof *s->cut_bytes, "cut bytes");
  s->hop_state = mpsl_xcalloc((size_t)t->H, sizeof *s->hop_state, "state bytes");
  s->owner_cn = mpsl_xcalloc((size_t)K, sizeof *s->owner_cn, "links");
  s->owner_agg = mpsl_xcalloc((size_t)K, sizeof *s->owner_agg, "links");
  const mpsl_device *agg[1];
  int *owner_seen = NULL, *cn_seen = NULL; /* index into seen[] below */
  if (emu_parse_mix(&s->catalogue, "do_devices", c->do_devices, K, s->owner_dev) ||
      emu_parse_mix(&s->catalogue, "cn_devices", c->cn_devices, N, s->cn_dev) ||
      emu_parse_mix(&s->catalogue, "agg_device", c->agg_device, 1, agg))
    goto fail;
  s->agg_dev = agg[0];
  owner_seen = mpsl_xcalloc((size_t)K, sizeof *owner_seen, "devices");
  cn_seen = mpsl_xcalloc((size_t)N, sizeof *cn_seen, "devices");

  /* one speed per distinct device: deriving one may mean loading or measuring a profile;
   * a table model's device has its own columns (col_of) and a factor on them */
  const mpsl_device *seen[64];
  double speed_of[64];
  int col_of[64];
  int nseen = 0;
  for (int i = 0; i < K + N + 1; i++) {
    const mpsl_device *d = i < K ? s->owner_dev[i] : i < K + N ? s->cn_dev[i - K] : s->agg_dev;
    int j = 0;
    while (j < nseen && seen[j] != d) j++;
    if (j == nseen) {
      if (nseen == 64) {
        mpsl_fail("more than 64 distinct devices in one configuration");
        goto fail;
      }
      seen[nseen] = d;
      col_of[nseen] = -1;
      if (m->table && table_columns(m, d, &col_of[nseen], &speed_of[nseen])) {
        mpsl_fail_context("%s = %s",
                          i < K       ? "do_devices"
                          : i < K + N ? "cn_devices"
                                      : "agg_device",
                          i < K       ? c->do_devices
                          : i < K + N ? c->cn_devices
                                      : c->agg_device);
        goto fail;
      }
      if (!m->table && device_speed(c, d, host, measure, &speed_of[nseen])) {
        mpsl_fail_context("%s = %s", i < K ? "do_devices" : i < K + N ? "cn_devices" : "agg_device",
                          i < K ? c->do_devices : i < K + N ? c->cn_devices : c->agg_device);
        goto fail;
      }
      nseen++;
    }
    double v = speed_of[j];
    if (i < K)
      s->owner_speed[i] = v, owner_seen[i] = j;
    else if (i < K + N)
      s->cn_speed[i - K] = v, s->cn_col[i - K] = col_of[j], cn_seen[i - K] = j;
    else
      s->agg_speed = v;
  }

  /* the per-layer times each device's costs come from: the host profile, or its columns */
  const mpsl_profile *prof_of[64];
  mpsl_profile table_prof[64];
  memset(table_prof, 0, sizeof table_prof);
  for (int j = 0; j < nseen; j++) {
    prof_of[j] = host;
    if (m->table) {
      emu_table_profile(m, &m->table->dev[col_of[j]], &table_prof[j]);
      prof_of[j] = &table_prof[j];
    }
  }
  if (host || m->table) {
    for (int k = 0; k < K; k++) {
      const mpsl_profile *p = prof_of[owner_seen[k]];
      s->first[k] = emu_range_cost(p, t->first[0], t->last[0], s->owner_speed[k]);
      s->last[k] = emu_range_cost(p, t->first[t->P - 1], t->last[t->P - 1], s->owner_speed[k]);
    }
    for (int i = 0; i < N; i++) {
      int h = i % t->H;
      s->hop[i] = emu_range_cost(prof_of[cn_seen[i]], t->first[h + 1], t->last[h + 1], s->cn_speed[i]);
    }
  }
  for (int j = 0; j < nseen; j++) mpsl_profile_free(&table_prof[j]);
  for (int i = 0; i <= t->H; i++) s->cut_bytes[i] = mpsl_model_out_bytes(m, t->last[i], c->batch);
  int64_t s1 = emu_state_bytes(m, t->first[0], t->last[0]),
          sp = emu_state_bytes(m, t->first[t->P - 1], t->last[t->P - 1]);
  if (s1 < 0 || sp < 0) goto fail;
  s->owner_state = s1 + sp;
  for (int h = 0; h < t->H; h++)
    if ((s->hop_state[h] = emu_state_bytes(m, t->first[h + 1], t->last[h + 1])) < 0) goto fail;

  emu_link dc, da;
  if (link_of("do_cn_bw", c->do_cn_bw, c->do_cn_lat, &dc) || link_of("do_agg_bw", c->do_agg_bw, c->do_agg_lat, &da) ||
      link_of("cn_cn_bw", c->cn_cn_bw, c->cn_cn_lat, &s->cn_cn))
    goto fail;
  for (int k = 0; k < K; k++) s->owner_cn[k] = dc, s->owner_agg[k] = da;
  if (owner_links(c, K, s->owner_cn, s->owner_agg)) goto fail;

  bool slow = false;
  for (int k = 0; k < K; k++)
    slow |= s->owner_speed[k] != 1 || s->owner_cn[k].bw > 0 || s->owner_cn[k].lat > 0 || s->owner_agg[k].bw > 0 ||
            s->owner_agg[k].lat > 0;
  for (int i = 0; i < N; i++) slow |= s->cn_speed[i] != 1;
  slow |= s->agg_speed != 1 || s->cn_cn.bw > 0 || s->cn_cn.lat > 0;
  s->emulated = slow || s->compute == EMU_COMPUTE_PROFILED || s->time_scale != 1 || s->jitter > 0;
  free(owner_seen);
  free(cn_seen);
  return 0;
fail:
  free(owner_seen);
  free(cn_seen);
  emu_scenario_free(s);
  return -1;
}

static int input_load(emu_input *in);

int emu_input_load(emu_input *in) {
  /* a failure about a key set in a file names its line */
  return input_load(in) ? mpsl_opts_fail_where(&sl_config_opts, &in->c) : 0;
}

static int input_load(emu_input *in) {
  sl_config *c = &in->c;
  int classes, channels, size;
  memset(&in->m, 0, sizeof in->m);
  memset(&in->profile, 0, sizeof in->profile);
  memset(&in->s, 0, sizeof in->s);
  if (sl_config_model(c, &in->m) || sl_config_resolve(c, &in->m, &in->t)) return -1;
  if (in->m.table) {
    /* no host profile: every device has its own columns; in->profile is those of pipeline
     * 0's first hop, which the planner reads */
    snprintf(in->profile_path, sizeof in->profile_path, "%s", in->m.table->path);
    if (emu_scenario_build(&in->s, c, &in->m, &in->t, NULL, false)) return -1;
    emu_table_profile(&in->m, &in->m.table->dev[in->s.cn_col[0]], &in->profile);
    mpsl_profile_warn(&in->profile, in->m.table->path, stderr); /* a table written from a disturbed profile */
    return 0;
  }
  if (sl_dataset_shape(c->dataset, &classes, &channels, &size) ||
      emu_profile_get(c, c->model, c->batch, size, channels, classes, c->width, true, &in->profile))
    return -1;
  if (c->profile[0])
    snprintf(in->profile_path, sizeof in->profile_path, "%s", c->profile);
  else
    emu_profile_path(c, c->model, c->batch, size, channels, classes, c->width, in->profile_path,
                     (int)sizeof in->profile_path);
  if (in->profile.nlayers != in->m.nlayers)
    return mpsl_fail("the profile of %s has %d layers, the model %d", c->model, in->profile.nlayers, in->m.nlayers);
  return emu_scenario_build(&in->s, c, &in->m, &in->t, &in->profile, true);
}

void emu_input_free(emu_input *in) {
  emu_scenario_free(&in->s);
  mpsl_profile_free(&in->profile);
  mpsl_model_free(&in->m);
}

void emu_scenario_free(emu_scenario *s) {
  free(s->first);
  free(s->last);
  free(s->hop);
  free(s->cut_bytes);
  free(s->hop_state);
  free(s->owner_cn);
  free(s->owner_agg);
  free(s->owner_dev);
  free(s->cn_dev);
  free(s->owner_speed);
  free(s->cn_speed);
  free(s->cn_col);
  free(s->owner_pipe);
  free(s->pipe_owners);
  mpsl_devices_free(&s->catalogue);
  sl_absence_free(&s->absence);
  memset(s, 0, sizeof *s);
}

static const char *bw_text(double bw, char *buf, size_t cap) {
  if (bw <= 0)
    snprintf(buf, cap, "unlimited");
  else if (bw * 8 < 1e9)
    snprintf(buf, cap, "%.4g Mbit/s", bw * 8 / 1e6);
  else
    snprintf(buf, cap, "%.4g Gbit/s", bw * 8 / 1e9);
  return buf;
}

void emu_scenario_print(const emu_scenario *s, FILE *f, const char *prefix) {
  char b1[32];
  fprintf(f, "%stiming: compute %s, time_scale %g, jitter %g\n", prefix,
          s->compute == EMU_COMPUTE_PROFILED ? "profiled" : "real", s->time_scale, s->jitter);
  if (s->absence.file)
    fprintf(f, "%savailability file (sha256 %s): %lld owner-rounds sat out\n", prefix, s->absence.sha256,
            (long long)s->absence.n);
  /* runs of equal devices and links, in data-owner order */
  for (int k = 0; k < s->K;) {
    int e = k;
    while (e < s->K && s->owner_dev[e] == s->owner_dev[k] && s->owner_cn[e].bw == s->owner_cn[k].bw &&
           s->owner_cn[e].lat == s->owner_cn[k].lat && s->owner_speed[e] == s->owner_speed[k])
      e++;
    fprintf(f,
            "%s  data owners %d..%d: %s (speed %.4g), M_1 %.4g + %.4g s, M_P %.4g + %.4g s, link to hops %s + %g s\n",
            prefix, k, e - 1, s->owner_dev[k]->name, s->owner_speed[k], s->first[k].fwd, s->first[k].bwd,
            s->last[k].fwd, s->last[k].bwd, bw_text(s->owner_cn[k].bw, b1, sizeof b1), s->owner_cn[k].lat);
    k = e;
  }
  for (int i = 0; i < s->R * s->H; i++)
    fprintf(f, "%s  pipeline %d hop %d: %s (speed %.4g), fwd %.4g s, bwd+update %.4g s per batch\n", prefix, i / s->H,
            i % s->H + 1, s->cn_dev[i]->name, s->cn_speed[i], s->hop[i].fwd, s->hop[i].bwd);
  fprintf(f, "%s  hop to hop: %s + %g s; aggregator: %s (speed %.4g)\n", prefix, bw_text(s->cn_cn.bw, b1, sizeof b1),
          s->cn_cn.lat, s->agg_dev->name, s->agg_speed);
  fprintf(f, "%s  bytes: cuts", prefix);
  for (int i = 0; i <= s->H; i++) fprintf(f, " %lld", (long long)s->cut_bytes[i]);
  fprintf(f, ", data-owner state %lld, hop states", (long long)s->owner_state);
  for (int h = 0; h < s->H; h++) fprintf(f, " %lld", (long long)s->hop_state[h]);
  fprintf(f, "\n");
}

void emu_fail_note(const sl_config *c, int round, int stopped, FILE *out) {
  if (round + 1 != c->fail_round) return;
  if (stopped)
    fprintf(out, "# round %d: compute node %d left at %g s: %d data owner(s) of its pipeline stopped, left out of FedAvg\n",
            round + 1, c->fail_node, c->fail_at, stopped);
  else
    fprintf(stderr,
            "%s: warning: fail_round = %d: compute node %d left at %g s, after every data owner of its pipeline had "
            "started its last batch: none stopped\n",
            mpsl_program(), round + 1, c->fail_node, c->fail_at);
}
