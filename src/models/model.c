/* Shape inference and cost accounting for the layer table, and the catalogue of names. */
#include "models/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/table.h"
#include "models/zoo.h"
#include "util/datadir.h"
#include "util/err.h"

void mpsl_model_opts_default(mpsl_model_opts *o) {
  o->classes = 10;
  o->channels = 3;
  o->size = 32;
  o->width = 1.0;
}

int mpsl_scale_width(int c, double width) {
  int s = (int)floor(c * width + 0.5);
  return s < 1 ? 1 : s;
}

const char *mpsl_layer_kind_name(mpsl_layer_kind k) {
  static const char *const names[] = {"conv",    "bn",     "relu",    "maxpool", "avgpool",
                                      "flatten", "linear", "dropout", "block",   "table"};
  return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

static const char *const model_names[] = {"vgg11",           "vgg11_bn",        "vgg13",
                                          "vgg13_bn",        "vgg16",           "vgg16_bn",
                                          "vgg19",           "vgg19_bn",        "resnet18",
                                          "resnet34",        "resnet50",        "resnet101",
                                          "resnet152",       "vgg11-cifar",     "vgg11_bn-cifar",
                                          "vgg13-cifar",     "vgg13_bn-cifar",  "vgg16-cifar",
                                          "vgg16_bn-cifar",  "vgg19-cifar",     "vgg19_bn-cifar",
                                          "resnet18-cifar",  "resnet34-cifar",  "resnet50-cifar",
                                          "resnet101-cifar", "resnet152-cifar", NULL};

const char *const *mpsl_model_names(void) { return model_names; }

/* ---- table builder ---------------------------------------------------------------- */

mpsl_layer *zoo_push(zoo_builder *b, mpsl_layer_kind kind, const char *fmt, ...) {
  if (b->n == b->cap) {
    b->cap = b->cap ? 2 * b->cap : 64;
    mpsl_layer *nl = realloc(b->m->layers, (size_t)b->cap * sizeof *nl);
    if (!nl) MPSL_DIE("out of memory growing the layer table");
    b->m->layers = nl;
  }
  mpsl_layer *l = &b->m->layers[b->n++];
  memset(l, 0, sizeof *l);
  l->kind = kind;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(l->name, sizeof l->name, fmt, ap);
  va_end(ap);
  l->in_c = b->c;
  l->in_h = b->h;
  l->in_w = b->w;
  l->flat_in = b->flat;
  return l;
}

static int conv_out(int in, int k, int s, int p) { return in + 2 * p < k ? 0 : (in + 2 * p - k) / s + 1; }

/* Fills output shape, parameters and FLOPs of the layer just pushed, and advances the
 * builder's running shape. Returns -1 when the input is too small for the layer. */
int zoo_finish(zoo_builder *b, mpsl_layer *l) {
  int64_t hw_out;
  l->flat_out = l->flat_in;
  l->out_c = l->in_c;
  l->out_h = l->in_h;
  l->out_w = l->in_w;
  switch (l->kind) {
    case MPSL_L_CONV:
      l->out_h = conv_out(l->in_h, l->k, l->stride, l->pad);
      l->out_w = conv_out(l->in_w, l->k, l->stride, l->pad);
      l->out_c = b->next_c;
      l->params = (int64_t)l->out_c * l->in_c * l->k * l->k + (l->bias ? l->out_c : 0);
      hw_out = (int64_t)l->out_h * l->out_w;
      l->flops = 2 * (int64_t)l->out_c * l->in_c * l->k * l->k * hw_out + (l->bias ? l->out_c * hw_out : 0);
      break;
    case MPSL_L_BN:
      l->params = 2 * (int64_t)l->in_c;
      l->flops = 2 * (int64_t)l->in_c * l->in_h * l->in_w;
      break;
    case MPSL_L_RELU:
    case MPSL_L_DROPOUT: l->flops = (int64_t)l->in_c * l->in_h * l->in_w; break;
    case MPSL_L_MAXPOOL:
      l->out_h = conv_out(l->in_h, l->k, l->stride, l->pad);
      l->out_w = conv_out(l->in_w, l->k, l->stride, l->pad);
      l->flops = (int64_t)l->out_c * l->out_h * l->out_w * l->k * l->k;
      break;
    case MPSL_L_AVGPOOL:
      l->out_h = b->next_h;
      l->out_w = b->next_w;
      l->flops = (int64_t)l->in_c * l->in_h * l->in_w;
      break;
    case MPSL_L_FLATTEN:
      l->flat_out = 1;
      l->out_c = l->in_c * l->in_h * l->in_w;
      l->out_h = l->out_w = 1;
      break;
    case MPSL_L_LINEAR:
      l->out_c = b->next_c;
      l->params = (int64_t)l->out_c * l->in_c + (l->bias ? l->out_c : 0);
      l->flops = 2 * (int64_t)l->out_c * l->in_c + (l->bias ? l->out_c : 0);
      break;
    case MPSL_L_BLOCK: zoo_block_shape(l); break;
    case MPSL_L_TABLE: break; /* rows of a layer table are not built by shape */
  }
  if (l->out_h < 1 || l->out_w < 1)
    return mpsl_fail("%s: layer %d (%s) gets a %dx%d input, too small for it (try a larger input size)", b->m->name,
                     b->n, l->name, l->in_h, l->in_w);
  l->out_elems = (int64_t)l->out_c * l->out_h * l->out_w;
  b->c = l->out_c;
  b->h = l->out_h;
  b->w = l->out_w;
  b->flat = l->flat_out;
  return 0;
}

/* csv:PATH: the rows of the table as layers. A relative PATH that does not exist here is
 * looked for in mpsl's data directory too (util/datadir.h: the source tree, or the installed
 * $(pkgdatadir)), so csv:datasets/edgesys/vgg19.csv works from anywhere. */
static int build_from_table(mpsl_model *m, const char *name, const mpsl_model_opts *o) {
  mpsl_table *t = mpsl_xcalloc(1, sizeof *t, "layer table");
  const char *path = name + strlen(MPSL_TABLE_PREFIX);
  if (!*path) {
    free(t);
    return mpsl_fail("model = csv: names no file (expected csv:PATH, a layer table: docs/table.md)");
  }
  char shipped[2 * MPSL_PATH_MAX];
  mpsl_data_file(path, shipped, sizeof shipped);
  if (path[0] != '/' && access(path, F_OK) != 0 && access(shipped, F_OK) == 0) path = shipped;
  if (mpsl_table_load(t, path)) {
    free(t);
    return -1;
  }
  snprintf(m->name, sizeof m->name, "%s", name);
  m->table = t;
  m->channels = o->channels;
  m->size = o->size;
  m->width = 1;
  m->nlayers = t->nlayers;
  m->layers = mpsl_xcalloc((size_t)t->nlayers, sizeof *m->layers, "layer table");
  for (int i = 0; i < t->nlayers; i++) {
    mpsl_layer *l = &m->layers[i];
    l->kind = MPSL_L_TABLE;
    snprintf(l->name, sizeof l->name, "%s", t->layers[i].name);
    l->params = t->layers[i].param_bytes / 4;
    l->out_elems = (t->layers[i].act_bytes / 4 + t->batch / 2) / t->batch;
    l->out_c = (int)(l->out_elems < 1 ? 1 : l->out_elems);
    l->out_h = l->out_w = 1;
    l->flat_out = 1;
  }
  m->classes = o->classes; /* a table's bytes need not be exact tensor sizes: the data set says */
  return 0;
}

int mpsl_model_build(mpsl_model *m, const char *name, const mpsl_model_opts *o) {
  mpsl_model_opts def;
  if (!o) {
    mpsl_model_opts_default(&def);
    o = &def;
  }
  memset(m, 0, sizeof *m);
  if (strlen(name) >= sizeof m->name)
    return mpsl_fail("model name of %zu characters (expected at most %zu)", strlen(name), sizeof m->name - 1);
  if (!strncmp(name, MPSL_TABLE_PREFIX, strlen(MPSL_TABLE_PREFIX))) return build_from_table(m, name, o);
  if (o->classes < 1) return mpsl_fail("classes must be at least 1 (got %d)", o->classes);
  if (o->channels != 1 && o->channels != 3) return mpsl_fail("channels must be 1 or 3 (got %d)", o->channels);
  if (o->size < 8 || o->size > 4096) return mpsl_fail("input size must be in 8..4096 (got %d)", o->size);
  if (!(o->width > 0 && o->width <= 16)) return mpsl_fail("width multiplier must be in (0, 16] (got %g)", o->width);
  int known = 0;
  for (const char *const *n = model_names; *n; n++) known |= !strcmp(*n, name);
  if (!known) {
    char list[1024] = "";
    for (const char *const *n = model_names; *n; n++) {
      strncat(list, *n, sizeof list - strlen(list) - 1);
      if (n[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return mpsl_fail("unknown model '%s' (expected one of %s, or csv:PATH for a layer table)", name, list);
  }
  snprintf(m->name, sizeof m->name, "%s", name);
  m->cifar = strstr(name, "-cifar") != NULL;
  m->classes = o->classes;
  m->channels = o->channels;
  m->size = o->size;
  m->width = o->width;
  zoo_builder b = {.m = m, .c = o->channels, .h = o->size, .w = o->size};
  int rc = !strncmp(name, "vgg", 3) ? zoo_vgg(&b) : zoo_resnet(&b);
  m->nlayers = b.n;
  if (rc) {
    mpsl_model_free(m);
    return -1;
  }
  return 0;
}

void mpsl_model_free(mpsl_model *m) {
  free(m->layers);
  m->layers = NULL;
  m->nlayers = 0;
  if (m->table) mpsl_table_free(m->table);
  free(m->table);
  m->table = NULL;
}

int64_t mpsl_model_out_bytes(const mpsl_model *m, int i, int batch) {
  if (m->table && batch == m->table->batch) return m->table->layers[i - 1].act_bytes;
  return m->layers[i - 1].out_elems * (int64_t)batch * (int64_t)sizeof(float);
}

int mpsl_model_check_batch(const mpsl_model *m, int batch) {
  if (m->table && batch != m->table->batch)
    return mpsl_fail(
        "batch = %d, but the layer table %s is for batch %d (its '# batch = %d' line): its times and "
        "activations hold for that batch only",
        batch, m->table->path, m->table->batch, m->table->batch);
  return 0;
}

int64_t mpsl_model_params(const mpsl_model *m) {
  int64_t s = 0;
  for (int i = 0; i < m->nlayers; i++) s += m->layers[i].params;
  return s;
}

int64_t mpsl_model_flops(const mpsl_model *m) {
  int64_t s = 0;
  for (int i = 0; i < m->nlayers; i++) s += m->layers[i].flops;
  return s;
}
