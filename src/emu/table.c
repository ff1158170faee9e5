/* Layer tables in the timing modes (emu/table.h). */
#include "emu/table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

void emu_table_profile(const mpsl_model *m, const mpsl_table_device *d, mpsl_profile *out) {
  const mpsl_table *t = m->table;
  memset(out, 0, sizeof *out);
  snprintf(out->model, sizeof out->model, "%s", m->name);
  snprintf(out->host, sizeof out->host, "%s", d->name);
  out->batch = t->batch;
  out->classes = m->classes;
  out->channels = m->channels;
  out->size = m->size;
  out->width = 1;
  out->nlayers = t->nlayers;
  out->layers = mpsl_xcalloc((size_t)t->nlayers, sizeof *out->layers, "table profile");
  for (int i = 0; i < t->nlayers; i++) {
    mpsl_profile_layer *r = &out->layers[i];
    const double *ms = &d->ms[3 * i];
    r->index = i + 1;
    snprintf(r->name, sizeof r->name, "%s", t->layers[i].name);
    snprintf(r->kind, sizeof r->kind, "table");
    r->fwd_s = r->fwd_min_s = r->fwd_max_s = 1e-3 * ms[0];
    r->bwd_s = r->bwd_min_s = r->bwd_max_s = 1e-3 * ms[1];
    r->update_s = r->update_min_s = r->update_max_s = 1e-3 * ms[2];
    r->params_bytes = r->grads_bytes = r->optim_bytes = t->layers[i].param_bytes;
    r->out_bytes = t->layers[i].act_bytes;
    r->act_bytes = t->layers[i].act_bytes; /* its output; a part's input counts once more (input_once) */
    out->layers_step_s += 1e-3 * (ms[0] + ms[1] + ms[2]);
  }
  out->whole_step_s = out->whole_step_min_s = out->whole_step_max_s = out->layers_step_s;
  out->disturbed = t->disturbed;
  out->cpu_ratio = t->cpu_ratio;
  out->others_load = t->others_load;
}

void emu_table_part_memory(const mpsl_model *m, int first, int last, nn_mem_stats *out) {
  const mpsl_table *t = m->table;
  memset(out, 0, sizeof *out);
  if (first > last) return;
  /* the input of layer 1 is the data batch */
  out->activations = first > 1 ? t->layers[first - 2].act_bytes
                               : (int64_t)m->channels * m->size * m->size * t->batch * (int64_t)sizeof(float);
  for (int i = first; i <= last; i++) {
    out->params += t->layers[i - 1].param_bytes;
    out->activations += t->layers[i - 1].act_bytes;
  }
  out->grads = out->optim = out->params;
}

int emu_profile_write_table(const mpsl_profile *p, const char *dev, FILE *f, const char *what) {
  fprintf(f, "# mpsl layer table (docs/table.md), written by mpsl profile --csv\n");
  fprintf(f, "# batch = %d\n", p->batch);
  fprintf(f, "# model = %s, %d classes, input %dx%dx%d, width %g\n", p->model, p->classes, p->channels, p->size,
          p->size, p->width);
  fprintf(f, "# source = mpsl %s profile, oneDNN %s, %d threads, median of %d runs after %d warm-up\n", p->mpsl_version,
          p->dnnl_version, p->threads, p->reps, p->warmup);
  fprintf(f, "# host = %s\n# date = %s\n", p->host, p->date);
  /* whether the cores were busy while it was measured: commands reading the table warn */
  fprintf(f, "# disturbed = %d\n# cpu_ratio = %.3f\n# others_load = %.3f\n", p->disturbed, p->cpu_ratio,
          p->others_load);
  fprintf(f, "index,layer,activation_kib,parameter_kib,%s_fwd_ms,%s_bwd_ms,%s_opt_ms\n", dev, dev, dev);
  for (int i = 0; i < p->nlayers; i++) {
    const mpsl_profile_layer *r = &p->layers[i];
    fprintf(f, "%d,%s,%.6f,%.6f,%.9g,%.9g,%.9g\n", r->index, r->name, (double)r->out_bytes / 1024,
            (double)r->params_bytes / 1024, 1e3 * r->fwd_s, 1e3 * r->bwd_s, 1e3 * r->update_s);
  }
  if (fflush(f) || ferror(f)) return mpsl_fail("%s: write error (%s)", what, strerror(errno));
  return 0;
}
