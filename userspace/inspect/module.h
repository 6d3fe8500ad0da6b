/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pure helpers behind `modules` / `module` (userspace/inspect/module.c): grouping the
 * lines of /proc/PID/maps into modules, with no I/O, unit-tested in
 * tests/unit/test_module.c.
 *
 * A module is one mapped instance of a file (or the vDSO): every mapping of the same
 * file (same device, inode, path and deleted flag) joins the module of that file seen
 * last, except that a mapping at file offset 0 starts a new instance when that module
 * already has one (the file was mapped twice, e.g. by dlmopen or two mmap calls).
 * Anonymous mappings, [heap], [stack], [vvar], [vsyscall] and the like are not modules.
 */
#ifndef TRACEDUMP_INSPECT_MODULE_H
#define TRACEDUMP_INSPECT_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/procfs.h"

struct module_mapping {
	uint64_t start, end, offset;
	char perms[5];
};

enum module_kind {
	MODULE_FILE,
	MODULE_VDSO,
};

struct module {
	char *path; /* malloc'd; " (deleted)" already stripped; "[vdso]" for the vDSO */
	enum module_kind kind;
	bool deleted;
	unsigned dev_major, dev_minor;
	uint64_t inode;
	uint64_t base; /* start of the lowest mapping */
	uint64_t size; /* sum of the mappings' sizes */
	struct module_mapping *maps;
	size_t nmaps;
};

struct module_set {
	struct module *mods; /* ascending by base when lines come in address order */
	size_t count, cap;
};

/* Whether @m counts as (part of) a module, and which kind; false for the rest. */
bool module_map_kind(const struct proc_map *m, enum module_kind *kind);

/* Adds one maps line: 0 when added, 1 when it is not part of a module, -ENOMEM. */
int module_set__add(struct module_set *set, const struct proc_map *m);
void module_set__free(struct module_set *set);

/* The module whose base is exactly @base, or NULL. */
const struct module *module_set__find(const struct module_set *set, uint64_t base);

/* The last path component ("libc.so.6" of "/usr/lib/x86_64-linux-gnu/libc.so.6"). */
const char *module_basename(const char *path);

/*
 * The version a shared-object name carries: "1.2.13" for "libz.so.1.2.13", "6" for
 * "libc.so.6"; "" (return 0) when there is none; 1 when found.
 */
int module_name_version(const char *name, char *out, size_t size);

#endif /* TRACEDUMP_INSPECT_MODULE_H */
