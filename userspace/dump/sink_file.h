/* SPDX-License-Identifier: GPL-2.0-only */
/* The file sink: a sparse core under a temporary name, made visible when complete. */
#ifndef TRACEDUMP_SINK_FILE_H
#define TRACEDUMP_SINK_FILE_H

#include <stdbool.h>

#include "dump/sink.h"

/*
 * Opens a sink writing @path. Nothing is visible under @path until finish(); abort()
 * and a killed tracedump leave nothing behind (O_TMPFILE, or a hidden ".NAME.tmp"
 * on filesystems without it). -EEXIST when @path exists and !@force; -errno from
 * open otherwise, with the reason in @why.
 */
int sink_file__open(const char *path, bool force, struct core_sink **out, char *why,
		    size_t why_len);

/* The final path of a file sink (for the result). */
const char *sink_file__path(const struct core_sink *s);

#endif /* TRACEDUMP_SINK_FILE_H */
