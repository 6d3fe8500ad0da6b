/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `dump --bundle`: one archive that is enough to debug a core on another machine.
 *
 *   <core>                 the core, streamed in as the dumper writes it
 *   metadata.json          the caller's object (process, dump options, timings) with a
 *                          "bundle" member added: what was stored, linked or skipped
 *   README.txt             the gdb, lldb and eu-stack commands for this bundle
 *   usr/bin/app, usr/lib/x86_64-linux-gnu/libc.so.6, ...
 *                          the executable and every file mapped executable, at its
 *                          absolute path, read through /proc/PID/map_files (deleted and
 *                          other-namespace files work) or /proc/PID/root
 *   lib64 -> usr/lib64, .../libz.so.1 -> libz.so.1.2.13, ...
 *                          the symlinks the dynamic loader went through (the names in
 *                          the target's link_map), so that `set sysroot DIR` finds every
 *                          library under the name gdb reads from the core
 *   .build-id/ab/cdef...   symlinks by build-id, for eu-stack --debuginfo-path=DIR
 *
 * Formats: zip (files deflated, the core stored: deflate is too slow to run while the
 * target is stopped; ZIP64 when an entry or the archive passes 4 GiB) or pax tar,
 * optionally through the zstd sink (.tar.zst). Uncompressed, the core's zeros become
 * holes in the archive file, as in a plain core. The archive is written under a temporary
 * name and appears under its final name only when bundle__finish() succeeds; on any
 * failure nothing is left behind. The core is never held in memory or a temp file.
 *
 * Order of calls: bundle__open, bundle__add_process_files (before freezing the target:
 * copying files does not need it stopped), bundle__core_sink and the dump through it,
 * bundle__finish with the metadata (or bundle__abort), bundle__free.
 */
#ifndef TRACEDUMP_BUNDLE_H
#define TRACEDUMP_BUNDLE_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>

#include "dump/sink.h"
#include "dump/sink_zstd.h"

enum bundle_format {
	BUNDLE_ZIP,
	BUNDLE_TAR,
};

/* Deflate level of zip entries: 1 is several times faster than zlib's default 6 on
 * memory and costs a few percent of size; a core is mostly written once, read once. */
#define BUNDLE_ZIP_LEVEL 1

struct bundle_opts {
	enum bundle_format format;
	bool zstd;		    /* tar only: compress the whole archive (.tar.zst) */
	struct sink_zstd_opts zstd_opts;
	bool force;		    /* replace an existing file of the same name */
	int zip_level;		    /* 1-9; 0: BUNDLE_ZIP_LEVEL */
};

struct bundle;

/* The file name suffix for @opts: ".zip", ".tar" or ".tar.zst". */
const char *bundle_suffix(const struct bundle_opts *opts);

/*
 * Starts the archive that will be @path. -EEXIST when @path exists and !force,
 * -EINVAL for zip with zstd, -errno of creating the temporary file. *@out (NULL only
 * for bad options or no memory) goes to bundle__free in every case; after a failure
 * bundle__error() says why.
 */
int bundle__open(const char *path, const struct bundle_opts *opts, struct bundle **out);

/*
 * The same, writing the archive into @dest instead of a file (serve streams it to an
 * HTTP client). @dest belongs to the bundle from then on, even on failure: it is
 * finished, aborted and freed with it. Zeros reach @dest through its zeros().
 */
int bundle__open_sink(struct core_sink *dest, const struct bundle_opts *opts,
		      struct bundle **out);

/*
 * Stores the executable of @pid and every file it maps executable, the loader's
 * symlinks to them, and the build-id links. A file that cannot be read is skipped and
 * listed in metadata ("skipped"), not an error; -errno for an archive write failure or
 * when @pid is gone (-ESRCH). Call it again after the core (files are allowed after
 * it) to catch what the process loaded during the dump: what is stored stays.
 */
int bundle__add_process_files(struct bundle *b, pid_t pid);

/*
 * Adds one file from the local filesystem at @archive_path (relative, no "..").
 * For tests and for extra files; bundle__add_process_files uses the same path.
 */
int bundle__add_file(struct bundle *b, const char *src, const char *archive_path);

/*
 * The core entry @name at the top of the archive, as a sink: its size is the sink's
 * size_hint, which must be set before the first write for tar (zip takes an unknown
 * size too). write() and zeros() stream into the archive; finish() ends the entry
 * (the archive stays open for metadata); abort() aborts the whole bundle; free()
 * releases the sink only. One core per bundle.
 */
int bundle__core_sink(struct bundle *b, const char *name, struct core_sink **out);

/*
 * Adds "bundle" to @metadata (borrowed, modified), writes README.txt and metadata.json,
 * completes the archive and gives it its final name. On failure the bundle is aborted.
 */
int bundle__finish(struct bundle *b, json_t *metadata);

/* Discards the bundle: the temporary file is removed. Safe to call twice. */
void bundle__abort(struct bundle *b);
void bundle__free(struct bundle *b);

/* The last error in words (libarchive's message, or what was refused), "" if none. */
const char *bundle__error(const struct bundle *b);

/* Bytes of the archive that reached the disk so far (holes excluded), and the
 * archive's size (holes included; compressed when zstd). */
uint64_t bundle__bytes_out(const struct bundle *b);
uint64_t bundle__size(const struct bundle *b);

/* The archive path of the executable ("usr/bin/app"), NULL before add_process_files. */
const char *bundle__exe_path(const struct bundle *b);

/* Path helpers behind the loader's symlinks, pure, for tests/unit/test_bundle.c. */
/* Lexically normalises absolute @path in place ("/a/./b/../c" -> "/a/c"); ".." at the
 * root stays at the root. */
void bundle_path_normalize(char *path);
/* @target (absolute, normalised) as a link text relative to the folder of @link
 * (absolute): "/usr/lib64" seen from "/lib64" is "usr/lib64". */
void bundle_path_relative(const char *link, const char *target, char *out, size_t size);

#endif /* TRACEDUMP_BUNDLE_H */
