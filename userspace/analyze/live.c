// SPDX-License-Identifier: GPL-2.0-only
/*
 * analyze__live: the stacks of a running process. Every thread is seized and interrupted
 * by the dumper's freezer (dump/freeze.h: PTRACE_SEIZE + PTRACE_INTERRUPT, never SIGSTOP,
 * SCHED_FIFO while freezing), unwound, and let go before anything is symbolized, so the
 * pause is the unwinding alone. A seized tracee is detached by the kernel when its tracer
 * dies, even by SIGKILL; every other path here releases it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <time.h>
#include <unistd.h>
#include <elfutils/libdwfl.h>

#include "analyze/analyze.h"
#include "analyze/report.h"
#include "analyze/stacks.h"
#include "common/jsonutil.h"
#include "common/procfs.h"
#include "dump/freeze.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * libdwfl's unwinding state for the threads we hold. Not dwfl_linux_proc_attach: it
 * lists /proc/PID/task itself (threads we did not stop, zombies) and, in elfutils 0.188,
 * asserts on the next thread after one whose registers cannot be read. Memory comes from
 * /proc/PID/mem, one pread per word instead of one PTRACE_PEEKDATA.
 */
struct live_state {
	struct freeze *fz;
	size_t next;
	int mem_fd;
};

static pid_t live_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct live_state *ls = arg;

	while (ls->next < ls->fz->count && ls->fz->threads[ls->next].gone)
		ls->next++;
	if (ls->next >= ls->fz->count)
		return 0;
	*thread_argp = &ls->fz->threads[ls->next];
	return ls->fz->threads[ls->next++].tid;
}

static bool live_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct live_state *ls = arg;

	return pread(ls->mem_fd, result, sizeof(*result), (off_t)addr) == sizeof(*result);
}

static bool live_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
#if defined(__x86_64__)
	struct frozen_thread *t = thread_arg;
	struct user_regs_struct r;
	Dwarf_Word dw[17];

	if (ptrace(PTRACE_GETREGS, t->tid, NULL, &r))
		return false;
	/* DWARF numbering of x86_64 (the psABI): rax rdx rcx rbx rsi rdi rbp rsp r8-r15,
	 * then the return address column, rip. */
	dw[0] = r.rax;
	dw[1] = r.rdx;
	dw[2] = r.rcx;
	dw[3] = r.rbx;
	dw[4] = r.rsi;
	dw[5] = r.rdi;
	dw[6] = r.rbp;
	dw[7] = r.rsp;
	dw[8] = r.r8;
	dw[9] = r.r9;
	dw[10] = r.r10;
	dw[11] = r.r11;
	dw[12] = r.r12;
	dw[13] = r.r13;
	dw[14] = r.r14;
	dw[15] = r.r15;
	dw[16] = r.rip;
	if (!dwfl_thread_state_registers(thread, 0, 17, dw))
		return false;
	dwfl_thread_state_register_pc(thread, r.rip);
	return true;
#else
	return false;
#endif
}

static const Dwfl_Thread_Callbacks live_callbacks = {
	.next_thread = live_next_thread,
	.memory_read = live_memory_read,
	.set_initial_registers = live_set_initial_registers,
};

/* Opens the ELF files and their CFI before the freeze: the pause is then unwinding. */
static int warm_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		       void *arg)
{
	Dwarf_Addr bias;

	if (dwfl_module_getelf(mod, &bias))
		dwfl_module_eh_cfi(mod, &bias);
	return DWARF_CB_OK;
}

static void add_thread_names(pid_t pid, json_t *threads)
{
	size_t i;
	json_t *t;

	json_array_foreach(threads, i, t) {
		pid_t tid = (pid_t)json_integer_value(json_object_get(t, "id"));
		char *buf = NULL;
		size_t len = 0;

		json_set(t, "signal", json_null());
		if (procfs_read(pid, tid, "comm", &buf, &len) == 0) {
			while (len && buf[len - 1] == '\n')
				len--;
			json_set(t, "name", json_string_bytes(buf, len));
		} else {
			json_set(t, "name", json_null()); /* exited since */
		}
		free(buf);
	}
}

static json_t *process_json(pid_t pid)
{
	json_t *p = json_object();
	struct proc_status st;
	char *buf = NULL, *exe = NULL;
	size_t len = 0;

	json_set(p, "name", json_null());
	json_set(p, "id", json_integer(pid));
	json_set(p, "parent_id", json_null());
	if (procfs_read_status(pid, -1, &st) == 0) {
		json_set(p, "name", json_string_bytes(st.name, strlen(st.name)));
		json_set(p, "parent_id", json_integer(st.ppid));
	}
	if (procfs_read(pid, -1, "cmdline", &buf, &len) == 0) {
		len = procfs_cmdline_join(buf, len);
		json_set(p, "command_line", json_string_bytes(buf, len));
	} else {
		json_set(p, "command_line", json_null());
	}
	free(buf);
	if (asprintf(&buf, "/proc/%d/exe", pid) >= 0)
		exe = realpath(buf, NULL);
	free(buf);
	json_set(p, "executable", json_string_cstr(exe));
	free(exe);
	return p;
}

/*
 * The modules from /proc/PID/maps. A leader that called pthread_exit() is a zombie with
 * no maps of its own while its threads run: read a live thread's instead.
 */
static int report_modules(Dwfl *dwfl, pid_t pid)
{
	pid_t *tids = NULL;
	size_t n = 0;
	int err;

	dwfl_report_begin(dwfl);
	err = dwfl_linux_proc_report(dwfl, pid);
	if (err && procfs_list_pids(pid, true, &tids, &n) == 0) {
		for (size_t i = 0; i < n && err; i++) {
			if (tids[i] == pid)
				continue;
			dwfl_report_begin(dwfl);
			err = dwfl_linux_proc_report(dwfl, tids[i]);
		}
		free(tids);
	}
	dwfl_report_end(dwfl, NULL, NULL);
	return err;
}

/* /proc/PID/mem, or a live thread's when the leader is a zombie (no mm of its own). */
static int open_mem(pid_t pid, char *path, size_t size)
{
	pid_t *tids = NULL;
	size_t n = 0;
	int fd, err;

	snprintf(path, size, "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || errno != ESRCH)
		return fd >= 0 ? fd : -errno;
	err = -ESRCH;
	if (procfs_list_pids(pid, true, &tids, &n) == 0) {
		for (size_t i = 0; i < n && fd < 0; i++) {
			snprintf(path, size, "/proc/%d/task/%d/mem", pid, tids[i]);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				err = -errno;
		}
		free(tids);
	}
	return fd >= 0 ? fd : err;
}

/* The process of this call, for find_elf (libdwfl's callbacks take no context). */
static __thread pid_t tl_pid;

struct map_lookup {
	const char *path;
	size_t len; /* without " (deleted)", which maps shows and procfs strips */
	uint64_t start, end;
	bool found;
};

static int find_mapping(const struct proc_map *m, void *ctx)
{
	struct map_lookup *l = ctx;

	if (l->found || strlen(m->path) != l->len || strncmp(m->path, l->path, l->len))
		return 0;
	l->start = m->start;
	l->end = m->end;
	l->found = true;
	return 0;
}

/*
 * A module's file as the process has it mapped: /proc/PID/map_files/START-END is the
 * mapped inode itself (a library replaced on disk since, or deleted, or in another mount
 * namespace); without access to it, /proc/PID/root/PATH, the file by its name in the
 * process's root (a container's own libraries, not the host's). Then libdwfl's lookup
 * (the vDSO).
 */
static int live_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
			 Dwarf_Addr base, char **file_name, Elf **elfp)
{
	if (tl_pid > 0 && modname && modname[0] == '/') {
		static const char deleted[] = " (deleted)";
		struct map_lookup l = { .path = modname, .len = strlen(modname) };
		char *path = NULL, *shown = NULL;
		int fd = -1;

		if (l.len > sizeof(deleted) - 1 &&
		    !strcmp(modname + l.len - (sizeof(deleted) - 1), deleted))
			l.len -= sizeof(deleted) - 1;

		if (procfs_for_each_map(tl_pid, find_mapping, &l) == 0 && l.found &&
		    asprintf(&path, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, tl_pid, l.start,
			     l.end) >= 0) {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			free(path);
			path = NULL;
			/* libdwfl names the module's file by this: the path the process uses. */
			if (fd >= 0 && asprintf(&shown, "/proc/%d/root%.*s", tl_pid, (int)l.len,
						modname) >= 0) {
				free(*file_name);
				*file_name = shown;
				return fd;
			}
			if (fd >= 0)
				close(fd);
		}
		if (asprintf(&path, "/proc/%d/root%s", tl_pid, modname) >= 0)
			fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			free(*file_name);
			*file_name = path;
			return fd;
		}
		free(path);
	}
	return dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp);
}

/* Modules with their paths as the process names them, without /proc/PID/root. */
static json_t *live_modules(Dwfl *dwfl, pid_t pid)
{
	json_t *mods = stacks__modules(dwfl), *m;
	char prefix[64];
	size_t i, n;

	n = (size_t)snprintf(prefix, sizeof(prefix), "/proc/%d/root/", pid);
	json_array_foreach(mods, i, m) {
		const char *path = json_string_value(json_object_get(m, "path"));

		if (path && !strncmp(path, prefix, n))
			json_set(m, "path", json_string(path + n - 1));
	}
	return mods;
}

static bool is_kernel_thread(pid_t pid)
{
	char *buf = NULL;
	uint64_t flags = 0;
	bool k;

	if (procfs_read(pid, -1, "stat", &buf, NULL))
		return false;
	k = procfs_stat_field(buf, 9, &flags) == 0 && (flags & PROC_PF_KTHREAD);
	free(buf);
	return k;
}

int analyze__live(pid_t pid, const struct analyze_opts *opts, json_t **out, char *why,
		  size_t why_len)
{
	static const struct analyze_opts no_opts;
	static char *debuginfo_path;
	static const Dwfl_Callbacks callbacks = {
		.find_elf = live_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &debuginfo_path,
	};
	struct raw_stacks rs = {};
	struct freeze fz = {};
	struct live_state ls = { .fz = &fz, .mem_fd = -1 };
	char mem_path[64];
	double t0 = now_ms(), pause_ms = 0;
	json_t *j = NULL, *threads = NULL;
	Dwfl *dwfl = NULL;
	int err;

	*out = NULL;
	why[0] = '\0';
	if (!opts)
		opts = &no_opts;
#if !defined(__x86_64__)
	snprintf(why, why_len, "stack reads registers on x86_64 only");
	return -EOPNOTSUPP;
#endif
	if (is_kernel_thread(pid)) {
		snprintf(why, why_len, "process %d is a kernel thread: it has no user-space "
			 "stack", pid);
		return -EINVAL;
	}
	dwfl = dwfl_begin(&callbacks);
	if (!dwfl) {
		snprintf(why, why_len, "libdwfl: %s", dwfl_errmsg(-1));
		return -ENOMEM;
	}
	tl_pid = pid;
	err = report_modules(dwfl, pid);
	if (err) {
		/* A positive errno from reading /proc/PID/maps, or -1 from libdwfl. */
		err = err > 0 ? -err : -ESRCH;
		if (err == -ENOENT)
			err = -ESRCH;
		snprintf(why, why_len, err == -ESRCH ? "process %d not found"
			 : "cannot read the mappings of process %d: %s", pid, strerror(-err));
		goto cleanup;
	}
	dwfl_getmodules(dwfl, warm_module, NULL, 0);
	ls.mem_fd = open_mem(pid, mem_path, sizeof(mem_path));
	if (ls.mem_fd < 0) {
		err = ls.mem_fd == -ENOENT ? -ESRCH : ls.mem_fd;
		snprintf(why, why_len, "cannot open %s: %s", mem_path, strerror(-ls.mem_fd));
		goto cleanup;
	}

	/* Freeze, unwind, release: nothing else happens while the process is stopped. */
	err = freeze__all(pid, &fz, opts->cancel, why, why_len);
	if (!err) {
		if (!dwfl_attach_state(dwfl, NULL, pid, &live_callbacks, &ls)) {
			err = -ENOTSUP;
			snprintf(why, why_len, "libdwfl cannot unwind process %d: %s", pid,
				 dwfl_errmsg(-1));
		} else {
			err = stacks__unwind_raw(dwfl, opts->max_frames, &rs);
			if (err == -ENODATA)
				snprintf(why, why_len, "cannot unwind process %d: %s", pid, rs.error);
		}
		freeze__release(&fz);
		pause_ms = (double)(fz.released_ns - fz.frozen_ns) / 1e6;
	}
	if (!err && opts->cancel && *opts->cancel)
		err = -ECANCELED;
	if (err) {
		if (err == -ECANCELED)
			snprintf(why, why_len, "interrupted");
		else if (!why[0])
			snprintf(why, why_len, "%s", strerror(-err));
		goto cleanup;
	}

	err = stacks__symbolize(dwfl, &rs, &threads);
	if (err)
		goto cleanup;
	add_thread_names(pid, threads);
	report__order_threads(threads, 0, pid);
	j = json_object();
	json_set(j, "process", process_json(pid));
	json_set(j, "signal", json_null());
	report__add_threads(j, threads, 0, 0);
	threads = NULL;
	json_set(j, "modules", live_modules(dwfl, pid));
	json_set(j, "pause_ms", json_real(pause_ms));
	json_set(j, "duration_ms", json_real(now_ms() - t0));
	*out = j;
cleanup:
	stacks__free_raw(&rs);
	json_decref(threads);
	dwfl_end(dwfl);
	tl_pid = 0;
	if (ls.mem_fd >= 0)
		close(ls.mem_fd);
	return err;
}
