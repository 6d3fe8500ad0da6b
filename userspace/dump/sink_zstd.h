/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A core_sink that compresses what it is given into one zstd frame and writes the
 * compressed bytes into another core_sink (a file, an archive stream). Multi-threaded
 * when this libzstd was built with worker support; single-threaded otherwise, with a
 * note saying so. A compressed stream has no holes: zeros() feeds zeros to the
 * compressor from a small reused buffer, and they compress to almost nothing.
 */
#ifndef TRACEDUMP_SINK_ZSTD_H
#define TRACEDUMP_SINK_ZSTD_H

#include "dump/sink.h"

#define SINK_ZSTD_SUFFIX ".zst"
#define SINK_ZSTD_DEFAULT_LEVEL 1 /* the target is stopped while the core is compressed */
#define SINK_ZSTD_MAX_WORKERS 4 /* a dump must not take every core of a production host */
#define SINK_ZSTD_IN_LINE (-1)

struct sink_zstd_opts {
	int level;   /* 0: SINK_ZSTD_DEFAULT_LEVEL */
	int workers; /* compression threads; 0: online CPUs, at most SINK_ZSTD_MAX_WORKERS;
			SINK_ZSTD_IN_LINE: none, compress in the caller's thread. Threads
			need a libzstd with worker support, else it runs in line */
};

/*
 * Creates the sink in *@out. It owns @dest from then on: finish() ends the frame and
 * finishes @dest, abort() aborts @dest, free() frees @dest. When @dest->size_hint is
 * unset it stays unset (the compressed size is unknown). A size_hint set on the new
 * sink before the first write is written into the frame header as the content size
 * and checked at finish(). On error @dest is left to the caller. 0 or -errno.
 */
int sink_zstd__open(struct core_sink *dest, const struct sink_zstd_opts *opts,
		    struct core_sink **out);

/* Compression threads in use: 0 when compressing in the caller's thread. */
int sink_zstd__workers(const struct core_sink *s);
int sink_zstd__level(const struct core_sink *s);

/*
 * How many workers this libzstd allows: 0 when it was built without multi-threading.
 * @note (may be NULL) gets a static sentence saying why compression runs in line, or
 * NULL when workers are available.
 */
int sink_zstd_max_workers(const char **note);

#endif /* TRACEDUMP_SINK_ZSTD_H */
