/* Host profiles in HDF5 (emu/profile_h5.c): the input is the file, read by
 * mpsl_profile_load; a profile that loads is printed (mpsl profile --show) and scaled to
 * a slower device as the emulator does. The seed corpus holds files written by
 * mpsl_profile_save (fuzz/make_seeds.c). */
#include <stdio.h>
#include <stdlib.h>

#include "emu/profile.h"
#include "fuzz.h"
#include "h5ids.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  devnull = fopen("/dev/null", "w");
  if (!devnull) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[4200];
  fuzz_write("profile.h5", data, size, path, sizeof path);
  mpsl_profile p, s;
  ssize_t ids[FUZZ_H5_TYPES];
  fuzz_h5_count(ids);
  int rc = mpsl_profile_load(&p, path);
  fuzz_h5_check(ids, "mpsl_profile_load");
  if (rc == 0) {
    if (p.nlayers < 1 || !p.layers || p.batch < 1) abort();
    mpsl_profile_print(&p, devnull);
    mpsl_profile_scale(&p, 0.05, &s);
    mpsl_profile_free(&s);
  } else if (p.layers || p.nlayers) {
    abort(); /* a failed load leaves the profile empty */
  }
  mpsl_profile_free(&p);
  return 0;
}
