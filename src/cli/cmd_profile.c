/* mpsl profile: per-layer forward, backward and update times and bytes of a model on this
 * host, stored as an HDF5 profile (emu/profile.h) and/or printed; with --show, prints a
 * stored profile. The printed form ends with what each device of the catalogue would take
 * for one step of the whole model and whether it fits the device's memory. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "emu/device.h"
#include "emu/profile.h"
#include "emu/table.h"
#include "util/bytes.h"
#include "util/err.h"

typedef struct {
  char model[40], output[MPSL_PATH_MAX], show[MPSL_PATH_MAX], devices[MPSL_PATH_MAX], csv[MPSL_PATH_MAX], device[32];
  int batch, classes, channels, size, reps, warmup;
  double width;
  bool text, progress;
  mpsl_optmask given;
} profile_cfg;

static const mpsl_opt keys[] = {
    {"model", MPSL_OPT_STRING, MPSL_OPT_FIELD(profile_cfg, model), NULL, 0, 0, NULL, MPSL_MODEL_HELP, 0},
    {"batch", MPSL_OPT_INT, MPSL_OPT_FIELD(profile_cfg, batch), "32", 1, 65536, NULL, "mini-batch size", 0},
    {"classes", MPSL_OPT_INT, MPSL_OPT_FIELD(profile_cfg, classes), "10", 1, 100000, NULL, "output classes", 0},
    {"channels", MPSL_OPT_INT, MPSL_OPT_FIELD(profile_cfg, channels), "3", 1, 3, NULL, "input channels", 0},
    {"size", MPSL_OPT_INT, MPSL_OPT_FIELD(profile_cfg, size), "32", 8, 4096, NULL, "input height and width", 0},
    {"width", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(profile_cfg, width), "1", 0.001, 16, NULL,
     "channel multiplier (1 = the published model)", 0},
    {"reps", MPSL_OPT_INT, MPSL_OPT_FIELD(profile_cfg, reps), "5", 1, 100000, NULL,
     "timed runs per layer (the median is kept, with min and max)", 0},
    {"warmup", MPSL_OPT_INT, MPSL_OPT_FIELD(profile_cfg, warmup), "2", 0, 100000, NULL, "untimed runs first", 0},
    {"output", MPSL_OPT_STRING, MPSL_OPT_FIELD(profile_cfg, output), NULL, 0, 0, NULL,
     "write the profile to this HDF5 file (through FILE.tmp.HOST.PID)", 0},
    {"text", MPSL_OPT_BOOL, MPSL_OPT_FIELD(profile_cfg, text), "false", 0, 0, NULL, "print the profile as a table", 0},
    {"show", MPSL_OPT_STRING, MPSL_OPT_FIELD(profile_cfg, show), NULL, 0, 0, NULL,
     "print a stored profile instead of measuring", 0},
    {"devices", MPSL_OPT_STRING, MPSL_OPT_FIELD(profile_cfg, devices), NULL, 0, 0, NULL,
     "a device catalogue read after the shipped one (its devices add to or replace the shipped ones)", 0},
    {"progress", MPSL_OPT_BOOL, MPSL_OPT_FIELD(profile_cfg, progress), "false", 0, 0, NULL,
     "one line per layer on stderr while measuring", 0},
    {"csv", MPSL_OPT_STRING, MPSL_OPT_FIELD(profile_cfg, csv), NULL, 0, 0, NULL,
     "also write the profile (measured, or the one of --show) as a layer table (docs/table.md), - for stdout", 0},
    {"device", MPSL_OPT_STRING, MPSL_OPT_FIELD(profile_cfg, device), "host", 0, 0, NULL,
     "the device name of the layer table's columns (--csv)", 0},
};
static const mpsl_optset opts = {"profile",
                                 NULL,
                                 "Measure per-layer forward, backward and update times and bytes of a model on this "
                                 "host, or print a stored profile (--show).",
                                 keys,
                                 MPSL_NOPTS(keys),
                                 offsetof(profile_cfg, given)};
const mpsl_optset *cmd_profile_opts(void) { return &opts; }

static void print_devices(const mpsl_devices *c, const mpsl_profile *p, FILE *f) {
  fprintf(f, "devices: one step of the whole model (%s, batch %d) = host step / speed\n", p->model, p->batch);
  fprintf(f, "  %-10s %10s %12s %10s %5s  %s\n", "device", "speed", "step_s", "memory", "fits", "speed from");
  for (int i = 0; i < c->n; i++) {
    const mpsl_device *d = &c->dev[i];
    double speed;
    char mem[32];
    mpsl_bytes_str(d->memory, mem, sizeof mem);
    const char *fits = p->whole_bytes <= d->memory ? "yes" : "no";
    if (mpsl_device_speed(d, p, &speed) == 0) {
      /* which figure the speed came from: a reference step of this model, or the fixed speed */
      const mpsl_device_ref *r = NULL;
      for (int k = 0; k < d->nrefs && !r; k++)
        if (!strcmp(d->refs[k].model, p->model)) r = &d->refs[k];
      char how[96];
      if (r)
        snprintf(how, sizeof how, "from its %s step, batch %d: %g s (%s)", r->model, r->batch, r->seconds,
                 d->published ? "published" : "assumed");
      else
        snprintf(how, sizeof how, "fixed speed (%s)", d->published ? "given" : "assumed");
      fprintf(f, "  %-10s %10.4g %12.4g %10s %5s  %s\n", d->name, speed, p->whole_step_s / speed, mem, fits, how);
    } else {
      /* no reference step of this model (the usual case), or one at another width or input */
      char why[160];
      size_t k = (size_t)snprintf(why, sizeof why, "needs a host profile of");
      for (int j = 0; j < d->nrefs && k < sizeof why; j++)
        k += (size_t)snprintf(why + k, sizeof why - k, "%s %s (batch %d)", j ? " or" : "", d->refs[j].model,
                              d->refs[j].batch);
      for (int j = 0; j < d->nrefs; j++)
        if (!strcmp(d->refs[j].model, p->model)) snprintf(why, sizeof why, "%s", mpsl_errmsg());
      if (d->columns[0])
        snprintf(why, sizeof why, "times from a layer table's '%s' columns (model = csv:PATH)", d->columns);
      fprintf(f, "  %-10s %10s %12s %10s %5s  %s\n", d->name, "-", "-", mem, fits, why);
    }
  }
  char whole[32];
  fprintf(f, "  (fits: the whole model's bytes at this batch, %s, within the device's memory)\n",
          mpsl_bytes_str(p->whole_bytes, whole, sizeof whole));
}

/* The shipped catalogue, then the user's. A missing shipped file is only a note. */
static int load_devices(const profile_cfg *c, mpsl_devices *d) {
  const char *def = mpsl_devices_default_path();
  if (access(def, R_OK) == 0) {
    if (mpsl_devices_load(d, def)) return -1;
  } else if (!c->devices[0]) {
    fprintf(stderr, "mpsl profile: note: no device catalogue at %s (--devices FILE gives one)\n", def);
  }
  if (c->devices[0] && mpsl_devices_load(d, c->devices)) return -1;
  return 0;
}

static void print_all(const mpsl_devices *d, const mpsl_profile *p) {
  mpsl_profile_print(p, stdout);
  if (d->n) print_devices(d, p, stdout);
}

/* --csv: the profile as a layer table, through FILE.tmp and a rename like every output. */
static int write_table(const profile_cfg *c, const mpsl_profile *p) {
  /* the name becomes the DEV of DEV_fwd_ms: the rule of the table reader */
  bool ok = c->device[0] != '\0';
  for (const char *q = c->device; *q; q++) ok = ok && (isalnum((unsigned char)*q) || strchr("_-.", *q));
  if (!ok) {
    mpsl_fail("--device '%s': expected 1..31 letters, digits, '_', '-' or '.' (it names the table's columns)",
              c->device);
    return cli_error("profile");
  }
  if (!strcmp(c->csv, "-")) return emu_profile_write_table(p, c->device, stdout, "stdout") ? cli_error("profile") : 0;
  char tmp[MPSL_PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", c->csv, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) {
    mpsl_fail("--csv %s: cannot create %s (%s)", c->csv, tmp, strerror(errno));
    return cli_error("profile");
  }
  int bad = emu_profile_write_table(p, c->device, f, c->csv);
  if (fclose(f) && !bad) bad = mpsl_fail("%s: write error (%s)", c->csv, strerror(errno));
  if (!bad && rename(tmp, c->csv))
    bad = mpsl_fail("--csv %s: cannot rename %s to it (%s)", c->csv, tmp, strerror(errno));
  if (bad) {
    unlink(tmp);
    return cli_error("profile");
  }
  return 0;
}

int cmd_profile(int argc, char **argv) {
  profile_cfg c;
  int npos = 0, rc = cli_parse(&opts, &c, argc, argv, &npos, NULL, 0);
  if (rc) return rc < 0 ? 0 : rc;
  if (c.show[0] && (c.model[0] || c.output[0])) {
    mpsl_fail("--show prints a stored profile; it takes no --model or --output");
    return cli_error("profile");
  }
  if (!c.show[0] && !c.model[0]) {
    mpsl_fail("--model is required (expected %s), or --show PROFILE.h5", MPSL_MODEL_HELP);
    return cli_error("profile");
  }
  if (!c.show[0] && !c.output[0] && !c.text && !c.csv[0]) {
    mpsl_fail("nothing to do: give --output PROFILE.h5, --csv TABLE.csv and/or --text");
    return cli_error("profile");
  }
  /* the catalogues are read first, so a typo in one is reported before a long measurement */
  mpsl_devices d = {0};
  if ((c.show[0] || c.text) && load_devices(&c, &d)) {
    mpsl_devices_free(&d);
    return cli_error("profile");
  }
  mpsl_profile p;
  if (c.show[0]) {
    rc = mpsl_profile_load(&p, c.show) ? cli_error("profile") : 0;
    if (rc == 0) mpsl_profile_warn(&p, c.show, stderr);
    if (rc == 0 && c.csv[0]) rc = write_table(&c, &p);
    if (rc == 0 && (c.text || !c.csv[0])) print_all(&d, &p);
    mpsl_profile_free(&p);
    mpsl_devices_free(&d);
    return rc;
  }
  mpsl_model m;
  mpsl_model_opts mo = {c.classes, c.channels, c.size, c.width};
  if (mpsl_model_build(&m, c.model, &mo)) {
    mpsl_devices_free(&d);
    return cli_error("profile");
  }
  mpsl_profile_opts po = {c.batch, c.reps, c.warmup, c.progress ? stderr : NULL};
  rc = mpsl_profile_measure(&p, &m, &po) ? cli_error("profile") : 0;
  mpsl_model_free(&m);
  if (rc == 0 && c.output[0] && mpsl_profile_save(&p, c.output)) rc = cli_error("profile");
  if (rc == 0) mpsl_profile_warn(&p, c.output[0] ? c.output : "(not saved)", stderr);
  if (rc == 0 && c.csv[0]) rc = write_table(&c, &p);
  if (rc == 0 && c.text) print_all(&d, &p);
  mpsl_profile_free(&p);
  mpsl_devices_free(&d);
  return rc;
}
