// SPDX-License-Identifier: GPL-2.0-only
/*
 * analyze__live: the stacks of a running process. Every thread is seized and interrupted
 * (PTRACE_SEIZE + PTRACE_INTERRUPT, never SIGSTOP), unwound, and let go before anything
 * is symbolized, so the pause is the unwinding alone. A seized tracee is detached by the
 * kernel when its tracer dies, even by SIGKILL; every other path here detaches it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <elfutils/libdwfl.h>

#include "analyze/analyze.h"
#include "analyze/report.h"
#include "analyze/stacks.h"
#include "common/jsonutil.h"
#include "common/procfs.h"

struct held_thread {
	pid_t tid;
	int resume_sig; /* a signal caught in signal-delivery-stop, given back on detach */
	bool gone;
};

struct hold {
	struct held_thread *threads;
	size_t count, cap;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool held(const struct hold *h, pid_t tid)
{
	for (size_t i = 0; i < h->count; i++)
		if (h->threads[i].tid == tid)
			return true;
	return false;
}

static void release(struct hold *h)
{
	for (size_t i = 0; i < h->count; i++)
		if (!h->threads[i].gone)
			ptrace(PTRACE_DETACH, h->threads[i].tid, NULL,
			       (void *)(long)h->threads[i].resume_sig);
	free(h->threads);
	memset(h, 0, sizeof(*h));
}

/* The tracer named in /proc/PID/status, for "already traced by N". */
static pid_t tracer_of(pid_t pid)
{
	struct proc_status st;

	return procfs_read_status(pid, -1, &st) ? 0 : st.tracer_pid;
}

/* Waits until @t is in a ptrace stop (or gone). -EINTR when cancelled. */
static int wait_stopped(struct held_thread *t, volatile sig_atomic_t *cancel)
{
	int status;

	for (;;) {
		pid_t r = waitpid(t->tid, &status, __WALL);

		if (r < 0) {
			if (errno == EINTR) {
				if (cancel && *cancel)
					return -ECANCELED;
				continue;
			}
			if (errno == ECHILD) {
				t->gone = true;
				return 0;
			}
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			t->gone = true;
			return 0;
		}
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* Signal-delivery-stop: stopped too; the signal goes back on detach. A
		 * SIGSTOP/SIGTSTP here is a group stop starting: keep it for the kernel. */
		t->resume_sig = WSTOPSIG(status);
		return 0;
	}
}

static int freeze(pid_t pid, struct hold *h, volatile sig_atomic_t *cancel, char *why,
		  size_t why_len)
{
	/* Threads created while we seize the others: list again until none is new. */
	for (int round = 0; round < 100; round++) {
		pid_t *tids = NULL;
		size_t n = 0, added = 0;
		int err = procfs_list_pids(pid, true, &tids, &n);

		if (err) {
			snprintf(why, why_len, "process %d not found", pid);
			return err == -ENOENT ? -ESRCH : err;
		}
		for (size_t i = 0; i < n; i++) {
			struct held_thread *t;

			if (held(h, tids[i]))
				continue;
			if (cancel && *cancel) {
				free(tids);
				return -ECANCELED;
			}
			if (ptrace(PTRACE_SEIZE, tids[i], NULL, NULL)) {
				err = -errno;
				if (err == -ESRCH)
					continue; /* exited since the listing */
				free(tids);
				if (err == -EPERM && tracer_of(pid) > 0) {
					snprintf(why, why_len, "process %d is already traced by "
						 "process %d", pid, tracer_of(pid));
					return -EBUSY;
				}
				snprintf(why, why_len, "cannot attach to thread %d of process %d: %s",
					 tids[i], pid, strerror(-err));
				return err;
			}
			if (h->count == h->cap) {
				size_t cap = h->cap ? 2 * h->cap : 64;
				struct held_thread *nt = realloc(h->threads, cap * sizeof(*nt));

				if (!nt) {
					ptrace(PTRACE_DETACH, tids[i], NULL, NULL);
					free(tids);
					return -ENOMEM;
				}
				h->threads = nt;
				h->cap = cap;
			}
			t = &h->threads[h->count++];
			*t = (struct held_thread){ .tid = tids[i] };
			added++;
			if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) && errno == ESRCH)
				t->gone = true;
		}
		free(tids);
		for (size_t i = h->count - added; i < h->count; i++) {
			if (h->threads[i].gone)
				continue;
			err = wait_stopped(&h->threads[i], cancel);
			if (err) {
				snprintf(why, why_len, "waiting for thread %d to stop: %s",
					 h->threads[i].tid, strerror(-err));
				return err;
			}
		}
		if (!added)
			return h->count ? 0 : -ESRCH;
	}
	snprintf(why, why_len, "process %d keeps creating threads", pid);
	return -EAGAIN;
}

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

int analyze__live(pid_t pid, const struct analyze_opts *opts, json_t **out, char *why,
		  size_t why_len)
{
	static const struct analyze_opts no_opts;
	static char *debuginfo_path;
	static const Dwfl_Callbacks callbacks = {
		.find_elf = dwfl_linux_proc_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &debuginfo_path,
	};
	struct raw_stacks rs = {};
	struct hold h = {};
	double t0 = now_ms(), frozen = 0, released = 0;
	json_t *j = NULL, *threads = NULL;
	Dwfl *dwfl = NULL;
	int err;

	*out = NULL;
	why[0] = '\0';
	if (!opts)
		opts = &no_opts;
	dwfl = dwfl_begin(&callbacks);
	if (!dwfl) {
		snprintf(why, why_len, "libdwfl: %s", dwfl_errmsg(-1));
		return -ENOMEM;
	}
	dwfl_report_begin(dwfl);
	err = dwfl_linux_proc_report(dwfl, pid);
	dwfl_report_end(dwfl, NULL, NULL);
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

	/* Freeze, unwind, release: nothing else happens while the process is stopped. */
	frozen = now_ms();
	err = freeze(pid, &h, opts->cancel, why, why_len);
	if (!err) {
		if (dwfl_linux_proc_attach(dwfl, pid, true)) {
			err = -ESRCH;
			snprintf(why, why_len, "libdwfl cannot attach to process %d: %s", pid,
				 dwfl_errmsg(-1));
		} else {
			err = stacks__unwind_raw(dwfl, opts->max_frames, &rs);
			if (err == -ENODATA)
				snprintf(why, why_len, "cannot unwind process %d: %s", pid, rs.error);
		}
	}
	release(&h);
	released = now_ms();
	if (!err && opts->cancel && *opts->cancel)
		err = -ECANCELED;
	if (err) {
		if (!why[0])
			snprintf(why, why_len, "%s", err == -ECANCELED ? "interrupted" : strerror(-err));
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
	json_set(j, "modules", stacks__modules(dwfl));
	json_set(j, "pause_ms", json_real(released - frozen));
	json_set(j, "duration_ms", json_real(now_ms() - t0));
	*out = j;
cleanup:
	stacks__free_raw(&rs);
	json_decref(threads);
	dwfl_end(dwfl);
	return err;
}
