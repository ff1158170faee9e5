/* Configuration lines: the `key = value` text of an experiment file or of a results
 * file's `config` attribute (mpsl_opts_parse_text with the table of `mpsl run`), then the
 * same input as command-line arguments, one per line (mpsl_opts_parse_argv). A text that
 * parses must come back unchanged from what mpsl_opts_to_ini writes of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/opts.h"
#include "config/runconfig.h"
#include "fuzz.h"
#include "util/err.h"

/* the defaults, set once: mpsl_opts_defaults checks the whole table every call */
static sl_config dflt, a, b;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  mpsl_opts_defaults(&sl_config_opts, &dflt);
  return 0;
}

static void round_trip(void) {
  char *ini = mpsl_opts_to_ini(&sl_config_opts, &a);
  b = dflt;
  if (mpsl_opts_parse_text(&sl_config_opts, &b, ini, "round trip")) {
    fprintf(stderr, "written configuration does not parse back: %s\n%s", mpsl_errmsg(), ini);
    abort();
  }
  char *again = mpsl_opts_to_ini(&sl_config_opts, &b);
  if (strcmp(ini, again)) {
    fprintf(stderr, "configuration changed on a round trip:\n%s---\n%s", ini, again);
    abort();
  }
  free(again);
  free(ini);
}

/* Lines as arguments; --config would read a file of the input's choosing. */
static void as_argv(char *text) {
  enum { MAXARG = 64 };
  char *argv[MAXARG], *pos[4];
  int argc = 0, npos;
  for (char *save = NULL, *t = strtok_r(text, "\n", &save); t && argc < MAXARG; t = strtok_r(NULL, "\n", &save)) {
    if (strstr(t, "-config") || strstr(t, "_config")) return;
    argv[argc++] = t;
  }
  a = dflt;
  if (mpsl_opts_parse_argv(&sl_config_opts, &a, argc, argv, &npos, pos, 4) == 0) {
    mpsl_opts_check_required(&sl_config_opts, &a);
    round_trip();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_text(data, size);
  a = dflt;
  if (mpsl_opts_parse_text(&sl_config_opts, &a, text, "fuzz.ini") == 0) {
    mpsl_opts_check_required(&sl_config_opts, &a);
    mpsl_opts_fail_where(&sl_config_opts, &a);
    round_trip();
  } else {
    mpsl_opts_fail_where(&sl_config_opts, &a);
  }
  as_argv(text);
  free(text);
  return 0;
}
