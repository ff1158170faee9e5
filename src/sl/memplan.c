/* The memory plan of a configuration (sl/memplan.h): per rank, from one instance of each
 * distinct part and the protocol's buffers, checked against the devices' caps. The
 * buffer arithmetic below mirrors the allocations of compute_node.c, data_owner.c and
 * aggregator.c; tests/check_memory.c holds the two equal on a real run. */
#include "sl/memplan.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data.h"
#include "emu/device.h"
#include "emu/table.h"
#include "nn/nn.h"
#include "nn/replica.h"
#include "sl/compute.h"
#include "util/bytes.h"
#include "util/err.h"

/* What the plan needs of one part: its memory as nn_part_new allocated it, its edges and
 * the length of its state vector (FedAvg buffers are sized by it). */
typedef struct {
  int first, last;
  nn_mem_stats mem;
  int64_t in, out; /* per sample */
  int64_t state;   /* doubles */
} part_info;

typedef struct {
  part_info *v;
  int n, cap;
} part_cache;

static int part_get(part_cache *pc, const mpsl_model *m, int first, int last, int batch, part_info **out) {
  for (int i = 0; i < pc->n; i++)
    if (pc->v[i].first == first && pc->v[i].last == last) {
      *out = &pc->v[i];
      return 0;
    }
  /* sized for every part of the topology up front, so pointers handed out stay valid */
  if (pc->n == pc->cap) MPSL_DIE("more distinct parts than the topology has (%d)", pc->cap);
  if (m->table) {
    /* a layer table: its own bytes (docs/table.md); edges per sample from the cut bytes */
    part_info *pi = &pc->v[pc->n++];
    pi->first = first;
    pi->last = last;
    emu_table_part_memory(m, first, last, &pi->mem);
    pi->in = first > 1 ? (mpsl_model_out_bytes(m, first - 1, batch) / 4 + batch - 1) / batch
                       : (int64_t)m->channels * m->size * m->size;
    pi->out = last >= first ? (mpsl_model_out_bytes(m, last, batch) / 4 + batch - 1) / batch : pi->in;
    pi->state = (emu_state_bytes(m, first, last) + 7) / 8; /* in doubles, as the plan sizes buffers */
    *out = pi;
    return 0;
  }
  nn_part *p = nn_part_new_sizing(m, first, last, batch);
  if (!p) return -1;
  part_info *pi = &pc->v[pc->n++];
  pi->first = first;
  pi->last = last;
  nn_part_memory(p, &pi->mem);
  pi->in = nn_part_in_numel(p);
  pi->out = nn_part_out_numel(p);
  pi->state = nn_part_state_len(p);
  nn_part_free(p);
  *out = pi;
  return 0;
}

void sl_mem_row_add(mpsl_res_memory *r, const nn_mem_stats *s, int64_t times) {
  r->params += times * s->params;
  r->grads += times * s->grads;
  r->optim += times * s->optim;
  r->stats += times * s->stats;
  r->weight_copies += times * s->weight_copies;
  r->activations += times * s->activations;
  r->act_grads += times * s->act_grads;
  r->scratch += times * s->scratch;
  r->workspace += times * s->workspace;
}

int64_t sl_mem_row_total(const mpsl_res_memory *r) {
  return r->params + r->grads + r->optim + r->stats + r->weight_copies + r->activations + r->act_grads + r->scratch +
         r->workspace + r->buffers;
}

int64_t sl_dataset_bytes(const char *name, int train) {
  /* the images as the loader keeps them (uint8, unpadded) plus one label byte each */
  mpsl_dataset_facts f;
  if (mpsl_dataset_facts_of(name, &f)) return 0;
  return (train ? f.train : f.test) * ((int64_t)f.channels * f.side * f.side + 1);
}

static int64_t dataset_samples(const char *name) {
  mpsl_dataset_facts f;
  return mpsl_dataset_facts_of(name, &f) ? 0 : f.train;
}

int64_t sl_rss_now(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long long size = 0, resident = 0;
  int ok = fscanf(f, "%lld %lld", &size, &resident) == 2;
  fclose(f);
  long page = sysconf(_SC_PAGESIZE);
  return ok && page > 0 ? (int64_t)resident * page : 0;
}

/* The devices of the configuration's keys, from its catalogues (emu_devices_load). */
typedef struct {
  mpsl_devices cat;
  const mpsl_device **owner; /* (K) */
  const mpsl_device **cn;    /* (R*H) */
  const mpsl_device *agg;
} plan_devices;

static int devices_from_config(plan_devices *d, const sl_config *c, const mpsl_model *m, const sl_topo *t) {
  d->owner = mpsl_xcalloc((size_t)t->K, sizeof *d->owner, "devices");
  d->cn = mpsl_xcalloc((size_t)(t->R * t->H), sizeof *d->cn, "devices");
  if (emu_devices_load(&d->cat, c, m)) return -1;
  if (emu_parse_mix(&d->cat, "do_devices", c->do_devices, t->K, d->owner) ||
      emu_parse_mix(&d->cat, "cn_devices", c->cn_devices, t->R * t->H, d->cn))
    return -1;
  d->agg = mpsl_device_find(&d->cat, c->agg_device);
  if (!d->agg) return mpsl_fail("agg_device = %s: %s", c->agg_device, mpsl_errmsg());
  return 0;
}

static void devices_free(plan_devices *d) {
  free(d->owner);
  free(d->cn);
  mpsl_devices_free(&d->cat);
}

static void plan_compute(sl_memrank *r, const sl_config *c, const sl_topo *t, const part_info *pi,
                         const mpsl_device *dev) {
  int64_t n = sl_pipeline_owners(t, r->pipeline), B = c->batch;
  r->copies = (int)n;
  r->first = pi->first;
  r->last = pi->last;
  sl_mem_row_add(&r->mem, &pi->mem, n);
  /* per copy its buffers; one FedAvg accumulator */
  int64_t per_copy_buf = sl_copy_layout_bytes(&(sl_copy_layout){pi->in * B, pi->out * B});
  r->mem.buffers = n * per_copy_buf + (n ? pi->state * (int64_t)sizeof(double) : 0);
  r->per_copy = nn_mem_total(&pi->mem) + per_copy_buf;
  r->mem.cap = dev ? dev->memory : 0;
  snprintf(r->device, sizeof r->device, "%s", dev ? dev->name : "-");
}

static void plan_owner(sl_memrank *r, const sl_config *c, const mpsl_model *m, const sl_topo *t, const part_info *m1,
                       const part_info *mp, const mpsl_device **owner_dev) {
  int first, n;
  sl_rank_owners(t, r->mem.rank, &first, &n);
  int64_t B = c->batch;
  r->owner_first = first;
  r->copies = n;
  r->first = m1->first, r->last = m1->last;
  r->first2 = mp->first, r->last2 = mp->last;
  sl_mem_row_add(&r->mem, &m1->mem, n);
  sl_mem_row_add(&r->mem, &mp->mem, n);
  /* per owner its buffers; one state buffer of M_1 + M_P for the whole rank */
  int64_t per_owner_buf =
      sl_owner_layout_bytes(&(sl_owner_layout){m1->in * B, m1->out * B, mp->in * B, (int64_t)m->classes * B});
  int64_t state = (m1->state + mp->state) * (int64_t)sizeof(double);
  r->mem.buffers = n * per_owner_buf + state;
  r->per_copy = nn_mem_total(&m1->mem) + nn_mem_total(&mp->mem) + per_owner_buf + state;
  /* the rank loads the whole training set and its partition into K shards (a backend
   * that trains nothing reads no data) */
  if (sl_compute_find(c->compute)->trains)
    r->mem.dataset = sl_dataset_bytes(c->dataset, 1) + dataset_samples(c->dataset) * (int64_t)sizeof(int64_t);
  int64_t cap = 0;
  int capped = 1;
  r->over = 0;
  for (int i = 0; i < n; i++) {
    const mpsl_device *d = owner_dev ? owner_dev[first + i] : NULL;
    int64_t dc = d ? d->memory : 0;
    capped = capped && dc > 0;
    cap += dc;
    if (dc > 0 && r->per_copy > dc && !r->over) {
      r->over = 1;
      r->over_owner = first + i;
      r->over_cap = dc;
      snprintf(r->over_device, sizeof r->over_device, "%s", d->name);
    }
  }
  r->mem.cap = capped ? cap : 0;
  const mpsl_device *d0 = n && owner_dev ? owner_dev[first] : NULL;
  snprintf(r->device, sizeof r->device, "%s", d0 ? d0->name : "-");
  for (int i = 1; i < n && d0; i++)
    if (owner_dev[first + i] != d0) snprintf(r->device, sizeof r->device, "mixed");
}

static int plan_aggregator(sl_memrank *r, part_cache *pc, const sl_config *c, const mpsl_model *m, const sl_topo *t,
                           const mpsl_device *dev) {
  int64_t len1 = 0, lenp = 0, most = 0;
  for (int p = 0; p < t->P; p++) {
    part_info *pi;
    if (part_get(pc, m, t->first[p], t->last[p], c->batch, &pi)) return -1;
    sl_mem_row_add(&r->mem, &pi->mem, 1);
    if (p == 0) len1 = pi->state;
    if (p == t->P - 1) lenp = pi->state;
    if (p > 0 && p < t->P - 1 && pi->state > most) most = pi->state;
  }
  if (len1 + lenp > most) most = len1 + lenp;
  r->copies = 1;
  r->first = 1;
  r->last = m->nlayers;
  r->mem.buffers = (len1 + lenp + most) * (int64_t)sizeof(double);
  if (sl_compute_find(c->compute)->trains) r->mem.dataset = sl_dataset_bytes(c->dataset, 0);
  r->mem.cap = dev ? dev->memory : 0;
  snprintf(r->device, sizeof r->device, "%s", dev ? dev->name : "-");
  return 0;
}

int sl_memplan_build(sl_memplan *p, const sl_config *c, const mpsl_model *m, const sl_topo *t, const emu_scenario *s,
                     int rank) {
  memset(p, 0, sizeof *p);
  p->n = t->nranks;
  p->row = mpsl_xcalloc((size_t)p->n, sizeof *p->row, "memory plan");
  plan_devices d = {0};
  const mpsl_device **owner_dev, **cn_dev, *agg_dev;
  if (s) {
    owner_dev = s->owner_dev, cn_dev = s->cn_dev, agg_dev = s->agg_dev;
  } else {
    if (devices_from_config(&d, c, m, t)) {
      devices_free(&d);
      sl_memplan_free(p);
      return -1;
    }
    owner_dev = d.owner, cn_dev = d.cn, agg_dev = d.agg;
  }
  /* the aggregator's parts are the same layer ranges as the others': at most P distinct */
  part_cache pc = {mpsl_xcalloc((size_t)t->P, sizeof(part_info), "part cache"), 0, t->P};
  int rc = 0;
  for (int r = 0; r < p->n && !rc; r++) {
    if (rank >= 0 && r != rank) continue;
    sl_memrank *row = &p->row[r];
    row->mem.rank = r;
    row->mem.role = (int32_t)sl_rank_role(t, r, &row->pipeline, &row->hop);
    if (row->mem.role == SL_AGGREGATOR) {
      rc = plan_aggregator(row, &pc, c, m, t, agg_dev);
    } else if (row->mem.role == SL_COMPUTE) {
      part_info *pi;
      rc = part_get(&pc, m, t->first[row->hop + 1], t->last[row->hop + 1], c->batch, &pi);
      if (!rc) plan_compute(row, c, t, pi, cn_dev ? cn_dev[row->pipeline * t->H + row->hop] : NULL);
    } else {
      part_info *m1, *mp;
      rc = part_get(&pc, m, t->first[0], t->last[0], c->batch, &m1);
      if (!rc) rc = part_get(&pc, m, t->first[t->P - 1], t->last[t->P - 1], c->batch, &mp);
      if (!rc) plan_owner(row, c, m, t, m1, mp, owner_dev);
    }
    if (rc) break;
    row->mem.accounted = sl_mem_row_total(&row->mem);
    if (row->mem.role != SL_OWNER) row->over = row->mem.cap > 0 && row->mem.accounted > row->mem.cap;
  }
  free(pc.v);
  devices_free(&d);
  if (rc) sl_memplan_free(p);
  return rc;
}

void sl_memplan_free(sl_memplan *p) {
  free(p->row);
  memset(p, 0, sizeof *p);
}

static void layer_span(const mpsl_model *m, int first, int last, char *buf, int cap) {
  if (first > last)
    snprintf(buf, (size_t)cap, "no layers (the loss only)");
  else if (first == last)
    snprintf(buf, (size_t)cap, "layer %d %s", first, m->layers[first - 1].name);
  else
    snprintf(buf, (size_t)cap, "layers %d..%d %s..%s", first, last, m->layers[first - 1].name,
             m->layers[last - 1].name);
}

void sl_memrank_explain(const sl_memrank *r, const mpsl_model *m, char *buf, int cap) {
  char a[160], b[160], need[32], has[32];
  const mpsl_res_memory *x = &r->mem;
  layer_span(m, r->first, r->last, a, sizeof a);
  if (x->role == SL_COMPUTE) {
    snprintf(buf, (size_t)cap,
             "rank %d (compute node, pipeline %d hop %d, part %s): needs %s for %d %s but device '%s' has %s", x->rank,
             r->pipeline, r->hop + 1, a, mpsl_bytes_str(x->accounted, need, sizeof need), r->copies,
             r->copies == 1 ? "copy" : "copies", r->device, mpsl_bytes_str(x->cap, has, sizeof has));
  } else if (x->role == SL_OWNER && !r->over) {
    /* at run time the rank as a whole against the sum of its owners' devices */
    layer_span(m, r->first2, r->last2, b, sizeof b);
    snprintf(buf, (size_t)cap,
             "rank %d (data owner, owners %d..%d, parts M_1 %s and M_P %s): needs %s for %d data %s but %s %s %s",
             x->rank, r->owner_first, r->owner_first + r->copies - 1, a, b,
             mpsl_bytes_str(x->accounted, need, sizeof need), r->copies, r->copies == 1 ? "owner" : "owners",
             r->copies == 1 ? "its device" : "their devices", r->copies == 1 ? "has" : "have",
             mpsl_bytes_str(x->cap, has, sizeof has));
  } else if (x->role == SL_OWNER) {
    layer_span(m, r->first2, r->last2, b, sizeof b);
    snprintf(buf, (size_t)cap,
             "rank %d (data owner, owners %d..%d, parts M_1 %s and M_P %s): data owner %d needs %s for its parts "
             "and buffers but device '%s' has %s",
             x->rank, r->owner_first, r->owner_first + r->copies - 1, a, b, r->over_owner,
             mpsl_bytes_str(r->per_copy, need, sizeof need), r->over_device,
             mpsl_bytes_str(r->over_cap, has, sizeof has));
  } else {
    snprintf(buf, (size_t)cap, "rank %d (aggregator, the whole model, %s): needs %s but device '%s' has %s", x->rank, a,
             mpsl_bytes_str(x->accounted, need, sizeof need), r->device, mpsl_bytes_str(x->cap, has, sizeof has));
  }
}

void sl_memplan_print(const sl_memplan *p, const sl_config *c, const mpsl_model *m, const sl_topo *t, FILE *f) {
  char h[9][32];
  fprintf(f, "# memory plan of %s, batch %d: %d data owner(s), %d pipeline(s) x %d hop(s), %d ranks; parts:", m->name,
          c->batch, t->K, t->R, t->H, t->nranks);
  for (int q = 0; q < t->P; q++) fprintf(f, " %d..%d", t->first[q], t->last[q]);
  fprintf(f,
          "\n# model = parameters + gradients + momenta + running statistics; activations = stored for backward "
          "+ activation gradients; scratch = oneDNN scratchpad + workspaces; buffers = messages, batches and "
          "FedAvg accumulators\n");
  fprintf(f, "%4s %-14s %-8s %-12s %6s %11s %11s %11s %11s %11s %11s %11s %11s %4s\n", "rank", "role", "device",
          "layers", "copies", "per_copy", "model", "w_copies", "activations", "scratch", "buffers", "total", "cap",
          "fits");
  for (int r = 0; r < p->n; r++) {
    const sl_memrank *w = &p->row[r];
    const mpsl_res_memory *x = &w->mem;
    char role[32], layers[32];
    if (x->role == SL_COMPUTE)
      snprintf(role, sizeof role, "cn p%d h%d", w->pipeline, w->hop + 1);
    else if (x->role == SL_OWNER)
      snprintf(role, sizeof role, "do %d..%d", w->owner_first, w->owner_first + w->copies - 1);
    else
      snprintf(role, sizeof role, "aggregator");
    if (x->role == SL_OWNER)
      snprintf(layers, sizeof layers, "%d..%d+%d..%d", w->first, w->last, w->first2, w->last2);
    else
      snprintf(layers, sizeof layers, "%d..%d", w->first, w->last);
    int64_t per = x->role == SL_AGGREGATOR ? x->accounted : w->per_copy;
    fprintf(f, "%4d %-14s %-8s %-12s %6d %11s %11s %11s %11s %11s %11s %11s %11s %4s\n", r, role, w->device, layers,
            w->copies, mpsl_bytes_str(per, h[0], 32),
            mpsl_bytes_str(x->params + x->grads + x->optim + x->stats, h[1], 32),
            mpsl_bytes_str(x->weight_copies, h[2], 32), mpsl_bytes_str(x->activations + x->act_grads, h[3], 32),
            mpsl_bytes_str(x->scratch + x->workspace, h[4], 32), mpsl_bytes_str(x->buffers, h[5], 32),
            mpsl_bytes_str(x->accounted, h[6], 32), x->cap ? mpsl_bytes_str(x->cap, h[7], 32) : "-",
            w->over ? "NO" : "yes");
  }
  const mpsl_res_memory *a = &p->row[0].mem;
  if (p->row[0].copies == 1) {
    /* the aggregator holds each part once: one instance of the model, by kind */
    char k[10][32];
    fprintf(f,
            "# one instance of the model (every part once, batch %d): parameters %s, gradients %s, momenta %s, "
            "running statistics %s, weight copies %s, stored activations %s, activation gradients %s, scratchpad "
            "%s, workspaces %s; total %s\n",
            c->batch, mpsl_bytes_str(a->params, k[0], 32), mpsl_bytes_str(a->grads, k[1], 32),
            mpsl_bytes_str(a->optim, k[2], 32), mpsl_bytes_str(a->stats, k[3], 32),
            mpsl_bytes_str(a->weight_copies, k[4], 32), mpsl_bytes_str(a->activations, k[5], 32),
            mpsl_bytes_str(a->act_grads, k[6], 32), mpsl_bytes_str(a->scratch, k[7], 32),
            mpsl_bytes_str(a->workspace, k[8], 32), mpsl_bytes_str(a->accounted - a->buffers, k[9], 32));
  }
  for (int r = 0; r < p->n; r++)
    if (p->row[r].over) {
      char why[1024];
      sl_memrank_explain(&p->row[r], m, why, sizeof why);
      fprintf(f, "# over the cap: %s\n", why);
    }
}

int sl_memplan_enforce(MPI_Comm world, const sl_config *c, const mpsl_model *m, const sl_topo *t, int rank,
                       sl_memrank *mine) {
  int64_t baseline = sl_rss_now();
  sl_memplan p;
  char msg[1200] = "";
  int bad = 0;
  memset(mine, 0, sizeof *mine);
  if (sl_memplan_build(&p, c, m, t, NULL, rank)) {
    int pl, hp;
    snprintf(msg, sizeof msg, "rank %d (%s): %s", rank, sl_role_name(sl_rank_role(t, rank, &pl, &hp)), mpsl_errmsg());
    bad = 1;
  } else {
    *mine = p.row[rank];
    mine->mem.baseline = baseline;
    if (mine->over) {
      char why[1024];
      sl_memrank_explain(mine, m, why, sizeof why);
      if (c->memory_check) {
        snprintf(msg, sizeof msg, "%s (memory_check = false runs it anyway)", why);
        bad = 1;
      } else {
        fprintf(stderr, "%s: warning: %s; going on because memory_check = false\n", mpsl_program(), why);
      }
    }
    sl_memplan_free(&p);
  }
  int me = bad ? rank : INT_MAX, first;
  MPI_CHECK(MPI_Allreduce(&me, &first, 1, MPI_INT, MPI_MIN, world));
  if (first == INT_MAX) return 0;
  if (first == rank) {
    fprintf(stderr, "%s: error: %s\n", mpsl_program(), msg);
    fflush(stderr);
  }
  return -1;
}
