/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where a core goes. The core writer appends bytes in order and never seeks back;
 * a sink turns that stream into a sparse file (temporary name, renamed when complete),
 * a zstd stream, an archive entry (--bundle) or an HTTP response (serve).
 */
#ifndef TRACEDUMP_SINK_H
#define TRACEDUMP_SINK_H

#include <stddef.h>
#include <stdint.h>

struct core_sink {
	/* Appends @len bytes; 0 or -errno (-ENOSPC, -EPIPE, ...). */
	int (*write)(struct core_sink *s, const void *buf, size_t len);
	/* Appends @len zero bytes; a file sink leaves a hole instead of writing them. */
	int (*zeros)(struct core_sink *s, uint64_t len);
	/* The core is complete: flush, make it visible under its final name. 0 or -errno. */
	int (*finish)(struct core_sink *s);
	/* Something failed: discard everything written (no partial file remains). */
	void (*abort)(struct core_sink *s);
	/* Releases the sink itself, after finish or abort. */
	void (*free)(struct core_sink *s);

	uint64_t offset;     /* logical bytes appended so far, holes included */
	uint64_t size_hint;  /* total logical size when known before writing, else 0 */
	uint64_t bytes_out;  /* bytes that really reached the destination (after holes,
				compression) */
};

static inline int core_sink__write(struct core_sink *s, const void *buf, size_t len)
{
	int err = s->write(s, buf, len);

	if (!err)
		s->offset += len;
	return err;
}

static inline int core_sink__zeros(struct core_sink *s, uint64_t len)
{
	int err = s->zeros(s, len);

	if (!err)
		s->offset += len;
	return err;
}

#endif /* TRACEDUMP_SINK_H */
