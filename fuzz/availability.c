/* The availability file (docs/run.md, "Faults on purpose"): lines `ROUND: OWNER ...`
 * for 12 data owners and 10 rounds, parsed from memory (sl_availability_parse) and read
 * from a file through the configuration (sl_absence_load). Both must agree, and a trace
 * that parses must answer sl_owner_absent for exactly the pairs it holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/runconfig.h"
#include "fuzz.h"
#include "util/err.h"

enum { K = 12, ROUNDS = 10 };
static sl_config dflt;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  mpsl_opts_defaults(&sl_config_opts, &dflt);
  dflt.clients = K, dflt.rounds = ROUNDS;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sl_absence a, b;
  int rc = sl_availability_parse(&a, (const char *)data, size, "trace.txt", K, ROUNDS);
  if (rc == 0) {
    int64_t n = 0;
    for (int r = 0; r < ROUNDS + 1; r++)
      for (int k = 0; k < K + 1; k++) n += sl_owner_absent(&a, r, k);
    if (n != a.n || !a.file) {
      fprintf(stderr, "the trace holds %lld pairs but %lld are absent\n", (long long)a.n, (long long)n);
      abort();
    }
  } else if (a.pairs || a.n || !mpsl_errmsg()[0]) {
    fprintf(stderr, "a refused trace left pairs, or no message\n");
    abort();
  }
  sl_config c = dflt;
  fuzz_write("trace.txt", data, size, c.availability, sizeof c.availability);
  int rc2 = sl_absence_load(&b, &c);
  if (rc2 != rc || (rc == 0 && (b.n != a.n || (a.n && memcmp(a.pairs, b.pairs, (size_t)a.n * sizeof *a.pairs))))) {
    fprintf(stderr, "the file and the text disagree: %d, %d (%s)\n", rc, rc2, mpsl_errmsg());
    abort();
  }
  if (rc == 0) sl_absence_free(&a);
  if (rc2 == 0) sl_absence_free(&b);
  return 0;
}
