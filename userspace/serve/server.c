// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/href.h"
#include "common/jsonutil.h"
#include "common/parse.h"
#include "common/procfs.h"
#include "serve/dump_route.h"
#include "serve/host.h"
#include "serve/server.h"

const struct serve_config *serve_cfg;
volatile sig_atomic_t serve_stopping;

static const char WWW_AUTHENTICATE[] = "Basic realm=\"tracedump\", charset=\"UTF-8\"";

static double elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1e3 + (now.tv_nsec - start->tv_nsec) / 1e6;
}

/* One JSON line per request on stderr, written with a single write(2) so that lines of
 * concurrent requests never interleave. */
static void access_log(const struct serve_request *r, enum MHD_RequestTerminationCode toe,
		       json_t *dump)
{
	json_t *j = json_pack("{s:s, s:o, s:o, s:i, s:o, s:f}", "event", "request", "method",
			      json_string_cstr(r->method ? r->method : "?"), "path",
			      json_string_cstr(r->path), "status",
			      (int)r->status, "user", r->user[0] ? json_string_cstr(r->user) : json_null(),
			      "duration_ms", elapsed_ms(&r->start));
	char *s;

	if (!j) {
		json_decref(dump);
		return;
	}
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		json_object_set_new(j, "aborted", json_true());
	if (dump)
		json_object_set_new(j, "dump", dump);
	s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6));
	json_decref(j);
	if (!s)
		return;
	size_t n = strlen(s);
	s[n] = '\n';
	if (write(STDERR_FILENO, s, n + 1) < 0) {
		/* stderr gone: nothing better to do */
	}
	free(s);
}

static void request_free(struct serve_request *r)
{
	explicit_bzero(r->auth_pass, sizeof(r->auth_pass));
	if (r->kept)
		MHD_destroy_response(r->kept);
	free(r);
}

/* A dump's line, from the dumper's thread once it has ended. */
static void access_log_later(void *ctx, json_t *dump)
{
	struct serve_request *r = ctx;

	access_log(r, r->toe, dump);
	request_free(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct serve_request *r = *con_cls;
	json_t *dump = NULL;

	if (!r)
		return;
	*con_cls = NULL;
	r->toe = toe;
	snprintf(r->method_copy, sizeof(r->method_copy), "%s", r->method ? r->method : "?");
	r->method = r->method_copy;
	/* A dump's log line says what the dumper did (pause, snapshot): known at its end. */
	if (r->dump_stream &&
	    !dump_route_log_end(r->dump_stream, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK,
				&dump, access_log_later, r))
		return;
	access_log(r, toe, dump);
	request_free(r);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	json_t *j;
	char *s;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	j = json_pack("{s:s, s:s}", "event", "http_error", "message", msg);
	s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	if (s)
		dprintf(STDERR_FILENO, "%s\n", s);
	free(s);
	json_decref(j);
}

void server_common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
}

struct body_buf {
	char *p;
	size_t len, cap;
};

static int body_append(const char *data, size_t size, void *ctx)
{
	struct body_buf *b = ctx;

	if (b->len + size + 1 > b->cap) {
		size_t cap = b->cap * 2 > b->len + size + 1 ? b->cap * 2 : b->len + size + 1;
		char *bigger = realloc(b->p, cap);

		if (!bigger)
			return -1;
		b->p = bigger;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, size);
	b->len += size;
	return 0;
}

/* The body, compact, with a trailing newline, in one malloc'd buffer built in one pass
 * (json_dumps grows a buffer from 16 bytes and copies it once more at the end). */
static char *dump_body(const json_t *body, size_t *len)
{
	struct body_buf b = { .cap = 16384 };

	b.p = malloc(b.cap);
	if (!b.p)
		return NULL;
	if (json_dump_callback(body, body_append, &b, JSON_COMPACT | JSON_ENCODE_ANY) ||
	    body_append("\n", 1, &b)) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

enum MHD_Result server_reply_json(struct MHD_Connection *c, struct serve_request *r,
				  unsigned status, json_t *body)
{
	struct MHD_Response *resp;
	size_t n = 0;
	char *t;

	t = body ? dump_body(body, &n) : NULL;
	json_decref(body);
	if (!t) {
		static const char oom[] = "{\"error\":\"out of memory building JSON\",\"status\":500}\n";

		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		t = strdup(oom);
		if (!t)
			return MHD_NO;
		n = sizeof(oom) - 1;
	}
	/* A trailing newline, as the CLI prints, so that `curl ... | jq` and line tools agree. */
	resp = MHD_create_response_from_buffer(n, t, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(t);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	server_common_headers(resp);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, WWW_AUTHENTICATE);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					route_allow_header(r->route.kind));
	r->status = status;
	return server_queue(c, r, status, resp);
}

enum MHD_Result server_queue(struct MHD_Connection *c, struct serve_request *r,
			     unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	r->status = status;
	if (r->offloaded && !r->offload_done) {
		/* On the route's own thread: the pool thread queues it once resumed. */
		if (r->kept)
			MHD_destroy_response(r->kept);
		r->kept = resp;
		r->kept_status = status;
		return MHD_YES;
	}
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* --- suspended connections ----------------------------------------------------------- */

static pthread_mutex_t suspended_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t suspended_cond = PTHREAD_COND_INITIALIZER;
static unsigned suspended;
static bool closing;

bool server_suspend(struct MHD_Connection *c)
{
	pthread_mutex_lock(&suspended_lock);
	if (closing) {
		pthread_mutex_unlock(&suspended_lock);
		return false;
	}
	suspended++;
	MHD_suspend_connection(c);
	pthread_mutex_unlock(&suspended_lock);
	return true;
}

void server_deadline(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void server_resume(struct MHD_Connection *c)
{
	MHD_resume_connection(c);
	pthread_mutex_lock(&suspended_lock);
	if (!--suspended)
		pthread_cond_broadcast(&suspended_cond);
	pthread_mutex_unlock(&suspended_lock);
}

bool server_close_suspended(unsigned ms)
{
	struct timespec deadline;
	bool ok;

	server_deadline(&deadline, ms);
	pthread_mutex_lock(&suspended_lock);
	closing = true;
	while (suspended &&
	       pthread_cond_timedwait(&suspended_cond, &suspended_lock, &deadline) != ETIMEDOUT)
		;
	ok = !suspended;
	pthread_mutex_unlock(&suspended_lock);
	return ok;
}

/* --- routes that wait: a thread of their own ----------------------------------------- */

/*
 * What may wait on something other than the CPU: the pool must never. A read of a
 * process's cmdline, environ or maps waits for its mmap_lock, forever when a writer is
 * stuck (the classic hung `ps`): the list reads every process's cmdline, and so does
 * --main NAME, so they run on a thread of their own too (routes.c bounds how many use
 * the CPUs at once). A single process's routes stay on the pool, where such a process
 * holds up the connections of that pool thread until its lock is free (docs/serve.md).
 */
static bool route_waits(struct MHD_Connection *c, const struct serve_request *r)
{
	pid_t pid;

	if (r->route.kind != ROUTE_PROCESSES && r->route.id == ROUTE_ID_MAIN &&
	    serve_cfg->main_arg && parse_pid(serve_cfg->main_arg, &pid, 0))
		return true;
	switch (r->route.kind) {
	case ROUTE_PROCESSES:	/* every process's cmdline */
	case ROUTE_DUMP:	/* freezes the target and waits for the dumper's start */
	case ROUTE_EVENTS:	/* loads BPF */
	case ROUTE_STACK:	/* stops and unwinds the target */
		return true;
	case ROUTE_PROCESS:	/* DELETE waits for the tree to die; cpu_interval sleeps */
		return r->method_bit == METHOD_DELETE ||
		       MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cpu_interval");
	default:
		return false;
	}
}

/*
 * A process's routes on the pool: the requests in progress, by PID. One that has run
 * for STUCK_MS and whose pool thread sleeps uninterruptibly (state D: mmap_lock waits
 * are killable sleeps; a thread that only waits for a CPU is R) is taken to wait on that
 * process's mmap_lock, and the next requests for the same process run on threads of
 * their own: a stuck process holds up one pool thread at most (the connections of that
 * thread), not every one in turn.
 */
#define STUCK_MS 100
#define INFLIGHT_SLOTS 64
static pthread_mutex_t inflight_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	pid_t pid; /* 0: free */
	pid_t tid; /* the pool thread */
	struct timespec start;
} inflight[INFLIGHT_SLOTS];

static bool thread_in_d_state(pid_t tid)
{
	struct proc_stat st;

	return !procfs_read_stat(getpid(), tid, &st) && st.state == 'D';
}

/* The slot taken (pass it to inflight_end), -1 when none was; *stuck when an earlier
 * request for @pid has run for STUCK_MS (nothing taken then). */
static int inflight_begin(pid_t pid, bool *stuck)
{
	struct timespec now;
	int slot = -1;

	*stuck = false;
	if (pid <= 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&inflight_lock);
	for (int i = 0; i < INFLIGHT_SLOTS; i++) {
		if (inflight[i].pid == pid &&
		    (now.tv_sec - inflight[i].start.tv_sec) * 1000 +
				    (now.tv_nsec - inflight[i].start.tv_nsec) / 1000000 >=
			    STUCK_MS &&
		    thread_in_d_state(inflight[i].tid))
			*stuck = true;
		if (!inflight[i].pid && slot < 0)
			slot = i;
	}
	if (*stuck) {
		slot = -1;
	} else if (slot >= 0) {
		inflight[slot].pid = pid;
		inflight[slot].tid = gettid();
		inflight[slot].start = now;
	}
	pthread_mutex_unlock(&inflight_lock);
	return slot;
}

static void inflight_end(int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&inflight_lock);
	inflight[slot].pid = 0;
	pthread_mutex_unlock(&inflight_lock);
}

struct offload {
	struct MHD_Connection *c;
	struct serve_request *r;
};

static bool check_request_after_auth(struct MHD_Connection *c, struct serve_request *r,
				     enum MHD_Result *ret);

static void *offload_main(void *arg)
{
	struct offload *o = arg;
	struct serve_request *r = o->r;
	enum MHD_Result ret;

	if (r->auth_pending) {
		bool ok = auth_db__check(serve_cfg->auth, r->auth_user, r->auth_pass);

		explicit_bzero(r->auth_pass, sizeof(r->auth_pass));
		r->auth_pending = false;
		if (!ok) {
			ret = server_reply_error(o->c, r, MHD_HTTP_UNAUTHORIZED,
						 "wrong user name or password");
			goto done;
		}
		snprintf(r->user, sizeof(r->user), "%s", r->auth_user);
		if (!check_request_after_auth(o->c, r, &ret))
			goto done;
	}
	href_set_base(r->base_url);
	ret = r->route.kind == ROUTE_PAGE ? page_reply(o->c, r) : routes_dispatch(o->c, r);
	href_set_base(NULL);
done:
	r->offload_ret = ret;
	r->offload_done = true;
	server_resume(o->c);
	free(o);
	return NULL;
}

static enum MHD_Result offload(struct MHD_Connection *c, struct serve_request *r)
{
	struct offload *o = malloc(sizeof(*o));
	pthread_attr_t attr;
	pthread_t th;
	int err;

	if (!o)
		return server_reply_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	*o = (struct offload){ .c = c, .r = r };
	if (!server_suspend(c)) {
		free(o);
		return server_reply_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "the server is stopping");
	}
	r->offloaded = true;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&th, &attr, offload_main, o);
	pthread_attr_destroy(&attr);
	if (err) {
		free(o);
		r->offloaded = false;
		server_resume(c);
		return server_reply_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "cannot start a thread: %s", strerror(err));
	}
	return MHD_YES;
}

enum MHD_Result server_reply_error(struct MHD_Connection *c, struct serve_request *r,
				   unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The message may quote the request, which need not be UTF-8. */
	return server_reply_json(c, r, status,
				 json_pack("{s:o, s:i}", "error", json_string_cstr(msg), "status",
					   (int)status));
}

unsigned server_status_from_errno(int err)
{
	switch (err) {
	case -ESRCH:
	case -ENOENT:
		return MHD_HTTP_NOT_FOUND;
	case -EPERM:
	case -EACCES:
		return MHD_HTTP_FORBIDDEN;
	case -EINVAL:
		return MHD_HTTP_BAD_REQUEST;
	case -EBUSY:
		return MHD_HTTP_CONFLICT;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

/* A browser sends Sec-Fetch-Site, and Origin on cross-origin requests; a page elsewhere
 * must not make a logged-in browser dump or kill (an <img src=.../dump> is a GET). */
static bool cross_site(struct MHD_Connection *c, const struct serve_request *r)
{
	const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");

	if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
		return true;
	return origin && strcmp(origin, r->base_url);
}

/* The checks after the credentials: 400 bad id, 403 read-only or cross-site. */
static bool check_request_after_auth(struct MHD_Connection *c, struct serve_request *r,
				     enum MHD_Result *ret)
{
	if (r->route_err) {
		*ret = server_reply_error(c, r, MHD_HTTP_BAD_REQUEST, "%s", r->route_why);
		return false;
	}
	if (route_is_write(r->route.kind, r->method_bit)) {
		if (serve_cfg->read_only) {
			*ret = server_reply_error(c, r, MHD_HTTP_FORBIDDEN,
						  "read-only server (--read-only): no kill, no dump");
			return false;
		}
		if (cross_site(c, r)) {
			*ret = server_reply_error(c, r, MHD_HTTP_FORBIDDEN,
						  "cross-site request refused");
			return false;
		}
	}
	return true;
}

/*
 * The checks, in the order a client can fix them: 400 Host, 404 route, 405 method,
 * 401 credentials, 400 bad id, 403 read-only or cross-site. Returns true when the request
 * may go on; otherwise a reply has been queued (or MHD_NO is in *ret). Credentials the
 * auth cache does not know leave r->auth_pending set and the checks after them undone:
 * the request then runs on a thread of its own (auth_then_dispatch), since yescrypt must
 * not hold a pool thread.
 */
static bool check_request(struct MHD_Connection *c, struct serve_request *r, const char *url,
			  enum MHD_Result *ret)
{
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	int err;

	if (!host || host_base_url(host, serve_cfg->tls_cert_pem != NULL, r->base_url,
				   sizeof(r->base_url))) {
		*ret = server_reply_error(c, r, MHD_HTTP_BAD_REQUEST,
					  "missing or invalid Host header: expected name[:port]");
		return false;
	}
	err = route_parse(url, &r->route, r->route_why, sizeof(r->route_why));
	if (err == -ENOENT) {
		*ret = server_reply_error(c, r, MHD_HTTP_NOT_FOUND, "no such route");
		return false;
	}
	/* A bad id is reported after the credentials: an anonymous client learns nothing. */
	r->route_err = err;
	if (!(route_methods(r->route.kind) & r->method_bit)) {
		*ret = server_reply_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "method %s not allowed here", r->method);
		return false;
	}
	if (serve_cfg->auth) {
		const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							    MHD_HTTP_HEADER_AUTHORIZATION);

		if (!h || auth_parse_basic(h, r->auth_user, sizeof(r->auth_user), r->auth_pass,
					   sizeof(r->auth_pass))) {
			explicit_bzero(r->auth_pass, sizeof(r->auth_pass));
			*ret = server_reply_error(c, r, MHD_HTTP_UNAUTHORIZED,
						  h ? "wrong user name or password"
						    : "credentials required (HTTP Basic)");
			return false;
		}
		if (!auth_db__check_cached(serve_cfg->auth, r->auth_user, r->auth_pass)) {
			r->auth_pending = true;
			return true;
		}
		explicit_bzero(r->auth_pass, sizeof(r->auth_pass));
		snprintf(r->user, sizeof(r->user), "%s", r->auth_user);
	}
	return check_request_after_auth(c, r, ret);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct serve_request *r = *con_cls;
	enum MHD_Result ret = MHD_YES;
	bool stuck = false;
	const char *len;
	int slot;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		clock_gettime(CLOCK_MONOTONIC, &r->start);
		r->method = method; /* MHD keeps it until the request completes */
		snprintf(r->path, sizeof(r->path), "%s", url);
		r->method_bit = route_method_bit(method);
		if (!check_request(c, r, url, &ret))
			return ret;
		/* A declared body too large is refused before it is sent (no 100 Continue). */
		len = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						  MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (!r->auth_pending && len && strtoull(len, NULL, 10) > SERVE_MAX_BODY)
			return server_reply_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE,
						  "request body over %d bytes", SERVE_MAX_BODY);
		r->checked = true;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* The body is not used (webhooks post their own JSON); bounded all the same. */
		r->body_bytes += *upload_data_size;
		*upload_data_size = 0;
		if (r->body_bytes > SERVE_MAX_BODY && !r->status)
			return server_reply_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE,
						  "request body over %d bytes", SERVE_MAX_BODY);
		return MHD_YES;
	}
	if (r->offloaded) {
		/* Resumed: the route's thread is done (or MHD asks again early: wait). */
		if (!r->offload_done)
			return MHD_YES;
		if (r->kept) {
			struct MHD_Response *resp = r->kept;

			r->kept = NULL;
			ret = MHD_queue_response(c, r->kept_status, resp);
			MHD_destroy_response(resp);
			return ret;
		}
		return r->status ? MHD_YES : r->offload_ret;
	}
	if (r->status) /* already answered */
		return MHD_YES;
	if (r->auth_pending || (r->route.kind != ROUTE_PAGE && route_waits(c, r)))
		return offload(c, r);
	slot = r->route.kind != ROUTE_PAGE && r->route.kind != ROUTE_PROCESSES &&
			       r->route.kind != ROUTE_EVENTS
		       ? inflight_begin((pid_t)r->route.id, &stuck)
		       : -1;
	if (stuck)
		return offload(c, r);

	href_set_base(r->base_url);
	if (r->route.kind == ROUTE_PAGE)
		ret = page_reply(c, r);
	else
		ret = routes_dispatch(c, r);
	href_set_base(NULL);
	inflight_end(slot);
	return ret;
}

int server_start(const struct serve_config *cfg, struct MHD_Daemon **out, char *url,
		 size_t url_len, char *why, size_t why_len)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	bool v6 = cfg->addr.ss_family == AF_INET6;
	char host[INET6_ADDRSTRLEN];
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	struct MHD_OptionItem opts[16];
	size_t n = 0;

	serve_cfg = cfg;
	if (v6)
		flags |= MHD_USE_IPv6;
	if (cfg->tls_cert_pem)
		flags |= MHD_USE_TLS;
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger,
					     NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, (void *)&cfg->addr };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
					     NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
					     SERVE_CONNECTION_MEMORY, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout_s,
					     NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
					     (intptr_t)on_completed, NULL };
	/* One thread per CPU: a request runs to its end, none waits (server.h). */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE,
					     cpus > 1 ? (intptr_t)cpus : 1, NULL };
	if (cfg->tls_cert_pem) {
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
						     cfg->tls_cert_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
						     cfg->tls_key_pem };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_ARRAY, opts,
			     MHD_OPTION_END);
	if (!d) {
		snprintf(why, why_len, "cannot listen (address in use, or a bad TLS certificate "
			 "or key?)");
		return -EADDRINUSE;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (v6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&cfg->addr)->sin6_addr, host,
			  sizeof(host));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&cfg->addr)->sin_addr, host,
			  sizeof(host));
	snprintf(url, url_len, "%s://%s%s%s:%u", cfg->tls_cert_pem ? "https" : "http",
		 v6 ? "[" : "", host, v6 ? "]" : "", info ? info->port : 0);
	*out = d;
	return 0;
}
