/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A core_sink onto a new file that appears under its name only when complete: an
 * unnamed O_TMPFILE linked in at finish() (nothing to clean up even if tracedump is
 * SIGKILLed), or, where the filesystem lacks O_TMPFILE, a hidden temporary name in the
 * same folder renamed at finish() and removed at abort(). Mode 0600: a core holds the
 * process's secrets. Used for bundles and compressed cores, whose bytes are not sparse:
 * zeros() writes zeros.
 */
#ifndef TRACEDUMP_OUTFILE_H
#define TRACEDUMP_OUTFILE_H

#include <stdbool.h>

#include "dump/sink.h"

/*
 * -EEXIST when @path exists and !@force (checked now and again, atomically, at finish),
 * -errno of creating the file (-ENOENT: no such folder, -EACCES, -EROFS, ...).
 */
int outfile__open(const char *path, bool force, struct core_sink **out);

#endif /* TRACEDUMP_OUTFILE_H */
