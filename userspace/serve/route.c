// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "serve/route.h"

#define ROUTE_MAX_SEGMENTS 6
#define ROUTE_MAX_PATH 512

/* A process id: "0", "-1" or a positive decimal without sign, spaces or leading zeros
 * beyond "0" itself. */
static int parse_process_id(const char *s, long *out)
{
	pid_t pid;

	if (!strcmp(s, "0")) {
		*out = ROUTE_ID_SELF;
		return 0;
	}
	if (!strcmp(s, "-1")) {
		*out = ROUTE_ID_MAIN;
		return 0;
	}
	if (s[0] == '0' || parse_pid(s, &pid, 0))
		return -EINVAL;
	*out = pid;
	return 0;
}

static int bad(char *why, size_t len, const char *what, const char *value)
{
	snprintf(why, len, "invalid %s '%.64s'", what, value);
	return -EINVAL;
}

int route_parse(const char *path, struct route *r, char *why, size_t why_len)
{
	char buf[ROUTE_MAX_PATH], *seg[ROUTE_MAX_SEGMENTS], *p, *save = NULL;
	size_t n = 0, len;

	memset(r, 0, sizeof(*r));
	if (why_len)
		why[0] = '\0';
	if (!path || path[0] != '/')
		return -ENOENT;
	len = strlen(path);
	if (len >= sizeof(buf))
		return -ENOENT;
	memcpy(buf, path, len + 1);
	if (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	/* Empty segments ("//") are no route; strtok_r would hide them. */
	if (strstr(buf, "//"))
		return -ENOENT;
	if (!strcmp(buf, "/")) {
		r->kind = ROUTE_PAGE;
		return 0;
	}
	for (p = strtok_r(buf + 1, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (n == ROUTE_MAX_SEGMENTS)
			return -ENOENT;
		seg[n++] = p;
	}
	if (n < 2 || strcmp(seg[0], "api"))
		return -ENOENT;
	if (!strcmp(seg[1], "events")) {
		if (n != 2)
			return -ENOENT;
		r->kind = ROUTE_EVENTS;
		return 0;
	}
	if (strcmp(seg[1], "processes"))
		return -ENOENT;
	if (n == 2) {
		r->kind = ROUTE_PROCESSES;
		return 0;
	}
	/* Decide the shape first, so that /api/processes/x/nonsense is 404, not 400. */
	if (n == 3)
		r->kind = ROUTE_PROCESS;
	else if (!strcmp(seg[3], "threads"))
		r->kind = n == 4 ? ROUTE_THREADS : ROUTE_THREAD;
	else if (!strcmp(seg[3], "modules"))
		r->kind = n == 4 ? ROUTE_MODULES : ROUTE_MODULE;
	else if (!strcmp(seg[3], "dump") && n == 4)
		r->kind = ROUTE_DUMP;
	else if (!strcmp(seg[3], "stack") && n == 4)
		r->kind = ROUTE_STACK;
	else
		return -ENOENT;
	if (n > 5)
		return -ENOENT;
	if (parse_process_id(seg[2], &r->id))
		return bad(why, why_len, "process id", seg[2]);
	if (r->kind == ROUTE_THREAD && parse_pid(seg[4], &r->tid, 0))
		return bad(why, why_len, "thread id", seg[4]);
	if (r->kind == ROUTE_MODULE && parse_u64(seg[4], &r->base))
		return bad(why, why_len, "module base address", seg[4]);
	return 0;
}

unsigned route_methods(enum route_kind kind)
{
	switch (kind) {
	case ROUTE_PROCESS:
		return METHOD_GET | METHOD_HEAD | METHOD_DELETE;
	case ROUTE_DUMP:
		return METHOD_GET | METHOD_POST;
	case ROUTE_EVENTS:
	case ROUTE_STACK: /* no HEAD: it would stop the process for nothing */
		return METHOD_GET;
	default:
		return METHOD_GET | METHOD_HEAD;
	}
}

const char *route_allow_header(enum route_kind kind)
{
	switch (kind) {
	case ROUTE_PROCESS:
		return "GET, HEAD, DELETE";
	case ROUTE_DUMP:
		return "GET, POST";
	case ROUTE_EVENTS:
	case ROUTE_STACK:
		return "GET";
	default:
		return "GET, HEAD";
	}
}

unsigned route_method_bit(const char *method)
{
	if (!method)
		return 0;
	if (!strcmp(method, "GET"))
		return METHOD_GET;
	if (!strcmp(method, "HEAD"))
		return METHOD_HEAD;
	if (!strcmp(method, "POST"))
		return METHOD_POST;
	if (!strcmp(method, "DELETE"))
		return METHOD_DELETE;
	return 0;
}

bool route_is_write(enum route_kind kind, unsigned method)
{
	return kind == ROUTE_DUMP || (kind == ROUTE_PROCESS && method == METHOD_DELETE);
}
