/* mpsl report FILE.h5: what a run did, from its results file alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "io/results.h"
#include "sl/status.h"
#include "util/bytes.h"
#include "util/err.h"

typedef struct {
  char csv[16];
  mpsl_optmask given;
} report_cfg;

static const mpsl_opt keys[] = {
    {"csv", MPSL_OPT_ENUM, MPSL_OPT_FIELD(report_cfg, csv), NULL, 0, 0, "rounds|events|memory|links|audit|partition",
     "print one table as CSV with a header line (for gnuplot) instead of the summary: every number at full "
     "precision, the codes of role, direction and part as integers",
     0},
};
static const mpsl_optset opts = {"report", "RESULTS.h5",     "Summarise the results file of mpsl run.",
                                 keys,     MPSL_NOPTS(keys), offsetof(report_cfg, given)};
const mpsl_optset *cmd_report_opts(void) { return &opts; }

/* The partition: owner, rank, pipeline, samples, then one column per class. */
static int csv_partition(const char *path) {
  int64_t *rows;
  int K, classes;
  if (mpsl_results_read_partition(path, &rows, &K, &classes)) return -1;
  size_t cap = 64 + (size_t)(4 + classes) * 24;
  char *line = mpsl_xmalloc(cap, "a CSV line");
  mpsl_res_partition_csv_header(classes, line, (int)cap);
  puts(line);
  for (int k = 0; k < K; k++) {
    mpsl_res_partition_csv_row(rows + (size_t)k * (size_t)(4 + classes), classes, line, (int)cap);
    puts(line);
  }
  free(line);
  free(rows);
  return 0;
}

static int csv(const char *path, const char *name) {
  if (!strcmp(name, "partition")) return csv_partition(path);
  mpsl_res_table t = mpsl_res_table_find(name);
  void *rows;
  int64_t n;
  if (mpsl_results_read(path, t, &rows, &n)) return -1;
  char line[1024];
  mpsl_res_csv_header(t, line, sizeof line);
  puts(line);
  size_t size = t == MPSL_RES_ROUNDS   ? sizeof(mpsl_res_round)
                : t == MPSL_RES_EVENTS ? sizeof(mpsl_res_event)
                : t == MPSL_RES_MEMORY ? sizeof(mpsl_res_memory)
                : t == MPSL_RES_LINKS  ? sizeof(mpsl_res_link)
                                       : sizeof(mpsl_res_audit);
  for (int64_t i = 0; i < n; i++) {
    mpsl_res_csv_row(t, (const char *)rows + i * (int64_t)size, line, sizeof line);
    puts(line);
  }
  free(rows);
  return 0;
}

static const char *role_name(int r) { return r == 0 ? "aggregator" : r == 1 ? "compute node" : "data owner"; }

static int by_link(const void *a, const void *b) {
  const mpsl_res_link *x = a, *y = b;
  if (x->src != y->src) return x->src < y->src ? -1 : 1;
  if (x->dst != y->dst) return x->dst < y->dst ? -1 : 1;
  return x->round < y->round ? -1 : x->round > y->round;
}

/* "hosts: 2 (mpsl-a: ranks 0-2; mpsl-b: ranks 3-4)" from the `hosts` attribute of `mpsl run`
 * (lines "rank host role threads"): every host in order of its first rank, with its ranks
 * as ranges; nothing for files without one (simulate). */
static void print_hosts(const char *path) {
  char *hosts = NULL;
  if (mpsl_results_attr(path, "hosts", &hosts)) {
    return;
  }
  int n = 0, cap = 0, nh = 0;
  int *rank = NULL, *host = NULL; /* (n) a rank and the index of its host in name[] */
  char **name = NULL;             /* (nh) */
  char *save = NULL;
  for (char *line = strtok_r(hosts, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    int r, len = 0;
    if (sscanf(line, "%d %n", &r, &len) != 1 || !line[len]) continue;
    char *h = line + len;
    h[strcspn(h, " ")] = '\0';
    int i = 0;
    while (i < nh && strcmp(name[i], h)) i++;
    if (i == nh) {
      name = realloc(name, (size_t)(nh + 1) * sizeof *name);
      if (!name) MPSL_DIE("out of memory for host names");
      name[nh++] = h;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      rank = realloc(rank, (size_t)cap * sizeof *rank);
      host = realloc(host, (size_t)cap * sizeof *host);
      if (!rank || !host) MPSL_DIE("out of memory for %d ranks", cap);
    }
    rank[n] = r, host[n++] = i;
  }
  if (n) {
    printf("hosts: %d (", nh);
    for (int i = 0; i < nh; i++) {
      int count = 0, runs = 0;
      for (int j = 0; j < n; j++) count += host[j] == i;
      printf("%s%s: rank%s", i ? "; " : "", name[i], count > 1 ? "s" : "");
      for (int j = 0; j < n; j++) {
        if (host[j] != i) continue;
        int e = j; /* the run of consecutive ranks on host i from rank[j] */
        while (e + 1 < n && host[e + 1] == i && rank[e + 1] == rank[e] + 1) e++;
        printf(runs++ ? ", %d" : " %d", rank[j]);
        if (e > j) printf("-%d", rank[e]);
        j = e;
      }
    }
    printf(")\n");
  }
  free(rank);
  free(host);
  free(name);
  free(hosts);
}

/* "made by: mpsl 0.1.0 (cc50509) built with mpicc: gcc ..., on vm, 2026-...Z to 2026-...Z"
 * from the provenance attributes it has (none: a file of an older mpsl). */
static void print_provenance(const char *path) {
  static const char *which[] = {"source_commit", "build_compiler", "host", "started", "ended"};
  char *v[5] = {NULL};
  for (int i = 0; i < 5; i++)
    if (mpsl_results_attr(path, which[i], &v[i])) v[i] = NULL;
  if (v[1] || v[2] || v[3]) {
    printf("made by: %s%s%s", v[0] ? "commit " : "", v[0] ? v[0] : "", v[0] ? ", " : "");
    if (v[1]) printf("built with %s, ", v[1]);
    printf("on %s, started %s, %s%s\n", v[2] ? v[2] : "?", v[3] ? v[3] : "?", v[4] ? "ended " : "not ended",
           v[4] ? v[4] : "");
  }
  for (int i = 0; i < 5; i++) free(v[i]);
}

static int summary(const char *path, int *unfinished) {
  char *status = NULL, *program = NULL, *config = NULL;
  if (mpsl_results_attr(path, "status", &status) || mpsl_results_attr(path, "program", &program) ||
      mpsl_results_attr(path, "config", &config)) {
    free(status);
    free(program);
    return -1;
  }
  char state[1400];
  int gone = 0;
  if (!strcmp(status, "running"))
    gone = sl_status_writer(path, state, sizeof state) == 0;
  else
    snprintf(state, sizeof state, "%s", status);
  /* a run that ended without finishing: interrupted, or aborted with its reason */
  *unfinished = gone || !strncmp(status, "aborted", 7);
  printf("%s (%s, status: %s)\nconfig:", path, program, state);
  for (char *line = strtok(config, "\n"); line; line = strtok(NULL, "\n")) {
    if (line[0] == '[') continue;
    char *eq = strstr(line, " = ");
    if (eq) {
      *eq = '\0';
      printf(" %s=%s", line, eq + 3);
    }
  }
  printf("\n");
  print_provenance(path);
  print_hosts(path);
  free(status);
  free(program);
  free(config);

  mpsl_res_round *r;
  mpsl_res_memory *m;
  mpsl_res_link *l;
  mpsl_res_audit *a;
  int64_t nr, nm, nl, na;
  if (mpsl_results_read(path, MPSL_RES_ROUNDS, (void **)&r, &nr)) return -1;
  printf("\n%6s %10s %12s %12s %12s %9s %8s\n", "round", "wall_s", "time_s", "train_loss", "test_loss", "test_acc",
         "overruns");
  for (int64_t i = 0; i < nr; i++)
    printf("%6d %10.3f %12.3f %12.6f %12.6f %9.4f %8lld\n", r[i].round, r[i].wall_s, r[i].time_s, r[i].train_loss,
           r[i].test_loss, r[i].test_acc, (long long)r[i].overruns);
  free(r);

  if (mpsl_results_read(path, MPSL_RES_MEMORY, (void **)&m, &nm)) return -1;
  char *format = NULL; /* before format 2 the memory table counted rounds from 0 */
  int last = 0, from0 = mpsl_results_attr(path, "format_version", &format) != 0;
  free(format);
  for (int64_t i = 0; i < nm; i++)
    if (m[i].round > last) last = m[i].round;
  char b1[32], b2[32], b3[32], b4[32], b5[32];
  if (!nm) {
    printf("\nno memory, link or audit rows: a run in one process (mpsl run --reference) has no ranks\n");
  } else {
    printf("\nmemory per rank (round %d): accounted = parameters+gradients+optimizer+statistics, activations, rest\n",
           last + from0);
    printf("%5s %-13s %14s %14s %14s %14s %14s %14s\n", "rank", "role", "accounted", "params+opt", "activations",
           "buffers", "peak_rss", "cap");
  }
  for (int64_t i = 0; i < nm; i++) {
    if (m[i].round != last) continue;
    char b6[32];
    printf("%5d %-13s %14s %14s %14s %14s %14s %14s\n", m[i].rank, role_name(m[i].role),
           mpsl_bytes_str(m[i].accounted, b1, 32),
           mpsl_bytes_str((m[i].params + m[i].grads + m[i].optim + m[i].stats), b2, 32),
           mpsl_bytes_str((m[i].activations + m[i].act_grads), b3, 32), mpsl_bytes_str(m[i].buffers, b4, 32),
           mpsl_bytes_str(m[i].peak_rss, b5, 32), m[i].cap ? mpsl_bytes_str(m[i].cap, b6, 32) : "-");
  }
  free(m);

  if (mpsl_results_read(path, MPSL_RES_LINKS, (void **)&l, &nl)) return -1;
  if (nl) printf("\nbytes per link, all rounds:\n%5s %5s %16s %10s\n", "src", "dst", "bytes", "messages");
  /* rows come round by round: sorted by (src, dst), each pair's rounds are one run */
  qsort(l, (size_t)nl, sizeof *l, by_link);
  for (int64_t i = 0, j; i < nl; i = j) {
    int64_t bytes = 0, msgs = 0;
    for (j = i; j < nl && l[j].src == l[i].src && l[j].dst == l[i].dst; j++) bytes += l[j].bytes, msgs += l[j].messages;
    printf("%5d %5d %16lld %10lld\n", l[i].src, l[i].dst, (long long)bytes, (long long)msgs);
  }
  free(l);

  if (mpsl_results_read(path, MPSL_RES_AUDIT, (void **)&a, &na)) return -1;
  int64_t tot[5] = {0};
  for (int64_t i = 0; i < na; i++) {
    tot[0] += a[i].activation, tot[1] += a[i].gradient, tot[2] += a[i].model;
    tot[3] += a[i].input, tot[4] += a[i].label;
  }
  if (na)
    printf(
        "\nlabel-privacy audit, messages sent by data owners: activation %lld, gradient %lld, model %lld, input "
        "%lld, label %lld (%s)\n",
        (long long)tot[0], (long long)tot[1], (long long)tot[2], (long long)tot[3], (long long)tot[4],
        tot[3] + tot[4] == 0 ? "inputs and labels never left their owners" : "PRIVACY VIOLATION");
  free(a);
  return 0;
}

int cmd_report(int argc, char **argv) {
  report_cfg c;
  char *pos[2];
  int npos = 0, rc = cli_parse(&opts, &c, argc, argv, &npos, pos, 2);
  if (rc) return rc < 0 ? 0 : rc;
  if (npos != 1) {
    mpsl_fail("expected one RESULTS.h5 argument");
    return cli_error("report");
  }
  if (c.csv[0]) return csv(pos[0], c.csv) ? cli_error("report") : 0;
  int unfinished = 0;
  if (summary(pos[0], &unfinished)) return cli_error("report");
  if (unfinished) fprintf(stderr, "mpsl report: %s: the run did not finish\n", pos[0]);
  return unfinished ? 3 : 0;
}
