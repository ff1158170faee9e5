/* Bandwidths, memory sizes, device mixes and per-owner links: the values of the keys
 * do_cn_bw, memory, do_devices / cn_devices / agg_device and do_links. One per line:
 *   bw TEXT           emu_parse_bw
 *   bytes TEXT        mpsl_parse_bytes
 *   mix N TEXT        emu_parse_mix over N slots, against the shipped catalogue
 *   links K TEXT      do_links = TEXT for K data owners (owner_links, static in
 *                     emu/timing.c, which is compiled into this target for it)
 * Every value that parses is checked for what the callers rely on. */
#include "emu/timing.c"

#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

static mpsl_devices cat;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *p = mpsl_devices_default_path();
  if (!p || mpsl_devices_load(&cat, p)) {
    fprintf(stderr, "fuzz links: cannot load the shipped catalogue: %s\n", mpsl_errmsg());
    abort();
  }
  return 0;
}

static void check(int ok, const char *what, const char *text) {
  if (ok) return;
  fprintf(stderr, "fuzz links: %s for '%s'\n", what, text);
  abort();
}

static int count(const char **t, int max) {
  char *end;
  long n = strtol(*t, &end, 10);
  if (end == *t || *end != ' ' || n < 0 || n > max) return -1;
  *t = end + 1;
  return (int)n;
}

static void one(const char *t) {
  enum { SLOTS = 1024 };
  if (!strncmp(t, "bw ", 3)) {
    double bw = -1;
    if (emu_parse_bw(t + 3, &bw) == 0) check(bw >= 0 && isfinite(bw), "a bandwidth < 0 or not finite", t);
  } else if (!strncmp(t, "bytes ", 6)) {
    int64_t b = -1;
    if (mpsl_parse_bytes(t + 6, &b) == 0) check(b >= 0, "a negative size", t);
  } else if (!strncmp(t, "mix ", 4)) {
    const char *v = t + 4;
    int n = count(&v, SLOTS);
    if (n < 0) return;
    const mpsl_device *out[SLOTS + 1];
    out[n] = NULL;
    for (int i = 0; i < n; i++) out[i] = NULL;
    if (emu_parse_mix(&cat, "do_devices", v, n, out) == 0)
      for (int i = 0; i < n; i++) check(out[i] != NULL, "a slot without a device", t);
    check(out[n] == NULL, "a write past the slots", t);
  } else if (!strncmp(t, "links ", 6)) {
    const char *v = t + 6;
    int k = count(&v, SLOTS);
    if (k < 0) return;
    static sl_config c;
    snprintf(c.do_links, sizeof c.do_links, "%s", v);
    c.do_cn_lat = 0.01;
    emu_link cn[SLOTS], agg[SLOTS];
    memset(cn, 0xff, sizeof cn);
    if (owner_links(&c, k, cn, agg) == 0 && c.do_links[0])
      for (int i = 0; i < k; i++)
        check(cn[i].bw >= 0 && isfinite(cn[i].bw) && cn[i].lat >= 0 && cn[i].lat <= 3600, "a link out of range", t);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_text(data, size);
  for (char *save = NULL, *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) one(t);
  free(text);
  return 0;
}
