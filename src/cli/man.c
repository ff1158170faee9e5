/* mpsl help --man: the man page mpsl(1), written from the option tables that parse the
 * command line and print --help, so the page lists exactly the keys the binary accepts.
 * The build runs it into mpsl.1 (docs/Makefile.inc). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_internal.h"
#include "config.h"
#include "emu/device.h"

#ifndef MPSL_PKGDATADIR
#error "MPSL_PKGDATADIR (the configured $(pkgdatadir)) must be defined by the build"
#endif
#ifndef MPSL_DOCDIR
#error "MPSL_DOCDIR (the configured $(docdir)) must be defined by the build"
#endif

/* The date of the page: $SOURCE_DATE_EPOCH when set (reproducible builds), else today. */
static void page_date(char *buf, size_t cap) {
  const char *e = getenv("SOURCE_DATE_EPOCH");
  time_t t = e && *e ? (time_t)strtoll(e, NULL, 10) : time(NULL);
  struct tm tm;
  if (!gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d", &tm)) buf[0] = '\0';
}

static void para(FILE *f, const char *text) {
  fputs(".PP\n", f);
  mpsl_roff_text(text, f);
  fputc('\n', f);
}

/* .TP entry: a bold tag, then text */
static void item(FILE *f, const char *tag, const char *text) {
  fputs(".TP\n.B \"", f);
  mpsl_roff_text(tag, f);
  fputs("\"\n", f);
  mpsl_roff_text(text, f);
  fputc('\n', f);
}

/* A path on a line of its own, not hyphenated, with a break point after every '/': a long
 * prefix must not overrun the line. */
static void path_text(FILE *f, const char *path) {
  char seg[4096];
  fputs("\\&\\%", f);
  for (const char *p = path; *p;) {
    size_t n = strcspn(p, "/");
    snprintf(seg, sizeof seg, "%.*s", (int)n, p);
    mpsl_roff_escape(seg, f);
    p += n;
    if (*p == '/') fputs("/\\:", f), p++;
  }
}

/* .TP entry whose tag is a path under a directory */
static void file_item(FILE *f, const char *dir, const char *rel, const char *text) {
  char tag[4096];
  snprintf(tag, sizeof tag, "%s/%s", dir, rel);
  fputs(".TP\n.I \"", f);
  path_text(f, tag);
  fputs("\"\n", f);
  mpsl_roff_text(text, f);
  fputc('\n', f);
}

/* One command: its usage and summary, its keys (or a pointer to the command that listed the
 * same table first), then its flags outside the table. */
static void command(FILE *f, const cli_command *c, const cli_command *first_with_keys) {
  const mpsl_optset *s = c->opts();
  fprintf(f, ".SS \"mpsl %s", c->name);
  if (s->args) {
    fputc(' ', f);
    mpsl_roff_text(s->args, f);
  }
  fputs("\"\n", f);
  mpsl_roff_text(s->summary ? s->summary : c->summary, f);
  fputc('\n', f);
  if (first_with_keys) {
    fprintf(f, ".PP\nIt takes every key of\n.BR \"mpsl %s\" ,\nabove", first_with_keys->name);
    fputs(c->flags ? ", and:\n" : ".\n", f);
  } else {
    mpsl_opts_man(s, f, false);
  }
  for (const cli_flag *x = c->flags; x && x->flag; x++) item(f, x->flag, x->help);
}

void cli_man(FILE *f) {
  char date[32];
  page_date(date, sizeof date);
  fprintf(f, ".\\\" mpsl(1), written by `mpsl help --man` from its option tables; do not edit.\n");
  fprintf(f, ".TH MPSL 1 \"%s\" \"mpsl %s\" \"User Commands\"\n", date, PACKAGE_VERSION);
  fputs(
      ".SH NAME\nmpsl \\- multihop parallel split learning: train, run over MPI, emulate, simulate, estimate "
      "and plan\n",
      f);
  fputs(
      ".SH SYNOPSIS\n.B mpsl\n.I COMMAND\n.RI [ options ]\n.br\n"
      ".B mpirun \\-np\n.I N\n.B mpsl run\n.I CONFIG.ini\n.RB \"  (\" N \" = \" \"mpsl run \\-\\-ranks\" \" \" "
      "CONFIG.ini )\n.br\n.B mpsl \\-\\-version\n.br\n.B mpsl help\n",
      f);
  fputs(".SH DESCRIPTION\n", f);
  mpsl_roff_text(
      "mpsl is a research tool for Multihop Parallel Split Learning (MP-SL): many data owners train "
      "one model together, each keeping the first and the last part of the model and its labels, while "
      "the middle is split over a chain of compute nodes (hops) that serve all data owners as a "
      "pipeline. It trains models with oneDNN, runs the protocol over MPI with emulated devices and "
      "links, simulates it in virtual time, evaluates the EdgeSys'25 closed form and plans the cuts.",
      f);
  fputc('\n', f);
  fputs(".SH OPTIONS\n", f);
  mpsl_roff_text(
      "Every command is configured by keys, each with a type, a default, a range and a help line, as "
      "listed below and by mpsl COMMAND --help. A key is given as --KEY VALUE, --KEY=VALUE or "
      "--set KEY=VALUE; a boolean key as --KEY or --no-KEY; in keys '-' and '_' are interchangeable. "
      "--config FILE reads KEY = VALUE lines (blank lines, # and ; comments and [section] headers are "
      "skipped; a value may be \"double-quoted\") in place, so later arguments override them.",
      f);
  fputc('\n', f);
  para(f,
       "run, simulate, estimate and plan also take one CONFIG.ini, wherever it stands among the arguments: it "
       "is read first and every flag overrides it. A relative CONFIG.ini, or a layer table model = "
       "csv:PATH, that does not exist in the current directory is looked for in the data directory "
       "(FILES), so mpsl run experiments/demo.ini runs the shipped demo from anywhere.");
  item(f, "-h, --help", "print the command's keys with their types, defaults, ranges and help, and exit");
  item(f, "--version", "print the version of mpsl and of oneDNN (mpsl --version)");

  fputs(".SH COMMANDS\n", f);
  for (int i = 0; i < cli_ncommands; i++) {
    const cli_command *shared = NULL;
    for (int j = 0; j < i && !shared; j++)
      if (cli_commands[j].opts()->opts == cli_commands[i].opts()->opts) shared = &cli_commands[j];
    command(f, &cli_commands[i], shared);
  }

  fputs(".SH DEVICE CATALOGUE\n", f);
  mpsl_roff_text(
      "Device types are sections of ini files: the shipped experiments/devices.ini (FILES), then the "
      "file of the key devices, whose sections add to or replace the shipped ones. A section [NAME] "
      "takes these keys, and ref_step_MODEL_bBATCH = SECONDS, the time of one training step of MODEL "
      "at batch BATCH on the device, from which its speed is derived against a host profile of the "
      "same model.",
      f);
  fputc('\n', f);
  mpsl_opts_man(mpsl_device_keys(), f, true);

  fputs(".SH FILES\n.ad l\n", f); /* paths do not justify */
  file_item(f, MPSL_PKGDATADIR, "experiments/devices.ini", "the device catalogue");
  file_item(f, MPSL_PKGDATADIR, "experiments/demo.ini",
            "the demo: 4 data owners, 2 compute nodes, vgg11-cifar on Fashion-MNIST");
  file_item(f, MPSL_PKGDATADIR, "experiments/emulate.ini",
            "the demo on emulated Raspberry Pis behind 8 Mbit/s links, profiled compute");
  file_item(f, MPSL_PKGDATADIR, "experiments/sweeps/",
            "the sweeps of the README's figures, run by experiments/sweep (locally or as Slurm job arrays)");
  file_item(f, MPSL_PKGDATADIR, "experiments/reproduce",
            "the experiments of the EdgeSys'25 paper on the authors' own layer tables");
  file_item(f, MPSL_PKGDATADIR, "datasets/",
            "a README per data set (fashion-mnist, mnist, cifar10, cifar100): source, licence, files, how to get "
            "it and point data_dir at it");
  file_item(f, MPSL_PKGDATADIR, "datasets/edgesys/", "the EdgeSys'25 authors' per-layer tables (model = csv:PATH)");
  file_item(f, MPSL_PKGDATADIR, "plots/", "the gnuplot scripts of the figures");
  file_item(f, MPSL_PKGDATADIR, "python/torch_profile.py", "a layer table of a sequential PyTorch model");
  para(f,
       "These are in the data directory: $MPSL_DATADIR when set; else, for a binary of a build tree, the "
       "source tree named by the file mpsl.datadir beside it; else, for an installed binary moved with its "
       "prefix, X/share/mpsl beside X/bin; else");
  path_text(f, MPSL_PKGDATADIR);
  fputs(".\n", f);
  item(f, "profiles/",
       "host profiles measured on first use (the key profile_dir), relative to the current "
       "directory");
  item(f, "/usr/share/datasets/fashion-mnist/", "the default dataset (Debian's dataset-fashion-mnist)");

  fputs(".ad b\n.SH ENVIRONMENT\n", f);
  item(f, "MPSL_DATADIR", "the data directory, instead of the one found from the binary (FILES)");
  item(f, "SLURM_CPUS_PER_TASK", "threads per rank under Slurm when the key threads is 0");
  item(f, "OMPI_ALLOW_RUN_AS_ROOT, OMPI_ALLOW_RUN_AS_ROOT_CONFIRM",
       "set both to 1 to let Open MPI's mpirun run mpsl run as root");
  item(f, "MPSL_LAUNCH", "the launcher of MPI jobs of experiments/sweep (default mpirun --oversubscribe)");

  fputs(".SH EXIT STATUS\n", f);
  mpsl_roff_text(
      "0 on success; 1 on an error, reported as one line \"mpsl COMMAND: error: ...\" on standard error "
      "naming the option, file or key, the value and what was expected; 2 without a command or with an "
      "unknown one.",
      f);
  fputc('\n', f);

  fputs(".SH EXAMPLES\n", f);
  fputs(".nf\n", f);
  mpsl_roff_text(
      "mpsl layers resnet18-cifar\n"
      "mkdir -p results\n"
      "mpirun --oversubscribe -np $(mpsl run --ranks experiments/demo.ini) mpsl run experiments/demo.ini\n"
      "mpsl report results/demo.h5\n"
      "mpsl simulate experiments/emulate.ini --set output=results/emulate-sim.h5\n"
      "mpsl plan --set model=csv:datasets/edgesys/vgg19.csv --set dataset=cifar10 --set batch=128 "
      "--set hops=3",
      f);
  fputs("\n.fi\n", f);

  fputs(".SH SEE ALSO\n.ad l\n.BR mpirun (1),\n.BR h5dump (1),\n.BR gnuplot (1).\n", f);
  fputs(".PP\n", f);
  mpsl_roff_text(
      "The README and the pages of docs/ (run.md: the configuration and the roles; results.md: the "
      "results file; timing.md, simulate.md, plan.md, memory.md, sweeps.md, cluster.md) in",
      f);
  fputc('\n', f);
  path_text(f, MPSL_DOCDIR);
  fputs(".\n", f);
}
