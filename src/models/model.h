/* The layer table: a model is a flat list of layers, indexed from 1, each named by its
 * PyTorch module path so weights carry state_dict names. Cuts refer to these indices.
 * A ResNet block is one entry of the table (cuts fall between blocks). */
#ifndef MPSL_MODELS_MODEL_H
#define MPSL_MODELS_MODEL_H

#include <stdint.h>

typedef enum {
  MPSL_L_CONV, /* Conv2d, square kernel */
  MPSL_L_BN,   /* BatchNorm2d, eps 1e-5, momentum 0.1 */
  MPSL_L_RELU,
  MPSL_L_MAXPOOL,
  MPSL_L_AVGPOOL, /* AdaptiveAvgPool2d((out_h, out_w)) */
  MPSL_L_FLATTEN,
  MPSL_L_LINEAR,
  MPSL_L_DROPOUT,
  MPSL_L_BLOCK, /* ResNet BasicBlock or Bottleneck, ReLU after the residual add */
  MPSL_L_TABLE  /* a row of a layer table (models/table.h): bytes and times, nothing to train */
} mpsl_layer_kind;

typedef struct {
  mpsl_layer_kind kind;
  char name[48];        /* module path, e.g. "features.0", "layer2.1", "fc" */
  int in_c, in_h, in_w; /* input per sample; a flat input has in_h = in_w = 1 */
  int out_c, out_h, out_w;
  int flat_in, flat_out; /* 1 when the tensor is (N, C) rather than (N, C, H, W) */
  int k, stride, pad;    /* conv and pools */
  int bias;              /* conv and linear */
  float p;               /* dropout probability */
  int bottleneck;        /* block: 0 basic, 1 bottleneck */
  int planes;            /* block: width of its inner convolutions */
  int downsample;        /* block: has a 1x1 conv + bn projection on the skip path */
  int64_t params;        /* trainable parameters */
  int64_t flops;         /* forward FLOPs per sample (multiply-add = 2) */
  int64_t out_elems;     /* output elements per sample */
} mpsl_layer;

/* Longest model name, a csv:PATH included, and longest path wherever a file is named. */
#define MPSL_PATH_MAX 4096

struct mpsl_table;

typedef struct {
  char name[MPSL_PATH_MAX];    /* as asked, e.g. "resnet18-cifar" or "csv:datasets/edgesys/vgg19.csv" */
  int cifar;                   /* 1 for the -cifar flavour */
  int classes, channels, size; /* input is channels x size x size */
  double width;                /* channel multiplier (1 = the published model) */
  int nlayers;
  mpsl_layer *layers; /* layers[0] is layer 1 of the table */
  /* A model given as a layer table (`csv:PATH`): its times and bytes, owned; NULL for the
   * models the engine builds. Its layers are MPSL_L_TABLE rows with params and out_elems
   * from the table (out_elems rounded; mpsl_model_out_bytes gives the exact bytes) and
   * no FLOPs. */
  struct mpsl_table *table;
} mpsl_model;

typedef struct {
  int classes;  /* default 10 */
  int channels; /* default 3 */
  int size;     /* default 32 */
  double width; /* default 1.0 */
} mpsl_model_opts;

void mpsl_model_opts_default(mpsl_model_opts *o);
/* Builds the table; on an unknown name or impossible shape returns -1 with mpsl_fail.
 * "csv:PATH" reads a layer table (docs/table.md): its layers and bytes; o gives classes,
 * channels and size (the data owner's input and logits). */
int mpsl_model_build(mpsl_model *m, const char *name, const mpsl_model_opts *o);
void mpsl_model_free(mpsl_model *m);
/* Names accepted by mpsl_model_build, NULL-terminated. */
const char *const *mpsl_model_names(void);
int64_t mpsl_model_params(const mpsl_model *m);
/* Bytes of layer i's output (1-based) for a batch: what crosses a cut after it. A table
 * model gives its own bytes, for its own batch only (mpsl_model_check_batch). */
int64_t mpsl_model_out_bytes(const mpsl_model *m, int i, int batch);
/* A table model's batch must be the table's; -1 with mpsl_fail otherwise. 0 for others. */
int mpsl_model_check_batch(const mpsl_model *m, int batch);
/* Does the engine build this model (not a layer table)? */
static inline int mpsl_model_trainable(const mpsl_model *m) { return m->table == 0; }
int64_t mpsl_model_flops(const mpsl_model *m);
const char *mpsl_layer_kind_name(mpsl_layer_kind k);
/* Channel count after the width multiplier: max(1, round(c * width)). */
int mpsl_scale_width(int c, double width);

#endif
