/* A part: arenas, the chain of its layers, edges in plain layout, shared scratchpad. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/internal.h"
#include "util/timer.h"

struct nn_part {
  const mpsl_model *model;
  int first, last, batch;
  nn_layer *layers; /* [nlayers] table rows of this part */
  int nlayers;
  nn_chain chain;
  /* declarations, then arenas */
  nn_tensor_decl *decl;
  int ndecl, cap_decl;
  int64_t arena_len, stats_len, nparams;
  float *params, *grads, *momenta, *stats;
  int64_t **counters; /* num_batches_tracked of each batch norm */
  int ncounters;
  /* primitives and owned memories */
  nn_prim **prims;
  int nprims, cap_prims;
  dnnl_memory_t *mems;
  int nmems, cap_mems;
  nn_adapter **adapters;
  int nadapters, cap_adapters;
  void *scratch;
  size_t scratch_size;
  /* buffers a layer uses only inside one of its steps, placed after the primitives'
   * scratchpads in the same allocation: one region as large as the largest of them */
  dnnl_memory_t *shared;
  int nshared, cap_shared;
  size_t shared_size;
  nn_mem_stats mem;
  /* edges */
  dnnl_memory_desc_t x_md, y_md;
  dnnl_memory_t x, y, dy, dx; /* x owned (input kept for backward); y, dy, dx wrap caller buffers */
  nn_prim *re_out, *re_dout, *re_din;
  nn_adapter *in_adapt;  /* plain input to the layout the unsplit model has here */
  dnnl_memory_t din_own; /* input gradient in that layout */
  uint64_t wver, fwd_count, dropout_seed;
  mpsl_named_tensor *tensors;
  int row;     /* while building: the profile row of the primitives created now */
  double *own; /* [(nlayers + 1) * NN_WORK_KINDS] seconds in mpsl's own loops, while profiling */
};

static dnnl_engine_t g_engine;
static dnnl_stream_t g_stream;
static dnnl_primitive_attr_t g_attr;

static void nn_global_init(void) {
  if (g_engine) return;
  DNNL_CHECK(dnnl_engine_create(&g_engine, dnnl_cpu, 0));
  DNNL_CHECK(dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags));
  DNNL_CHECK(dnnl_primitive_attr_create(&g_attr));
  DNNL_CHECK(dnnl_primitive_attr_set_scratchpad_mode(g_attr, dnnl_scratchpad_mode_user));
}

dnnl_engine_t nn_engine(void) {
  nn_global_init();
  return g_engine;
}
dnnl_stream_t nn_stream(void) {
  nn_global_init();
  return g_stream;
}
dnnl_primitive_attr_t nn_attr(void) {
  nn_global_init();
  return g_attr;
}

const char *nn_dnnl_version(void) {
  static char buf[32];
  const dnnl_version_t *v = dnnl_version();
  snprintf(buf, sizeof buf, "%d.%d.%d", v->major, v->minor, v->patch);
  return buf;
}

nn_part *nn_layer_part(const nn_layer *l) { return l->part; }
uint64_t nn_weights_version(const nn_part *p) { return p->wver; }
uint64_t nn_forward_count(const nn_part *p) { return p->fwd_count; }
uint64_t nn_dropout_seed(const nn_part *p) { return p->dropout_seed; }
float *nn_param_ptr(nn_part *p, int t) {
  return p->decl[t].is_stat ? p->stats + p->decl[t].off : p->params + p->decl[t].off;
}
float *nn_stat_ptr(nn_part *p, int t) { return p->stats + p->decl[t].off; }
int64_t nn_tensor_len(const nn_part *p, int t) { return p->decl[t].len; }

/* ---- memory descriptors and primitives ------------------------------------------- */

void nn_md_plain(dnnl_memory_desc_t *md, int n, int c, int h, int w, int flat) {
  if (flat) {
    dnnl_dims_t d = {n, (int64_t)c * h * w};
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, 2, d, dnnl_f32, dnnl_nc));
  } else {
    dnnl_dims_t d = {n, c, h, w};
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, dnnl_nchw));
  }
}

void nn_md_any(dnnl_memory_desc_t *md, int n, int c, int h, int w) {
  dnnl_dims_t d = {n, c, h, w};
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, dnnl_format_tag_any));
}

void nn_md_1d(dnnl_memory_desc_t *md, int64_t len) {
  dnnl_dims_t d = {len};
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, 1, d, dnnl_f32, dnnl_x));
}

int nn_md_eq(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b) { return dnnl_memory_desc_equal(a, b); }

const dnnl_memory_desc_t *nn_mem_md(dnnl_memory_t m) {
  const dnnl_memory_desc_t *md;
  DNNL_CHECK(dnnl_memory_get_memory_desc(m, &md));
  return md;
}

void *nn_mem_ptr(dnnl_memory_t m) {
  void *h;
  DNNL_CHECK(dnnl_memory_get_data_handle(m, &h));
  return h;
}

static void *grow(void *arr, int *cap, int need, size_t elem) {
  if (need <= *cap) return arr;
  int nc = *cap ? 2 * *cap : 16;
  while (nc < need) nc *= 2;
  void *r = realloc(arr, (size_t)nc * elem);
  if (!r) MPSL_DIE("out of memory");
  *cap = nc;
  return r;
}

/* A reference kernel is orders of magnitude slower than oneDNN's JIT ones: say so once,
 * since it usually means a layout the fast kernels do not take was forced on a primitive. */
static int is_reference(const_dnnl_primitive_desc_t pd) {
  const char *impl = NULL;
  return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
         !strncmp(impl, "ref", 3);
}

/* The kind of work of a primitive, for a profile; a binary primitive has no propagation
 * kind (forward here: the block marks the one it runs backward). */
static int work_kind(const_dnnl_primitive_desc_t pd) {
  dnnl_primitive_kind_t pk = dnnl_undefined_primitive;
  dnnl_prop_kind_t prop = dnnl_prop_kind_undef;
  if (dnnl_primitive_desc_query(pd, dnnl_query_primitive_kind, 0, &pk) == dnnl_success && pk == dnnl_reorder)
    return NN_WORK_REORDER;
  if (dnnl_primitive_desc_query(pd, dnnl_query_prop_kind, 0, &prop) != dnnl_success) return NN_WORK_FWD;
  switch (prop) {
    case dnnl_backward:
    case dnnl_backward_data: return NN_WORK_BWD_DATA;
    case dnnl_backward_weights: return NN_WORK_BWD_WEIGHTS;
    default: return NN_WORK_FWD;
  }
}

nn_prim *nn_prim_new(nn_part_build *p, const_dnnl_primitive_desc_t pd) {
  nn_prim *pr = mpsl_xcalloc(1, sizeof *pr, "primitive");
  pr->reference = is_reference(pd);
  pr->row = p->row;
  pr->kind = work_kind(pd);
  DNNL_CHECK(dnnl_primitive_create(&pr->prim, pd));
  pr->scratch_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  size_t sz = dnnl_memory_desc_get_size(&pr->scratch_md);
  if (sz > p->scratch_size) p->scratch_size = sz;
  p->prims = grow(p->prims, &p->cap_prims, p->nprims + 1, sizeof *p->prims);
  p->prims[p->nprims++] = pr;
  return pr;
}

nn_prim *nn_reorder_new(nn_part_build *p, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to) {
  dnnl_primitive_desc_t pd;
  DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, from, nn_engine(), to, nn_engine(), nn_attr()));
  nn_prim *pr = nn_prim_new(p, pd);
  DNNL_CHECK(dnnl_primitive_desc_destroy(pd));
  return pr;
}

nn_adapter *nn_adapter_new(nn_part_build *p, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, int kind) {
  if (nn_md_eq(from, to)) return NULL;
  nn_adapter *a = mpsl_xcalloc(1, sizeof *a, "adapter");
  a->re = nn_reorder_new(p, from, to);
  a->tmp = nn_mem_new(p, to, kind);
  p->adapters = grow(p->adapters, &p->cap_adapters, p->nadapters + 1, sizeof *p->adapters);
  p->adapters[p->nadapters++] = a;
  return a;
}

dnnl_memory_t nn_adapt(nn_adapter *a, dnnl_memory_t m) {
  if (!a) return m;
  nn_reorder(a->re, m, a->tmp);
  return a->tmp;
}

void nn_exec(nn_prim *pr, int nargs, const dnnl_exec_arg_t *args) {
  static int warned;
  if (pr->reference && !warned) {
    fprintf(stderr, "mpsl: warning: a primitive runs on oneDNN's slow reference kernel (DNNL_VERBOSE=1 names it)\n");
    warned = 1;
  }
  dnnl_exec_arg_t a[16];
  memcpy(a, args, (size_t)nargs * sizeof *a);
  a[nargs].arg = DNNL_ARG_SCRATCHPAD;
  a[nargs].memory = pr->scratch;
  if (!nn_profiling) {
    DNNL_CHECK(dnnl_primitive_execute(pr->prim, nn_stream(), nargs + 1, a));
    return;
  }
  double t0 = mpsl_now();
  DNNL_CHECK(dnnl_primitive_execute(pr->prim, nn_stream(), nargs + 1, a));
  DNNL_CHECK(dnnl_stream_wait(nn_stream()));
  pr->seconds += mpsl_now() - t0;
}

/* ---- profiling ------------------------------------------------------------------------- */

int nn_profiling;

void nn_profile_enable(int on) { nn_profiling = on; }

static void own_add(nn_part *p, int row, int kind, double t0) { p->own[row * NN_WORK_KINDS + kind] += mpsl_now() - t0; }

void nn_profile_add(nn_layer *l, int kind, double t0) {
  if (nn_profiling) own_add(l->part, l->index - l->part->first + 1, kind, t0);
}

int nn_part_first(const nn_part *p) { return p->first; }
int nn_part_nlayers(const nn_part *p) { return p->nlayers; }

void nn_part_profile(const nn_part *p, double *t) {
  int n = (p->nlayers + 1) * NN_WORK_KINDS;
  memcpy(t, p->own, (size_t)n * sizeof *t);
  for (int i = 0; i < p->nprims; i++) t[p->prims[i]->row * NN_WORK_KINDS + p->prims[i]->kind] += p->prims[i]->seconds;
}

void nn_part_profile_reset(nn_part *p) {
  memset(p->own, 0, (size_t)(p->nlayers + 1) * NN_WORK_KINDS * sizeof *p->own);
  for (int i = 0; i < p->nprims; i++) p->prims[i]->seconds = 0;
}

void nn_reorder(nn_prim *pr, dnnl_memory_t from, dnnl_memory_t to) {
  dnnl_exec_arg_t a[] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  nn_exec(pr, 2, a);
}

dnnl_memory_t nn_mem_new(nn_part_build *p, const dnnl_memory_desc_t *md, int kind) {
  dnnl_memory_t m;
  DNNL_CHECK(dnnl_memory_create(&m, md, nn_engine(), DNNL_MEMORY_ALLOCATE));
  int64_t sz = (int64_t)dnnl_memory_desc_get_size(md);
  switch (kind) {
    case NN_MEM_ACT: p->mem.activations += sz; break;
    case NN_MEM_ACT_GRAD: p->mem.act_grads += sz; break;
    case NN_MEM_WORKSPACE: p->mem.workspace += sz; break;
    default: p->mem.weight_copies += sz; break;
  }
  p->mems = grow(p->mems, &p->cap_mems, p->nmems + 1, sizeof *p->mems);
  p->mems[p->nmems++] = m;
  return m;
}

dnnl_memory_t nn_mem_shared(nn_part_build *p, const dnnl_memory_desc_t *md) {
  dnnl_memory_t m;
  DNNL_CHECK(dnnl_memory_create(&m, md, nn_engine(), DNNL_MEMORY_NONE));
  size_t sz = dnnl_memory_desc_get_size(md);
  if (sz > p->shared_size) p->shared_size = sz;
  p->shared = grow(p->shared, &p->cap_shared, p->nshared + 1, sizeof *p->shared);
  p->shared[p->nshared++] = m;
  p->mems = grow(p->mems, &p->cap_mems, p->nmems + 1, sizeof *p->mems);
  p->mems[p->nmems++] = m;
  return m;
}

static dnnl_memory_t mem_over(nn_part_build *p, const dnnl_memory_desc_t *md, void *ptr) {
  dnnl_memory_t m;
  DNNL_CHECK(dnnl_memory_create(&m, md, nn_engine(), ptr));
  p->mems = grow(p->mems, &p->cap_mems, p->nmems + 1, sizeof *p->mems);
  p->mems[p->nmems++] = m;
  return m;
}

dnnl_memory_t nn_mem_param(nn_part_build *p, int t, const dnnl_memory_desc_t *md) {
  return mem_over(p, md, p->params + p->decl[t].off);
}
dnnl_memory_t nn_mem_grad(nn_part_build *p, int t, const dnnl_memory_desc_t *md) {
  return mem_over(p, md, p->grads + p->decl[t].off);
}
dnnl_memory_t nn_mem_stat(nn_part_build *p, int t, const dnnl_memory_desc_t *md) {
  return mem_over(p, md, p->stats + p->decl[t].off);
}

/* ---- declarations ------------------------------------------------------------------ */

int nn_declare(nn_part_build *p, nn_layer *l, const char *suffix, int ndims, const int64_t *dims, int is_stat) {
  p->decl = grow(p->decl, &p->cap_decl, p->ndecl + 1, sizeof *p->decl);
  nn_tensor_decl *d = &p->decl[p->ndecl];
  memset(d, 0, sizeof *d);
  snprintf(d->name, sizeof d->name, "%s.%s", l->prefix, suffix);
  d->ndims = ndims;
  d->len = 1;
  for (int i = 0; i < ndims; i++) d->len *= (d->dims[i] = dims[i]);
  d->is_stat = is_stat;
  /* 64-byte aligned offsets: the gaps stay zero under SGD and averaging */
  if (is_stat) {
    d->off = p->stats_len;
    p->stats_len += (d->len + 15) & ~(int64_t)15;
  } else {
    d->off = p->arena_len;
    p->arena_len += (d->len + 15) & ~(int64_t)15;
    p->nparams += d->len;
  }
  return p->ndecl++;
}

int64_t *nn_declare_counter(nn_part_build *p) {
  p->counters = realloc(p->counters, (size_t)(p->ncounters + 1) * sizeof *p->counters);
  if (!p->counters) MPSL_DIE("out of memory");
  int64_t *c = mpsl_xcalloc(1, sizeof *c, "counter");
  p->counters[p->ncounters++] = c;
  return c;
}

/* ---- chains ------------------------------------------------------------------------ */

void nn_chain_build(nn_chain *c, nn_part_build *p, nn_layer **layers, int n, const dnnl_memory_desc_t *in_md,
                    int need_din) {
  memset(c, 0, sizeof *c);
  c->in_md = *in_md;
  c->steps = mpsl_xcalloc((size_t)2 * n, sizeof *c->steps, "chain");
  dnnl_memory_desc_t cur = *in_md;
  for (int i = 0; i < n; i++) {
    nn_layer *l = layers[i];
    p->row = l->index - p->first + 1; /* a block's operations share its row */
    l->ops->build(l, p, &cur);
    if (!nn_md_eq(&l->src_md, &cur)) {
      nn_step *s = &c->steps[c->n++];
      s->md = l->src_md;
      s->re_fwd = nn_reorder_new(p, &cur, &l->src_md);
      s->re_bwd = nn_reorder_new(p, &l->src_md, &cur);
    }
    nn_step *s = &c->steps[c->n++];
    s->layer = l;
    s->md = l->dst_md;
    cur = l->dst_md;
  }
  c->out = mpsl_xcalloc((size_t)c->n, sizeof *c->out, "chain");
  c->dout = mpsl_xcalloc((size_t)c->n, sizeof *c->dout, "chain");
  for (int i = 0; i < c->n; i++) {
    c->out[i] = nn_mem_new(p, &c->steps[i].md, NN_MEM_ACT);
    c->dout[i] = nn_mem_new(p, &c->steps[i].md, NN_MEM_ACT_GRAD);
  }
  if (need_din) c->din = nn_mem_new(p, in_md, NN_MEM_ACT_GRAD);
}

const dnnl_memory_desc_t *nn_chain_out_md(const nn_chain *c) { return c->n ? &c->steps[c->n - 1].md : &c->in_md; }
dnnl_memory_t nn_chain_out(const nn_chain *c) { return c->n ? c->out[c->n - 1] : c->in; }

void nn_chain_forward(nn_chain *c, int train) {
  for (int i = 0; i < c->n; i++) {
    nn_step *s = &c->steps[i];
    dnnl_memory_t src = i ? c->out[i - 1] : c->in;
    if (s->layer)
      s->layer->ops->forward(s->layer, src, c->out[i], train);
    else
      nn_reorder(s->re_fwd, src, c->out[i]);
  }
}

void nn_chain_backward(nn_chain *c) {
  for (int i = c->n - 1; i >= 0; i--) {
    nn_step *s = &c->steps[i];
    dnnl_memory_t src = i ? c->out[i - 1] : c->in;
    dnnl_memory_t dsrc = i ? c->dout[i - 1] : c->din;
    if (s->layer)
      s->layer->ops->backward(s->layer, src, c->out[i], c->dout[i], dsrc);
    else if (dsrc)
      nn_reorder(s->re_bwd, c->dout[i], dsrc);
  }
}

void nn_chain_free(nn_chain *c) {
  free(c->steps);
  free(c->out);
  free(c->dout);
  memset(c, 0, sizeof *c);
}

/* ---- the part ------------------------------------------------------------------------ */

static void layer_from_spec(nn_layer *l, nn_part *p, const mpsl_layer *s, int index) {
  memset(l, 0, sizeof *l);
  l->part = p;
  l->spec = s;
  l->index = index;
  l->stream = (uint64_t)index << 8;
  snprintf(l->prefix, sizeof l->prefix, "%s", s->name);
  l->kind = s->kind;
  l->in_c = s->in_c;
  l->in_h = s->in_h;
  l->in_w = s->in_w;
  l->out_c = s->out_c;
  l->out_h = s->out_h;
  l->out_w = s->out_w;
  l->flat_in = s->flat_in;
  l->k = s->k;
  l->stride = s->stride;
  l->pad = s->pad;
  l->bias = s->bias;
  l->p = s->p;
  l->t_w = l->t_b = l->t_mean = l->t_var = -1;
  nn_layer_setup(l);
}

/* The layout the unsplit model has entering layer `first`, so that a part starting there
 * computes exactly what the unsplit model computes (same kernels, same summation order).
 * Only convolutions choose layouts (blocks end in one); pools, norms and ReLUs keep theirs;
 * our adaptive pool and the model input are plain. */
static void edge_layout(const mpsl_model *m, int first, int batch, dnnl_memory_desc_t *md) {
  const mpsl_layer *in = &m->layers[first - 1];
  nn_md_plain(md, batch, in->in_c, in->in_h, in->in_w, in->flat_in);
  if (in->flat_in) return;
  int j = first - 1;
  while (j >= 1 && m->layers[j - 1].kind != MPSL_L_CONV && m->layers[j - 1].kind != MPSL_L_BLOCK &&
         m->layers[j - 1].kind != MPSL_L_AVGPOOL)
    j--;
  if (j < 1 || m->layers[j - 1].kind == MPSL_L_AVGPOOL) return;
  /* the destination layout oneDNN picks for a convolution producing this tensor */
  const mpsl_layer *l = &m->layers[j - 1];
  int cin = l->kind == MPSL_L_BLOCK ? l->planes : l->in_c; /* its last convolution */
  int k = l->kind == MPSL_L_BLOCK ? (l->bottleneck ? 1 : 3) : l->k;
  dnnl_memory_desc_t src, w, dst;
  nn_md_any(&src, batch, cin, l->out_h, l->out_w);
  nn_md_any(&dst, batch, l->out_c, l->out_h, l->out_w);
  dnnl_dims_t wd = {l->out_c, cin, k, k}, st = {1, 1}, pad = {k / 2, k / 2};
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(&w, 4, wd, dnnl_f32, dnnl_format_tag_any));
  dnnl_convolution_desc_t d;
  dnnl_primitive_desc_t pd;
  DNNL_CHECK(dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, dnnl_convolution_direct, &src, &w, NULL,
                                                &dst, st, pad, pad));
  DNNL_CHECK(dnnl_primitive_desc_create(&pd, &d, nn_attr(), nn_engine(), NULL));
  const dnnl_memory_desc_t *chosen = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
  static const dnnl_format_tag_t tags[] = {dnnl_aBcd16b, dnnl_aBcd8b, dnnl_aBcd4b, dnnl_acdb, dnnl_abcd};
  for (unsigned t = 0; t < sizeof tags / sizeof tags[0]; t++) {
    dnnl_memory_desc_t cand;
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&cand, 4, chosen->dims, dnnl_f32, tags[t]));
    if (nn_md_eq(&cand, chosen)) {
      dnnl_dims_t dd = {batch, in->in_c, in->in_h, in->in_w};
      DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, 4, dd, dnnl_f32, tags[t]));
      break;
    }
  }
  dnnl_primitive_desc_destroy(pd);
}

/* Arenas of a part built only to be measured are never touched: their pages stay unmapped. */
static void *arena(int64_t floats, bool sizing, const char *what) {
  if (!sizing) return mpsl_xalloc_aligned((size_t)floats * sizeof(float), what);
  size_t sz = ((size_t)floats * sizeof(float) + 63) & ~(size_t)63;
  void *q = aligned_alloc(64, sz ? sz : 64);
  if (!q) MPSL_DIE("out of memory allocating %zu bytes for %s", sz, what);
  return q;
}

static nn_part *part_new(const mpsl_model *m, int first, int last, int batch, bool sizing) {
  if (!mpsl_model_trainable(m)) {
    mpsl_fail(
        "%s is a layer table: it has times and bytes but no layers to train (it works with simulate, "
        "estimate, plan, layers and run with compute = profiled)",
        m->name);
    return NULL;
  }
  if (first < 1 || last > m->nlayers || first > last) {
    mpsl_fail("%s: part %d..%d is outside layers 1..%d", m->name, first, last, m->nlayers);
    return NULL;
  }
  if (batch < 1) {
    mpsl_fail("batch must be at least 1 (got %d)", batch);
    return NULL;
  }
  nn_part *p = mpsl_xcalloc(1, sizeof *p, "part");
  p->model = m;
  p->first = first;
  p->last = last;
  p->batch = batch;
  p->nlayers = last - first + 1;
  p->layers = mpsl_xcalloc((size_t)p->nlayers, sizeof *p->layers, "layers");
  for (int i = 0; i < p->nlayers; i++) layer_from_spec(&p->layers[i], p, &m->layers[first - 1 + i], first + i);
  for (int i = 0; i < p->nlayers; i++)
    if (p->layers[i].ops->declare) p->layers[i].ops->declare(&p->layers[i], p);

  p->params = arena(p->arena_len, sizing, "parameters");
  p->grads = arena(p->arena_len, sizing, "gradients");
  p->momenta = arena(p->arena_len, sizing, "momenta");
  p->stats = mpsl_xalloc_aligned((size_t)p->stats_len * sizeof(float), "running statistics");
  /* running_var starts at 1 as in PyTorch */
  for (int t = 0; t < p->ndecl; t++)
    if (p->decl[t].is_stat && strstr(p->decl[t].name, "running_var"))
      for (int64_t i = 0; i < p->decl[t].len; i++) p->stats[p->decl[t].off + i] = 1.0f;

  const mpsl_layer *f = &m->layers[first - 1], *l = &m->layers[last - 1];
  nn_md_plain(&p->x_md, batch, f->in_c, f->in_h, f->in_w, f->flat_in);
  nn_md_plain(&p->y_md, batch, l->out_c, l->out_h, l->out_w, l->flat_out);
  p->x = nn_mem_new(p, &p->x_md, NN_MEM_ACT);
  p->y = mem_over(p, &p->y_md, DNNL_MEMORY_NONE);
  p->dy = mem_over(p, &p->y_md, DNNL_MEMORY_NONE);
  p->dx = mem_over(p, &p->x_md, DNNL_MEMORY_NONE);

  dnnl_memory_desc_t edge;
  edge_layout(m, first, batch, &edge);
  nn_layer **ptrs = mpsl_xmalloc((size_t)p->nlayers * sizeof *ptrs, "layers");
  for (int i = 0; i < p->nlayers; i++) ptrs[i] = &p->layers[i];
  /* the input gradient needs a buffer of its own only in a layout other than the caller's */
  nn_chain_build(&p->chain, p, ptrs, p->nlayers, &edge, !nn_md_eq(&p->x_md, &edge));
  free(ptrs);
  p->row = 0;
  p->own = mpsl_xcalloc((size_t)(p->nlayers + 1) * NN_WORK_KINDS, sizeof *p->own, "profile");
  p->in_adapt = nn_adapter_new(p, &p->x_md, &edge, NN_MEM_ACT);
  p->chain.in = p->in_adapt ? p->in_adapt->tmp : p->x;
  p->din_own = p->chain.din;
  if (p->in_adapt) p->re_din = nn_reorder_new(p, &edge, &p->x_md);
  p->re_out = nn_reorder_new(p, nn_chain_out_md(&p->chain), &p->y_md);
  p->re_dout = nn_reorder_new(p, &p->y_md, nn_chain_out_md(&p->chain));

  size_t shared_at = (p->scratch_size + 63) & ~(size_t)63, total = shared_at + p->shared_size;
  p->scratch = mpsl_xalloc_aligned(total ? total : 64, "scratchpad");
  p->mem.scratch = (int64_t)total;
  for (int i = 0; i < p->nprims; i++)
    DNNL_CHECK(dnnl_memory_create(&p->prims[i]->scratch, &p->prims[i]->scratch_md, nn_engine(), p->scratch));
  for (int i = 0; i < p->nshared; i++)
    DNNL_CHECK(dnnl_memory_set_data_handle(p->shared[i], (char *)p->scratch + shared_at));
  p->mem.params = p->arena_len * 4;
  p->mem.grads = p->arena_len * 4;
  p->mem.optim = p->arena_len * 4;
  p->mem.stats = p->stats_len * 4;
  return p;
}

nn_part *nn_part_new(const mpsl_model *m, int first, int last, int batch) {
  return part_new(m, first, last, batch, false);
}

nn_part *nn_part_new_sizing(const mpsl_model *m, int first, int last, int batch) {
  return part_new(m, first, last, batch, true);
}

void nn_part_free(nn_part *p) {
  if (!p) return;
  for (int i = 0; i < p->nlayers; i++)
    if (p->layers[i].ops->release) p->layers[i].ops->release(&p->layers[i]);
  nn_chain_free(&p->chain);
  for (int i = 0; i < p->nprims; i++) {
    dnnl_primitive_destroy(p->prims[i]->prim);
    if (p->prims[i]->scratch) dnnl_memory_destroy(p->prims[i]->scratch);
    free(p->prims[i]);
  }
  for (int i = 0; i < p->nmems; i++) dnnl_memory_destroy(p->mems[i]);
  for (int i = 0; i < p->ncounters; i++) free(p->counters[i]);
  for (int i = 0; i < p->nadapters; i++) free(p->adapters[i]);
  free(p->adapters);
  free(p->shared);
  free(p->counters);
  free(p->prims);
  free(p->mems);
  free(p->decl);
  free(p->layers);
  free(p->params);
  free(p->grads);
  free(p->momenta);
  free(p->stats);
  free(p->scratch);
  free(p->tensors);
  free(p->own);
  free(p);
}

void nn_part_init_weights(nn_part *p, uint64_t seed) {
  for (int i = 0; i < p->nlayers; i++)
    if (p->layers[i].ops->init) p->layers[i].ops->init(&p->layers[i], seed);
  memset(p->momenta, 0, (size_t)p->arena_len * sizeof(float));
  nn_part_params_changed(p);
}

void nn_part_set_dropout_seed(nn_part *p, uint64_t seed) { p->dropout_seed = seed; }
void nn_part_params_changed(nn_part *p) { p->wver++; }
uint64_t nn_part_step(const nn_part *p) { return p->fwd_count; }
void nn_part_set_step(nn_part *p, uint64_t step) { p->fwd_count = step; }

void nn_part_forward(nn_part *p, const float *x, float *y, int train) {
  double t0 = nn_profiling ? mpsl_now() : 0;
  memcpy(nn_mem_ptr(p->x), x, (size_t)nn_part_in_numel(p) * p->batch * sizeof(float));
  if (nn_profiling) own_add(p, 0, NN_WORK_OWN, t0);
  nn_adapt(p->in_adapt, p->x);
  nn_chain_forward(&p->chain, train);
  DNNL_CHECK(dnnl_memory_set_data_handle(p->y, y));
  nn_reorder(p->re_out, nn_chain_out(&p->chain), p->y);
  DNNL_CHECK(dnnl_stream_wait(nn_stream()));
  if (train) p->fwd_count++;
}

void nn_part_backward(nn_part *p, const float *dy, float *dx) {
  DNNL_CHECK(dnnl_memory_set_data_handle(p->dy, (void *)dy));
  nn_reorder(p->re_dout, p->dy, p->chain.dout[p->chain.n - 1]);
  if (dx) DNNL_CHECK(dnnl_memory_set_data_handle(p->dx, dx));
  p->chain.din = !dx ? NULL : p->re_din ? p->din_own : p->dx;
  nn_chain_backward(&p->chain);
  if (dx && p->re_din) nn_reorder(p->re_din, p->din_own, p->dx);
  DNNL_CHECK(dnnl_stream_wait(nn_stream()));
}

void nn_part_sgd(nn_part *p, float lr, float momentum, float wd) {
  double t0 = nn_profiling ? mpsl_now() : 0;
  float *restrict w = p->params, *restrict g = p->grads, *restrict m = p->momenta;
  int64_t n = p->arena_len;
  if (momentum != 0.0f) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; i++) {
      float d = g[i] + wd * w[i];
      m[i] = momentum * m[i] + d;
      w[i] -= lr * m[i];
    }
  } else {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]);
  }
  if (nn_profiling) own_add(p, 0, NN_WORK_UPDATE, t0);
  nn_part_params_changed(p);
}

int64_t nn_part_in_numel(const nn_part *p) {
  const mpsl_layer *f = &p->model->layers[p->first - 1];
  return (int64_t)f->in_c * f->in_h * f->in_w;
}
int64_t nn_part_out_numel(const nn_part *p) { return p->model->layers[p->last - 1].out_elems; }
int nn_part_batch(const nn_part *p) { return p->batch; }
float *nn_part_params(nn_part *p) { return p->params; }
float *nn_part_grads(nn_part *p) { return p->grads; }
float *nn_part_momenta(nn_part *p) { return p->momenta; }
int64_t nn_part_arena_len(const nn_part *p) { return p->arena_len; }
int64_t nn_part_nparams(const nn_part *p) { return p->nparams; }
float *nn_part_stats(nn_part *p) { return p->stats; }
int64_t nn_part_stats_len(const nn_part *p) { return p->stats_len; }

void nn_part_memory(const nn_part *p, nn_mem_stats *s) { *s = p->mem; }

int64_t nn_mem_total(const nn_mem_stats *s) {
  return s->params + s->grads + s->optim + s->stats + s->weight_copies + s->activations + s->act_grads + s->scratch +
         s->workspace;
}

static int fill_tensors(nn_part *p, mpsl_named_tensor **out, int trainable_only, int grads) {
  free(p->tensors);
  p->tensors = mpsl_xcalloc((size_t)(p->ndecl + p->ncounters), sizeof *p->tensors, "tensors");
  int n = 0, c = 0;
  for (int t = 0; t < p->ndecl; t++) {
    const nn_tensor_decl *d = &p->decl[t];
    if (d->is_stat && (trainable_only || grads)) continue;
    mpsl_named_tensor *nt = &p->tensors[n++];
    snprintf(nt->name, sizeof nt->name, "%s", d->name);
    nt->dtype = MPSL_F32;
    nt->ndims = d->ndims;
    memcpy(nt->dims, d->dims, sizeof nt->dims);
    nt->data = d->is_stat ? p->stats + d->off : (grads ? p->grads : p->params) + d->off;
    /* num_batches_tracked follows each running_var, as in a state_dict */
    if (d->is_stat && strstr(d->name, ".running_var")) {
      mpsl_named_tensor *ct = &p->tensors[n++];
      size_t base = strlen(d->name) - strlen("running_var");
      snprintf(ct->name, sizeof ct->name, "%.*snum_batches_tracked", (int)base, d->name);
      ct->dtype = MPSL_I64;
      ct->ndims = 0;
      ct->data = p->counters[c++];
    }
  }
  *out = p->tensors;
  return n;
}

int nn_part_tensors(nn_part *p, mpsl_named_tensor **out, int trainable_only) {
  return fill_tensors(p, out, trainable_only, 0);
}
int nn_part_grad_tensors(nn_part *p, mpsl_named_tensor **out) { return fill_tensors(p, out, 1, 1); }
