/* VGG as torchvision defines it (features / avgpool / classifier), and the -cifar
 * flavour whose classifier is one Linear on the flattened features. */
#include <stdio.h>
#include <string.h>

#include "models/zoo.h"

#define M (-1) /* max pool in a configuration */

static const int cfg11[] = {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M, 0};
static const int cfg13[] = {64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M, 0};
static const int cfg16[] = {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M, 0};
static const int cfg19[] = {64,  64,  M,   128, 128, M,   256, 256, 256, 256, M,
                            512, 512, 512, 512, M,   512, 512, 512, 512, M,   0};

static int linear(zoo_builder *b, const char *name, int out) {
  mpsl_layer *l = zoo_push(b, MPSL_L_LINEAR, "%s", name);
  l->bias = 1;
  b->next_c = out;
  return zoo_finish(b, l);
}

int zoo_vgg(zoo_builder *b) {
  const mpsl_model *m = b->m;
  const int *cfg = !strncmp(m->name, "vgg11", 5)   ? cfg11
                   : !strncmp(m->name, "vgg13", 5) ? cfg13
                   : !strncmp(m->name, "vgg16", 5) ? cfg16
                                                   : cfg19;
  int bn = strstr(m->name, "_bn") != NULL;
  int idx = 0;
  mpsl_layer *l;
  for (const int *v = cfg; *v; v++) {
    if (*v == M) {
      l = zoo_push(b, MPSL_L_MAXPOOL, "features.%d", idx++);
      l->k = 2;
      l->stride = 2;
      if (zoo_finish(b, l)) return -1;
      continue;
    }
    l = zoo_push(b, MPSL_L_CONV, "features.%d", idx++);
    l->k = 3;
    l->stride = 1;
    l->pad = 1;
    l->bias = 1;
    b->next_c = mpsl_scale_width(*v, m->width);
    if (zoo_finish(b, l)) return -1;
    if (bn && zoo_finish(b, zoo_push(b, MPSL_L_BN, "features.%d", idx++))) return -1;
    if (zoo_finish(b, zoo_push(b, MPSL_L_RELU, "features.%d", idx++))) return -1;
  }
  if (m->cifar) {
    if (zoo_finish(b, zoo_push(b, MPSL_L_FLATTEN, "flatten"))) return -1;
    return linear(b, "classifier", m->classes);
  }
  l = zoo_push(b, MPSL_L_AVGPOOL, "avgpool");
  b->next_h = b->next_w = 7;
  if (zoo_finish(b, l)) return -1;
  if (zoo_finish(b, zoo_push(b, MPSL_L_FLATTEN, "flatten"))) return -1;
  int hidden = mpsl_scale_width(4096, m->width);
  for (int i = 0; i < 2; i++) {
    char name[32];
    snprintf(name, sizeof name, "classifier.%d", 3 * i);
    if (linear(b, name, hidden)) return -1;
    if (zoo_finish(b, zoo_push(b, MPSL_L_RELU, "classifier.%d", 3 * i + 1))) return -1;
    l = zoo_push(b, MPSL_L_DROPOUT, "classifier.%d", 3 * i + 2);
    l->p = 0.5f;
    if (zoo_finish(b, l)) return -1;
  }
  return linear(b, "classifier.6", m->classes);
}
