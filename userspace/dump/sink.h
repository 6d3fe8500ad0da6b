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
	/*
	 * Optional (NULL: nothing to do). Called once before the first write, after
	 * size_hint is set: @size is the exact logical size of the core (holes included),
	 * @estimate the bytes that will really be written (holes excluded, before
	 * compression). A file sink checks free space here; a tar entry writes its header.
	 * 0 or -errno (-ENOSPC: refused, nothing written).
	 */
	int (*begin)(struct core_sink *s, uint64_t size, uint64_t estimate);
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
	char why[256];	     /* set by a failing callback: what failed, for the message */
};

static inline int core_sink__begin(struct core_sink *s, uint64_t size, uint64_t estimate)
{
	s->size_hint = size;
	return s->begin ? s->begin(s, size, estimate) : 0;
}

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
