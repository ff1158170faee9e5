/* Internal: the builders of the model families share a running shape. */
#ifndef MPSL_MODELS_ZOO_H
#define MPSL_MODELS_ZOO_H

#include <stdarg.h>

#include "models/model.h"

typedef struct {
  mpsl_model *m;
  int n, cap;
  int c, h, w, flat;          /* shape entering the next layer */
  int next_c, next_h, next_w; /* output shape for layers that choose it (conv, linear, avgpool) */
} zoo_builder;

mpsl_layer *zoo_push(zoo_builder *b, mpsl_layer_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int zoo_finish(zoo_builder *b, mpsl_layer *l);
void zoo_block_shape(mpsl_layer *l);
int zoo_vgg(zoo_builder *b);
int zoo_resnet(zoo_builder *b);

#endif
