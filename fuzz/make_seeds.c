/* Writes the HDF5 seeds of fuzz/corpus/profile and fuzz/corpus/weights with mpsl's own
 * writers (make fuzz-seeds; the files are kept in the tree):
 *   make_seeds PROFILE_DIR WEIGHTS_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/profile.h"
#include "weights_layout.h"
#include "io/weights.h"
#include "util/err.h"

static void profile(const char *dir, const char *name, int nlayers, int old) {
  mpsl_profile p;
  memset(&p, 0, sizeof p);
  snprintf(p.model, sizeof p.model, "vgg11");
  p.batch = 16, p.classes = 10, p.channels = 3, p.size = 32, p.width = 0.0625;
  p.reps = 3, p.warmup = 1, p.threads = 1;
  snprintf(p.host, sizeof p.host, "seed");
  snprintf(p.dnnl_version, sizeof p.dnnl_version, "2.7.3");
  snprintf(p.mpsl_version, sizeof p.mpsl_version, "0.1.0");
  snprintf(p.date, sizeof p.date, "2026-12-01");
  p.nlayers = nlayers;
  p.layers = calloc((size_t)nlayers, sizeof *p.layers);
  for (int i = 0; i < nlayers; i++) {
    mpsl_profile_layer *l = &p.layers[i];
    l->index = i + 1;
    snprintf(l->name, sizeof l->name, "features.%d", i);
    snprintf(l->kind, sizeof l->kind, i ? "conv" : "input");
    l->fwd_s = l->fwd_min_s = l->fwd_max_s = 1e-3 * (i + 1);
    l->bwd_s = l->bwd_min_s = l->bwd_max_s = 2e-3 * (i + 1);
    l->update_s = l->update_min_s = l->update_max_s = 1e-4;
    l->params_bytes = l->grads_bytes = l->optim_bytes = 4096;
    l->act_bytes = l->out_bytes = 65536;
    l->flops = 1000000;
  }
  p.whole_fwd_s = 0.01, p.whole_bwd_s = 0.02, p.whole_update_s = 0.001;
  p.whole_step_s = p.whole_step_min_s = p.whole_step_max_s = p.layers_step_s = 0.031;
  p.whole_bytes = 1 << 20;
  p.disturbed = old ? -1 : 0;
  p.cpu_ratio = old ? -1 : 0.98;
  p.others_load = old ? -1 : 0.01;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (mpsl_profile_save(&p, path)) {
    fprintf(stderr, "%s\n", mpsl_errmsg());
    exit(1);
  }
  free(p.layers);
}

static void weights(const char *dir, const char *name, float bad) {
  float w[6] = {0.5f, -1, 2, 3, 4, bad};
  int64_t n = 7;
  double g[4] = {1, 2, 3, 4};
  mpsl_named_tensor t[3];
  fuzz_weights_layout(t, w, &n, g);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (mpsl_weights_save(path, t, 3)) {
    fprintf(stderr, "%s\n", mpsl_errmsg());
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: make_seeds PROFILE_DIR WEIGHTS_DIR\n");
    return 2;
  }
  profile(argv[1], "two-layers.h5", 2, 0);
  profile(argv[1], "one-layer-unrecorded.h5", 1, 1);
  weights(argv[2], "three-tensors.h5", 5);
  weights(argv[2], "nan.h5", __builtin_nanf(""));
  return 0;
}
