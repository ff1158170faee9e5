/* The results file's types (io/results.h) and its provenance (util/provenance.h): typed
 * attributes written and read back, the code columns as enumerations that read back as
 * codes, a file of the older layout (plain integer codes) still read and appended to, the
 * CSV's doubles exact, SHA-256 against the FIPS 180-4 examples, the command line quoted. */
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "io/results.h"
#include "util/err.h"
#include "util/provenance.h"

static const char *F = "check_results.h5";

static char *attr(const char *key) {
  char *v = NULL;
  ck_assert_msg(mpsl_results_attr(F, key, &v) == 0, "%s: %s", key, mpsl_errmsg());
  return v;
}

static H5T_class_t attr_class(const char *key, const char *group) {
  hid_t f = H5Fopen(F, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t a = H5Aopen_by_name(f, group, key, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert_int_ge(a, 0);
  hid_t t = H5Aget_type(a);
  H5T_class_t c = H5Tget_class(t);
  H5Tclose(t);
  H5Aclose(a);
  H5Fclose(f);
  return c;
}

static H5T_class_t member_class(const char *table, const char *member) {
  hid_t f = H5Fopen(F, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, table, H5P_DEFAULT);
  hid_t t = H5Dget_type(d);
  hid_t m = H5Tget_member_type(t, (unsigned)H5Tget_member_index(t, member));
  H5T_class_t c = H5Tget_class(m);
  H5Tclose(m);
  H5Tclose(t);
  H5Dclose(d);
  H5Fclose(f);
  return c;
}

START_TEST(typed_attributes) {
  int64_t list[] = {2, 4};
  mpsl_res_attr a[] = {
      MPSL_ATTR_S("model", "vgg11-cifar"), MPSL_ATTR_I("seed", 42),       MPSL_ATTR_R("lr", 0.1),
      MPSL_ATTR_B("config/shuffle", 1),    MPSL_ATTR_L("after", list, 2), MPSL_ATTR_L("none", NULL, 0),
      MPSL_ATTR_I("config/batch", -7),
  };
  ck_assert_int_eq(mpsl_results_create(F, a, 7, 4), 0);
  ck_assert_int_eq(attr_class("seed", "."), H5T_INTEGER);
  ck_assert_int_eq(attr_class("lr", "."), H5T_FLOAT);
  ck_assert_int_eq(attr_class("model", "."), H5T_STRING);
  ck_assert_int_eq(attr_class("shuffle", "config"), H5T_ENUM);
  ck_assert_int_eq(attr_class("batch", "config"), H5T_INTEGER);
  ck_assert_int_eq(attr_class("format_version", "."), H5T_INTEGER);
  /* read back as text, as mpsl report and the resume read them */
  const char *want[][2] = {{"seed", "42"}, {"lr", "0.1"},           {"after", "2,4"},
                           {"none", ""},   {"format_version", "2"}, {"status", "running"}};
  for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
    char *v = attr(want[i][0]);
    ck_assert_str_eq(v, want[i][1]);
    free(v);
  }
  char *v = attr("started");
  ck_assert_int_eq((int)strlen(v), 20);
  ck_assert(v[4] == '-' && v[10] == 'T' && v[19] == 'Z');
  free(v);
  ck_assert_int_ne(mpsl_results_attr(F, "ended", &v), 0); /* running: not ended */
  ck_assert_int_eq(mpsl_results_set_status(F, "finished"), 0);
  v = attr("ended");
  ck_assert_int_eq((int)strlen(v), 20);
  free(v);
  ck_assert_int_eq(mpsl_results_set_status(F, "running"), 0); /* a resume */
  ck_assert_int_ne(mpsl_results_attr(F, "ended", &v), 0);
  /* replacing an attribute may change its type */
  mpsl_res_attr again = MPSL_ATTR_R("seed", 2.5);
  ck_assert_int_eq(mpsl_results_set_attrs(F, &again, 1), 0);
  v = attr("seed");
  ck_assert_str_eq(v, "2.5");
  free(v);
}
END_TEST

START_TEST(enumerated_codes) {
  ck_assert_int_eq(mpsl_results_create(F, NULL, 0, 5), 0); /* 3 hops: M_1, hop 1..3, M_P */
  mpsl_res_event e[3];
  memset(e, 0, sizeof e);
  e[0] = (mpsl_res_event){1, 4, 2, 0, 0, MPSL_DIR_FWD, 1, 0.0, 0.5, 0.0, 64};
  e[1] = (mpsl_res_event){1, 1, 1, 0, 0, MPSL_DIR_BWD, 3, 0.5, 1.0, 0.25, 64};
  e[2] = (mpsl_res_event){2, 4, 2, 0, 1, MPSL_DIR_BWD, 5, 1.0, 1.5, 0.0, 0};
  ck_assert_int_eq(mpsl_results_append(F, MPSL_RES_EVENTS, e, 3), 0);
  mpsl_res_memory m;
  memset(&m, 0, sizeof m);
  m.round = 1, m.rank = 1, m.role = 1, m.accounted = 100;
  ck_assert_int_eq(mpsl_results_append(F, MPSL_RES_MEMORY, &m, 1), 0);
  ck_assert_int_eq(member_class("events", "role"), H5T_ENUM);
  ck_assert_int_eq(member_class("events", "direction"), H5T_ENUM);
  ck_assert_int_eq(member_class("events", "part"), H5T_ENUM);
  ck_assert_int_eq(member_class("memory", "role"), H5T_ENUM);
  ck_assert_int_eq(member_class("events", "owner"), H5T_INTEGER);
  /* the names */
  hid_t f = H5Fopen(F, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, "events", H5P_DEFAULT), t = H5Dget_type(d);
  hid_t part = H5Tget_member_type(t, (unsigned)H5Tget_member_index(t, "part"));
  char name[32];
  int32_t code = 3;
  ck_assert_int_ge(H5Tenum_nameof(part, &code, name, sizeof name), 0);
  ck_assert_str_eq(name, "hop 2");
  code = 5;
  ck_assert_int_ge(H5Tenum_nameof(part, &code, name, sizeof name), 0);
  ck_assert_str_eq(name, "M_P");
  hid_t role = H5Tget_member_type(t, (unsigned)H5Tget_member_index(t, "role"));
  code = 2;
  ck_assert_int_ge(H5Tenum_nameof(role, &code, name, sizeof name), 0);
  ck_assert_str_eq(name, "data owner");
  H5Tclose(role);
  H5Tclose(part);
  H5Tclose(t);
  H5Dclose(d);
  H5Fclose(f);
  /* and the codes, read back */
  mpsl_res_event *r;
  int64_t n;
  ck_assert_int_eq(mpsl_results_read(F, MPSL_RES_EVENTS, (void **)&r, &n), 0);
  ck_assert_int_eq(n, 3);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(r[i].role, e[i].role);
    ck_assert_int_eq(r[i].direction, e[i].direction);
    ck_assert_int_eq(r[i].part, e[i].part);
    ck_assert(r[i].end == e[i].end && r[i].bytes == e[i].bytes);
  }
  free(r);
  /* cut back to round 1: every table counts from 1 */
  ck_assert_int_eq(mpsl_results_truncate(F, 1), 0);
  ck_assert_int_eq(mpsl_results_read(F, MPSL_RES_EVENTS, (void **)&r, &n), 0);
  ck_assert_int_eq(n, 2);
  free(r);
}
END_TEST

/* A file as mpsl wrote it before format 2: the code columns plain int32, no format_version,
 * rounds of the events table from 0. It is read, appended to and cut back as it was (its
 * other tables are of format 2 here: their code columns are no matter to the cut). */
START_TEST(older_files) {
  ck_assert_int_eq(mpsl_results_create(F, NULL, 0, 4), 0);
  hid_t f = H5Fopen(F, H5F_ACC_RDWR, H5P_DEFAULT);
  H5Adelete(f, "format_version");
  H5Ldelete(f, "events", H5P_DEFAULT);
  hid_t c = H5Tcreate(H5T_COMPOUND, sizeof(mpsl_res_event));
  const char *i32[] = {"round", "rank", "role", "owner", "batch", "direction", "part"};
  size_t off[] = {offsetof(mpsl_res_event, round), offsetof(mpsl_res_event, rank),  offsetof(mpsl_res_event, role),
                  offsetof(mpsl_res_event, owner), offsetof(mpsl_res_event, batch), offsetof(mpsl_res_event, direction),
                  offsetof(mpsl_res_event, part)};
  for (int i = 0; i < 7; i++) H5Tinsert(c, i32[i], off[i], H5T_STD_I32LE);
  H5Tinsert(c, "start", offsetof(mpsl_res_event, start), H5T_IEEE_F64LE);
  H5Tinsert(c, "end", offsetof(mpsl_res_event, end), H5T_IEEE_F64LE);
  H5Tinsert(c, "queue_wait", offsetof(mpsl_res_event, queue_wait), H5T_IEEE_F64LE);
  H5Tinsert(c, "bytes", offsetof(mpsl_res_event, bytes), H5T_STD_I64LE);
  hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = 16;
  hid_t sp = H5Screate_simple(1, &zero, &unlimited), dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 1, &chunk);
  hid_t d = H5Dcreate2(f, "events", c, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(sp);
  H5Tclose(c);
  H5Fclose(f);
  mpsl_res_event e[2];
  memset(e, 0, sizeof e);
  e[0] = (mpsl_res_event){0, 3, 2, 0, 0, MPSL_DIR_BWD, 4, 0.0, 0.5, 0.0, 64};
  e[1] = (mpsl_res_event){1, 3, 2, 0, 1, MPSL_DIR_FWD, 1, 0.5, 1.0, 0.0, 64};
  ck_assert_int_eq(mpsl_results_append(F, MPSL_RES_EVENTS, e, 2), 0);
  mpsl_res_event *r;
  int64_t n;
  ck_assert_int_eq(mpsl_results_read(F, MPSL_RES_EVENTS, (void **)&r, &n), 0);
  ck_assert_int_eq(n, 2);
  ck_assert(r[0].role == 2 && r[0].direction == MPSL_DIR_BWD && r[0].part == 4 && r[1].round == 1);
  free(r);
  ck_assert_int_eq(mpsl_results_truncate(F, 1), 0); /* the first round: round 0 there */
  ck_assert_int_eq(mpsl_results_read(F, MPSL_RES_EVENTS, (void **)&r, &n), 0);
  ck_assert(n == 1 && r[0].round == 0);
  free(r);
}
END_TEST

/* Found by fuzz/results.c (inputs in fuzz/corpus/results/regress-*): H5Aread writes every
 * string of an attribute and H5Sget_simple_extent_dims one size per dimension, so an array
 * attribute overran its buffer and a table of rank 4 the row count; a table claiming 2^34
 * rows was allocated before anything was read, and so was a partition (found by reading
 * the code, after that fix). All are refused. */
/* Replaces dataset name of F by one of the same type that claims n rows and stores none. */
static void claim_rows(const char *name, hsize_t n) {
  hid_t f = H5Fopen(F, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  hid_t t = H5Dget_type(d);
  H5Dclose(d);
  H5Ldelete(f, name, H5P_DEFAULT);
  hid_t sp = H5Screate_simple(1, &n, NULL);
  d = H5Dcreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose(d);
  H5Sclose(sp);
  H5Tclose(t);
  H5Fclose(f);
}

START_TEST(malformed_files) {
  ck_assert_int_eq(mpsl_results_create(F, NULL, 0, 4), 0);
  hid_t f = H5Fopen(F, H5F_ACC_RDWR, H5P_DEFAULT);
  hsize_t n = 64, dims[4] = {1, 1, 1, 1};
  hid_t sp = H5Screate_simple(1, &n, NULL), t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, 8);
  static char text[64 * 8];
  memset(text, 'x', sizeof text);
  if (H5Aexists(f, "status") > 0) H5Adelete(f, "status");
  hid_t a = H5Acreate2(f, "status", t, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, t, text);
  H5Aclose(a);
  H5Tclose(t);
  H5Sclose(sp);
  hid_t d = H5Dopen2(f, "rounds", H5P_DEFAULT);
  t = H5Dget_type(d);
  H5Dclose(d);
  H5Ldelete(f, "rounds", H5P_DEFAULT);
  sp = H5Screate_simple(4, dims, NULL);
  d = H5Dcreate2(f, "rounds", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose(d);
  H5Sclose(sp);
  H5Tclose(t);
  H5Fclose(f);
  char *v = NULL;
  ck_assert_int_eq(mpsl_results_attr(F, "status", &v), -1);
  ck_assert_ptr_null(v);
  ck_assert_str_eq(mpsl_errmsg(), "check_results.h5: cannot read attribute 'status'");
  void *rows;
  int64_t nrows;
  ck_assert_int_eq(mpsl_results_read(F, MPSL_RES_ROUNDS, &rows, &nrows), -1);
  ck_assert_ptr_null(rows);
  ck_assert_str_eq(mpsl_errmsg(), "check_results.h5: table 'rounds' has 4 dimensions (expected one row per line)");
  /* a table claiming 2^34 rows, none stored: refused, not allocated */
  claim_rows("rounds", (hsize_t)1 << 34);
  ck_assert_int_eq(mpsl_results_read(F, MPSL_RES_ROUNDS, &rows, &nrows), -1);
  ck_assert_ptr_null(rows);
  ck_assert_str_eq(mpsl_errmsg(),
                   "check_results.h5: table 'rounds' claims 17179869184 rows but the file stores 0 bytes of it");
  /* the partition likewise: 2^34 rows of 3 label counts claimed, none stored */
  int64_t prow[2 * 7] = {0, 1, 0, 5, 1, 2, 2, 1, 1, 0, 3, 0, 1, 2};
  ck_assert_int_eq(mpsl_results_partition(F, prow, 2, 3), 0);
  int64_t *pr = NULL;
  int K = 0, classes = 0;
  ck_assert_int_eq(mpsl_results_read_partition(F, &pr, &K, &classes), 0);
  ck_assert(K == 2 && classes == 3 && pr[7 + 3] == 3);
  free(pr);
  claim_rows("partition", (hsize_t)1 << 34);
  ck_assert_int_eq(mpsl_results_read_partition(F, &pr, &K, &classes), -1);
  ck_assert_ptr_null(pr);
  ck_assert_int_eq(K, 0);
  ck_assert_str_eq(mpsl_errmsg(),
                   "check_results.h5: the partition claims 17179869184 rows of 3 label counts but the file stores 0 "
                   "bytes of it");
}
END_TEST

START_TEST(csv_doubles_exact) {
  const double v[] = {0.1, 1.0 / 3, 0.05206641701657189, 1e-300, 123456789.125, -2.5e17, 5e-324, 0};
  char buf[40];
  for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) {
    mpsl_res_real_str(v[i], buf, sizeof buf);
    ck_assert_msg(strtod(buf, NULL) == v[i], "%s is not %.17g", buf, v[i]);
  }
  mpsl_res_real_str(0.1, buf, sizeof buf);
  ck_assert_str_eq(buf, "0.1"); /* the shortest that reads back */
  mpsl_res_real_str(NAN, buf, sizeof buf);
  ck_assert_str_eq(buf, "nan");
  mpsl_res_round row = {3, 1.0 / 3, 0.1, 2, NAN, 0.5, 7};
  char line[256];
  mpsl_res_csv_row(MPSL_RES_ROUNDS, &row, line, sizeof line);
  ck_assert_str_eq(line, "3,0.3333333333333333,0.1,2,nan,0.5,7");
  int64_t p[] = {1, 2, 0, 10, 3, 7};
  mpsl_res_partition_csv_header(2, line, sizeof line);
  ck_assert_str_eq(line, "owner,rank,pipeline,samples,labels_0,labels_1");
  mpsl_res_partition_csv_row(p, 2, line, sizeof line);
  ck_assert_str_eq(line, "1,2,0,10,3,7");
}
END_TEST

static void hex(const unsigned char d[32], char out[65]) {
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

START_TEST(sha256_vectors) {
  static const char *in[] = {"", "abc", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"};
  static const char *want[] = {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"};
  unsigned char d[32];
  char h[65];
  for (int i = 0; i < 3; i++) {
    mpsl_sha256(in[i], strlen(in[i]), d);
    hex(d, h);
    ck_assert_str_eq(h, want[i]);
  }
  /* a million 'a': many blocks, through the file reader */
  FILE *f = fopen("check_results.bin", "wb");
  for (int i = 0; i < 1000000; i++) fputc('a', f);
  fclose(f);
  ck_assert_int_eq(mpsl_sha256_file("check_results.bin", h), 0);
  ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  remove("check_results.bin");
  ck_assert_int_ne(mpsl_sha256_file("no/such/file", h), 0);
  ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "no/such/file"));
}
END_TEST

START_TEST(command_line) {
  char *argv[] = {"mpsl", "run", "--set", "output=a b.h5", "it's", "", "x=1,2:3"};
  mpsl_set_command_line(7, argv);
  ck_assert_str_eq(mpsl_command_line(), "mpsl run --set 'output=a b.h5' 'it'\\''s' '' x=1,2:3");
  char now[32];
  mpsl_utc_now(now, sizeof now);
  ck_assert_int_eq((int)strlen(now), 20);
  ck_assert_str_ne(mpsl_build_compiler(), "");
  ck_assert_str_ne(mpsl_build_cflags(), "");
}
END_TEST

static char *slurp(const char *path, long *n) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  *n = ftell(f);
  rewind(f);
  char *b = malloc((size_t)*n + 1);
  ck_assert_int_eq((long)fread(b, 1, (size_t)*n, f), *n);
  fclose(f);
  return b;
}

static void some_rows(int round, mpsl_res_event *e, int n) {
  memset(e, 0, (size_t)n * sizeof *e); /* the padding reaches the file */
  for (int i = 0; i < n; i++)
    e[i] = (mpsl_res_event){round, 1, 1, i % 4, i, i % 2, 1, 0.5 * i, 0.5 * i + 0.25, 0.125, 1000 + i};
}

/* A write that cannot go through (here the file size limit: EFBIG, as a full disk gives
 * ENOSPC) fails with the file's name and the reason, and leaves the file byte for byte
 * as it was: its rows stay readable (io/h5commit.h). */
START_TEST(failed_write_leaves_file) {
  signal(SIGXFSZ, SIG_IGN);
  ck_assert_int_eq(mpsl_results_create(F, NULL, 0, 3), 0);
  mpsl_res_event e[2000];
  some_rows(1, e, 100);
  ck_assert_int_eq(mpsl_results_append(F, MPSL_RES_EVENTS, e, 100), 0);
  mpsl_res_round r;
  memset(&r, 0, sizeof r); /* its padding reaches the file */
  r.round = 1, r.wall_s = r.time_s = 1.0, r.train_loss = r.test_loss = 2.0, r.test_acc = 0.5;
  ck_assert_int_eq(mpsl_results_append(F, MPSL_RES_ROUNDS, &r, 1), 0);
  long n0, n1;
  char *before = slurp(F, &n0);
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  some_rows(2, e, 2000);
  /* room for less than the rows (2000 x 56 bytes), failing at several points of the write */
  static const long room[] = {0, 512, 4096, 16384, 40000, 65536, 90000, 110000};
  for (unsigned i = 0; i < sizeof room / sizeof room[0]; i++) {
    lim = old;
    lim.rlim_cur = (rlim_t)(n0 + room[i]);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ck_assert_int_ne(mpsl_results_append(F, MPSL_RES_EVENTS, e, 2000), 0);
    ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), F));
    ck_assert_ptr_nonnull(strstr(mpsl_errmsg(), "File too large"));
    ck_assert_ptr_null(strchr(mpsl_errmsg(), '\n'));
    char *after = slurp(F, &n1);
    ck_assert_int_eq(n1, n0);
    ck_assert_int_eq(memcmp(before, after, (size_t)n0), 0);
    free(after);
  }
  free(before);
  /* the status still goes in: it takes no new space */
  ck_assert_int_eq(mpsl_results_set_status(F, "aborted: the disk is full"), 0);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
  char *v = attr("status");
  ck_assert_str_eq(v, "aborted: the disk is full");
  free(v);
  void *rows;
  int64_t n;
  ck_assert_int_eq(mpsl_results_read(F, MPSL_RES_EVENTS, &rows, &n), 0);
  ck_assert_int_eq((int)n, 100);
  ck_assert_int_eq(((mpsl_res_event *)rows)[99].batch, 99);
  free(rows);
  /* and the file takes rows again once there is room */
  ck_assert_int_eq(mpsl_results_append(F, MPSL_RES_EVENTS, e, 2000), 0);
  ck_assert_int_eq(mpsl_results_read(F, MPSL_RES_EVENTS, &rows, &n), 0);
  ck_assert_int_eq((int)n, 2100);
  free(rows);
}
END_TEST

static void size_of(const char *path, struct stat *sb) { ck_assert_int_eq(stat(path, sb), 0); }

/* The heartbeat, the end of a run (its status, `ended`, a simulation's speed) and an
 * abort with a long reason take no new space in the file: a full disk takes them. */
START_TEST(status_takes_no_space) {
  ck_assert_int_eq(mpsl_results_create(F, NULL, 0, 3), 0);
  mpsl_res_round r;
  memset(&r, 0, sizeof r); /* its padding reaches the file */
  r.round = 1, r.wall_s = r.time_s = 1.0, r.train_loss = r.test_loss = 2.0, r.test_acc = 0.5;
  ck_assert_int_eq(mpsl_results_append(F, MPSL_RES_ROUNDS, &r, 1), 0);
  ck_assert_int_eq(mpsl_results_set_attr(F, "heartbeat", "2026-12-01T14:05:37Z"), 0);
  struct stat a, b;
  size_of(F, &a);
  ck_assert_int_eq(mpsl_results_set_attr(F, "heartbeat", "2026-12-01T14:05:38Z"), 0);
  mpsl_res_attr speed[] = {MPSL_ATTR_R("sim_wall_s", 0.5), MPSL_ATTR_R("sim_events_per_s", 1e6)};
  ck_assert_int_eq(mpsl_results_set_status_with(F, "finished", speed, 2), 0);
  size_of(F, &b);
  ck_assert_int_le((long)b.st_size, (long)a.st_size);
  ck_assert_int_le((long)b.st_blocks, (long)a.st_blocks);
  char *v = attr("status");
  ck_assert_str_eq(v, "finished");
  free(v);
  v = attr("sim_wall_s");
  ck_assert_str_eq(v, "0.5");
  free(v);
  ck_assert_int_eq(mpsl_results_set_status(F, "running"), 0);
  size_of(F, &a);
  char why[700];
  memset(why, 'x', sizeof why - 1);
  why[sizeof why - 1] = '\0';
  memcpy(why, "aborted: ", 9);
  ck_assert_int_eq(mpsl_results_set_status(F, why), 0);
  size_of(F, &b);
  ck_assert_int_le((long)b.st_size, (long)a.st_size);
  ck_assert_int_le((long)b.st_blocks, (long)a.st_blocks);
  v = attr("status");
  ck_assert_str_eq(v, why);
  free(v);
  v = attr("ended");
  ck_assert_int_eq((int)strlen(v), 20);
  free(v);
}
END_TEST

int main(void) {
  Suite *s = suite_create("results");
  TCase *tc = tcase_create("results");
  tcase_add_test(tc, typed_attributes);
  tcase_add_test(tc, enumerated_codes);
  tcase_add_test(tc, older_files);
  tcase_add_test(tc, malformed_files);
  tcase_add_test(tc, csv_doubles_exact);
  tcase_add_test(tc, sha256_vectors);
  tcase_add_test(tc, command_line);
  tcase_add_test(tc, failed_write_leaves_file);
  tcase_add_test(tc, status_takes_no_space);
  suite_add_tcase(s, tc);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  remove(F);
  return failed ? 1 : 0;
}
