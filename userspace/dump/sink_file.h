/* SPDX-License-Identifier: GPL-2.0-only */
/* The file sink: a sparse core under a temporary name, made visible when complete. */
#ifndef TRACEDUMP_SINK_FILE_H
#define TRACEDUMP_SINK_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * A file sink is seekable: the pre-copy snapshot (precopy.h) writes memory where it
 * belongs, as often as it changes. True for a sink from sink_file__open().
 */
bool sink_file__is(const struct core_sink *s);

/* Writes @len bytes at @off (the logical size grows to cover them); 0 or -errno. */
int sink_file__pwrite(struct core_sink *s, const void *buf, size_t len, uint64_t off);

/* Makes [@off, @off + @len) zeros again (a hole where the filesystem can); 0 or -errno. */
int sink_file__punch(struct core_sink *s, uint64_t off, uint64_t len);

#endif /* TRACEDUMP_SINK_FILE_H */
