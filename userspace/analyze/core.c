// SPDX-License-Identifier: GPL-2.0-only
/* analyze__core: a core or a bundle into the analysis JSON (docs/analyze.md). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <elfutils/libdwfl.h>

#include "analyze/analyze.h"
#include "analyze/corenotes.h"
#include "analyze/report.h"
#include "analyze/stacks.h"
#include "analyze/unpack.h"
#include "common/jsonutil.h"

/* libdwfl's callbacks take no context of ours: the folder of this call, per thread. */
static __thread const char *tl_sysroot;

static int open_file(const char *path, char **file_name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		free(*file_name);
		*file_name = strdup(path);
	}
	return fd;
}

/*
 * Files by build-id first (the bundle's .build-id/ links, /usr/lib/debug), then by the
 * name the core gives under the sysroot, then (when the core holds the build-id, so
 * libdwfl can tell a different build) on this host. libdwfl rejects a file whose
 * build-id differs from the one in the core's memory.
 */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int fd;

	fd = dwfl_build_id_find_elf(mod, userdata, modname, base, file_name, elfp);
	if (fd >= 0 || *elfp)
		return fd;
	if (!modname || modname[0] != '/')
		return -1;
	if (tl_sysroot) {
		char *p = NULL;

		if (asprintf(&p, "%s%s", tl_sysroot, modname) < 0)
			return -1;
		fd = open_file(p, file_name);
		free(p);
		if (fd >= 0 || dwfl_module_build_id(mod, &bits, &vaddr) <= 0)
			return fd;
	}
	return open_file(modname, file_name);
}


static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *const dump_suffixes[] = { ".core.zst", ".core", ".tar.zst", ".tar", ".zip" };

/* "/x/app.1234.core" -> "/x/app.1234" (malloc'd); the path itself when no known suffix. */
static char *dump_stem(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < sizeof(dump_suffixes) / sizeof(dump_suffixes[0]); i++) {
		size_t s = strlen(dump_suffixes[i]);

		if (n > s && !strcmp(path + n - s, dump_suffixes[i]))
			return strndup(path, n - s);
	}
	return strdup(path);
}

/* The trigger's `<dump>.json` beside the dump: "<stem>.json" or "<path>.json". */
static json_t *read_trigger(const char *path, char **found, json_t *warnings)
{
	json_error_t jerr;
	char *stem = dump_stem(path), *cand[2] = {};
	json_t *j = NULL;

	*found = NULL;
	if (!stem)
		return NULL;
	if (asprintf(&cand[0], "%s.json", stem) < 0)
		cand[0] = NULL;
	if (asprintf(&cand[1], "%s.json", path) < 0)
		cand[1] = NULL;
	for (int i = 0; i < 2 && !j; i++) {
		if (!cand[i] || access(cand[i], R_OK))
			continue;
		j = json_load_file(cand[i], 0, &jerr);
		if (!j)
			json_array_append_new(warnings, json_sprintf("%s is not valid JSON (%s), "
								     "ignored", cand[i], jerr.text));
		if (j) {
			*found = cand[i];
			cand[i] = NULL;
		}
	}
	free(cand[0]);
	free(cand[1]);
	free(stem);
	return j;
}

static json_t *signal_json(const struct core_thread *t)
{
	char name[32];
	const char *code;
	json_t *s;

	if (!t)
		return json_null();
	s = json_object();
	if (t->has_siginfo) {
		code = corenotes__code_name(t->si.signo, t->si.code);
		json_set(s, "number", json_integer(t->si.signo));
		json_set(s, "name", json_string(corenotes__signal_name(t->si.signo, name,
								       sizeof(name))));
		json_set(s, "code", json_integer(t->si.code));
		json_set(s, "code_name", json_string_cstr(code));
		json_set(s, "errno", json_integer(t->si.err));
		json_set(s, "fault_address", t->si.has_addr ? json_hex(t->si.addr) : json_null());
		json_set(s, "sender_pid",
			 t->si.sender_pid > 0 ? json_integer(t->si.sender_pid) : json_null());
	} else {
		/* pr_cursig alone: no code, no address. */
		json_set(s, "number", json_integer(t->cursig));
		json_set(s, "name",
			 json_string(corenotes__signal_name(t->cursig, name, sizeof(name))));
		json_set(s, "code", json_null());
		json_set(s, "code_name", json_null());
		json_set(s, "errno", json_null());
		json_set(s, "fault_address", json_null());
		json_set(s, "sender_pid", json_null());
	}
	json_set(s, "thread_id", json_integer(t->tid));
	return s;
}

static json_t *process_json(const struct core_facts *f, const char *exe)
{
	json_t *p = json_object();

	if (!f->has_prpsinfo) {
		json_set(p, "name", json_null());
		json_set(p, "id", f->thread_count ? json_integer(f->threads[0].tid) : json_null());
		json_set(p, "parent_id", json_null());
		json_set(p, "uid", json_null());
		json_set(p, "gid", json_null());
		json_set(p, "command_line", json_null());
		json_set(p, "command_line_truncated", json_null());
	} else {
		json_set(p, "name", json_string_bytes(f->name, strlen(f->name)));
		json_set(p, "id", json_integer(f->pid));
		json_set(p, "parent_id", json_integer(f->ppid));
		json_set(p, "uid", json_integer(f->uid));
		json_set(p, "gid", json_integer(f->gid));
		json_set(p, "command_line", json_string_bytes(f->args, strlen(f->args)));
		/* pr_psargs holds 80 bytes with its NUL: a longer command line is cut. */
		json_set(p, "command_line_truncated", json_boolean(strlen(f->args) >= 79));
	}
	json_set(p, "executable", json_string_cstr(exe));
	return p;
}

static int cmp_load_size(const void *a, const void *b)
{
	const struct core_load *x = a, *y = b;

	if (x->memsz != y->memsz)
		return x->memsz > y->memsz ? -1 : 1;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static json_t *mappings_json(const struct core_facts *f, size_t top)
{
	struct core_load *sorted = NULL;
	uint64_t total = 0, dumped = 0;
	json_t *m = json_object(), *largest = json_array();

	for (size_t i = 0; i < f->load_count; i++) {
		total += f->loads[i].memsz;
		dumped += f->loads[i].filesz;
	}
	json_set(m, "count", json_integer((json_int_t)f->load_count));
	json_set(m, "total_size", json_integer((json_int_t)total));
	json_set(m, "dumped_size", json_integer((json_int_t)dumped));
	if (f->load_count)
		sorted = malloc(f->load_count * sizeof(*sorted));
	if (sorted) {
		memcpy(sorted, f->loads, f->load_count * sizeof(*sorted));
		qsort(sorted, f->load_count, sizeof(*sorted), cmp_load_size);
		for (size_t i = 0; i < f->load_count && i < top; i++) {
			const struct core_load *l = &sorted[i];
			const struct core_file *cf = corenotes__file_at(f, l->vaddr);
			char perms[4] = { l->flags & PF_R ? 'r' : '-', l->flags & PF_W ? 'w' : '-',
					  l->flags & PF_X ? 'x' : '-', 0 };
			json_t *e = json_object();

			json_set(e, "start", json_hex(l->vaddr));
			json_set(e, "end", json_hex(l->vaddr + l->memsz));
			json_set(e, "size", json_integer((json_int_t)l->memsz));
			json_set(e, "dumped_size", json_integer((json_int_t)l->filesz));
			json_set(e, "permissions", json_string(perms));
			json_set(e, "path", cf ? json_string_bytes(cf->path, strlen(cf->path))
					       : json_null());
			json_set(e, "file_offset",
				 cf ? json_integer((json_int_t)(cf->offset + l->vaddr - cf->start))
				    : json_null());
			json_array_append_new(largest, e);
		}
	}
	free(sorted);
	json_set(m, "largest", largest);
	return m;
}

/* A thread id the trigger names: "thread_id" or "tid", at its top or in "trigger". */
static pid_t trigger_tid(json_t *trigger)
{
	static const char *const keys[] = { "thread_id", "tid" };
	json_t *objs[2] = { trigger, json_object_get(trigger, "trigger") };

	for (int o = 0; o < 2; o++)
		for (int k = 0; k < 2; k++) {
			json_t *v = json_object_get(objs[o], keys[k]);

			if (json_is_integer(v) && json_integer_value(v) > 0)
				return (pid_t)json_integer_value(v);
		}
	return 0;
}

/*
 * Given an executable, libdwfl names its module by the file's base name; frames name it
 * by the path the process ran instead, as they do without --exe.
 */
static void rename_module(json_t *threads, const char *exe, const char *orig)
{
	const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	size_t i, k;
	json_t *t, *f;

	json_array_foreach(threads, i, t)
		json_array_foreach(json_object_get(t, "frames"), k, f) {
			const char *m = json_string_value(json_object_get(f, "module"));

			if (m && !strcmp(m, base))
				json_set(f, "module", json_string(orig));
		}
}

static const char *kind_name(enum input_kind k)
{
	switch (k) {
	case INPUT_BUNDLE:
		return "bundle";
	case INPUT_COMPRESSED_CORE:
		return "compressed_core";
	case INPUT_FOLDER:
		return "folder";
	default:
		return "core";
	}
}

int analyze__core(const char *path, const struct analyze_opts *opts, json_t **out,
		  char *why, size_t why_len)
{
	static const struct analyze_opts no_opts;
	const struct core_thread *sig_thread = NULL;
	struct core_facts facts = {};
	struct unpacked u = {};
	json_t *j = NULL, *threads = NULL, *trigger = NULL, *warnings = json_array();
	const char *sysroot, *exe, *exe_name;
	char *trigger_path = NULL, *dbg = NULL;
	double t0 = now_ms();
	/* Lives as long as dwfl, which keeps a pointer to it. */
	Dwfl_Callbacks callbacks = {
		.find_elf = find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &dbg,
	};
	Dwfl *dwfl = NULL;
	Elf *elf = NULL;
	pid_t first_tid = 0;
	ssize_t sig_idx;
	int fd = -1, err, n;

	*out = NULL;
	if (!opts)
		opts = &no_opts;
	err = unpack__open(path, &u, why, why_len);
	if (err)
		goto cleanup;
	if (why[0]) {
		json_array_append_new(warnings, json_string(why));
		why[0] = '\0';
	}
	sysroot = opts->sysroot ? opts->sysroot : u.dir;
	exe = opts->exe ? opts->exe : u.exe;

	fd = open(u.core, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(why, why_len, "cannot open %s: %s", u.core, strerror(errno));
		goto cleanup;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	/* unpack__open saw an ELF core header: a failure now is a cut or damaged file. */
	if (!elf) {
		err = -EIO;
		snprintf(why, why_len, "%s is truncated or damaged: %s", path, elf_errmsg(-1));
		goto cleanup;
	}
	err = corenotes__read(elf, &facts);
	if (err) {
		if (err != -ENOMEM)
			err = -EIO;
		snprintf(why, why_len, "%s is truncated or damaged: its notes cannot be read",
			 path);
		goto cleanup;
	}

	tl_sysroot = sysroot;
	if (asprintf(&dbg, "-:.debug:/usr/lib/debug%s%s", sysroot ? ":" : "",
		     sysroot ? sysroot : "") < 0) {
		err = -ENOMEM;
		goto cleanup;
	}
	dwfl = dwfl_begin(&callbacks);
	if (!dwfl) {
		err = -ENOMEM;
		snprintf(why, why_len, "libdwfl: %s", dwfl_errmsg(-1));
		goto cleanup;
	}
	dwfl_report_begin(dwfl);
	n = dwfl_core_file_report(dwfl, elf, exe);
	dwfl_report_end(dwfl, NULL, NULL);
	if (n < 0)
		json_array_append_new(warnings, json_sprintf("no modules found in the core: %s",
							     dwfl_errmsg(-1)));
	if (dwfl_core_file_attach(dwfl, elf) < 0) {
		err = -ENODATA;
		snprintf(why, why_len, "cannot read the threads of %s: %s", path, dwfl_errmsg(-1));
		goto cleanup;
	}
	err = stacks__unwind(dwfl, opts->max_frames, &threads);
	if (err) {
		snprintf(why, why_len, "cannot unwind the threads of %s: %s", path,
			 err == -ENODATA ? dwfl_errmsg(-1) : strerror(-err));
		goto cleanup;
	}

	trigger = read_trigger(path, &trigger_path, warnings);
	if (!trigger && u.metadata && json_object_get(u.metadata, "trigger"))
		trigger = json_incref(json_object_get(u.metadata, "trigger"));
	sig_idx = corenotes__signalled_thread(&facts);
	if (sig_idx >= 0) {
		sig_thread = &facts.threads[sig_idx];
		first_tid = sig_thread->tid;
	} else {
		first_tid = trigger_tid(trigger);
	}
	report__order_threads(threads, first_tid, facts.has_prpsinfo ? facts.pid : 0);
	for (size_t i = 0; i < facts.thread_count; i++) {
		json_t *t = report__thread_by_id(threads, facts.threads[i].tid);

		if (!t)
			continue;
		json_set(t, "name", json_null()); /* a core holds the process name only */
		/* SIGSTOP: the stop a debugger put the thread in, not a cause. */
		json_set(t, "signal", facts.threads[i].has_siginfo &&
					      facts.threads[i].si.signo > 0 &&
					      facts.threads[i].si.signo != SIGSTOP
				      ? signal_json(&facts.threads[i]) : json_null());
	}

	/* The path the process ran, not where its copy was found (--exe, the bundle). */
	exe_name = u.exe_orig;
	if (!exe_name && facts.file_count)
		exe_name = facts.files[0].path; /* the kernel lists the executable first */
	if (!exe_name)
		exe_name = opts->exe;
	if (exe && exe_name)
		rename_module(threads, exe, exe_name);
	j = json_object();
	{
		json_t *src = json_object();

		json_set(src, "path", json_string_cstr(path));
		json_set(src, "kind", json_string(kind_name(u.kind)));
		json_set(src, "core", json_string_cstr(u.kind == INPUT_CORE ? NULL : u.core));
		json_set(src, "sysroot", json_string_cstr(opts->sysroot));
		json_set(src, "metadata", u.metadata ? json_incref(u.metadata) : json_null());
		json_set(j, "source", src);
	}
	json_set(j, "process", process_json(&facts, exe_name));
	json_set(j, "signal", signal_json(sig_thread));
	report__add_threads(j, threads, sig_thread ? sig_thread->tid : 0, first_tid);
	json_set(j, "modules", stacks__modules(dwfl));
	if (exe && exe_name) {
		const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
		size_t i;
		json_t *m;

		json_array_foreach(json_object_get(j, "modules"), i, m)
			if (!strcmp(json_string_value(json_object_get(m, "name")) ?: "", base))
				json_set(m, "name", json_string(exe_name));
	}
	json_set(j, "mappings", mappings_json(&facts, opts->top_mappings ? opts->top_mappings
									  : 10));
	json_set(j, "trigger", trigger ? trigger : json_null());
	trigger = NULL;
	json_set(j, "trigger_file", json_string_cstr(trigger_path));
	json_set(j, "warnings", warnings);
	warnings = NULL;
	json_set(j, "duration_ms", json_real(now_ms() - t0));
	*out = j;
	j = NULL;
	threads = NULL;
cleanup:
	if (dwfl)
		dwfl_end(dwfl);
	tl_sysroot = NULL;
	free(dbg);
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	corenotes__free(&facts);
	unpack__free(&u);
	json_decref(threads);
	json_decref(trigger);
	json_decref(warnings);
	json_decref(j);
	free(trigger_path);
	return err;
}

int analyze__write_beside(const char *dump_path, json_t *analysis, char **written)
{
	char *stem = dump_stem(dump_path), *dest = NULL, *tmp = NULL;
	int err = 0, fd = -1;
	FILE *f = NULL;

	*written = NULL;
	if (!stem || asprintf(&dest, "%s.analysis.json", stem) < 0 ||
	    asprintf(&tmp, "%s.analysis.json.XXXXXX", stem) < 0) {
		err = -ENOMEM;
		goto cleanup;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		goto cleanup;
	}
	fd = -1;
	if (json_dumpf(analysis, f, JSON_INDENT(2)) || fputc('\n', f) == EOF || fflush(f) ||
	    fsync(fileno(f))) {
		err = errno ? -errno : -EIO;
		goto cleanup;
	}
	if (fclose(f)) {
		f = NULL;
		err = -errno;
		goto cleanup;
	}
	f = NULL;
	if (rename(tmp, dest)) {
		err = -errno;
		goto cleanup;
	}
	*written = dest;
	dest = NULL;
cleanup:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (err && tmp)
		unlink(tmp);
	free(stem);
	free(dest);
	free(tmp);
	return err;
}
