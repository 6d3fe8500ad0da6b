// SPDX-License-Identifier: GPL-2.0-only
/* The JSON routes: every body comes from the builders of inspect/inspect.h, the ones the
 * CLI prints, so `curl .../api/processes/42` and `tracedump show 42` agree. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "common/parse.h"
#include "inspect/inspect.h"
#include "serve/dump_route.h"
#include "serve/events.h"
#include "serve/server.h"

#define DETAIL_MAX_CPU_INTERVAL_NS (5ull * 1000000000ull)
#define KILL_TIMEOUT_NS (5ull * 1000000000ull)

/*
 * The list (and --main NAME) runs on a thread of its own (server.c): at most one such
 * thread per CPU reads /proc and builds JSON at a time, so that 64 clients of the list
 * are not 64 threads time-sliced against the pool. The others sleep (up to
 * GATE_WAIT_MAX_MS) until a CPU is free: a read of /proc can block (a process's
 * mmap_lock held by a stuck writer), and such a list must not stall every other one.
 */
#define GATE_WAIT_MAX_MS 100
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;
static sem_t cpu_gate;

static void gate_init(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	sem_init(&cpu_gate, 0, n > 0 ? (unsigned)n : 1);
}

/* Returns whether the gate was taken (pass it to gate_leave). */
static bool gate_enter(void)
{
	struct timespec deadline;

	pthread_once(&gate_once, gate_init);
	server_deadline(&deadline, GATE_WAIT_MAX_MS);
	for (;;) {
		if (!sem_timedwait(&cpu_gate, &deadline))
			return true;
		if (errno != EINTR)
			return false; /* ETIMEDOUT: go on without it */
	}
}

static void gate_leave(bool taken)
{
	if (taken)
		sem_post(&cpu_gate);
}

/* --main NAME: the lowest PID of that name, looked up on every request (it restarts). */
static int resolve_main(pid_t *pid)
{
	struct ps_filter filter = { .name = serve_cfg->main_arg };
	json_t *list = NULL;
	bool gate;
	int err;

	if (!serve_cfg->main_arg)
		return -ENOENT;
	if (!parse_pid(serve_cfg->main_arg, pid, 0))
		return 0;
	gate = gate_enter();
	err = inspect__process_list(&filter, &list);
	gate_leave(gate);
	if (err)
		return err;
	if (!json_array_size(list)) {
		json_decref(list);
		return -ESRCH;
	}
	*pid = (pid_t)json_integer_value(json_object_get(json_array_get(list, 0), "id"));
	json_decref(list);
	return 0;
}

int routes_resolve_id(struct MHD_Connection *c, struct serve_request *r, pid_t *pid,
		      enum MHD_Result *ret)
{
	int err;

	if (r->route.id == ROUTE_ID_SELF) {
		*pid = getpid();
		return 0;
	}
	if (r->route.id != ROUTE_ID_MAIN) {
		*pid = (pid_t)r->route.id;
		return 0;
	}
	err = resolve_main(pid);
	if (!err)
		return 0;
	if (!serve_cfg->main_arg)
		*ret = server_reply_error(c, r, MHD_HTTP_NOT_FOUND,
					  "process -1 is the --main process, and none was given");
	else if (err == -ESRCH)
		*ret = server_reply_error(c, r, MHD_HTTP_NOT_FOUND,
					  "no process named '%s' (--main)", serve_cfg->main_arg);
	else
		*ret = server_reply_error(c, r, server_status_from_errno(err),
					  "cannot find the --main process: %s", strerror(-err));
	return err;
}

static enum MHD_Result reply_inspect_error(struct MHD_Connection *c, struct serve_request *r,
					   int err, pid_t pid, const char *what)
{
	switch (err) {
	case -ESRCH:
		return server_reply_error(c, r, MHD_HTTP_NOT_FOUND, "no process %d", pid);
	case -ENOENT:
		return server_reply_error(c, r, MHD_HTTP_NOT_FOUND, "no such %s in process %d",
					  what, pid);
	default:
		return server_reply_error(c, r, server_status_from_errno(err),
					  "cannot read the %s of process %d: %s", what, pid,
					  strerror(-err));
	}
}

/* Kudu's list carries is_scm_site; we give it and is_self on every entry, so that a
 * client can skip the server without fetching each process. */
static enum MHD_Result get_processes(struct MHD_Connection *c, struct serve_request *r)
{
	json_t *list = NULL, *p;
	pid_t self = getpid();
	size_t i;
	bool gate;
	int err;

	gate = gate_enter();
	err = inspect__process_list(NULL, &list);
	gate_leave(gate);
	if (err)
		return server_reply_error(c, r, server_status_from_errno(err),
					  "cannot list processes: %s", strerror(-err));
	json_array_foreach(list, i, p) {
		bool is_self = json_integer_value(json_object_get(p, "id")) == self;

		json_object_set_new(p, "is_self", json_boolean(is_self));
		json_object_set_new(p, "is_scm_site", json_boolean(is_self));
	}
	return server_reply_json(c, r, MHD_HTTP_OK, list);
}

static enum MHD_Result get_process(struct MHD_Connection *c, struct serve_request *r,
				   pid_t pid)
{
	const char *arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cpu_interval");
	struct show_opts opts = { 0 };
	json_t *j = NULL;
	int err;

	if (arg && (parse_duration_ns(arg, &opts.cpu_interval_ns) ||
		    opts.cpu_interval_ns > DETAIL_MAX_CPU_INTERVAL_NS))
		return server_reply_error(c, r, MHD_HTTP_BAD_REQUEST,
					  "invalid cpu_interval '%.32s': a duration up to 5s",
					  arg);
	/* cpu_interval sleeps: server.c runs such a request on a thread of its own. */
	err = inspect__process_detail(pid, &opts, &j);
	if (err)
		return reply_inspect_error(c, r, err, pid, "details");
	return server_reply_json(c, r, MHD_HTTP_OK, j);
}

static enum MHD_Result delete_process(struct MHD_Connection *c, struct serve_request *r,
				      pid_t pid)
{
	struct kill_opts opts = { .timeout_ns = KILL_TIMEOUT_NS };
	json_t *j = NULL;
	int err;

	if (pid == getpid())
		return server_reply_error(c, r, MHD_HTTP_FORBIDDEN,
					  "the server does not kill itself (id 0)");
	err = inspect__kill_tree(pid, &opts, &j);
	if (err == -ESRCH)
		return server_reply_error(c, r, MHD_HTTP_NOT_FOUND, "no process %d", pid);
	if (err)
		return server_reply_error(c, r, server_status_from_errno(err),
					  "cannot kill process %d: %s", pid, strerror(-err));
	return server_reply_json(c, r, MHD_HTTP_OK, j);
}

/* `tracedump stack` over HTTP: the process is stopped only while it is unwound. */
static enum MHD_Result get_stack(struct MHD_Connection *c, struct serve_request *r, pid_t pid)
{
	struct analyze_opts opts = {};
	char why[256] = "";
	json_t *j = NULL;
	int err;

	err = analyze__live(pid, &opts, &j, why, sizeof(why));
	if (err)
		return server_reply_error(c, r, server_status_from_errno(err), "%s",
					  why[0] ? why : strerror(-err));
	return server_reply_json(c, r, MHD_HTTP_OK, j);
}

enum MHD_Result routes_dispatch(struct MHD_Connection *c, struct serve_request *r)
{
	enum MHD_Result ret = MHD_YES;
	json_t *j = NULL;
	pid_t pid = 0;
	int err;

	switch (r->route.kind) {
	case ROUTE_PROCESSES:
		return get_processes(c, r);
	case ROUTE_EVENTS:
		return events_reply(c, r);
	default:
		break;
	}
	if (routes_resolve_id(c, r, &pid, &ret))
		return ret;

	switch (r->route.kind) {
	case ROUTE_PROCESS:
		if (r->method_bit == METHOD_DELETE)
			return delete_process(c, r, pid);
		return get_process(c, r, pid);
	case ROUTE_THREADS:
		err = inspect__thread_list(pid, &j);
		return err ? reply_inspect_error(c, r, err, pid, "threads")
			   : server_reply_json(c, r, MHD_HTTP_OK, j);
	case ROUTE_THREAD:
		err = inspect__thread_detail(pid, r->route.tid, &j);
		if (err == -ENOENT)
			return server_reply_error(c, r, MHD_HTTP_NOT_FOUND,
						  "thread %d is not a thread of process %d",
						  r->route.tid, pid);
		return err ? reply_inspect_error(c, r, err, pid, "thread")
			   : server_reply_json(c, r, MHD_HTTP_OK, j);
	case ROUTE_MODULES:
		err = inspect__module_list(pid, &j);
		return err ? reply_inspect_error(c, r, err, pid, "modules")
			   : server_reply_json(c, r, MHD_HTTP_OK, j);
	case ROUTE_MODULE:
		err = inspect__module_detail(pid, r->route.base, &j);
		if (err == -ENOENT)
			return server_reply_error(c, r, MHD_HTTP_NOT_FOUND,
						  "no module based at 0x%llx in process %d",
						  (unsigned long long)r->route.base, pid);
		return err ? reply_inspect_error(c, r, err, pid, "module")
			   : server_reply_json(c, r, MHD_HTTP_OK, j);
	case ROUTE_DUMP:
		return dump_reply(c, r, pid);
	case ROUTE_STACK:
		return get_stack(c, r, pid);
	default:
		return server_reply_error(c, r, MHD_HTTP_NOT_FOUND, "no such route");
	}
}
