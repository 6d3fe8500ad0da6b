/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The analysis library behind `tracedump analyze` (a core or a bundle) and `tracedump
 * stack` (a live process), for other commands to call: `dump --analyze`,
 * `watch --then analyze`, serve's GET /api/processes/{id}/stack. Both build the same
 * JSON (docs/analyze.md): process, signal, threads with symbolized stacks (the crashing
 * or triggering thread first), groups of identical stacks, modules; a core adds its
 * largest mappings and the trigger metadata beside it.
 */
#ifndef TRACEDUMP_ANALYZE_H
#define TRACEDUMP_ANALYZE_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <jansson.h>

struct analyze_opts {
	const char *exe;	/* core: the executable, when not at the path the core names */
	const char *sysroot;	/* core: look files up under this folder first */
	size_t max_frames;	/* per thread; 0: 256 */
	size_t top_mappings;	/* core: how many of the largest mappings; 0: 10 */
	/* live: set to non-zero (e.g. from a SIGINT handler) to stop early; every thread
	 * is resumed before analyze__live returns. */
	volatile sig_atomic_t *cancel;
};

/*
 * Analyzes the core, compressed core (.core.zst) or bundle (.zip, .tar, .tar.zst) at
 * @path. 0 with *@out set, or a negative errno with @why filled: -ENOENT no such file,
 * -EACCES, -ENOEXEC not a core nor a bundle, -ENODATA no thread could be read, -ENOMEM.
 * Thread-safe for different calls (libdwfl state is per call).
 */
int analyze__core(const char *path, const struct analyze_opts *opts, json_t **out,
		  char *why, size_t why_len);

/*
 * The same thread/stack view of the live process @pid, frozen (PTRACE_SEIZE + INTERRUPT
 * of every thread) only while unwinding; "pause_ms" says how long. Must be called from
 * one thread (ptrace). -ESRCH gone, -EPERM not allowed, -EBUSY already traced,
 * -ECANCELED on *opts->cancel.
 */
int analyze__live(pid_t pid, const struct analyze_opts *opts, json_t **out, char *why,
		  size_t why_len);

/* Writes @analysis as `<dump>.analysis.json` beside @dump_path (temp name, renamed).
 * 0 or -errno. */
int analyze__write_beside(const char *dump_path, json_t *analysis, char **written);

/*
 * `dump --analyze` and `watch --then analyze`: analyzes the finished dump at @dump_path,
 * writes `<dump>.analysis.json` beside it, and sets @result's "analysis" to a summary
 * {path, error, thread_count, groups: the 3 largest {count, top_function}, duration_ms}.
 * A failure is a warning on stderr and "analysis.error": the dump itself stands.
 * Returns 0 or the negative errno of the failure.
 */
int analyze__dump(const char *dump_path, json_t *result);

/* The table lines of that summary, for `dump`'s readable output. */
void analyze__print_dump_summary(FILE *f, json_t *result);

#endif /* TRACEDUMP_ANALYZE_H */
