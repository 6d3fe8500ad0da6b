/* SPDX-License-Identifier: GPL-2.0-only */
/* User addresses of a live process to symbol+offset and module, with elfutils libdwfl. */
#ifndef TRACEDUMP_TRACE_SYMBOLIZE_H
#define TRACEDUMP_TRACE_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

struct symbolizer;

struct symbolizer *symbolizer__new(void);
void symbolizer__free(struct symbolizer *s);

/* {"address": "0x..", "symbol": "main", "offset": 18, "module": "/usr/bin/x"}; symbol
 * and module are null when unknown. Matches event_json_ctx.frame. */
json_t *symbolizer__frame(void *s, pid_t pid, uint64_t addr, bool return_address);

#endif /* TRACEDUMP_TRACE_SYMBOLIZE_H */
