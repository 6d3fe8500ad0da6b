// SPDX-License-Identifier: GPL-2.0-only
/*
 * Modules as JSON: inspect__module_list / inspect__module_detail. The mapped files of
 * /proc/PID/maps grouped per file (module.h says how), each with its ELF build-id and
 * soname read through /proc/PID/map_files/ (deleted files, other mount namespaces), or
 * /proc/PID/root/PATH when map_files is refused. docs/threads-modules.md lists the
 * fields.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/elf_info.h"
#include "common/href.h"
#include "common/jsonutil.h"
#include "common/procfs.h"
#include "inspect/inspect.h"
#include "inspect/module.h"
#include "inspect/thread.h"

/* The vDSO is a page or two; anything this big is not one. */
#define MODULE_VDSO_MAX (1u << 20)

bool module_map_kind(const struct proc_map *m, enum module_kind *kind)
{
	if (!strcmp(m->path, "[vdso]")) {
		*kind = MODULE_VDSO;
		return true;
	}
	/* Files have absolute paths; memfd and SysV shm show as "/memfd:x", "/SYSV...". */
	if (m->path[0] == '/') {
		*kind = MODULE_FILE;
		return true;
	}
	return false;
}

static bool same_file(const struct module *mod, const struct proc_map *m, enum module_kind kind)
{
	return mod->kind == kind && mod->inode == m->inode && mod->dev_major == m->dev_major &&
	       mod->dev_minor == m->dev_minor && mod->deleted == m->deleted &&
	       !strcmp(mod->path, m->path);
}

static bool has_offset0(const struct module *mod)
{
	for (size_t i = 0; i < mod->nmaps; i++)
		if (mod->maps[i].offset == 0)
			return true;
	return false;
}

static int module_append_map(struct module *mod, const struct proc_map *m)
{
	struct module_mapping *maps, *mm;

	maps = realloc(mod->maps, (mod->nmaps + 1) * sizeof(*maps));
	if (!maps)
		return -ENOMEM;
	mod->maps = maps;
	mm = &maps[mod->nmaps++];
	mm->start = m->start;
	mm->end = m->end;
	mm->offset = m->offset;
	memcpy(mm->perms, m->perms, sizeof(mm->perms));
	mm->perms[sizeof(mm->perms) - 1] = '\0';
	if (m->start < mod->base)
		mod->base = m->start;
	mod->size += m->end - m->start;
	return 0;
}

int module_set__add(struct module_set *set, const struct proc_map *m)
{
	enum module_kind kind;
	struct module *mod = NULL;
	int err;

	if (!module_map_kind(m, &kind))
		return 1;
	/* The latest instance of the same file, unless this mapping starts a new one. */
	for (size_t i = set->count; i-- > 0;) {
		if (same_file(&set->mods[i], m, kind)) {
			if (m->offset != 0 || !has_offset0(&set->mods[i]))
				mod = &set->mods[i];
			break;
		}
	}
	if (!mod) {
		if (set->count == set->cap) {
			size_t cap = set->cap ? set->cap * 2 : 32;
			struct module *mods = realloc(set->mods, cap * sizeof(*mods));

			if (!mods)
				return -ENOMEM;
			set->mods = mods;
			set->cap = cap;
		}
		mod = &set->mods[set->count];
		memset(mod, 0, sizeof(*mod));
		mod->path = strdup(m->path);
		if (!mod->path)
			return -ENOMEM;
		mod->kind = kind;
		mod->deleted = m->deleted;
		mod->dev_major = m->dev_major;
		mod->dev_minor = m->dev_minor;
		mod->inode = m->inode;
		mod->base = m->start;
		set->count++;
	}
	err = module_append_map(mod, m);
	return err;
}

void module_set__free(struct module_set *set)
{
	for (size_t i = 0; i < set->count; i++) {
		free(set->mods[i].path);
		free(set->mods[i].maps);
	}
	free(set->mods);
	memset(set, 0, sizeof(*set));
}

const struct module *module_set__find(const struct module_set *set, uint64_t base)
{
	for (size_t i = 0; i < set->count; i++)
		if (set->mods[i].base == base)
			return &set->mods[i];
	return NULL;
}

const char *module_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int module_name_version(const char *name, char *out, size_t size)
{
	const char *so = NULL, *p = name, *v;
	size_t len;

	if (!size)
		return 0;
	out[0] = '\0';
	/* The last ".so." (a name such as "libfoo.so.bar.so.1" keeps "1"). */
	while ((p = strstr(p, ".so."))) {
		so = p;
		p += 4;
	}
	if (!so)
		return 0;
	v = so + 4;
	len = strlen(v);
	if (!len || len >= size || !isdigit((unsigned char)v[0]) || v[len - 1] == '.')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)v[i]) && v[i] != '.')
			return 0;
	memcpy(out, v, len + 1);
	return 1;
}

/* Opens a regular file only: a mapped device node must not be opened (side effects). */
static int open_regular(const char *path)
{
	struct stat st;
	int fd;

	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOEXEC;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static int module_read_vdso(pid_t pid, const struct module *mod, struct elf_info *info)
{
	uint64_t len = mod->size;
	char path[64];
	char *image = NULL;
	ssize_t n;
	int fd, err;

	/* The vDSO is one mapping; a second one would not be contiguous with it. */
	if (mod->nmaps != 1 || !len || len > MODULE_VDSO_MAX)
		return -ENOEXEC;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	image = malloc(len);
	if (!image) {
		err = -ENOMEM;
		goto cleanup;
	}
	n = pread(fd, image, len, (off_t)mod->base);
	if (n < 0) {
		err = -errno;
		goto cleanup;
	}
	err = elf_info__read_memory(image, (size_t)n, info);
cleanup:
	free(image);
	close(fd);
	return err;
}

static int module_read_elf(pid_t pid, const struct module *mod, struct elf_info *info)
{
	char path[PATH_MAX + 64];
	struct stat st;
	int fd, err;

	memset(info, 0, sizeof(*info));
	if (mod->kind == MODULE_VDSO)
		return module_read_vdso(pid, mod, info);
	/* map_files needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE) but sees what is mapped,
	 * deleted or in another mount namespace. */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid,
		 mod->maps[0].start, mod->maps[0].end);
	fd = open_regular(path);
	if (fd < 0 && !mod->deleted) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, mod->path);
		fd = open_regular(path);
		/* The path may now name another file (a package upgrade): check the inode. */
		if (fd >= 0 && (fstat(fd, &st) || (uint64_t)st.st_ino != mod->inode)) {
			close(fd);
			fd = -ESTALE;
		}
	}
	if (fd < 0)
		return fd;
	err = elf_info__read_fd(fd, info);
	close(fd);
	return err;
}

static json_t *mapping_json(const struct module_mapping *mm)
{
	json_t *j = json_object();

	json_set(j, "address", json_hex(mm->start));
	json_set(j, "end_address", json_hex(mm->end));
	json_set(j, "size", json_integer((json_int_t)(mm->end - mm->start)));
	json_set(j, "offset", json_integer((json_int_t)mm->offset));
	json_set(j, "permissions", json_string(mm->perms));
	return j;
}

static json_t *module_json(pid_t pid, const struct module *mod)
{
	char build_id[2 * ELF_BUILD_ID_MAX + 1], version[64], dev[32];
	const char *name = module_basename(mod->path);
	struct elf_info info;
	json_t *j = json_object(), *maps = json_array();
	bool is_elf;

	is_elf = module_read_elf(pid, mod, &info) == 0;
	json_set(j, "base_address", json_hex(mod->base));
	json_set(j, "file_name", json_string_bytes(name, strlen(name)));
	json_set(j, "file_path", json_string_bytes(mod->path, strlen(mod->path)));
	json_set(j, "href", href_module(pid, mod->base));
	json_set(j, "kind", json_string(mod->kind == MODULE_VDSO ? "vdso" : "file"));
	json_set(j, "module_memory_size", json_integer((json_int_t)mod->size));
	if (module_name_version(name, version, sizeof(version)) ||
	    (is_elf && module_name_version(info.soname, version, sizeof(version))))
		json_set(j, "file_version", json_string(version));
	else
		json_set(j, "file_version", NULL);
	json_set(j, "soname", is_elf && info.soname[0] ? json_string_bytes(info.soname,
								      strlen(info.soname))
						       : NULL);
	elf_info__build_id_hex(&info, build_id, sizeof(build_id));
	json_set(j, "build_id", is_elf && build_id[0] ? json_string(build_id) : NULL);
	json_set(j, "is_elf", json_boolean(is_elf));
	json_set(j, "is_deleted", json_boolean(mod->deleted));
	snprintf(dev, sizeof(dev), "%02x:%02x", mod->dev_major, mod->dev_minor);
	json_set(j, "device", json_string(dev));
	json_set(j, "inode", json_integer((json_int_t)mod->inode));
	for (size_t i = 0; i < mod->nmaps; i++)
		json_array_append_new(maps, mapping_json(&mod->maps[i]));
	json_set(j, "mappings", maps);
	return j;
}

static int collect(const struct proc_map *m, void *ctx)
{
	int err = module_set__add(ctx, m);

	return err < 0 ? err : 0;
}

static int module_set__read(pid_t pid, struct module_set *set)
{
	int err;

	memset(set, 0, sizeof(*set));
	err = thread_group_check(pid);
	if (err)
		return err;
	err = procfs_for_each_map(pid, collect, set);
	if (err == -ENOENT)
		err = -ESRCH;
	if (err)
		module_set__free(set);
	return err;
}

int inspect__module_list(pid_t pid, json_t **out)
{
	struct module_set set;
	json_t *arr;
	int err;

	*out = NULL;
	err = module_set__read(pid, &set);
	if (err)
		return err;
	arr = json_array();
	if (!arr) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < set.count; i++)
		json_array_append_new(arr, module_json(pid, &set.mods[i]));
	*out = arr;
cleanup:
	module_set__free(&set);
	return err;
}

int inspect__module_detail(pid_t pid, uint64_t base, json_t **out)
{
	const struct module *mod;
	struct module_set set;
	int err;

	*out = NULL;
	err = module_set__read(pid, &set);
	if (err)
		return err;
	mod = module_set__find(&set, base);
	if (!mod) {
		err = -ENOENT;
		goto cleanup;
	}
	*out = module_json(pid, mod);
	if (!*out)
		err = -ENOMEM;
cleanup:
	module_set__free(&set);
	return err;
}
