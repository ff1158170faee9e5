/* The device catalogue (docs/profile.md): an ini file of [device] sections read by
 * mpsl_devices_load, on top of the shipped experiments/devices.ini as a user's file is;
 * then every device's speed against no profile and against a profile of resnet101. */
#include <stdlib.h>
#include <string.h>

#include "emu/device.h"
#include "fuzz.h"
#include "util/err.h"

static mpsl_devices shipped;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *p = mpsl_devices_default_path();
  if (!p || mpsl_devices_load(&shipped, p)) {
    fprintf(stderr, "fuzz devices: cannot load the shipped catalogue: %s\n", mpsl_errmsg());
    abort();
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[4200];
  fuzz_write("devices.ini", data, size, path, sizeof path);
  mpsl_devices c = {0, NULL};
  c.n = shipped.n;
  c.dev = malloc((size_t)shipped.n * sizeof *c.dev);
  if (!c.dev) abort();
  memcpy(c.dev, shipped.dev, (size_t)shipped.n * sizeof *c.dev);
  if (mpsl_devices_load(&c, path) == 0) {
    mpsl_profile h;
    memset(&h, 0, sizeof h);
    snprintf(h.model, sizeof h.model, "resnet101");
    h.batch = 64, h.width = 1, h.size = 32, h.classes = 10, h.whole_step_s = 2.5;
    for (int i = 0; i < c.n; i++) {
      double speed;
      mpsl_device_speed(&c.dev[i], NULL, &speed);
      mpsl_device_speed(&c.dev[i], &h, &speed);
      mpsl_device_find(&c, c.dev[i].name);
    }
    mpsl_device_find(&c, "no-such-device");
  }
  mpsl_devices_free(&c);
  return 0;
}
