/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Opening what `analyze` is given: a core, a zstd-compressed core (.core.zst), or a
 * bundle (.zip, .tar, .tar.zst from `dump --bundle`, docs/bundle.md) read with libarchive
 * into a private temporary folder that becomes the sysroot.
 */
#ifndef TRACEDUMP_ANALYZE_UNPACK_H
#define TRACEDUMP_ANALYZE_UNPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

enum input_kind {
	INPUT_CORE,		/* an ELF core, read in place */
	INPUT_COMPRESSED_CORE,	/* one compressed file: decompressed into the temp folder */
	INPUT_BUNDLE,		/* an archive: extracted into the temp folder */
	INPUT_FOLDER,		/* a bundle already extracted: read in place */
};

struct unpacked {
	enum input_kind kind;
	char *dir;	 /* the temporary folder (removed by unpack__free), the extracted
			    bundle's folder (kept), or NULL */
	bool keep_dir;
	char *core;	 /* the core to read */
	char *exe;	 /* the executable inside dir (bundles), or NULL */
	char *exe_orig;	 /* its path on the machine it came from */
	json_t *metadata; /* metadata.json of a bundle, or NULL */
};

/*
 * Opens @path (a file, or the folder of an extracted bundle). -ENOENT/-EACCES from open, -ENOEXEC when it is none of the above (or a
 * bundle without a core), -ENOSPC and other errors from extracting; @why says more.
 */
int unpack__open(const char *path, struct unpacked *u, char *why, size_t why_len);
void unpack__free(struct unpacked *u);

/* Removes a folder tree without following symlinks. */
int unpack__remove_tree(const char *dir);

/* A member name is safe to extract: relative, no ".." component, not empty. */
int unpack__safe_name(const char *name);

#endif /* TRACEDUMP_ANALYZE_UNPACK_H */
