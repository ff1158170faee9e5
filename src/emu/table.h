/* Layer tables (models/table.h, docs/table.md) as the timing modes use them: one device's
 * columns as a profile, the memory of a part from the table's bytes, and a host profile
 * written out as a table (`mpsl profile --csv`). */
#ifndef MPSL_EMU_TABLE_H
#define MPSL_EMU_TABLE_H

#include <stdio.h>

#include "emu/profile.h"
#include "models/model.h"
#include "models/table.h"
#include "nn/nn.h"

/* The profile of column set d of m's table: per layer the times in seconds (backward,
 * update = the table's bwd, opt) and the table's bytes; speed 1. Free with
 * mpsl_profile_free. */
void emu_table_profile(const mpsl_model *m, const mpsl_table_device *d, mpsl_profile *out);

/* Memory of one copy of layers first..last of a table model, as docs/table.md counts it:
 * parameters, gradients and momenta from parameter_kib, stored activations = the part's
 * input and every layer's output. An empty range (a data owner's last part that only
 * computes the loss) holds nothing. */
void emu_table_part_memory(const mpsl_model *m, int first, int last, nn_mem_stats *out);

/* p as a layer table with one device, named dev: the columns of docs/table.md (times in
 * ms from the per-layer medians, bytes from the profile). -1 with mpsl_fail on a write error. */
int emu_profile_write_table(const mpsl_profile *p, const char *dev, FILE *f, const char *what);

#endif
