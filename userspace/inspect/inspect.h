/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The JSON of processes, threads and modules: one builder per object, shared by the
 * CLI commands (ps, show, threads, thread, modules, module, kill) and by `serve`.
 * Field names follow Kudu's /api/processes where Kudu has one; docs/json.md lists
 * them all. Every function returns 0 and a new reference in *out, or a negative errno:
 * -ESRCH/-ENOENT no such process/thread/module, -EACCES/-EPERM not allowed,
 * -EINVAL bad argument. Hrefs are built with common/href.h.
 */
#ifndef TRACEDUMP_INSPECT_H
#define TRACEDUMP_INSPECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

struct ps_filter {
	const char *name; /* exact process name: comm, argv[0]'s basename, or exe's basename
			   * when comm is cut to 15 bytes; NULL for all */
	const char *user; /* user name or numeric uid, NULL for all */
};

struct show_opts {
	uint64_t cpu_interval_ns; /* window for cpu_percent; 0 skips the measurement */
};

/* `ps`: an array of summary objects, ascending by id. */
int inspect__process_list(const struct ps_filter *filter, json_t **out);
/* `show`: the detail object. */
int inspect__process_detail(pid_t pid, const struct show_opts *opts, json_t **out);

/* `threads` / `thread`: an array ascending by id / one object. */
int inspect__thread_list(pid_t pid, json_t **out);
int inspect__thread_detail(pid_t pid, pid_t tid, json_t **out);

/* `modules` / `module`: one entry per mapped file / the one based at @base. */
int inspect__module_list(pid_t pid, json_t **out);
int inspect__module_detail(pid_t pid, uint64_t base, json_t **out);

struct kill_opts {
	uint64_t timeout_ns; /* SIGTERM, then SIGKILL for what is left after this */
	int first_signal;    /* what "SIGTERM" above is; 0 means SIGTERM */
};

/* `kill`: the tree rooted at @pid; *out lists every PID and how it ended. Refuses
 * PID 1 and tracedump itself (-EPERM). */
int inspect__kill_tree(pid_t pid, const struct kill_opts *opts, json_t **out);

#endif /* TRACEDUMP_INSPECT_H */
