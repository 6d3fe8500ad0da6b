// SPDX-License-Identifier: GPL-2.0-only
/*
 * GET|POST /api/processes/{id}/dump?dumpType=0|1|2: the core goes to the client as the
 * dumper writes it, never held whole. A thread runs dumper__run() into a sink that
 * writes to a pipe; the HTTP response reads the other end. The reply waits until the
 * dumper has begun (so that "no such process" or "already traced" is a JSON error with
 * its status, and the core's exact size becomes Content-Length) and then streams.
 *
 * Whatever the client does, the target is released: a client that disconnects or stops
 * reading (the idle timeout) closes the pipe's read end, the sink's next write fails
 * with EPIPE, and the dumper aborts and releases the target, as it does on every error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve/dump_route.h"

#if __has_include("dump/dumper.h")
#include "dump/dumper.h"
#if __has_include("dump/dump_output.h")
#include "dump/dump_output.h"
#endif
/* format=zip streams the bundle: it needs dump_output able to write into a sink. */
#ifdef DUMP_OUTPUT_HAS_DEST
#define DUMP_ZIP 1
#else
#define DUMP_ZIP 0
#endif

#define DUMP_PIPE_SIZE (1024 * 1024)
#define DUMP_BLOCK (256 * 1024)

struct dump_stream {
	struct core_sink sink; /* first: the sink callbacks get back to the stream */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;		/* the request, the dumper thread, the response */
	int pipe_r, pipe_w;
	bool begun;		/* the dumper called begin() or wrote: the reply may start */
	bool done;		/* dumper__run returned */
	int err;
	char why[256];
	uint64_t size;		/* exact core size from begin(), 0 unknown */
	bool sent_all;		/* the core's last byte is in the pipe: only the release and
				 * the copy's reaping are left (atomic: read by claim()) */
	volatile sig_atomic_t cancel;
	struct dump_opts opts;
	bool zip;		/* the bundle, as a zip, around the core */
	json_t *result;		/* dumper__run's, once done; for the access log */
	struct MHD_Connection *conn; /* the reply's */
	int waiting;		/* the reply suspended its connection for bytes (atomic) */
	void (*log_later)(void *ctx, json_t *dump); /* dump_route_log_end's */
	void *log_ctx;
	char core_name[256];	/* the core's file name (in the zip: its entry) */
	struct dump_stream *next; /* in the list of running dumps */
};

/* The dumps running now: one per PID (409 for a second), at most --max-dumps. */
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t running_cond = PTHREAD_COND_INITIALIZER;
static struct dump_stream *running;
static unsigned running_count;

static void stream_unref(struct dump_stream *s)
{
	bool last;

	pthread_mutex_lock(&s->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	if (s->pipe_r >= 0)
		close(s->pipe_r);
	if (s->pipe_w >= 0)
		close(s->pipe_w);
	json_decref(s->result);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

static void mark_begun(struct dump_stream *s)
{
	pthread_mutex_lock(&s->lock);
	if (!s->begun) {
		s->begun = true;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
}

/* --- the sink: a pipe to the response ------------------------------------------------ */

static int pipe_sink_begin(struct core_sink *sink, uint64_t size, uint64_t estimate)
{
	struct dump_stream *s = (struct dump_stream *)sink;

	pthread_mutex_lock(&s->lock);
	s->size = size;
	pthread_mutex_unlock(&s->lock);
	mark_begun(s);
	return 0;
}

/* The reply waits for bytes (read_dump): they are there, or the end is. */
static void wake_reader(struct dump_stream *s)
{
	if (__atomic_exchange_n(&s->waiting, 0, __ATOMIC_SEQ_CST))
		server_resume(s->conn);
}

static int write_all(struct dump_stream *s, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(s->pipe_w, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			snprintf(s->sink.why, sizeof(s->sink.why), "%s",
				 err == -EPIPE ? "the client went away" : strerror(-err));
			return err;
		}
		p += n;
		len -= (size_t)n;
		s->sink.bytes_out += (uint64_t)n;
		wake_reader(s);
	}
	return 0;
}

static void note_sent_all(struct dump_stream *s)
{
	if (!s->zip && s->size && s->sink.bytes_out >= s->size)
		__atomic_store_n(&s->sent_all, true, __ATOMIC_RELEASE);
}

static int pipe_sink_write(struct core_sink *sink, const void *buf, size_t len)
{
	struct dump_stream *s = (struct dump_stream *)sink;
	int err;

	mark_begun(s);
	err = write_all(s, buf, len);
	note_sent_all(s);
	return err;
}

/* HTTP has no holes: the zeros are sent. */
static int pipe_sink_zeros(struct core_sink *sink, uint64_t len)
{
	static const char zeros[64 * 1024];
	struct dump_stream *s = (struct dump_stream *)sink;
	int err = 0;

	mark_begun(s);
	while (len && !err) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);

		err = write_all(s, zeros, n);
		len -= n;
	}
	note_sent_all(s);
	return err;
}

static int pipe_sink_finish(struct core_sink *sink)
{
	return 0;
}

static void pipe_sink_abort(struct core_sink *sink)
{
}

static void pipe_sink_free(struct core_sink *sink)
{
}

#if DUMP_ZIP
/* The bundle of `dump --bundle zip` (the core, the executable and libraries, metadata,
 * README), written by the same code, into the pipe instead of a file. */
static int dump_zip(struct dump_stream *s, json_t **result, char *why, size_t why_len)
{
	struct dump_output_opts oo = { .bundle = DUMP_BUNDLE_ZIP, .dest = &s->sink };
	struct dump_output *out = NULL;
	struct core_sink *core = NULL;
	int err;

	err = dump_output__open(&oo, s->opts.pid, NULL, s->core_name, &out, &core, why,
				why_len);
	if (!err)
		err = dumper__run(&s->opts, core, result, why, why_len);
	if (!err)
		err = dump_output__finish(out, *result, why, why_len);
	if (core)
		core->free(core);
	dump_output__free(out);
	return err;
}
#else
static int dump_zip(struct dump_stream *s, json_t **result, char *why, size_t why_len)
{
	snprintf(why, why_len, "no bundle in this build");
	return -EOPNOTSUPP;
}
#endif

static json_t *dump_log_json(json_t *result);

static void *dump_thread(void *arg)
{
	struct dump_stream *s = arg;
	void (*later)(void *ctx, json_t *dump);
	json_t *result = NULL;
	char why[256] = "";
	int err;

	if (s->zip)
		err = dump_zip(s, &result, why, sizeof(why));
	else
		err = dumper__run(&s->opts, &s->sink, &result, why, sizeof(why));

	pthread_mutex_lock(&s->lock);
	s->done = true;
	s->err = err;
	s->result = err ? (json_decref(result), NULL) : result;
	snprintf(s->why, sizeof(s->why), "%s", why);
	/* EOF for the reader, after done/err are set for it to read. */
	close(s->pipe_w);
	s->pipe_w = -1;
	pthread_cond_broadcast(&s->cond);
	later = s->log_later;
	s->log_later = NULL;
	pthread_mutex_unlock(&s->lock);
	wake_reader(s);
	/* The reply ended before we did: its log line waited for this. */
	if (later) {
		later(s->log_ctx, s->result ? dump_log_json(s->result) : NULL);
		stream_unref(s); /* the log's */
	}

	pthread_mutex_lock(&running_lock);
	for (struct dump_stream **p = &running; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	running_count--;
	pthread_cond_broadcast(&running_cond);
	pthread_mutex_unlock(&running_lock);
	stream_unref(s);
	return NULL;
}

/* --- the response: reads the pipe --------------------------------------------------- */

/* What the access log says of a finished dump: how long the target was stopped and
 * what the snapshot did (the headers left before the dump began). */
static json_t *dump_log_json(json_t *result)
{
	json_t *j = json_object(), *snap = json_object_get(result, "snapshot");

	if (!j)
		return NULL;
	json_object_set(j, "type", json_object_get(result, "type"));
	json_object_set(j, "bytes_written", json_object_get(result, "bytes_written"));
	json_object_set(j, "pause_ms", json_object_get(result, "pause_ms"));
	json_object_set(j, "duration_ms", json_object_get(result, "duration_ms"));
	json_object_set_new(j, "snapshot", snap ? json_deep_copy(snap) : json_null());
	return j;
}

/* On a pool thread: never waits. With the pipe empty, the connection is suspended
 * until the dumper writes or ends (wake_reader). */
static ssize_t read_dump(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct dump_stream *s = cls;

	for (;;) {
		struct pollfd pfd = { .fd = s->pipe_r, .events = POLLIN };
		ssize_t n;
		int err;

		if (serve_stopping)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		n = read(s->pipe_r, buf, max);
		if (n > 0)
			return n;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!server_suspend(s->conn))
				return MHD_CONTENT_READER_END_WITH_ERROR; /* stopping */
			__atomic_store_n(&s->waiting, 1, __ATOMIC_SEQ_CST);
			/* Bytes (or the end) that came before the flag was up: no one else
			 * would wake us for them. */
			if ((poll(&pfd, 1, 0) > 0 || serve_stopping))
				wake_reader(s);
			return 0;
		}
		if (n < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		pthread_mutex_lock(&s->lock);
		err = s->err;
		pthread_mutex_unlock(&s->lock);
		/* A failed dump must not look complete: no last chunk, the connection drops. */
		return err ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
	}
}

static void free_dump_response(void *cls)
{
	struct dump_stream *s = cls;

	/* Done or not, the client is gone: close our end so that the dumper's next write
	 * fails and it releases the target. */
	pthread_mutex_lock(&s->lock);
	if (!s->done)
		s->cancel = 1;
	close(s->pipe_r);
	s->pipe_r = -1;
	pthread_mutex_unlock(&s->lock);
	stream_unref(s);
}

static void read_comm(pid_t pid, char *out, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(out, len, "process");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

/*
 * Claims the right to dump @pid: 0, -EBUSY (already being dumped) or -EAGAIN (too many).
 * A dump whose client has every byte may still be finishing (releasing the target,
 * killing and reaping the snapshot's copy: tens of ms): a client that asks again at
 * once waits for that (up to CLAIM_WAIT_S) instead of getting a 409.
 */
#define CLAIM_WAIT_S 5
static int claim(struct dump_stream *s)
{
	struct timespec deadline;
	int err = 0;

	server_deadline(&deadline, CLAIM_WAIT_S * 1000);
	pthread_mutex_lock(&running_lock);
	for (;;) {
		struct dump_stream *same = NULL;

		for (struct dump_stream *d = running; d; d = d->next)
			if (d->opts.pid == s->opts.pid)
				same = d;
		if (!same)
			break;
		if (!__atomic_load_n(&same->sent_all, __ATOMIC_ACQUIRE) ||
		    pthread_cond_timedwait(&running_cond, &running_lock, &deadline) == ETIMEDOUT) {
			err = -EBUSY;
			break;
		}
	}
	if (!err && running_count >= serve_cfg->max_dumps)
		err = -EAGAIN;
	if (!err) {
		s->next = running;
		running = s;
		running_count++;
	}
	pthread_mutex_unlock(&running_lock);
	return err;
}

enum MHD_Result dump_reply(struct MHD_Connection *c, struct serve_request *r, pid_t pid)
{
	const char *type_arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "dumpType");
	const char *format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
	const char *snapshot_arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
								"snapshot");
	/* A snapshot by default: the target stops for the fork, not for the download. */
	bool snapshot = !snapshot_arg || !strcmp(snapshot_arg, "1") ||
			!strcmp(snapshot_arg, "true");
	struct MHD_Response *resp;
	struct dump_stream *s;
	enum dump_type type = DUMP_TYPE_MINI; /* Kudu's default */
	char comm[64], name[256], disposition[320];
	enum MHD_Result ret;
	pthread_t th;
	int fds[2], err;
	uint64_t size;

	if (type_arg && dumper__parse_type(type_arg, &type))
		return server_reply_error(c, r, MHD_HTTP_BAD_REQUEST,
					  "invalid dumpType '%.32s': expected 0 (mini), 1 (default) "
					  "or 2 (full)", type_arg);
	if (format && strcmp(format, "zip"))
		return server_reply_error(c, r, MHD_HTTP_BAD_REQUEST,
					  "invalid format '%.32s': expected zip or nothing", format);
	if (snapshot_arg && strcmp(snapshot_arg, "1") && strcmp(snapshot_arg, "0") &&
	    strcmp(snapshot_arg, "true") && strcmp(snapshot_arg, "false"))
		return server_reply_error(c, r, MHD_HTTP_BAD_REQUEST,
					  "invalid snapshot '%.32s': expected 1 (the default: a "
					  "copy-on-write snapshot) or 0 (a plain freeze)",
					  snapshot_arg);
	if (format && !DUMP_ZIP)
		return server_reply_error(c, r, MHD_HTTP_NOT_IMPLEMENTED,
					  "format=zip (the bundle) is not built into this tracedump");
	if (pid == getpid())
		return server_reply_error(c, r, MHD_HTTP_FORBIDDEN,
					  "the server cannot dump itself (id 0): it would freeze "
					  "the thread that writes the dump");

	s = calloc(1, sizeof(*s));
	if (!s)
		return server_reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->pipe_r = s->pipe_w = -1;
	s->refs = 1;
	s->opts.pid = pid;
	s->opts.type = type;
	s->opts.cancel = &s->cancel;
	s->opts.snapshot = snapshot;
	s->zip = format != NULL;
	s->sink = (struct core_sink){ .begin = pipe_sink_begin, .write = pipe_sink_write,
				      .zeros = pipe_sink_zeros, .finish = pipe_sink_finish,
				      .abort = pipe_sink_abort, .free = pipe_sink_free };

	err = claim(s);
	if (err) {
		stream_unref(s);
		if (err == -EBUSY)
			return server_reply_error(c, r, MHD_HTTP_CONFLICT,
						  "process %d is already being dumped", pid);
		ret = server_reply_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
					 "%u dumps are running already (--max-dumps)",
					 serve_cfg->max_dumps);
		return ret;
	}
	if (pipe2(fds, O_CLOEXEC)) {
		err = -errno;
		goto fail_unclaim;
	}
	s->pipe_r = fds[0];
	s->pipe_w = fds[1];
	/* The reply reads on a pool thread: never blocking (read_dump). */
	fcntl(s->pipe_r, F_SETFL, O_NONBLOCK);
	fcntl(s->pipe_w, F_SETPIPE_SZ, DUMP_PIPE_SIZE); /* fewer wake-ups; best effort */
	read_comm(pid, comm, sizeof(comm));
	dumper__default_name(comm, "api", pid, time(NULL), s->core_name, sizeof(s->core_name));

	s->refs = 2; /* this request and the thread */
	err = pthread_create(&th, NULL, dump_thread, s);
	if (err) {
		s->refs = 1;
		err = -err;
		goto fail_unclaim;
	}
	pthread_detach(th);

	pthread_mutex_lock(&s->lock);
	while (!s->begun && !s->done)
		pthread_cond_wait(&s->cond, &s->lock);
	err = s->done ? s->err : 0;
	size = s->size;
	pthread_mutex_unlock(&s->lock);
	if (err) {
		unsigned status = err == -EBUSY ? MHD_HTTP_CONFLICT : server_status_from_errno(err);

		ret = server_reply_error(c, r, status, "cannot dump process %d: %s", pid, s->why);
		stream_unref(s);
		return ret;
	}

	pthread_mutex_lock(&s->lock);
	s->refs += 2; /* the response's and the access log's; the thread may already have
		       * dropped its own */
	r->dump_stream = s;
	s->conn = c;
	pthread_mutex_unlock(&s->lock);
	/* A zip's size is known only at its end: chunked. */
	resp = MHD_create_response_from_callback(size && !s->zip ? size : MHD_SIZE_UNKNOWN,
						 DUMP_BLOCK, read_dump, s, free_dump_response);
	if (!resp) {
		free_dump_response(s);
		stream_unref(s);
		return MHD_NO;
	}
	snprintf(name, sizeof(name), "%s", s->core_name);
	if (s->zip && strlen(name) > 5) /* "x.core" -> "x.zip" */
		strcpy(name + strlen(name) - 5, ".zip");
	snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s\"", name);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				s->zip ? "application/zip" : "application/octet-stream");
	MHD_add_response_header(resp, "Content-Disposition", disposition);
	MHD_add_response_header(resp, "X-Dump-Type", dumper__type_name(type));
	/* What was asked; what the snapshot did is in the access log (and the zip's
	 * metadata.json), known only once the core is written. */
	MHD_add_response_header(resp, "X-Dump-Snapshot", snapshot ? "1" : "0");
	server_common_headers(resp);
	ret = server_queue(c, r, MHD_HTTP_OK, resp);
	stream_unref(s);
	return ret;

fail_unclaim:
	pthread_mutex_lock(&running_lock);
	for (struct dump_stream **p = &running; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	running_count--;
	pthread_mutex_unlock(&running_lock);
	stream_unref(s);
	return server_reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "cannot start the dump: %s", strerror(-err));
}

bool dump_route_log_end(void *stream, bool completed, json_t **dump,
			void (*later)(void *ctx, json_t *dump), void *ctx)
{
	struct dump_stream *s = stream;
	json_t *j = NULL;

	/* The client has every byte and the dumper is finishing (releasing the target,
	 * reaping the copy): its thread logs what it did once done, and nothing waits
	 * here. A reply cut short is logged now (its dumper is about to fail on the pipe
	 * that the response's end closes). */
	pthread_mutex_lock(&s->lock);
	if (completed && !s->done) {
		s->log_later = later;
		s->log_ctx = ctx;
		pthread_mutex_unlock(&s->lock);
		return false; /* the dumper thread drops the log's reference */
	}
	if (s->done && !s->err && s->result)
		j = dump_log_json(s->result);
	pthread_mutex_unlock(&s->lock);
	stream_unref(s);
	*dump = j;
	return true;
}

void dump_route_cancel_all(void)
{
	pthread_mutex_lock(&running_lock);
	for (struct dump_stream *d = running; d; d = d->next) {
		d->cancel = 1;
		wake_reader(d);
	}
	pthread_mutex_unlock(&running_lock);
}

bool dump_route_wait_idle(int timeout_ms)
{
	struct timespec deadline;
	bool idle;

	server_deadline(&deadline, (unsigned)timeout_ms);
	pthread_mutex_lock(&running_lock);
	while (running_count &&
	       pthread_cond_timedwait(&running_cond, &running_lock, &deadline) != ETIMEDOUT)
		;
	idle = running_count == 0;
	pthread_mutex_unlock(&running_lock);
	return idle;
}

#else /* no dumper in this tree */

enum MHD_Result dump_reply(struct MHD_Connection *c, struct serve_request *r, pid_t pid)
{
	return server_reply_error(c, r, MHD_HTTP_NOT_IMPLEMENTED,
				  "dumps are not built into this tracedump");
}

bool dump_route_log_end(void *stream, bool completed, json_t **dump,
			void (*later)(void *ctx, json_t *dump), void *ctx)
{
	*dump = NULL;
	return true;
}

void dump_route_cancel_all(void)
{
}

bool dump_route_wait_idle(int timeout_ms)
{
	return true;
}

#endif
