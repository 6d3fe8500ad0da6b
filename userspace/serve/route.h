/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The routes of `serve`, parsed from the request path alone (no I/O), so that the unit
 * tests see every case: Kudu's /api/processes tree plus the page and the event stream.
 */
#ifndef TRACEDUMP_SERVE_ROUTE_H
#define TRACEDUMP_SERVE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum route_kind {
	ROUTE_PAGE,	 /* GET / */
	ROUTE_PROCESSES, /* GET /api/processes */
	ROUTE_PROCESS,	 /* GET|DELETE /api/processes/{id} */
	ROUTE_THREADS,	 /* GET /api/processes/{id}/threads */
	ROUTE_THREAD,	 /* GET /api/processes/{id}/threads/{tid} */
	ROUTE_MODULES,	 /* GET /api/processes/{id}/modules */
	ROUTE_MODULE,	 /* GET /api/processes/{id}/modules/{base_address} */
	ROUTE_DUMP,	 /* GET|POST /api/processes/{id}/dump */
	ROUTE_STACK,	 /* GET /api/processes/{id}/stack */
	ROUTE_EVENTS,	 /* GET /api/events */
};

/* Kudu's special process ids. */
#define ROUTE_ID_SELF 0	 /* the server's own process */
#define ROUTE_ID_MAIN -1 /* the process named by --main */

struct route {
	enum route_kind kind;
	long id;	  /* as written: ROUTE_ID_SELF, ROUTE_ID_MAIN or a PID */
	pid_t tid;	  /* ROUTE_THREAD */
	uint64_t base;	  /* ROUTE_MODULE */
};

enum route_method {
	METHOD_GET = 1 << 0,
	METHOD_POST = 1 << 1,
	METHOD_DELETE = 1 << 2,
	METHOD_HEAD = 1 << 3, /* wherever GET is, but for dumps and events: a HEAD would
			       * freeze a process or load BPF for a reply without a body */
};

/*
 * Parses @path (no query string; already percent-decoded by the HTTP library). One
 * trailing slash is tolerated. Returns 0, -ENOENT for a path that is no route (404), or
 * -EINVAL for a route with a bad id, tid or base address (400), with @why saying which.
 */
int route_parse(const char *path, struct route *r, char *why, size_t why_len);

/* METHOD_* bits allowed on @kind; "GET, DELETE"-style text for an Allow header. */
unsigned route_methods(enum route_kind kind);
const char *route_allow_header(enum route_kind kind);

/* A METHOD_* bit for an HTTP method name; 0 for any other. */
unsigned route_method_bit(const char *method);

/* Whether the route changes something: refused with --read-only. */
bool route_is_write(enum route_kind kind, unsigned method);

#endif /* TRACEDUMP_SERVE_ROUTE_H */
