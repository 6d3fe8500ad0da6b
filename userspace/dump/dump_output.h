/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What `dump` writes besides a plain sparse core: a zstd-compressed core (--compress
 * zstd: NAME.core.zst) or a bundle (--bundle zip|tar: the core, the executable, the
 * mapped libraries and metadata.json in one archive, docs/bundle.md). dump.c asks for
 * the sink here and calls dump_output__finish() once the dumper has finished the core.
 */
#ifndef TRACEDUMP_DUMP_OUTPUT_H
#define TRACEDUMP_DUMP_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

#include "dump/sink.h"

enum dump_bundle {
	DUMP_BUNDLE_NONE,
	DUMP_BUNDLE_ZIP,
	DUMP_BUNDLE_TAR,
};

/* dump_output_opts.dest exists (serve streams bundles through it). */
#define DUMP_OUTPUT_HAS_DEST 1

struct dump_output_opts {
	enum dump_bundle bundle;
	bool zstd;  /* --compress zstd: a .core.zst, or a .tar.zst bundle */
	bool force; /* replace an existing file */
	/* A bundle written into this sink rather than a file at the path (serve streams
	 * it); the bundle owns it from dump_output__open on. */
	struct core_sink *dest;
};

struct dump_output;

/* Parses --bundle's "zip" / "tar" and --compress's "zstd"; -EINVAL otherwise. */
int dump_output__parse_bundle(const char *s, enum dump_bundle *out);
int dump_output__parse_compress(const char *s, bool *zstd);

/* Why @o is refused, or NULL: zip with zstd (unzip cannot read zstd entries). */
const char *dump_output__refusal(const struct dump_output_opts *o);

/* The default file name's ending: ".core", ".core.zst", ".zip", ".tar", ".tar.zst". */
const char *dump_output__suffix(const struct dump_output_opts *o);

/*
 * Opens what @path will be and returns in *@sink the sink the dumper writes the core
 * into. For a bundle, @core_name is the core's name inside it, and the process's
 * files and its `show` object are collected now, before the target is frozen.
 * 0 or -errno with @why set. *@out goes to dump_output__free in every case.
 */
int dump_output__open(const struct dump_output_opts *o, pid_t pid, const char *path,
		      const char *core_name, struct dump_output **out, struct core_sink **sink,
		      char *why, size_t why_len);

/*
 * After the dumper finished the core: a bundle gets metadata.json (the process, the
 * dump options, the dumper's @result, timings) and its final name. Adds to @result
 * what the output adds ("bundle" or "compression"; bytes_written becomes the size of
 * the archive). 0 or -errno with @why set; on failure no file remains.
 */
int dump_output__finish(struct dump_output *d, json_t *result, char *why, size_t why_len);

void dump_output__free(struct dump_output *d);

#endif /* TRACEDUMP_DUMP_OUTPUT_H */
