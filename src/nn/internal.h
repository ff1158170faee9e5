/* Internals of the engine: layers, chains of layers, primitives with a shared scratchpad. */
#ifndef MPSL_NN_INTERNAL_H
#define MPSL_NN_INTERNAL_H

#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>

#include "nn/nn.h"
#include "util/err.h"

dnnl_engine_t nn_engine(void);
dnnl_stream_t nn_stream(void);

/* A primitive whose scratchpad lives in the part's one shared buffer. */
typedef struct nn_prim {
  dnnl_primitive_t prim;
  dnnl_memory_desc_t scratch_md;
  dnnl_memory_t scratch; /* bound once the shared buffer exists */
  int reference;         /* oneDNN's reference kernel: slow, warned about when run */
  int row, kind;         /* where its time goes in a profile (nn.h nn_part_profile) */
  double seconds;        /* spent executing since the last reset, while profiling */
} nn_prim;

typedef struct nn_part nn_part_build; /* build-time view of a part */
typedef struct nn_layer nn_layer;
typedef struct nn_chain nn_chain;

/* One layer of the table (or one operation inside a residual block). */
typedef struct {
  /* Declares trainable tensors and statistics (names, shapes) to the part. */
  void (*declare)(nn_layer *l, nn_part_build *b);
  /* Given the incoming layout, sets l->src_md (the layout it wants; the chain reorders
   * to it when they differ) and l->dst_md, and creates its primitives. */
  void (*build)(nn_layer *l, nn_part_build *b, const dnnl_memory_desc_t *in);
  void (*forward)(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, int train);
  /* dsrc NULL: the gradient w.r.t. the input is not needed. */
  void (*backward)(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, dnnl_memory_t ddst, dnnl_memory_t dsrc);
  void (*init)(nn_layer *l, uint64_t seed);
  void (*release)(nn_layer *l);
} nn_layer_ops;

/* A named tensor in an arena: offsets are in floats; stats live in the stats arena. */
typedef struct {
  char name[96];
  int ndims;
  int64_t dims[4];
  int64_t off, len;
  int is_stat;
} nn_tensor_decl;

struct nn_layer {
  const nn_layer_ops *ops;
  const mpsl_layer *spec; /* its row in the layer table (a block's ops share the block's) */
  nn_part *part;
  int index;       /* 1-based index in the model's table */
  uint64_t stream; /* seeds this layer's initial draws: (index << 8) | sub-operation */
  char prefix[96]; /* state_dict prefix, "features.0" or "layer1.0.conv1" */
  /* operation-level description (blocks expand into several) */
  mpsl_layer_kind kind;
  int in_c, in_h, in_w, out_c, out_h, out_w, flat_in;
  int k, stride, pad, bias;
  float p;
  dnnl_memory_desc_t src_md, dst_md;
  /* tensor indices into the part's declarations, -1 when absent */
  int t_w, t_b, t_mean, t_var;
  int64_t *batches_tracked; /* BN's num_batches_tracked */
  void *impl;               /* kind-specific state */
};

/* A sequence of layers with reorders between them where layouts differ. */
typedef struct {
  nn_layer *layer; /* NULL: a reorder from the previous output to md */
  nn_prim *re_fwd, *re_bwd;
  dnnl_memory_desc_t md; /* layout of this step's output */
} nn_step;

struct nn_chain {
  int n;
  nn_step *steps;
  dnnl_memory_desc_t in_md;
  dnnl_memory_t in;    /* borrowed: the chain's input */
  dnnl_memory_t *out;  /* [n] outputs, owned */
  dnnl_memory_t *dout; /* [n] gradients of outputs; dout[n-1] may be borrowed */
  int dout_last_borrowed;
  dnnl_memory_t din; /* gradient of the input (in_md); NULL when not needed */
};

nn_part *nn_layer_part(const nn_layer *l);

/* Build-time services of the part. */
int nn_declare(nn_part_build *b, nn_layer *l, const char *suffix, int ndims, const int64_t *dims, int is_stat);
int64_t *nn_declare_counter(nn_part_build *b);
nn_prim *nn_prim_new(nn_part_build *b, const_dnnl_primitive_desc_t pd);
nn_prim *nn_reorder_new(nn_part_build *b, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to);
dnnl_memory_t nn_mem_new(nn_part_build *b, const dnnl_memory_desc_t *md, int kind);
/* A buffer for use inside one step of a layer (never across steps): it shares one region
 * with every other such buffer of the part, after the primitives' scratchpads. */
dnnl_memory_t nn_mem_shared(nn_part_build *b, const dnnl_memory_desc_t *md);
/* A memory over the part's arenas, at tensor t (params, grads or stats). */
dnnl_memory_t nn_mem_param(nn_part_build *b, int t, const dnnl_memory_desc_t *md);
dnnl_memory_t nn_mem_grad(nn_part_build *b, int t, const dnnl_memory_desc_t *md);
dnnl_memory_t nn_mem_stat(nn_part_build *b, int t, const dnnl_memory_desc_t *md);
dnnl_primitive_attr_t nn_attr(void); /* user scratchpad mode; shared, do not destroy */
uint64_t nn_weights_version(const nn_part *p);
uint64_t nn_forward_count(const nn_part *p);
uint64_t nn_dropout_seed(const nn_part *p);
float *nn_param_ptr(nn_part *p, int t);
float *nn_stat_ptr(nn_part *p, int t);
int64_t nn_tensor_len(const nn_part *p, int t);

/* Kinds of nn_mem_new, for memory accounting. */
enum { NN_MEM_ACT, NN_MEM_ACT_GRAD, NN_MEM_WORKSPACE, NN_MEM_PARAM_COPY };

/* A reorder into a buffer of its own, for a primitive that wants another layout than the
 * tensor has; NULL when the layouts agree, and nn_adapt then passes the tensor through. */
typedef struct {
  nn_prim *re;
  dnnl_memory_t tmp;
} nn_adapter;
nn_adapter *nn_adapter_new(nn_part_build *b, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, int kind);
dnnl_memory_t nn_adapt(nn_adapter *a, dnnl_memory_t m);

/* Profiling (nn.h): nonzero while on, read once per primitive execution. */
extern int nn_profiling;
/* A loop of mpsl's own that started at t0 (mpsl_now), added to l's row under kind. */
void nn_profile_add(nn_layer *l, int kind, double t0);

/* Primitive helpers. */
void nn_exec(nn_prim *p, int nargs, const dnnl_exec_arg_t *args);
void nn_reorder(nn_prim *p, dnnl_memory_t from, dnnl_memory_t to);
void nn_md_plain(dnnl_memory_desc_t *md, int n, int c, int h, int w, int flat);
void nn_md_any(dnnl_memory_desc_t *md, int n, int c, int h, int w);
void nn_md_1d(dnnl_memory_desc_t *md, int64_t len);
const dnnl_memory_desc_t *nn_mem_md(dnnl_memory_t m);
void *nn_mem_ptr(dnnl_memory_t m);
int nn_md_eq(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b);

/* Chains: build from an array of layers; run forward/backward over them. */
void nn_chain_build(nn_chain *c, nn_part_build *b, nn_layer **layers, int n, const dnnl_memory_desc_t *in_md,
                    int need_din);
void nn_chain_forward(nn_chain *c, int train);
void nn_chain_backward(nn_chain *c);
const dnnl_memory_desc_t *nn_chain_out_md(const nn_chain *c);
dnnl_memory_t nn_chain_out(const nn_chain *c);
void nn_chain_free(nn_chain *c);

/* Layer constructors: fill l->ops/impl from l->kind. */
void nn_layer_setup(nn_layer *l);
extern const nn_layer_ops nn_conv_ops, nn_bn_ops, nn_relu_ops, nn_maxpool_ops, nn_avgpool_ops, nn_flatten_ops,
    nn_linear_ops, nn_dropout_ops, nn_block_ops;

#endif
