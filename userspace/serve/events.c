// SPDX-License-Identifier: GPL-2.0-only
/*
 * GET /api/events?pid=N[,M]&type=signal,exit[&timeout=30s][&limit=N]: the tracer's events,
 * one JSON object a line (the objects of `tracedump trace`), in a chunked response that
 * lasts until the client leaves, the timeout or limit is reached, or the server stops.
 * Each stream has a tracer of its own (BPF loaded for it, unloaded when it ends), so
 * their number is bounded.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "serve/events.h"

#if __has_include("trace/loader.h")
#include <signal.h>

#include "common/parse.h"
#include "trace/event_json.h"
#include "trace/loader.h"
#include "trace/symbolize.h"

#define EVENTS_MAX_STREAMS 4
#define EVENTS_MAX_PIDS 16
#define EVENTS_DEFAULT_CLASSES (TRACER_SIGNAL | TRACER_EXIT)
#define EVENTS_POLL_MS 200

struct event_stream {
	struct tracer *t;
	struct symbolizer *sym;
	struct event_json_ctx jctx;
	int client_fd;
	uint64_t deadline_ns; /* 0: none */
	uint64_t limit, sent; /* events; limit 0: none */
	char *pending;	      /* NDJSON not yet handed to the response */
	size_t pending_len, pending_off, pending_cap;
	/* The tracer is polled on a thread of the stream's own (poller); the response's
	 * reader, on a pool thread, takes what is pending or suspends the connection. */
	pthread_mutex_t lock; /* pending, sent, the flags */
	pthread_cond_t cond;
	struct MHD_Connection *conn;
	bool waiting;	      /* the connection is suspended for more */
	bool ended;	      /* timeout, limit or stop: the stream ends once drained */
	bool broken;	      /* the client left or the tracer failed */
	bool freed;	      /* MHD is done with the response: the poller tears down */
};

static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned streams;

static int append_line(struct event_stream *s, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	size_t n;

	json_decref(j);
	if (!text)
		return -ENOMEM;
	n = strlen(text);
	if (s->pending_len + n + 1 > s->pending_cap) {
		size_t cap = (s->pending_len + n + 1) * 2;
		char *p = realloc(s->pending, cap);

		if (!p) {
			free(text);
			return -ENOMEM;
		}
		s->pending = p;
		s->pending_cap = cap;
	}
	memcpy(s->pending + s->pending_len, text, n);
	s->pending[s->pending_len + n] = '\n';
	s->pending_len += n + 1;
	free(text);
	return 0;
}

static int on_event(void *ctx, const void *data, size_t size)
{
	struct event_stream *s = ctx;
	json_t *j;

	if (s->limit && s->sent >= s->limit)
		return 0;
	j = tracer_event_to_json(data, size, &s->jctx);
	if (!j)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (!append_line(s, j))
		s->sent++;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* With s->lock held: the reader waits for something, and it is there. */
static void wake_reader(struct event_stream *s)
{
	if (s->waiting) {
		s->waiting = false;
		server_resume(s->conn);
	}
}

/* The client closed its side (or the connection broke): no one reads any more. */
static bool client_gone(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

	return fd >= 0 && poll(&pfd, 1, 0) > 0 &&
	       (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* On a pool thread: never waits (the poller resumes the connection). */
static ssize_t read_events(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct event_stream *s = cls;
	ssize_t ret;

	pthread_mutex_lock(&s->lock);
	if (s->pending_off < s->pending_len) {
		size_t n = s->pending_len - s->pending_off;

		if (n > max)
			n = max;
		memcpy(buf, s->pending + s->pending_off, n);
		s->pending_off += n;
		if (s->pending_off == s->pending_len)
			s->pending_off = s->pending_len = 0;
		ret = (ssize_t)n;
	} else if (s->broken) {
		ret = MHD_CONTENT_READER_END_WITH_ERROR;
	} else if (s->ended || serve_stopping) {
		ret = MHD_CONTENT_READER_END_OF_STREAM;
	} else if (server_suspend(s->conn)) {
		s->waiting = true;
		ret = 0;
	} else {
		ret = MHD_CONTENT_READER_END_OF_STREAM; /* the server is stopping */
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static void destroy_stream(struct event_stream *s)
{
	if (s->t)
		tracer__destroy(s->t);
	if (s->sym)
		symbolizer__free(s->sym);
	free(s->pending);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
	pthread_mutex_lock(&streams_lock);
	streams--;
	pthread_mutex_unlock(&streams_lock);
}

/* The stream's thread: polls the tracer, ends the stream (timeout, limit, stop, client
 * gone), and tears everything down (BPF unloaded) once MHD is done with the response,
 * never on a pool thread. */
static void *poller_main(void *arg)
{
	struct event_stream *s = arg;
	bool end = false;

	while (!end) {
		bool broken = false, ended = false;

		pthread_mutex_lock(&s->lock);
		end = s->freed;
		pthread_mutex_unlock(&s->lock);
		if (end)
			break;
		if (serve_stopping || (s->limit && s->sent >= s->limit) ||
		    (s->deadline_ns && tracer_now_ns() >= s->deadline_ns))
			ended = true;
		else if (client_gone(s->client_fd) ||
			 tracer__poll(s->t, EVENTS_POLL_MS, on_event, s) < 0)
			broken = true;
		pthread_mutex_lock(&s->lock);
		s->ended |= ended;
		s->broken |= broken;
		end = s->ended || s->broken;
		if (end || s->pending_len)
			wake_reader(s);
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_lock(&s->lock);
	while (!s->freed)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	destroy_stream(s);
	return NULL;
}

/* MHD is done with the response: the poller tears down. */
static void free_stream(void *cls)
{
	struct event_stream *s = cls;

	pthread_mutex_lock(&s->lock);
	s->freed = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* "1,2,3" into @pids; -EINVAL for anything else. */
static int parse_pids(const char *arg, pid_t *pids, size_t *count)
{
	char buf[256], *tok, *save = NULL;

	*count = 0;
	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*count == EVENTS_MAX_PIDS || parse_pid(tok, &pids[*count], 0))
			return -EINVAL;
		(*count)++;
	}
	return *count ? 0 : -EINVAL;
}

enum MHD_Result events_reply(struct MHD_Connection *c, struct serve_request *r)
{
	const char *pid_arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "pid");
	const char *type_arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "type");
	const char *timeout_arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
							      "timeout");
	const char *limit_arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	const union MHD_ConnectionInfo *info;
	struct tracer_opts opts = { .classes = EVENTS_DEFAULT_CLASSES };
	struct event_stream *s = NULL;
	struct MHD_Response *resp;
	pid_t pids[EVENTS_MAX_PIDS];
	size_t npids = 0;
	uint64_t timeout_ns = 0, limit = 0;
	char err[256];
	const char *bad = NULL;
	enum MHD_Result ret;
	json_t *start, *cl, *pl;
	pthread_t poller;
	int e;

	if (pid_arg && parse_pids(pid_arg, pids, &npids))
		return server_reply_error(c, r, MHD_HTTP_BAD_REQUEST,
					  "invalid pid '%.64s': up to %d PIDs, comma-separated",
					  pid_arg, EVENTS_MAX_PIDS);
	/* cpu (sampled counters) and latency (a probe spec) belong to `trace` and `top`. */
	if (type_arg && (tracer_classes_parse(type_arg, &opts.classes, &bad) ||
			 (opts.classes & (TRACER_LATENCY | TRACER_CPU))))
		return server_reply_error(c, r, MHD_HTTP_BAD_REQUEST,
					  "invalid type '%.64s': expected signal, exit or exception, "
					  "comma-separated", type_arg);
	if (timeout_arg && parse_duration_ns(timeout_arg, &timeout_ns))
		return server_reply_error(c, r, MHD_HTTP_BAD_REQUEST,
					  "invalid timeout '%.32s': a duration such as 30s",
					  timeout_arg);
	if (limit_arg && (parse_u64(limit_arg, &limit) || !limit))
		return server_reply_error(c, r, MHD_HTTP_BAD_REQUEST,
					  "invalid limit '%.32s': a positive count of events",
					  limit_arg);
	for (size_t i = 0; i < npids; i++)
		if (kill(pids[i], 0) && errno == ESRCH)
			return server_reply_error(c, r, MHD_HTTP_NOT_FOUND, "no process %d",
						  pids[i]);

	pthread_mutex_lock(&streams_lock);
	if (streams >= EVENTS_MAX_STREAMS) {
		pthread_mutex_unlock(&streams_lock);
		return server_reply_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "%d event streams are open already", EVENTS_MAX_STREAMS);
	}
	streams++;
	pthread_mutex_unlock(&streams_lock);

	s = calloc(1, sizeof(*s));
	if (!s) {
		pthread_mutex_lock(&streams_lock);
		streams--;
		pthread_mutex_unlock(&streams_lock);
		return server_reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	s->client_fd = -1;
	s->limit = limit;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->conn = c;
	opts.all = npids == 0;
	opts.follow = npids > 0;
	opts.threshold_ns = 200000000ULL;
	e = tracer__open(&opts, &s->t, err, sizeof(err));
	if (e) {
		ret = server_reply_error(c, r, e == -EOPNOTSUPP ? MHD_HTTP_NOT_IMPLEMENTED :
					 server_status_from_errno(e), "cannot trace: %s", err);
		destroy_stream(s);
		return ret;
	}
	for (size_t i = 0; i < npids; i++) {
		e = tracer__add_pid(s->t, pids[i], err, sizeof(err));
		if (e) {
			ret = server_reply_error(c, r, e == -ESRCH ? MHD_HTTP_NOT_FOUND :
						 server_status_from_errno(e), "%s", err);
			destroy_stream(s);
			return ret;
		}
	}
	s->sym = symbolizer__new();
	s->jctx.mono_to_epoch = tracer__mono_to_epoch(s->t);
	s->jctx.frame = s->sym ? symbolizer__frame : NULL;
	s->jctx.sym_ctx = s->sym;
	if (timeout_ns)
		s->deadline_ns = tracer_now_ns() + timeout_ns;
	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (info)
		s->client_fd = info->connect_fd;

	/* First line: what is traced, so that a reader knows events flow from here on. */
	cl = json_array();
	pl = json_array();
	for (int i = 0; i < 5; i++)
		if (tracer__classes(s->t) & (1u << i))
			json_array_append_new(cl, json_string(tracer_class_names[i]));
	for (size_t i = 0; i < npids; i++)
		json_array_append_new(pl, json_integer(pids[i]));
	start = json_pack("{s:s, s:o, s:o, s:b, s:s}", "type", "start", "classes", cl, "pids",
			  pl, "all", npids == 0, "warnings", tracer__warnings(s->t));
	if (!start || append_line(s, start)) {
		destroy_stream(s);
		return server_reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}

	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, read_events, s,
						 free_stream);
	if (!resp) {
		destroy_stream(s);
		return MHD_NO;
	}
	e = pthread_create(&poller, NULL, poller_main, s);
	if (e) {
		/* The response's free callback only flags: tear down here. */
		MHD_destroy_response(resp);
		destroy_stream(s);
		return server_reply_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "cannot start a thread: %s", strerror(e));
	}
	pthread_detach(poller);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
	server_common_headers(resp);
	return server_queue(c, r, MHD_HTTP_OK, resp);
}

#else /* no tracer in this tree */

enum MHD_Result events_reply(struct MHD_Connection *c, struct serve_request *r)
{
	return server_reply_error(c, r, MHD_HTTP_NOT_IMPLEMENTED,
				  "events are not built into this tracedump");
}

#endif
