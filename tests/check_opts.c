/* The declarative option table: defaults, every way of setting a key, every class of
 * bad value (one line naming the key and the value), help, and the result-file
 * serialisation read back to the same struct. No MPI. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/opts.h"
#include "util/err.h"

typedef struct {
  int batch;           /* INT 1..65536 */
  int shift;           /* INT, no range: only the int limits */
  int64_t seed;        /* INT64 0..2^62, default above 2^53 */
  double weight_decay; /* DOUBLE 0..1 */
  bool augment;        /* BOOL */
  char dataset[16];    /* STRING, required: at most 15 characters */
  char policy[16];     /* ENUM */
  mpsl_intlist cuts;   /* INTLIST, elements 1..100 */
  mpsl_optmask given;
} tcfg;

static const mpsl_opt tkeys[] = {
    {"batch", MPSL_OPT_INT, MPSL_OPT_FIELD(tcfg, batch), "32", 1, 65536, NULL, "mini-batch size", 0},
    {"shift", MPSL_OPT_INT, MPSL_OPT_FIELD(tcfg, shift), NULL, 0, 0, NULL, "an offset", 0},
    {"seed", MPSL_OPT_INT64, MPSL_OPT_FIELD(tcfg, seed), "9007199254740993", 0, 4611686018427387904.0, NULL,
     "random seed", 0},
    {"weight_decay", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(tcfg, weight_decay), "0.0005", 0, 1, NULL, "L2 penalty", 0},
    {"augment", MPSL_OPT_BOOL, MPSL_OPT_FIELD(tcfg, augment), "true", 0, 0, NULL, "random crop and flip", 0},
    {"dataset", MPSL_OPT_STRING, MPSL_OPT_FIELD(tcfg, dataset), NULL, 0, 0, NULL, "dataset name", MPSL_OPT_REQUIRED},
    {"policy", MPSL_OPT_ENUM, MPSL_OPT_FIELD(tcfg, policy), "fifo", 0, 0, "fifo|bwd-first", "queue order", 0},
    {"cuts", MPSL_OPT_INTLIST, MPSL_OPT_FIELD(tcfg, cuts), "3,7", 1, 100, NULL, "cut layers", 0},
};
static const mpsl_optset tset = {"ttest", "FILE...",         "A table with one key of each type.",
                                 tkeys,   MPSL_NOPTS(tkeys), offsetof(tcfg, given)};

static tcfg fresh(void) {
  tcfg c;
  memset(&c, 0xa5, sizeof c); /* defaults must write every byte of every field */
  mpsl_opts_defaults(&tset, &c);
  return c;
}

static void assert_same_fields(const tcfg *a, const tcfg *b) {
  for (int i = 0; i < tset.n; i++)
    ck_assert_msg(!memcmp((const char *)a + tkeys[i].offset, (const char *)b + tkeys[i].offset, tkeys[i].size),
                  "field %s differs", tkeys[i].key);
}

/* The last error is one line and holds every given fragment. */
static void assert_msg(const char *a, const char *b, const char *c) {
  const char *m = mpsl_errmsg();
  ck_assert_msg(!strchr(m, '\n'), "message spans lines: %s", m);
  const char *want[] = {a, b, c};
  for (int i = 0; i < 3; i++)
    if (want[i]) ck_assert_msg(strstr(m, want[i]), "'%s' not in message: %s", want[i], m);
}

static void bad_set(tcfg *c, const char *key, const char *value, const char *what) {
  tcfg before = *c;
  ck_assert_int_eq(mpsl_opts_set(&tset, c, key, value, "test.ini:7"), -1);
  assert_msg(key, value, what);
  assert_msg("test.ini:7: ", NULL, NULL);
  ck_assert_msg(!memcmp(&before, c, sizeof *c), "failed set of %s changed the struct", key);
}

static int argv_parse(tcfg *c, char **argv, int *npos, char **pos, int maxpos) {
  int argc = 0;
  while (argv[argc]) argc++;
  return mpsl_opts_parse_argv(&tset, c, argc, argv, npos, pos, maxpos);
}

static char tmpl[64];
static const char *write_tmp(const char *text) {
  snprintf(tmpl, sizeof tmpl, "/tmp/check_opts_XXXXXX");
  int fd = mkstemp(tmpl);
  ck_assert_int_ge(fd, 0);
  FILE *f = fdopen(fd, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  ck_assert_int_eq(fclose(f), 0);
  return tmpl;
}

static int parse_text(tcfg *c, const char *text) {
  const char *path = write_tmp(text);
  int rc = mpsl_opts_parse_file(&tset, c, path);
  unlink(path);
  return rc;
}

START_TEST(test_defaults) {
  tcfg c = fresh();
  ck_assert_int_eq(c.batch, 32);
  ck_assert_int_eq(c.shift, 0);
  ck_assert(c.seed == INT64_C(9007199254740993));
  ck_assert(c.weight_decay == 0.0005);
  ck_assert(c.augment);
  ck_assert_str_eq(c.dataset, "");
  ck_assert_str_eq(c.policy, "fifo");
  ck_assert_int_eq(c.cuts.n, 2);
  ck_assert_int_eq(c.cuts.v[0], 3);
  ck_assert_int_eq(c.cuts.v[1], 7);
  ck_assert_int_eq(c.cuts.v[2], 0);
  for (int i = 0; i < tset.n; i++) ck_assert(!mpsl_opts_was_set(&tset, &c, tkeys[i].key));
}
END_TEST

START_TEST(test_set_each_type) {
  tcfg c = fresh();
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "batch", "+128", "t"), 0);
  ck_assert_int_eq(c.batch, 128);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "shift", "-2147483648", "t"), 0);
  ck_assert_int_eq(c.shift, -2147483647 - 1);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "seed", "9007199254740992", "t"), 0);
  ck_assert(c.seed == INT64_C(9007199254740992));
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "weight-decay", "1e-4", "t"), 0);
  ck_assert(c.weight_decay == 1e-4);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "augment", "OFF", "t"), 0);
  ck_assert(!c.augment);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "augment", "yes", "t"), 0);
  ck_assert(c.augment);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "dataset", "cifar10", "t"), 0);
  ck_assert_str_eq(c.dataset, "cifar10");
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "policy", "bwd-first", "t"), 0);
  ck_assert_str_eq(c.policy, "bwd-first");
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "cuts", " 12, 4 ,100", "t"), 0);
  ck_assert_int_eq(c.cuts.n, 3);
  ck_assert_int_eq(c.cuts.v[0], 12);
  ck_assert_int_eq(c.cuts.v[1], 4);
  ck_assert_int_eq(c.cuts.v[2], 100);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "cuts", "", "t"), 0);
  ck_assert_int_eq(c.cuts.n, 0);
  ck_assert_int_eq(c.cuts.v[0], 0);
  for (int i = 0; i < tset.n; i++) ck_assert(mpsl_opts_was_set(&tset, &c, tkeys[i].key));
}
END_TEST

START_TEST(test_ranges_inclusive) {
  tcfg c = fresh();
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "batch", "1", "t"), 0);
  ck_assert_int_eq(c.batch, 1);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "batch", "65536", "t"), 0);
  ck_assert_int_eq(c.batch, 65536);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "weight_decay", "0", "t"), 0);
  ck_assert(c.weight_decay == 0);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "weight_decay", "1", "t"), 0);
  ck_assert(c.weight_decay == 1);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "seed", "0", "t"), 0);
  ck_assert(c.seed == 0);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "cuts", "1,100", "t"), 0);
  ck_assert_int_eq(c.cuts.v[0], 1);
  ck_assert_int_eq(c.cuts.v[1], 100);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "dataset", "123456789012345", "t"), 0);
  ck_assert_str_eq(c.dataset, "123456789012345");

  bad_set(&c, "batch", "0", "out of range (expected an integer in 1..65536)");
  bad_set(&c, "batch", "65537", "out of range");
  bad_set(&c, "weight_decay", "-1e-300", "out of range (expected a number in 0..1)");
  bad_set(&c, "weight_decay", "1.0000001", "out of range");
  bad_set(&c, "seed", "-1", "out of range");
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "seed", "4611686018427387904", "t"), 0);
  ck_assert(c.seed == INT64_C(4611686018427387904));
  bad_set(&c, "seed", "4611686018427387905", "out of range (expected an integer in 0..4611686018427387904)");
  bad_set(&c, "cuts", "0,5", "element 1 '0' is out of range");
  bad_set(&c, "cuts", "5,101", "element 2 '101' is out of range");
}
END_TEST

START_TEST(test_bad_values) {
  tcfg c = fresh();
  bad_set(&c, "batch", "abc", "'abc' is not an integer (expected an integer in 1..65536)");
  bad_set(&c, "batch", "12x", "not an integer");
  bad_set(&c, "batch", "", "'' is not an integer");
  bad_set(&c, "batch", " 12", "not an integer");
  bad_set(&c, "batch", "1.5", "not an integer");
  bad_set(&c, "batch", "0x10", "not an integer");
  bad_set(&c, "shift", "2147483648", "out of range (expected an integer in -2147483648..2147483647)");
  bad_set(&c, "shift", "99999999999999999999999", "out of range");
  bad_set(&c, "seed", "12 ", "not an integer");
  bad_set(&c, "seed", "-99999999999999999999999", "out of range");
  bad_set(&c, "weight_decay", "fast", "not a number");
  bad_set(&c, "weight_decay", "0.1s", "not a number");
  bad_set(&c, "weight_decay", "", "not a number");
  bad_set(&c, "weight_decay", "nan", "not a finite number");
  bad_set(&c, "weight_decay", "inf", "not a finite number");
  bad_set(&c, "weight_decay", "1e999", "not a finite number");
  bad_set(&c, "augment", "maybe", "not a boolean (expected 1/0/true/false/yes/no/on/off)");
  bad_set(&c, "augment", "", "not a boolean");
  bad_set(&c, "augment", "2", "not a boolean");
  bad_set(&c, "policy", "lifo", "'lifo' is not one of fifo|bwd-first");
  bad_set(&c, "policy", "", "is not one of fifo|bwd-first"); /* it has a default */
  bad_set(&c, "policy", "FIFO", "not one of");
  bad_set(&c, "dataset", "1234567890123456", "too long (expected a string of at most 15");
  /* Shown with the control character escaped, so the message stays one line. */
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "dataset", "a\nb", "t"), -1);
  assert_msg("t: dataset: 'a\\nb' contains a control character", NULL, NULL);
  bad_set(&c, "cuts", "3,x,7", "'3,x,7': element 2 'x' is not an integer");
  bad_set(&c, "cuts", "3,,7", "element 2 '' is not an integer");
  bad_set(&c, "cuts", "3,", "element 2 '' is not an integer");
  bad_set(&c, "cuts", "3;7", "element 1 '3;7' is not an integer");
  bad_set(&c, "cuts", "99999999999", "out of range");

  char many[512] = "1";
  for (int i = 1; i < 65; i++) strcat(many, ",1");
  /* A long value is cut short in the message, which stays one line. */
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "cuts", many, "t"), -1);
  assert_msg("t: cuts: '1,1,1,1,1,1,1,1", ",1,...' has too many elements",
             "(expected a comma-separated list of at most 64 integers in 1..100)");
  ck_assert_int_eq(c.cuts.n, 2);
  many[strlen(many) - 2] = '\0'; /* 64 elements fit */
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "cuts", many, "t"), 0);
  ck_assert_int_eq(c.cuts.n, 64);
}
END_TEST

START_TEST(test_unknown_key) {
  tcfg c = fresh();
  tcfg before = c;
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "bacth", "3", "f:1"), -1);
  assert_msg("f:1: unknown key 'bacth' (did you mean 'batch'?)", NULL, NULL);
  ck_assert(!memcmp(&before, &c, sizeof c));
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "zzzzzzzz", "3", "f:1"), -1);
  assert_msg("f:1: unknown key 'zzzzzzzz'", NULL, NULL);
  ck_assert(!strstr(mpsl_errmsg(), "did you mean"));
}
END_TEST

START_TEST(test_argv) {
  tcfg c = fresh();
  char *pos[4];
  int npos = -1;
  char *argv[] = {"in.bin",
                  "--batch",
                  "64",
                  "--weight-decay=0.25",
                  "--set",
                  "policy=bwd-first",
                  "--no-augment",
                  "--set=cuts=5,6",
                  "--dataset",
                  "mnist",
                  "-",
                  "--shift",
                  "-7",
                  "--",
                  "--batch",
                  NULL};
  ck_assert_int_eq(argv_parse(&c, argv, &npos, pos, 4), 0);
  ck_assert_int_eq(c.batch, 64);
  ck_assert(c.weight_decay == 0.25);
  ck_assert_str_eq(c.policy, "bwd-first");
  ck_assert(!c.augment);
  ck_assert_int_eq(c.cuts.n, 2);
  ck_assert_int_eq(c.cuts.v[1], 6);
  ck_assert_str_eq(c.dataset, "mnist");
  ck_assert_int_eq(c.shift, -7);
  ck_assert_int_eq(npos, 3);
  ck_assert_str_eq(pos[0], "in.bin");
  ck_assert_str_eq(pos[1], "-");
  ck_assert_str_eq(pos[2], "--batch");
  ck_assert(mpsl_opts_was_set(&tset, &c, "batch"));
  ck_assert(!mpsl_opts_was_set(&tset, &c, "seed"));

  char *on[] = {"--augment", NULL};
  ck_assert_int_eq(argv_parse(&c, on, &npos, pos, 0), 0);
  ck_assert(c.augment);
  char *off[] = {"--no_augment", NULL};
  ck_assert_int_eq(argv_parse(&c, off, &npos, pos, 0), 0);
  ck_assert(!c.augment);
  char *eq[] = {"--augment=on", NULL};
  ck_assert_int_eq(argv_parse(&c, eq, &npos, pos, 0), 0);
  ck_assert(c.augment);
  ck_assert_int_eq(npos, 0);
}
END_TEST

START_TEST(test_argv_help) {
  tcfg c = fresh();
  char *h1[] = {"--batch", "8", "-h", "--batch", "oops", NULL};
  ck_assert_int_eq(argv_parse(&c, h1, NULL, NULL, 0), 1);
  char *h2[] = {"--help", NULL};
  ck_assert_int_eq(argv_parse(&c, h2, NULL, NULL, 0), 1);
  char *h3[] = {"--", "--help", NULL};
  char *pos[1];
  int npos;
  ck_assert_int_eq(argv_parse(&c, h3, &npos, pos, 1), 0);
  ck_assert_int_eq(npos, 1);
  ck_assert_str_eq(pos[0], "--help");
}
END_TEST

START_TEST(test_argv_errors) {
  tcfg c = fresh();
  char *pos[1];
  int npos;
  char *bad[] = {"--batch", "abc", NULL};
  ck_assert_int_eq(argv_parse(&c, bad, &npos, pos, 1), -1);
  ck_assert_str_eq(mpsl_errmsg(), "command line: --batch: 'abc' is not an integer (expected an integer in 1..65536)");
  ck_assert_int_eq(c.batch, 32);

  char *pol[] = {"--policy=lifo", NULL};
  ck_assert_int_eq(argv_parse(&c, pol, &npos, pos, 1), -1);
  ck_assert_str_eq(mpsl_errmsg(), "command line: --policy: 'lifo' is not one of fifo|bwd-first");

  char *last[] = {"--weight-decay", NULL};
  ck_assert_int_eq(argv_parse(&c, last, &npos, pos, 1), -1);
  assert_msg("--weight_decay needs a value", "a number in 0..1", NULL);
  char *set_last[] = {"--set", NULL};
  ck_assert_int_eq(argv_parse(&c, set_last, &npos, pos, 1), -1);
  assert_msg("--set needs a value", NULL, NULL);
  char *cfg_last[] = {"--config", NULL};
  ck_assert_int_eq(argv_parse(&c, cfg_last, &npos, pos, 1), -1);
  assert_msg("--config needs a value", NULL, NULL);

  char *unk[] = {"--hopz", "3", NULL};
  ck_assert_int_eq(argv_parse(&c, unk, &npos, pos, 1), -1);
  assert_msg("command line: unknown option '--hopz'", NULL, NULL);
  char *typo[] = {"--polcy", "fifo", NULL};
  ck_assert_int_eq(argv_parse(&c, typo, &npos, pos, 1), -1);
  assert_msg("unknown option '--polcy' (did you mean '--policy'?)", NULL, NULL);
  char *dash[] = {"-b", "3", NULL};
  ck_assert_int_eq(argv_parse(&c, dash, &npos, pos, 1), -1);
  assert_msg("unknown option '-b'", NULL, NULL);
  char *nonbool[] = {"--no-batch", NULL};
  ck_assert_int_eq(argv_parse(&c, nonbool, &npos, pos, 1), -1);
  assert_msg("unknown option '--no-batch'", NULL, NULL);
  char *noval[] = {"--no-augment=1", NULL};
  ck_assert_int_eq(argv_parse(&c, noval, &npos, pos, 1), -1);
  assert_msg("--no-augment takes no value", "'1'", NULL);
  char *boolval[] = {"--augment=maybe", NULL};
  ck_assert_int_eq(argv_parse(&c, boolval, &npos, pos, 1), -1);
  assert_msg("--augment: 'maybe' is not a boolean", NULL, NULL);

  char *setnoeq[] = {"--set", "batch", NULL};
  ck_assert_int_eq(argv_parse(&c, setnoeq, &npos, pos, 1), -1);
  assert_msg("--set 'batch': expected key=value", NULL, NULL);
  char *setbad[] = {"--set", "cuts=1,200", NULL};
  ck_assert_int_eq(argv_parse(&c, setbad, &npos, pos, 1), -1);
  assert_msg("command line: cuts: '1,200': element 2 '200' is out of range", NULL, NULL);
  char *setunk[] = {"--set", "hopz=3", NULL};
  ck_assert_int_eq(argv_parse(&c, setunk, &npos, pos, 1), -1);
  assert_msg("unknown key 'hopz'", NULL, NULL);

  char *extra[] = {"a", "b", NULL};
  ck_assert_int_eq(argv_parse(&c, extra, &npos, pos, 1), -1);
  assert_msg("unexpected argument 'b'", "at most 1", NULL);
  ck_assert_int_eq(argv_parse(&c, extra, &npos, NULL, 0), -1);
  assert_msg("unexpected argument 'a'", "ttest takes none", NULL);

  char *nofile[] = {"--config", "/nonexistent/exp.ini", NULL};
  ck_assert_int_eq(argv_parse(&c, nofile, &npos, pos, 1), -1);
  assert_msg("/nonexistent/exp.ini: cannot open", NULL, NULL);
}
END_TEST

START_TEST(test_file) {
  tcfg c = fresh();
  ck_assert_int_eq(parse_text(&c,
                              "# experiment 3\n"
                              "; also a comment\n"
                              "\n"
                              "[ttest]\n"
                              "  batch = 16  \r\n"
                              "weight-decay=0.001 # tuned\n"
                              "augment = off # no\n"
                              "dataset = \"a # b\\\"c\\\\\" ; quoted\n"
                              "policy\t=\tbwd-first\n"
                              "cuts = 2, 4, 8\n"
                              "[other]\n"
                              "shift = -3"),
                   0);
  ck_assert_int_eq(c.batch, 16);
  ck_assert(c.weight_decay == 0.001);
  ck_assert_str_eq(c.dataset, "a # b\"c\\");
  ck_assert_str_eq(c.policy, "bwd-first");
  ck_assert_int_eq(c.cuts.n, 3);
  ck_assert_int_eq(c.cuts.v[2], 8);
  ck_assert_int_eq(c.shift, -3);
  ck_assert(!c.augment);
  ck_assert(mpsl_opts_was_set(&tset, &c, "shift"));
  ck_assert(!mpsl_opts_was_set(&tset, &c, "seed"));
}
END_TEST

START_TEST(test_file_bool_and_empty) {
  tcfg c = fresh();
  ck_assert_int_eq(parse_text(&c, "augment = no ; a comment\ncuts =\ndataset = mnist\n"), 0);
  ck_assert(!c.augment);
  ck_assert_int_eq(c.cuts.n, 0);
  ck_assert_str_eq(c.dataset, "mnist");
}
END_TEST

START_TEST(test_file_errors) {
  tcfg c = fresh();
  ck_assert_int_eq(parse_text(&c, "batch = 8\n\n# x\nshift = abc\n"), -1);
  assert_msg(":4: shift: 'abc' is not an integer", tmpl, NULL);
  ck_assert_int_eq(c.batch, 8);
  /* a key twice in one file is a mistake, not an override: both lines are named */
  ck_assert_int_eq(parse_text(&c, "batch = 8\npolicy = fifo\nbatch = 9\n"), -1);
  assert_msg(":3: batch is given twice in one file, first at line 1 (expected it once)", NULL, NULL);
  /* a UTF-8 byte-order mark (editors on some systems write one) is not part of the first key */
  c = fresh();
  ck_assert_int_eq(parse_text(&c, "\xEF\xBB\xBF" "batch = 7\n"), 0);
  ck_assert_int_eq(c.batch, 7);
  ck_assert_int_eq(parse_text(&c, "[s]\nhopz = 3\n"), -1);
  assert_msg(":2: unknown key 'hopz'", NULL, NULL);
  ck_assert_int_eq(parse_text(&c, "polcy = fifo\n"), -1);
  assert_msg(":1: unknown key 'polcy' (did you mean 'policy'?)", NULL, NULL);
  ck_assert_int_eq(parse_text(&c, "batch 8\n"), -1);
  assert_msg(":1: expected 'key = value', got 'batch 8'", NULL, NULL);
  ck_assert_int_eq(parse_text(&c, " = 8\n"), -1);
  assert_msg(":1: no key before '='", "8", NULL);
  ck_assert_int_eq(parse_text(&c, "[ttest\n"), -1);
  assert_msg(":1: '[ttest' is not a [section] header", NULL, NULL);
  ck_assert_int_eq(parse_text(&c, "dataset = \"mnist\n"), -1);
  assert_msg(":1: dataset: '\"mnist': no closing quote", NULL, NULL);
  ck_assert_int_eq(parse_text(&c, "dataset = \"mn\" ist\n"), -1);
  assert_msg(":1: dataset: '\"mn\" ist': text after the closing quote", NULL, NULL);
  /* A comment needs a blank before it, so "off;no" is one value. */
  ck_assert_int_eq(parse_text(&c, "augment = off;no\n"), -1);
  assert_msg(":1: augment: 'off;no' is not a boolean", NULL, NULL);
  ck_assert_int_eq(parse_text(&c, "policy = lifo # later\n"), -1);
  assert_msg(":1: policy: 'lifo' is not one of fifo|bwd-first", NULL, NULL);
}
END_TEST

START_TEST(test_config_flag_order) {
  tcfg c = fresh();
  const char *path = write_tmp("batch = 100\nshift = 5\n");
  char p[64];
  snprintf(p, sizeof p, "%s", path);
  char *argv[] = {"--batch", "7", "--config", p, "--shift=6", NULL};
  ck_assert_int_eq(argv_parse(&c, argv, NULL, NULL, 0), 0);
  unlink(p);
  ck_assert_int_eq(c.batch, 100); /* the file came after --batch */
  ck_assert_int_eq(c.shift, 6);   /* and before --shift */
}
END_TEST

START_TEST(test_required) {
  tcfg c = fresh();
  ck_assert_int_eq(mpsl_opts_check_required(&tset, &c), -1);
  assert_msg("--dataset is required", "at most 15 characters", NULL);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "dataset", "", "t"), 0);
  ck_assert_int_eq(mpsl_opts_check_required(&tset, &c), -1);
  assert_msg("--dataset is required", NULL, NULL);
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "dataset", "cifar10", "t"), 0);
  ck_assert_int_eq(mpsl_opts_check_required(&tset, &c), 0);
}
END_TEST

static void roundtrip(const tcfg *a) {
  char *ini = mpsl_opts_to_ini(&tset, a);
  ck_assert_ptr_nonnull(ini);
  ck_assert(!strncmp(ini, "[ttest]\n", 8));
  tcfg b;
  memset(&b, 0, sizeof b);
  mpsl_opts_defaults(&tset, &b);
  ck_assert_msg(parse_text(&b, ini) == 0, "%s\n%s", mpsl_errmsg(), ini);
  assert_same_fields(a, &b);
  b.given = a->given;
  ck_assert_msg(!memcmp(a, &b, sizeof b), "structs differ after round trip:\n%s", ini);
  for (int i = 0; i < tset.n; i++) ck_assert(strstr(ini, tkeys[i].key));
  free(ini);
}

START_TEST(test_roundtrip) {
  tcfg a;
  memset(&a, 0, sizeof a); /* padding too, so the whole struct compares */
  mpsl_opts_defaults(&tset, &a);
  roundtrip(&a);

  const char *vals[][2] = {{"batch", "65536"},      {"shift", "-2147483648"}, {"seed", "12345678901"},
                           {"weight_decay", "0.1"}, {"augment", "false"},     {"dataset", " a\"b\\ #;c "},
                           {"policy", "bwd-first"}, {"cuts", "1,100,+50"}};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
    ck_assert_int_eq(mpsl_opts_set(&tset, &a, vals[i][0], vals[i][1], "t"), 0);
  roundtrip(&a);

  /* Doubles come back bit for bit, including the sign of zero and subnormals. */
  const char *dbl[] = {"1e-300", "0.3333333333333333", "4.9406564584124654e-324", "-0", "1"};
  for (size_t i = 0; i < sizeof dbl / sizeof *dbl; i++) {
    ck_assert_int_eq(mpsl_opts_set(&tset, &a, "weight_decay", dbl[i], "t"), 0);
    roundtrip(&a);
  }
  ck_assert(a.weight_decay == 1);
  ck_assert_int_eq(mpsl_opts_set(&tset, &a, "weight_decay", "-0", "t"), 0);
  ck_assert(signbit(a.weight_decay));
  ck_assert_int_eq(mpsl_opts_set(&tset, &a, "dataset", "", "t"), 0);
  ck_assert_int_eq(mpsl_opts_set(&tset, &a, "cuts", "", "t"), 0);
  roundtrip(&a);
}
END_TEST

START_TEST(test_print) {
  tcfg c = fresh();
  ck_assert_int_eq(mpsl_opts_set(&tset, &c, "dataset", "mnist", "t"), 0);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  mpsl_opts_print(&tset, &c, f, "# ");
  fclose(f);
  ck_assert_str_eq(text,
                   "# batch = 32\n"
                   "# shift = 0\n"
                   "# seed = 9007199254740993\n"
                   "# weight_decay = 0.0005\n"
                   "# augment = true\n"
                   "# dataset = \"mnist\"\n"
                   "# policy = fifo\n"
                   "# cuts = 3,7\n");
  free(text);
}
END_TEST

START_TEST(test_help) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  mpsl_opts_help(&tset, f);
  fclose(f);
  ck_assert(strstr(text, "usage: mpsl ttest "));
  ck_assert(strstr(text, "FILE..."));
  ck_assert(strstr(text, "A table with one key of each type."));
  for (int i = 0; i < tset.n; i++) {
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", tkeys[i].key);
    const char *at = strstr(text, flag);
    ck_assert_msg(at, "help lacks %s:\n%s", flag, text);
    const char *eol = strchr(at, '\n');
    /* The flag's line gives its default (or says it is required), then the help line. */
    char line[256];
    snprintf(line, sizeof line, "%.*s", (int)(eol - at), at);
    if (tkeys[i].flags & MPSL_OPT_REQUIRED) {
      ck_assert_msg(strstr(line, "required"), "%s", line);
    } else {
      char def[96];
      snprintf(def, sizeof def, tkeys[i].type == MPSL_OPT_STRING ? "default \"%s\"" : "default %s",
               tkeys[i].def ? tkeys[i].def : "0");
      ck_assert_msg(strstr(line, def), "'%s' not in '%s'", def, line);
    }
    ck_assert(!strncmp(eol + 1, "      ", 6));
    ck_assert(!strncmp(eol + 7, tkeys[i].help, strlen(tkeys[i].help)));
  }
  ck_assert(strstr(text, "--no-augment"));
  ck_assert(strstr(text, "--policy fifo|bwd-first"));
  ck_assert(strstr(text, "range 1..65536"));
  ck_assert(strstr(text, "range 0..1"));
  ck_assert(strstr(text, "elements in 1..100"));
  ck_assert(strstr(text, "--set KEY=VALUE"));
  ck_assert(strstr(text, "--config FILE"));
  free(text);
}
END_TEST

/* A malformed table is a bug: mpsl_opts_defaults ends the program. */
typedef struct {
  int a, b;
  bool on;
  char e[4];
  mpsl_optmask given;
} bcfg;
static const mpsl_opt bad_tables[][2] = {
    {{"a", MPSL_OPT_INT, MPSL_OPT_FIELD(bcfg, a), "0", 1, 9, NULL, "default out of range", 0},
     {"b", MPSL_OPT_INT, MPSL_OPT_FIELD(bcfg, b), NULL, 0, 0, NULL, "b", 0}},
    {{"a", MPSL_OPT_INT, MPSL_OPT_FIELD(bcfg, a), NULL, 0, 0, NULL, "a", 0},
     {"a", MPSL_OPT_INT, MPSL_OPT_FIELD(bcfg, b), NULL, 0, 0, NULL, "same key twice", 0}},
    {{"a", MPSL_OPT_INT64, MPSL_OPT_FIELD(bcfg, a), NULL, 0, 0, NULL, "int64 in an int", 0},
     {"b", MPSL_OPT_INT, MPSL_OPT_FIELD(bcfg, b), NULL, 0, 0, NULL, "b", 0}},
    {{"e", MPSL_OPT_ENUM, MPSL_OPT_FIELD(bcfg, e), "fifo", 0, 0, "fifo|lifo", "choice too long", 0},
     {"b", MPSL_OPT_INT, MPSL_OPT_FIELD(bcfg, b), NULL, 0, 0, NULL, "b", 0}},
    {{"on", MPSL_OPT_BOOL, MPSL_OPT_FIELD(bcfg, on), NULL, 0, 0, NULL, "on", 0},
     {"no_on", MPSL_OPT_INT, MPSL_OPT_FIELD(bcfg, b), NULL, 0, 0, NULL, "--no-on clash", 0}},
    {{"set", MPSL_OPT_INT, MPSL_OPT_FIELD(bcfg, a), NULL, 0, 0, NULL, "reserved", 0},
     {"b", MPSL_OPT_INT, MPSL_OPT_FIELD(bcfg, b), NULL, 0, 0, NULL, "b", 0}},
    {{"a", MPSL_OPT_INT, MPSL_OPT_FIELD(bcfg, a), NULL, 0, 0, NULL, "a", 0},
     {"Bad-Key", MPSL_OPT_INT, MPSL_OPT_FIELD(bcfg, b), NULL, 0, 0, NULL, "b", 0}},
    {{"a", MPSL_OPT_INT, MPSL_OPT_FIELD(bcfg, a), NULL, 0, 0, NULL, "a", 0},
     {"b", MPSL_OPT_INT, MPSL_OPT_FIELD(bcfg, a), NULL, 0, 0, NULL, "same field", 0}},
};

/* An INTLIST with MPSL_OPT_PLAN takes the word plan, or plan:FIRST,LAST; the others do not. */
START_TEST(test_plan_word) {
  static const mpsl_opt pk[] = {
      {"cuts", MPSL_OPT_INTLIST, MPSL_OPT_FIELD(tcfg, cuts), NULL, 1, 100, NULL, "cut layers", MPSL_OPT_PLAN},
      {"dataset", MPSL_OPT_STRING, MPSL_OPT_FIELD(tcfg, dataset), "x", 0, 0, NULL, "dataset name", 0},
  };
  static const mpsl_optset ps = {"ptest", NULL, "plan", pk, MPSL_NOPTS(pk), offsetof(tcfg, given)};
  tcfg c;
  mpsl_opts_defaults(&ps, &c);
  ck_assert_int_eq(mpsl_opts_set(&ps, &c, "cuts", "plan", "t"), 0);
  ck_assert_int_eq(c.cuts.plan, 1);
  ck_assert_int_eq(c.cuts.n, 0);
  char *ini = mpsl_opts_to_ini(&ps, &c);
  ck_assert_msg(strstr(ini, "cuts = plan\n") != NULL, "%s", ini);
  free(ini);
  ck_assert_int_eq(mpsl_opts_set(&ps, &c, "cuts", " plan: 2, 25", "t"), 0);
  ck_assert_int_eq(c.cuts.plan, 1);
  ck_assert_int_eq(c.cuts.n, 2);
  ck_assert_int_eq(c.cuts.v[1], 25);
  ini = mpsl_opts_to_ini(&ps, &c);
  ck_assert_msg(strstr(ini, "cuts = plan:2,25\n") != NULL, "%s", ini);
  free(ini);
  ck_assert_int_eq(mpsl_opts_set(&ps, &c, "cuts", "3,7", "t"), 0);
  ck_assert_int_eq(c.cuts.plan, 0);
  const char *bad[][2] = {{"plan:2", "takes two cuts"},
                          {"plan:2,3,4", "takes two cuts"},
                          {"plan:2,x", "element 2 'x' is not an integer"},
                          {"planx", "element 1 'planx' is not an integer"},
                          {"plan 2,3", "is not plan, plan:FIRST,LAST"},
                          {"plan:plan", "takes two cuts"}};
  for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_eq(mpsl_opts_set(&ps, &c, "cuts", bad[i][0], "t"), -1);
    assert_msg(bad[i][1], NULL, NULL);
  }
  /* without the flag the word is just not an integer */
  c = fresh();
  bad_set(&c, "cuts", "plan", "element 1 'plan' is not an integer");
}
END_TEST

/* Input quoted in a message never carries a control byte: escaped, and bounded. */
START_TEST(test_shown) {
  char b[16];
  ck_assert_str_eq(mpsl_shown("a\tb\nc\rd", b, sizeof b), "a\\tb\\nc\\rd");
  ck_assert_str_eq(mpsl_shown("\x1b[31mx\x7f", b, sizeof b), "\\x1b[31mx\\x7f");
  ck_assert_str_eq(mpsl_shown("caf\xc3\xa9", b, sizeof b), "caf\xc3\xa9");         /* UTF-8 stays */
  ck_assert_str_eq(mpsl_shown("0123456789abcde", b, sizeof b), "0123456789abcde"); /* exactly fits */
  ck_assert_str_eq(mpsl_shown("0123456789abcdef", b, sizeof b), "0123456789ab...");
  ck_assert_str_eq(mpsl_shown("0123456789a\x01\x02", b, sizeof b), "0123456789a..."); /* no half escape */
  ck_assert_str_eq(mpsl_shown("", b, sizeof b), "");
  /* every recorded failure is escaped, whatever the caller quoted, and once only */
  mpsl_fail("file.ini:3: x = '%s'", "\x1b]0;title\x07");
  ck_assert_str_eq(mpsl_errmsg(), "file.ini:3: x = '\\x1b]0;title\\x07'");
  mpsl_fail_context("in\tcontext");
  ck_assert_str_eq(mpsl_errmsg(), "in\\tcontext: file.ini:3: x = '\\x1b]0;title\\x07'");
}
END_TEST

START_TEST(test_bad_table) {
  mpsl_optset s = {"bad", NULL, "", bad_tables[_i], 2, offsetof(bcfg, given)};
  bcfg c;
  mpsl_opts_defaults(&s, &c);
  ck_abort_msg("table %d was accepted", _i);
}
END_TEST

START_TEST(test_good_table) {
  mpsl_optset s = {"good", NULL, "", bad_tables[0], 2, offsetof(bcfg, given)};
  mpsl_opt fixed[2] = {bad_tables[0][0], bad_tables[0][1]};
  fixed[0].def = "9";
  s.opts = fixed;
  bcfg c;
  mpsl_opts_defaults(&s, &c);
  ck_assert_int_eq(c.a, 9);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("opts");
  TCase *t = tcase_create("opts");
  tcase_add_test(t, test_defaults);
  tcase_add_test(t, test_plan_word);
  tcase_add_test(t, test_set_each_type);
  tcase_add_test(t, test_ranges_inclusive);
  tcase_add_test(t, test_bad_values);
  tcase_add_test(t, test_unknown_key);
  tcase_add_test(t, test_argv);
  tcase_add_test(t, test_argv_help);
  tcase_add_test(t, test_argv_errors);
  tcase_add_test(t, test_file);
  tcase_add_test(t, test_file_bool_and_empty);
  tcase_add_test(t, test_file_errors);
  tcase_add_test(t, test_config_flag_order);
  tcase_add_test(t, test_required);
  tcase_add_test(t, test_roundtrip);
  tcase_add_test(t, test_print);
  tcase_add_test(t, test_help);
  tcase_add_loop_exit_test(t, test_bad_table, 1, 0, MPSL_NOPTS(bad_tables));
  tcase_add_test(t, test_good_table);
  tcase_add_test(t, test_shown);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
