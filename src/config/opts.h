/* Declarative configuration: each subcommand describes its config struct with one
 * static table, and that table alone parses command-line flags, `--set key=value`,
 * `key = value` files, prints --help, prints the resolved configuration and
 * serialises it for result files. Keys are lower-case words joined by '_'; wherever a
 * key is read, '-' and '_' are interchangeable (--weight-decay is --weight_decay).
 *
 *   typedef struct { int batch; char policy[16]; mpsl_optmask given; } train_cfg;
 *   static const mpsl_opt train_keys[] = {
 *     {"batch", MPSL_OPT_INT, MPSL_OPT_FIELD(train_cfg, batch), "32", 1, 65536, NULL,
 *      "mini-batch size per data owner", 0},
 *     {"policy", MPSL_OPT_ENUM, MPSL_OPT_FIELD(train_cfg, policy), "fifo", 0, 0,
 *      "fifo|bwd-first", "order in which a compute node serves its queue", 0},
 *   };
 *   static const mpsl_optset train_opts = {"train", NULL, "Train a split model.",
 *     train_keys, MPSL_NOPTS(train_keys), offsetof(train_cfg, given)};
 *
 * Errors in user input are one line through mpsl_fail() and return -1; a malformed
 * table is a bug and ends the program (checked by mpsl_opts_defaults). */
#ifndef MPSL_CONFIG_OPTS_H
#define MPSL_CONFIG_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
  MPSL_OPT_INT,     /* int */
  MPSL_OPT_INT64,   /* int64_t */
  MPSL_OPT_DOUBLE,  /* double, finite */
  MPSL_OPT_BOOL,    /* bool: 1/0/true/false/yes/no/on/off; --key, --no-key */
  MPSL_OPT_STRING,  /* char[size], no control characters */
  MPSL_OPT_ENUM,    /* char[size] holding one of `choices` */
  MPSL_OPT_INTLIST, /* mpsl_intlist, written "3,7,12" */
} mpsl_opt_type;

#define MPSL_INTLIST_MAX 64
typedef struct {
  int n;
  int v[MPSL_INTLIST_MAX]; /* (n) used, the rest zero */
  /* 1: the word "plan" (MPSL_OPT_PLAN options), or "plan:A,B" with v = {A, B}: the values
   * are chosen later by the cut planner */
  int plan;
} mpsl_intlist;

/* Which keys were given explicitly (file, flag or --set), one bit per table row, and
 * where each one given in a file was set last: line[i] of files[file[i] - 1] (file[i] = 0:
 * not from a file), so that a later check of its value names the line
 * (mpsl_opts_fail_where). Inline, so that a copy of the config (MPI_Bcast of its bytes)
 * keeps it. Every config struct holds one; mpsl_opts_defaults clears it. */
#define MPSL_OPT_MAX 128
#define MPSL_OPT_FILES 4
#define MPSL_OPT_FILE_MAX 4160
typedef struct {
  uint64_t bits[MPSL_OPT_MAX / 64];
  int32_t line[MPSL_OPT_MAX];
  uint8_t file[MPSL_OPT_MAX];
  char files[MPSL_OPT_FILES][MPSL_OPT_FILE_MAX];
} mpsl_optmask;

enum {
  MPSL_OPT_REQUIRED = 1u << 0, /* must be given; STRING/ENUM/INTLIST also non-empty */
  MPSL_OPT_PLAN = 1u << 1      /* INTLIST: "plan" or "plan:A,B" is accepted too (mpsl_intlist.plan) */
};

typedef struct {
  const char *key; /* "weight_decay" */
  mpsl_opt_type type;
  size_t offset;       /* offsetof(config, field) */
  size_t size;         /* sizeof the field */
  const char *def;     /* default as text; NULL: 0, false, empty string or empty list */
  double min, max;     /* inclusive range of numbers and list elements; only if min < max */
  const char *choices; /* ENUM: "fifo|bwd-first" */
  const char *help;
  unsigned flags; /* MPSL_OPT_REQUIRED */
} mpsl_opt;

/* offset and size of a field, for the two table columns that follow the type. */
#define MPSL_OPT_FIELD(type, field) offsetof(type, field), sizeof(((type *)0)->field)
#define MPSL_NOPTS(table) ((int)(sizeof(table) / sizeof((table)[0])))

typedef struct {
  const char *name;    /* subcommand: "train" */
  const char *args;    /* positional arguments for the usage line ("RESULT.h5..."), or NULL */
  const char *summary; /* one line */
  const mpsl_opt *opts;
  int n;
  size_t given; /* offsetof(config, its mpsl_optmask) */
} mpsl_optset;

/* Set every field to its default and clear the given-mask; checks the table first. */
void mpsl_opts_defaults(const mpsl_optset *s, void *cfg);

/* Set one key from text. `origin` names where it came from in messages ("exp.ini:7").
 * On error the field keeps its previous value. */
int mpsl_opts_set(const mpsl_optset *s, void *cfg, const char *key, const char *value, const char *origin);

/* mpsl_opts_set for a key read from line `line` of file `path` (named path:LINE in
 * messages, and remembered for mpsl_opts_fail_where). */
int mpsl_opts_set_at(const mpsl_optset *s, void *cfg, const char *key, const char *value, const char *path, long line);

/* "PATH:LINE" where `key` was set from a file into buf, or "" (a default, a flag, --set). */
const char *mpsl_opts_origin(const mpsl_optset *s, const void *cfg, const char *key, char *buf, size_t cap);

/* A later check of a value (a cut count, a device mix, a bandwidth) reports it as "KEY ..."
 * or "KEY = VALUE: ...": when the recorded failure starts with a key of the table that was
 * set from a file, "PATH:LINE: " goes in front of it. Returns -1, for `return
 * mpsl_opts_fail_where(...)` after a failure. */
int mpsl_opts_fail_where(const mpsl_optset *s, const void *cfg);

/* `key = value` lines; blank lines, `#` and `;` comments (also after a value, when
 * preceded by a space) and [section] headers are skipped. A value may be written
 * "double-quoted", with \" and \\ inside. */
int mpsl_opts_parse_file(const mpsl_optset *s, void *cfg, const char *path);
/* The same lines from a string (a results file's `config`), named ORIGIN:LINE in messages. */
int mpsl_opts_parse_text(const mpsl_optset *s, void *cfg, const char *text, const char *origin);

/* argv holds only the arguments (no program or subcommand name). Accepts --key VALUE,
 * --key=VALUE, --set key=VALUE, --key / --no-key for booleans, --config FILE (read in
 * place, so later arguments override it), `--` ending the options; other arguments
 * are stored in pos[0..maxpos) and counted in *npos. Returns 1 on -h/--help (print
 * the help), 0 on success, -1 on error. */
int mpsl_opts_parse_argv(const mpsl_optset *s, void *cfg, int argc, char **argv, int *npos, char **pos, int maxpos);

/* One line of a `key = value` file, split in place with the syntax of
 * mpsl_opts_parse_file, for files with sections of their own (the device catalogue):
 * MPSL_INI_BLANK for a blank or comment line, MPSL_INI_SECTION with *key the name inside
 * [brackets], MPSL_INI_PAIR with *key and the unquoted *value; -1 with mpsl_fail on a
 * malformed line. `what` names a section in messages ("section", "device"). */
enum { MPSL_INI_BLANK = 0, MPSL_INI_SECTION = 1, MPSL_INI_PAIR = 2 };
int mpsl_ini_line(char *line, const char *origin, const char *what, char **key, char **value);

int mpsl_opts_check_required(const mpsl_optset *s, const void *cfg);
int mpsl_opts_was_set(const mpsl_optset *s, const void *cfg, const char *key);

/* Usage line, then each key: flag, type or choices, default, range, help. */
void mpsl_opts_help(const mpsl_optset *s, FILE *f);
/* The man page's entry of every key (roff: .TP, the flag, the same type, default, range and
 * help line as mpsl_opts_help), in table order; as_ini: written "key = TYPE", as in a
 * file of [sections] (the device catalogue), rather than as a flag. */
void mpsl_opts_man(const mpsl_optset *s, FILE *f, bool as_ini);
/* text for roff: '\', '-' and '"' escaped; mpsl_roff_text also starts every line with \& so
 * none is read as a request. */
void mpsl_roff_escape(const char *text, FILE *f);
void mpsl_roff_text(const char *text, FILE *f);
/* The resolved configuration, one "prefix key = value" line per key. */
void mpsl_opts_print(const mpsl_optset *s, const void *cfg, FILE *f, const char *prefix);
/* "[name]" and the print lines, malloc'd; mpsl_opts_parse_file reads it back to the
 * same field values. */
char *mpsl_opts_to_ini(const mpsl_optset *s, const void *cfg);

#endif
