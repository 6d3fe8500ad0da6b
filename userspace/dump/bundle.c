// SPDX-License-Identifier: GPL-2.0-only
/* `dump --bundle`: the core, the files it needs, and metadata, in one zip or tar. */
#include <archive.h>
#include <archive_entry.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/elf_info.h"
#include "common/jsonutil.h"
#include "common/procfs.h"
#include "dump/bundle.h"
#include "dump/sink_file.h"

#define COPY_CHUNK (1u << 20)
#define MAX_LINK_MAP 65536 /* entries walked before a loop is assumed */
#define MAX_SYMLINKS 40	   /* like the kernel's MAXSYMLINKS */
#define PAGE_RUN 4096	   /* zeros this long and aligned become a hole */

struct bundle_core {
	struct core_sink sink;
	struct bundle *b;
	char *name;
	bool header_done, finished;
};

/* One stored file: its device and inode tell a second mapping of it apart. */
struct stored {
	char *apath; /* archive path, relative */
	dev_t dev;
	ino_t ino;
	uint64_t map_inode; /* as /proc/PID/maps says, to know it again in a later pass */
};

struct bundle {
	struct archive *a;
	struct core_sink *out;	/* a file sink, or zstd over one */
	struct core_sink *file; /* the file sink itself */
	struct bundle_opts opts;
	char error[512];
	int out_err;   /* -errno the write callback saw */
	int write_err; /* -errno of the last failed archive call: the archive is broken */
	bool failed, closed, finished; /* failed: aborted, nothing more is written */

	struct bundle_core core;
	bool core_given;
	void *zeros;
	char *exe_apath;

	struct stored *stored;
	size_t nstored, capstored;
	char **names; /* every archive path used, files and links */
	size_t nnames, capnames;

	json_t *files, *links, *skipped;
	double files_ms, core_ms;
	struct timespec core_start;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void set_error(struct bundle *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_error(struct bundle *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->error, sizeof(b->error), fmt, ap);
	va_end(ap);
}

/* After a libarchive call failed: the errno to return and the words to keep. */
static int archive_fail(struct bundle *b, const char *what)
{
	int err = b->out_err ? b->out_err : -archive_errno(b->a);

	if (err >= 0)
		err = -EIO;
	b->write_err = err;
	if (b->out_err && b->out->why[0])
		set_error(b, "%s: %s", what, b->out->why);
	else
		set_error(b, "%s: %s", what,
			  b->out_err ? strerror(-b->out_err)
				     : archive_error_string(b->a) ?: strerror(-err));
	return err;
}

const char *bundle__error(const struct bundle *b)
{
	return b ? b->error : "";
}

uint64_t bundle__bytes_out(const struct bundle *b)
{
	return b->file ? b->file->bytes_out : 0;
}

uint64_t bundle__size(const struct bundle *b)
{
	return b->file ? b->file->offset : 0;
}

const char *bundle__exe_path(const struct bundle *b)
{
	return b->exe_apath;
}

const char *bundle_suffix(const struct bundle_opts *opts)
{
	if (opts->format == BUNDLE_ZIP)
		return ".zip";
	return opts->zstd ? ".tar" SINK_ZSTD_SUFFIX : ".tar";
}

static bool all_zero(const char *p, size_t n)
{
	return !n || (!p[0] && !memcmp(p, p + 1, n - 1));
}

/*
 * Uncompressed archives hold the core's zeros as they are: pass every page-aligned
 * run of zeros as zeros(), which the file sink turns into a hole, so a zip or tar is
 * as sparse on disk as a plain core. A zstd stream compresses them anyway.
 */
static int write_sparse(struct bundle *b, const char *p, size_t len)
{
	size_t i = 0;

	if (b->opts.zstd)
		return core_sink__write(b->out, p, len);
	while (i < len) {
		uint64_t off = b->out->offset;
		size_t j = i;
		int zero = -1, err;

		while (j < len) {
			size_t w = PAGE_RUN - (off + (j - i)) % PAGE_RUN;
			int z;

			if (w > len - j)
				w = len - j;
			z = all_zero(p + j, w);
			if (zero >= 0 && z != zero)
				break;
			zero = z;
			j += w;
		}
		err = zero ? core_sink__zeros(b->out, j - i) : core_sink__write(b->out, p + i, j - i);
		if (err)
			return err;
		i = j;
	}
	return 0;
}

static la_ssize_t write_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct bundle *b = ctx;
	int err;

	if (b->failed) {
		archive_set_error(a, ECANCELED, "bundle aborted");
		return -1;
	}
	err = write_sparse(b, buf, len);
	if (err) {
		b->out_err = err;
		archive_set_error(a, -err, "%s", strerror(-err));
		return -1;
	}
	return len;
}

/* Opens the bundle on @path's file sink, or on @dest when @path is NULL. */
static int bundle_open(const char *path, struct core_sink *dest, const struct bundle_opts *opts,
		       struct bundle **out)
{
	struct core_sink *file = NULL, *z = NULL;
	char level[4];
	struct bundle *b;
	int err, r;

	*out = NULL;
	if (opts->format != BUNDLE_ZIP && opts->format != BUNDLE_TAR)
		err = -EINVAL;
	else if (opts->format == BUNDLE_ZIP && opts->zstd)
		err = -EINVAL; /* unzip cannot read zstd entries: see docs/bundle.md */
	else if (opts->zip_level < 0 || opts->zip_level > 9)
		err = -EINVAL;
	else if (!(b = calloc(1, sizeof(*b))))
		err = -ENOMEM;
	else
		err = 0;
	if (err) {
		if (dest) {
			dest->abort(dest);
			dest->free(dest);
		}
		return err;
	}
	*out = b; /* even on failure, for bundle__error() */
	b->opts = *opts;
	b->files = json_array();
	b->links = json_array();
	b->skipped = json_array();
	b->zeros = calloc(1, COPY_CHUNK);
	b->a = archive_write_new();
	if (!b->files || !b->links || !b->skipped || !b->zeros || !b->a) {
		err = -ENOMEM;
		goto cleanup;
	}

	if (dest) {
		file = dest;
		dest = NULL;
	} else {
		err = sink_file__open(path, opts->force, &file, b->error, sizeof(b->error));
		if (err)
			goto cleanup;
	}
	if (opts->zstd) {
		err = sink_zstd__open(file, &opts->zstd_opts, &z);
		if (err) {
			file->abort(file);
			file->free(file);
			set_error(b, "cannot start zstd: %s", strerror(-err));
			goto cleanup;
		}
		b->out = z;
	} else {
		b->out = file;
	}
	b->file = file;

	if (opts->format == BUNDLE_ZIP) {
		r = archive_write_set_format_zip(b->a);
		snprintf(level, sizeof(level), "%d", opts->zip_level ?: BUNDLE_ZIP_LEVEL);
		if (r == ARCHIVE_OK)
			r = archive_write_set_format_option(b->a, "zip", "compression-level", level);
	} else {
		/* pax: no limits on sizes, path lengths or names' bytes. */
		r = archive_write_set_format_pax_restricted(b->a);
	}
	/* Large blocks: one write(2) per MiB, not per 10 KiB, and no padding of the
	 * last block (it would only add zeros). */
	if (r == ARCHIVE_OK)
		r = archive_write_set_bytes_per_block(b->a, COPY_CHUNK);
	if (r == ARCHIVE_OK)
		r = archive_write_set_bytes_in_last_block(b->a, 1);
	if (r == ARCHIVE_OK)
		r = archive_write_open2(b->a, b, NULL, write_cb, NULL, NULL);
	if (r != ARCHIVE_OK) {
		err = archive_fail(b, "cannot start the archive");
		goto cleanup;
	}
	return 0;

cleanup:
	if (dest) {
		/* not handed over yet: it is ours to end all the same */
		dest->abort(dest);
		dest->free(dest);
	}
	bundle__abort(b);
	return err;
}

int bundle__open(const char *path, const struct bundle_opts *opts, struct bundle **out)
{
	return bundle_open(path, NULL, opts, out);
}

int bundle__open_sink(struct core_sink *dest, const struct bundle_opts *opts,
		      struct bundle **out)
{
	return bundle_open(NULL, dest, opts, out);
}

/* Archive paths are relative, without empty, "." or ".." components. */
static bool safe_archive_path(const char *p)
{
	const char *c = p;

	if (!*p || *p == '/')
		return false;
	while (*c) {
		const char *e = strchrnul(c, '/');
		size_t n = e - c;

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c = *e ? e + 1 : e;
	}
	return p[strlen(p) - 1] != '/';
}

static bool name_used(struct bundle *b, const char *apath)
{
	for (size_t i = 0; i < b->nnames; i++)
		if (!strcmp(b->names[i], apath))
			return true;
	return false;
}

static int use_name(struct bundle *b, const char *apath)
{
	if (b->nnames == b->capnames) {
		size_t cap = b->capnames ? 2 * b->capnames : 64;
		char **p = realloc(b->names, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		b->names = p;
		b->capnames = cap;
	}
	b->names[b->nnames] = strdup(apath);
	if (!b->names[b->nnames])
		return -ENOMEM;
	b->nnames++;
	return 0;
}

static void skip(struct bundle *b, const char *path, const char *reason)
{
	size_t i;
	json_t *s;

	/* Once per path, though a later pass meets it again. */
	json_array_foreach(b->skipped, i, s)
		if (!strcmp(json_string_value(json_object_get(s, "path")) ?: "", path))
			return;
	json_array_append_new(b->skipped, json_pack("{s:o, s:s}", "path", json_string_cstr(path),
						     "reason", reason));
}

static int write_header(struct bundle *b, struct archive_entry *e, const char *what)
{
	if (b->failed)
		return b->out_err ?: -ECANCELED;
	if (archive_write_header(b->a, e) < ARCHIVE_WARN)
		return archive_fail(b, what);
	return 0;
}

static int write_data(struct bundle *b, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		la_ssize_t n = archive_write_data(b->a, p, len);

		if (n <= 0)
			return archive_fail(b, "cannot write to the archive");
		p += n;
		len -= n;
	}
	return 0;
}

static int add_memory_entry(struct bundle *b, const char *apath, const void *buf, size_t len,
			    mode_t perm)
{
	struct archive_entry *e = archive_entry_new();
	int err;

	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, apath);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, perm);
	archive_entry_set_size(e, len);
	archive_entry_set_mtime(e, time(NULL), 0);
	err = write_header(b, e, apath);
	archive_entry_free(e);
	if (!err)
		err = write_data(b, buf, len);
	if (!err && archive_write_finish_entry(b->a) < ARCHIVE_WARN)
		err = archive_fail(b, apath);
	return err;
}

static int add_symlink(struct bundle *b, const char *apath, const char *target)
{
	struct archive_entry *e;
	int err;

	if (name_used(b, apath))
		return 0;
	e = archive_entry_new();
	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, apath);
	archive_entry_set_filetype(e, AE_IFLNK);
	archive_entry_set_perm(e, 0777);
	archive_entry_set_symlink(e, target);
	archive_entry_set_mtime(e, time(NULL), 0);
	err = write_header(b, e, apath);
	archive_entry_free(e);
	if (!err)
		err = use_name(b, apath);
	if (!err)
		json_array_append_new(b->links, json_pack("{s:o, s:o}", "path",
							  json_string_cstr(apath), "target",
							  json_string_cstr(target)));
	return err;
}

/*
 * Copies the open file @fd (size from fstat, read with pread) into entry @apath.
 * A file that shrinks while read is padded with zeros: the header already promised
 * its size.
 */
static int add_fd(struct bundle *b, int fd, const struct stat *st, const char *apath,
		  const char *orig_path, const char *source, bool deleted)
{
	struct archive_entry *e;
	struct elf_info info;
	char build_id[2 * ELF_BUILD_ID_MAX + 1] = "";
	char *buf = NULL;
	uint64_t off = 0;
	bool short_read = false;
	json_t *j;
	int err;

	if (!elf_info__read_fd(fd, &info))
		elf_info__build_id_hex(&info, build_id, sizeof(build_id));

	e = archive_entry_new();
	buf = malloc(COPY_CHUNK);
	if (!e || !buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	archive_entry_set_pathname(e, apath);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, st->st_mode & 07777);
	archive_entry_set_size(e, st->st_size);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	err = write_header(b, e, apath);
	if (err)
		goto cleanup;
	while (off < (uint64_t)st->st_size) {
		size_t want = st->st_size - off < COPY_CHUNK ? st->st_size - off : COPY_CHUNK;
		ssize_t n = short_read ? 0 : pread(fd, buf, want, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			short_read = true;
			memset(buf, 0, want);
			n = want;
		}
		err = write_data(b, buf, n);
		if (err)
			goto cleanup;
		off += n;
	}
	if (archive_write_finish_entry(b->a) < ARCHIVE_WARN) {
		err = archive_fail(b, apath);
		goto cleanup;
	}
	err = use_name(b, apath);
	if (err)
		goto cleanup;

	j = json_pack("{s:o, s:o, s:I, s:s, s:b}", "path", json_string_cstr(orig_path),
		      "archive_path", json_string_cstr(apath), "size", (json_int_t)st->st_size,
		      "source", source, "deleted", deleted);
	if (j && build_id[0])
		json_object_set_new(j, "build_id", json_string(build_id));
	if (j && short_read)
		json_object_set_new(j, "truncated", json_true());
	json_array_append_new(b->files, j);

	/* eu-stack finds modules by build-id under --debuginfo-path: .build-id/ab/cdef. */
	if (build_id[0] && strlen(build_id) > 2) {
		char lpath[sizeof(build_id) + 16], target[PATH_MAX + 64];
		size_t n = 0;

		snprintf(lpath, sizeof(lpath), ".build-id/%.2s/%s", build_id, build_id + 2);
		n = snprintf(target, sizeof(target), "../../%s", apath);
		if (n < sizeof(target))
			err = add_symlink(b, lpath, target);
	}
cleanup:
	archive_entry_free(e);
	free(buf);
	return err;
}

int bundle__add_file(struct bundle *b, const char *src, const char *apath)
{
	struct stat st;
	int fd, err;

	if (!safe_archive_path(apath))
		return -EINVAL;
	if (name_used(b, apath))
		return -EEXIST;
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
	} else {
		err = add_fd(b, fd, &st, apath, src, "file", false);
	}
	close(fd);
	return err;
}

/* ---- The files of a process -------------------------------------------------- */

struct map_list {
	struct proc_map *v;
	size_t n, cap;
};

static int collect_map(const struct proc_map *m, void *ctx)
{
	struct map_list *l = ctx;

	/* File-backed executable mappings: code the backtrace walks through. */
	if (m->path[0] != '/' || m->perms[2] != 'x')
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].inode == m->inode && l->v[i].dev_major == m->dev_major &&
		    l->v[i].dev_minor == m->dev_minor && !strcmp(l->v[i].path, m->path))
			return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		struct proc_map *p = realloc(l->v, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = *m;
	return 0;
}

static const struct stored *find_stored(struct bundle *b, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < b->nstored; i++)
		if (b->stored[i].dev == dev && b->stored[i].ino == ino)
			return &b->stored[i];
	return NULL;
}

static int remember(struct bundle *b, const char *apath, dev_t dev, ino_t ino,
		    uint64_t map_inode)
{
	if (b->nstored == b->capstored) {
		size_t cap = b->capstored ? 2 * b->capstored : 32;
		struct stored *p = realloc(b->stored, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		b->stored = p;
		b->capstored = cap;
	}
	b->stored[b->nstored].apath = strdup(apath);
	if (!b->stored[b->nstored].apath)
		return -ENOMEM;
	b->stored[b->nstored].dev = dev;
	b->stored[b->nstored].ino = ino;
	b->stored[b->nstored].map_inode = map_inode;
	b->nstored++;
	return 0;
}

/* Opens what mapping @m maps: map_files works for deleted files and other mount
 * namespaces; the path under /proc/PID/root is the fallback, checked by inode. */
static int open_mapped(pid_t pid, const struct proc_map *m, struct stat *st, const char **source)
{
	char p[PATH_MAX + 64];
	int fd, err;

	snprintf(p, sizeof(p), "/proc/%d/map_files/%llx-%llx", pid, (unsigned long long)m->start,
		 (unsigned long long)m->end);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	*source = "map_files";
	if (fd < 0) {
		if (errno == ESRCH)
			return -ESRCH;
		if (m->deleted)
			return -errno;
		snprintf(p, sizeof(p), "/proc/%d/root%s", pid, m->path);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		*source = "root";
		if (fd < 0)
			return -errno;
	}
	if (fstat(fd, st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (st->st_ino != m->inode || major(st->st_dev) != m->dev_major ||
	    minor(st->st_dev) != m->dev_minor) {
		/* Replaced on disk since it was mapped: not the code that runs. Device
		 * numbers of overlayfs and btrfs differ between maps and stat; trust the
		 * inode alone when it comes from map_files, which is the mapping itself. */
		if (strcmp(*source, "map_files") || st->st_ino != m->inode) {
			close(fd);
			return -ESTALE;
		}
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static int add_mapped(struct bundle *b, pid_t pid, const struct proc_map *m)
{
	const char *apath = m->path + 1, *source;
	struct stat st;
	int fd, err;

	if (!safe_archive_path(apath)) {
		skip(b, m->path, "not a plain absolute path");
		return 0;
	}
	if (name_used(b, apath)) {
		/* Stored by an earlier pass: nothing to do. Same path, another inode: a
		 * library replaced on disk and mapped in both versions; the first mapped
		 * keeps the name. */
		for (size_t i = 0; i < b->nstored; i++)
			if (!strcmp(b->stored[i].apath, apath) && b->stored[i].map_inode == m->inode)
				return 0;
		skip(b, m->path, "another file of the same path is already stored");
		return 0;
	}
	fd = open_mapped(pid, m, &st, &source);
	if (fd == -ESRCH)
		return -ESRCH;
	if (fd < 0) {
		char reason[128];

		snprintf(reason, sizeof(reason), "cannot open: %s",
			 fd == -ESTALE ? "the file on disk is not the mapped one" : strerror(-fd));
		skip(b, m->path, reason);
		return 0;
	}
	err = add_fd(b, fd, &st, apath, m->path, source, m->deleted);
	if (!err)
		err = remember(b, apath, st.st_dev, st.st_ino, m->inode);
	close(fd);
	return err;
}

static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

/* A NUL-terminated string of the target, read in small pieces: the page after it
 * may be unmapped. */
static int read_str(pid_t pid, uint64_t addr, char *out, size_t size)
{
	size_t got = 0;

	while (got + 1 < size) {
		size_t n = 256 - ((addr + got) & 255);
		char *nul;

		if (n > size - 1 - got)
			n = size - 1 - got;
		if (read_mem(pid, addr + got, out + got, n))
			return -EFAULT;
		nul = memchr(out + got, 0, n);
		if (nul)
			return 0;
		got += n;
	}
	out[size - 1] = 0;
	return -ENAMETOOLONG;
}

/*
 * The names the dynamic loader gave the loaded objects (link_map l_name), which gdb
 * reads from the core and looks up under its sysroot. They can differ from the paths
 * in maps, which the kernel resolved through symlinks (/lib64 -> usr/lib64). Walks
 * r_debug through the executable's DT_DEBUG; 64-bit targets only.
 */
static int link_map_names(pid_t pid, char ***out, size_t *count)
{
	uint64_t at_phdr = 0, at_phnum = 0, bias = 0, dyn = 0, dyn_size = 0, rdebug = 0;
	Elf64_Phdr *ph = NULL;
	Elf64_Dyn *d = NULL;
	char *auxv = NULL, **names = NULL, exe[64];
	struct elf_info info;
	size_t len = 0, n = 0, i;
	uint64_t lm;
	int err;

	*out = NULL;
	*count = 0;
	/* The structures below are the 64-bit ones. */
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	if (elf_info__read(exe, &info) || info.elf_class != ELFCLASS64)
		return -EOPNOTSUPP;
	err = procfs_read(pid, -1, "auxv", &auxv, &len);
	if (err)
		return err;
	for (i = 0; i + 16 <= len; i += 16) {
		uint64_t type, val;

		memcpy(&type, auxv + i, 8);
		memcpy(&val, auxv + i + 8, 8);
		if (type == AT_PHDR)
			at_phdr = val;
		else if (type == AT_PHNUM)
			at_phnum = val;
	}
	free(auxv);
	if (!at_phdr || !at_phnum || at_phnum > 256)
		return -ENOENT;

	ph = calloc(at_phnum, sizeof(*ph));
	if (!ph)
		return -ENOMEM;
	err = read_mem(pid, at_phdr, ph, at_phnum * sizeof(*ph));
	if (err)
		goto cleanup;
	for (i = 0; i < at_phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			bias = at_phdr - ph[i].p_vaddr;
	for (i = 0; i < at_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC) {
			dyn = ph[i].p_vaddr + bias;
			dyn_size = ph[i].p_memsz;
		}
	err = -ENOENT; /* static executables have no dynamic section */
	if (!dyn || !dyn_size || dyn_size > (1 << 20))
		goto cleanup;
	d = malloc(dyn_size);
	if (!d) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = read_mem(pid, dyn, d, dyn_size);
	if (err)
		goto cleanup;
	for (i = 0; i < dyn_size / sizeof(*d) && d[i].d_tag != DT_NULL; i++)
		if (d[i].d_tag == DT_DEBUG)
			rdebug = d[i].d_un.d_ptr;
	err = -ENOENT;
	if (!rdebug)
		goto cleanup;
	/* struct r_debug { int r_version; struct link_map *r_map; ... } */
	err = read_mem(pid, rdebug + 8, &lm, 8);
	if (err)
		goto cleanup;
	names = calloc(MAX_LINK_MAP, sizeof(*names));
	if (!names) {
		err = -ENOMEM;
		goto cleanup;
	}
	while (lm && n < MAX_LINK_MAP) {
		/* struct link_map { l_addr, l_name, l_ld, l_next, l_prev } */
		uint64_t f[4];
		char name[PATH_MAX];

		if (read_mem(pid, lm, f, sizeof(f)))
			break;
		if (f[1] && !read_str(pid, f[1], name, sizeof(name)) && name[0] == '/') {
			names[n] = strdup(name);
			if (names[n])
				n++;
		}
		lm = f[3];
	}
	*out = names;
	*count = n;
	names = NULL;
	err = 0;
cleanup:
	free(names);
	free(ph);
	free(d);
	return err;
}

/* Lexically normalises absolute @path in place ("/a/./b/../c" -> "/a/c"); ".." at the
 * root stays at the root, as the kernel does. */
void bundle_path_normalize(char *path)
{
	char *out = path, *c = path;

	while (*c) {
		char *e;
		size_t n;

		while (*c == '/')
			c++;
		if (!*c)
			break;
		e = strchrnul(c, '/');
		n = e - c;
		if (n == 1 && c[0] == '.') {
		} else if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (out > path && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, c, n);
			out += n;
		}
		c = e;
	}
	if (out == path)
		*out++ = '/';
	*out = 0;
}

/* @target (absolute, normalised) as a relative link text from the folder of @link
 * (absolute): "/usr/lib64" seen from "/lib64" is "usr/lib64". */
void bundle_path_relative(const char *link, const char *target, char *out, size_t size)
{
	size_t depth = 0, pos = 0;

	for (const char *c = link + 1; *c; c++)
		if (*c == '/')
			depth++;
	out[0] = 0;
	for (size_t i = 0; i < depth && pos + 3 < size; i++)
		pos += snprintf(out + pos, size - pos, "../");
	snprintf(out + pos, size - pos, "%s", target + 1);
	if (!out[0])
		snprintf(out, size, ".");
}

/*
 * Follows @name inside the target's root one component at a time, storing every
 * symlink met as a relative link in the archive; *@resolved gets the final path.
 */
static int mirror_symlinks(struct bundle *b, pid_t pid, const char *name, char *resolved,
			   size_t size)
{
	char rest[PATH_MAX * 2], cur[PATH_MAX], proc[PATH_MAX + 64], target[PATH_MAX],
		text[PATH_MAX * 2];
	int links = 0, err;

	snprintf(rest, sizeof(rest), "%s", name);
	cur[0] = 0;
	for (;;) {
		char *c = rest, *e, comp[NAME_MAX + 1];
		size_t n;
		struct stat st;
		ssize_t tl;

		while (*c == '/')
			c++;
		if (!*c)
			break;
		e = strchrnul(c, '/');
		n = e - c;
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, c, n);
		comp[n] = 0;
		memmove(rest, e, strlen(e) + 1);
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			char *slash = strrchr(cur, '/');

			if (slash)
				*slash = 0;
			continue;
		}
		if (strlen(cur) + 1 + n >= sizeof(cur))
			return -ENAMETOOLONG;
		strcat(cur, "/");
		strcat(cur, comp);
		snprintf(proc, sizeof(proc), "/proc/%d/root%s", pid, cur);
		if (lstat(proc, &st))
			return -errno;
		if (!S_ISLNK(st.st_mode))
			continue;
		if (++links > MAX_SYMLINKS)
			return -ELOOP;
		tl = readlink(proc, target, sizeof(target) - 1);
		if (tl < 0)
			return -errno;
		target[tl] = 0;

		/* Where the link points, as an absolute normalised path... */
		if (target[0] == '/') {
			snprintf(text, sizeof(text), "%s", target);
		} else {
			char *slash = strrchr(cur, '/');

			snprintf(text, sizeof(text), "%.*s/%s", (int)(slash - cur), cur, target);
		}
		bundle_path_normalize(text);
		/* ...stored relative, so that it stays inside the extracted folder. */
		{
			char rel[PATH_MAX * 2];

			bundle_path_relative(cur, text, rel, sizeof(rel));
			err = add_symlink(b, cur + 1, rel);
			if (err)
				return err;
		}
		/* Continue from the link's target, then what was left of the name. */
		if (strlen(text) + strlen(rest) + 1 >= sizeof(rest))
			return -ENAMETOOLONG;
		memmove(rest + strlen(text), rest, strlen(rest) + 1);
		memcpy(rest, text, strlen(text));
		cur[0] = 0;
	}
	snprintf(resolved, size, "%s", cur[0] ? cur : "/");
	return 0;
}

/* @resolved is not stored under its own name but may be a stored file (a hard link, a
 * bind mount): then link it to the stored copy. -ENOENT when it is not. */
static int link_same_file(struct bundle *b, pid_t pid, const char *resolved)
{
	char proc[PATH_MAX + 64], target[PATH_MAX + 2], rel[PATH_MAX * 2];
	const struct stored *st;
	struct stat sb;

	snprintf(proc, sizeof(proc), "/proc/%d/root%s", pid, resolved);
	if (stat(proc, &sb) || !(st = find_stored(b, sb.st_dev, sb.st_ino)))
		return -ENOENT;
	snprintf(target, sizeof(target), "/%s", st->apath);
	bundle_path_relative(resolved, target, rel, sizeof(rel));
	return add_symlink(b, resolved + 1, rel);
}

static int add_loader_names(struct bundle *b, pid_t pid)
{
	char **names = NULL, resolved[PATH_MAX];
	size_t n = 0;
	int err;

	err = link_map_names(pid, &names, &n);
	if (err == -ESRCH)
		return err;
	if (err) /* static, 32-bit, or not started yet: the maps paths are all there is */
		return 0;
	for (size_t i = 0; i < n && !err; i++) {
		int r;

		/* The loader's name is the maps path (no symlink on the way): stored as is,
		 * deleted files included. */
		if (name_used(b, names[i] + 1))
			continue;
		r = mirror_symlinks(b, pid, names[i], resolved, sizeof(resolved));
		if (r == -ENOMEM || (r && (b->failed || b->write_err))) {
			err = r;
		} else if (r) {
			char reason[128];

			snprintf(reason, sizeof(reason), "cannot follow the loader's name: %s",
				 strerror(-r));
			skip(b, names[i], reason);
		} else if (!name_used(b, resolved + 1)) {
			err = link_same_file(b, pid, resolved);
			if (err == -ENOENT) {
				skip(b, names[i], "the loader's name leads to a file not in the bundle");
				err = 0;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

int bundle__add_process_files(struct bundle *b, pid_t pid)
{
	struct map_list l = { 0 };
	char exe_link[64], exe[PATH_MAX];
	double t0 = now_ms();
	ssize_t n;
	int err;

	if (b->failed)
		return b->out_err ?: -ECANCELED;
	snprintf(exe_link, sizeof(exe_link), "/proc/%d/exe", pid);
	n = readlink(exe_link, exe, sizeof(exe) - 1);
	if (n < 0) {
		err = -errno;
		set_error(b, "cannot read %s: %s", exe_link, strerror(-err));
		return err;
	}
	exe[n] = 0;
	if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
		exe[n - 10] = 0;

	err = procfs_for_each_map(pid, collect_map, &l);
	if (err) {
		set_error(b, "cannot read /proc/%d/maps: %s", pid, strerror(-err));
		goto cleanup;
	}
	/* The executable first: it is the one gdb is given on its command line. */
	for (size_t i = 0; i < l.n && !err; i++)
		if (!strcmp(l.v[i].path, exe))
			err = add_mapped(b, pid, &l.v[i]);
	for (size_t i = 0; i < l.n && !err; i++)
		if (strcmp(l.v[i].path, exe))
			err = add_mapped(b, pid, &l.v[i]);
	if (!err && !b->exe_apath && exe[0] == '/' && name_used(b, exe + 1)) {
		b->exe_apath = strdup(exe + 1);
		if (!b->exe_apath)
			err = -ENOMEM;
	}
	if (!err)
		err = add_loader_names(b, pid);
	if (err == -ESRCH)
		set_error(b, "process %d exited", pid);
cleanup:
	free(l.v);
	b->files_ms += now_ms() - t0;
	return err;
}

/* ---- The core entry ---------------------------------------------------------- */

static int core_header(struct bundle_core *c)
{
	struct bundle *b = c->b;
	struct archive_entry *e;
	int err;

	if (c->header_done)
		return 0;
	if (!c->sink.size_hint && b->opts.format == BUNDLE_TAR) {
		set_error(b, "a tar entry needs the core's size before its first byte");
		return -EINVAL;
	}
	e = archive_entry_new();
	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, c->name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	if (c->sink.size_hint)
		archive_entry_set_size(e, c->sink.size_hint);
	archive_entry_set_mtime(e, time(NULL), 0);
	/* The target stays stopped while its core is written, and deflate runs at
	 * 50-70 MB/s on one core: a zip stores the core (CRC only), sparse on disk.
	 * libarchive deflates an entry of unknown size whatever is asked. */
	if (b->opts.format == BUNDLE_ZIP)
		archive_write_zip_set_compression_store(b->a);
	err = write_header(b, e, c->name);
	archive_entry_free(e);
	if (b->opts.format == BUNDLE_ZIP)
		archive_write_zip_set_compression_deflate(b->a);
	if (err)
		return err;
	c->header_done = true;
	clock_gettime(CLOCK_MONOTONIC, &b->core_start);
	return 0;
}

/* The dumper announces the size: write the entry header now, and check the room the
 * archive needs where it is predictable: an uncompressed core (zip stores it) takes
 * what the dumper estimates, its zeros being holes. */
static int core_begin(struct core_sink *s, uint64_t size, uint64_t estimate)
{
	struct bundle_core *c = (struct bundle_core *)s;
	struct bundle *b = c->b;
	int err;

	if (b->failed)
		return b->out_err ?: -ECANCELED;
	err = core_sink__begin(b->out, 0, b->opts.zstd ? 0 : estimate);
	if (err) {
		snprintf(s->why, sizeof(s->why), "%s", b->out->why);
		snprintf(b->error, sizeof(b->error), "%s", b->out->why);
		return err;
	}
	return core_header(c);
}

static int core_check(struct bundle_core *c, uint64_t len)
{
	if (c->b->failed)
		return c->b->out_err ?: -ECANCELED;
	if (c->finished)
		return -EINVAL;
	/* libarchive silently drops bytes past the size in the header. */
	if (c->sink.size_hint && c->sink.offset + len > c->sink.size_hint) {
		set_error(c->b, "the core is longer than its announced %llu bytes",
			  (unsigned long long)c->sink.size_hint);
		return -EFBIG;
	}
	return core_header(c);
}

/* The words the dumper prints when the core fails. */
static int core_failed(struct bundle_core *c, int err)
{
	if (err)
		snprintf(c->sink.why, sizeof(c->sink.why), "%.*s", (int)sizeof(c->sink.why) - 1,
			 c->b->error[0] ? c->b->error : strerror(-err));
	return err;
}

static int core_write(struct core_sink *s, const void *buf, size_t len)
{
	struct bundle_core *c = (struct bundle_core *)s;
	uint64_t before = bundle__bytes_out(c->b);
	int err = core_check(c, len);

	if (!err)
		err = write_data(c->b, buf, len);
	s->bytes_out += bundle__bytes_out(c->b) - before;
	return core_failed(c, err);
}

static int core_zeros(struct core_sink *s, uint64_t len)
{
	struct bundle_core *c = (struct bundle_core *)s;
	uint64_t before = bundle__bytes_out(c->b);
	int err = core_check(c, len);

	while (!err && len) {
		size_t n = len < COPY_CHUNK ? len : COPY_CHUNK;

		err = write_data(c->b, c->b->zeros, n);
		len -= n;
	}
	s->bytes_out += bundle__bytes_out(c->b) - before;
	return core_failed(c, err);
}

static int core_finish(struct core_sink *s)
{
	struct bundle_core *c = (struct bundle_core *)s;
	struct bundle *b = c->b;
	struct timespec end;
	int err = core_check(c, 0);

	if (err)
		return core_failed(c, err);
	if (s->size_hint && s->offset != s->size_hint) {
		set_error(b, "the core has %llu bytes of its announced %llu",
			  (unsigned long long)s->offset, (unsigned long long)s->size_hint);
		return core_failed(c, -EIO);
	}
	if (archive_write_finish_entry(b->a) < ARCHIVE_WARN)
		return core_failed(c, archive_fail(b, c->name));
	c->finished = true;
	clock_gettime(CLOCK_MONOTONIC, &end);
	b->core_ms = (end.tv_sec - b->core_start.tv_sec) * 1e3 +
		     (end.tv_nsec - b->core_start.tv_nsec) / 1e6;
	return use_name(b, c->name);
}

static void core_abort(struct core_sink *s)
{
	bundle__abort(((struct bundle_core *)s)->b);
}

static void core_free(struct core_sink *s)
{
	/* Embedded in the bundle: bundle__free releases it. */
}

int bundle__core_sink(struct bundle *b, const char *name, struct core_sink **out)
{
	*out = NULL;
	if (b->core_given || !safe_archive_path(name) || strchr(name, '/') ||
	    name_used(b, name))
		return -EINVAL;
	b->core.name = strdup(name);
	if (!b->core.name)
		return -ENOMEM;
	b->core.b = b;
	b->core.sink.begin = core_begin;
	b->core.sink.write = core_write;
	b->core.sink.zeros = core_zeros;
	b->core.sink.finish = core_finish;
	b->core.sink.abort = core_abort;
	b->core.sink.free = core_free;
	b->core_given = true;
	*out = &b->core.sink;
	return 0;
}

/* ---- Metadata, README, the end ------------------------------------------------ */

/* " $PWD/usr/lib/x86_64-linux-gnu $PWD/opt/app/lib": where lldb must look, as it
 * matches modules by file name in target.exec-search-paths, not under a sysroot. */
static char *lib_dirs(struct bundle *b)
{
	char *out = strdup(""), *p;

	for (size_t i = 0; out && i < b->nstored; i++) {
		const char *a = b->stored[i].apath, *slash = strrchr(a, '/');
		char entry[PATH_MAX + 16];

		if (!slash || (b->exe_apath && !strcmp(a, b->exe_apath)))
			continue;
		snprintf(entry, sizeof(entry), " $PWD/%.*s", (int)(slash - a), a);
		if (strstr(out, entry) && (strstr(out, entry)[strlen(entry)] == ' ' ||
					   !strstr(out, entry)[strlen(entry)]))
			continue;
		if (asprintf(&p, "%s%s", out, entry) < 0)
			p = NULL;
		free(out);
		out = p;
	}
	return out;
}

static char *readme_text(struct bundle *b)
{
	const char *exe = b->exe_apath ? b->exe_apath : "<executable>";
	const char *core = b->core.name ? b->core.name : "<core>";
	char *s = NULL, *dirs = lib_dirs(b);

	if (!dirs)
		return NULL;

	if (asprintf(&s,
		     "A core dump bundle written by tracedump.\n"
		     "\n"
		     "  core:           %s\n"
		     "  executable:     %s\n"
		     "  libraries:      every file the process had mapped executable, at its\n"
		     "                  absolute path under this folder, with the loader's\n"
		     "                  symlinks (lib64 -> usr/lib64, ...) and .build-id/ links\n"
		     "  metadata.json:  the process at dump time, the dump options, timings,\n"
		     "                  and which files were stored, linked or skipped\n"
		     "\n"
		     "Open it from the folder it was extracted into (DIR):\n"
		     "\n"
		     "  cd DIR\n"
		     "  gdb -ex \"set sysroot $PWD\" -ex \"thread apply all bt\" %s %s\n"
		     "  lldb -O \"settings set target.exec-search-paths%s\" \\\n"
		     "       -o \"bt all\" --core %s %s\n"
		     "  eu-stack --core=%s --executable=%s --debuginfo-path=$PWD\n"
		     "\n"
		     "`set sysroot` makes gdb read every shared library from this folder,\n"
		     "not from the machine it runs on; lldb looks for them by name in the\n"
		     "folders listed; eu-stack finds them by build-id under .build-id/.\n"
		     "See docs/bundle.md in tracedump for details.\n",
		     core, exe, exe, core, dirs, core, exe, core, exe) < 0)
		s = NULL;
	free(dirs);
	return s;
}

int bundle__finish(struct bundle *b, json_t *metadata)
{
	char *readme = NULL, *meta = NULL;
	json_t *info;
	int err;

	if (b->failed)
		return b->out_err ?: -ECANCELED;
	if (b->finished)
		return -EINVAL;
	if (b->core_given && !b->core.finished) {
		set_error(b, "the core entry is not complete");
		err = -EINVAL;
		goto fail;
	}
	info = json_pack("{s:s, s:s, s:o, s:o, s:O, s:O, s:O, s:{s:f, s:f}}", "format",
			 b->opts.format == BUNDLE_ZIP ? "zip" : "tar", "compression",
			 b->opts.format == BUNDLE_ZIP ? "deflate, the core stored"
			 : b->opts.zstd		      ? "zstd"
						      : "none",
			 "core", json_string_cstr(b->core.name), "executable",
			 json_string_cstr(b->exe_apath), "files", b->files, "links", b->links,
			 "skipped", b->skipped, "timings_ms", "files", b->files_ms, "core",
			 b->core_ms);
	if (info && b->opts.zstd)
		json_object_set_new(info, "zstd_workers",
				    json_integer(sink_zstd__workers(b->out)));
	if (!info || (metadata && json_object_set_new(metadata, "bundle", info))) {
		err = -ENOMEM;
		goto fail;
	}
	if (!metadata)
		metadata = info;
	readme = readme_text(b);
	meta = json_dumps(metadata, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (metadata == info)
		json_decref(info);
	if (!readme || !meta) {
		err = -ENOMEM;
		goto fail;
	}
	err = add_memory_entry(b, "README.txt", readme, strlen(readme), 0644);
	if (!err)
		err = add_memory_entry(b, "metadata.json", meta, strlen(meta), 0644);
	if (err)
		goto fail;
	if (archive_write_close(b->a) < ARCHIVE_WARN) {
		err = archive_fail(b, "cannot complete the archive");
		goto fail;
	}
	b->closed = true;
	err = b->out->finish(b->out);
	if (err) {
		set_error(b, "cannot complete the archive: %s", strerror(-err));
		goto fail;
	}
	b->finished = true;
	free(readme);
	free(meta);
	return 0;
fail:
	free(readme);
	free(meta);
	bundle__abort(b);
	return err;
}

void bundle__abort(struct bundle *b)
{
	if (!b || b->finished || b->failed)
		return;
	b->failed = true;
	if (b->a && !b->closed) {
		/* Nothing more may reach the file: not even the archive's trailer. */
		archive_write_fail(b->a);
		b->closed = true;
	}
	if (b->out)
		b->out->abort(b->out);
}

void bundle__free(struct bundle *b)
{
	if (!b)
		return;
	if (!b->finished)
		bundle__abort(b);
	if (b->a)
		archive_write_free(b->a);
	if (b->out)
		b->out->free(b->out);
	for (size_t i = 0; i < b->nstored; i++)
		free(b->stored[i].apath);
	free(b->stored);
	for (size_t i = 0; i < b->nnames; i++)
		free(b->names[i]);
	free(b->names);
	json_decref(b->files);
	json_decref(b->links);
	json_decref(b->skipped);
	free(b->core.name);
	free(b->exe_apath);
	free(b->zeros);
	free(b);
}
