/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The HTTP side of `serve`: one libmicrohttpd daemon with a pool of one thread per CPU
 * (epoll), where nothing may block: a route that waits (a dump's start, a kill, a
 * stack, an event stream's set-up, cpu_interval) runs on a thread of its own while its
 * connection is suspended, and the streams (dump, events) suspend their connection
 * until bytes are ready instead of waiting in the pool. The checks every request
 * goes through in order (Host, route, method, auth, read-only, cross-site), the JSON
 * replies and the access log. routes.c answers the API, page.c serves the page,
 * dump_route.c and events.c stream.
 */
#ifndef TRACEDUMP_SERVE_SERVER_H
#define TRACEDUMP_SERVE_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <jansson.h>
#include <microhttpd.h>

#include "serve/auth.h"
#include "serve/route.h"

/* Bounds on what a client can make the server hold. */
#define SERVE_MAX_CONNECTIONS 128
#define SERVE_CONNECTION_MEMORY (32 * 1024) /* URL + headers: 414/431 beyond */
#define SERVE_MAX_BODY (1024 * 1024)	     /* a POST body is read and ignored */
#define SERVE_IDLE_TIMEOUT_S 60	     /* default of --idle-timeout */
#define SERVE_MAX_DUMPS 2

struct serve_config {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	bool loopback;
	char *tls_cert_pem, *tls_key_pem; /* both or neither */
	struct auth_db *auth;		  /* NULL with --no-auth */
	bool read_only;
	const char *main_arg;		  /* --main PID|NAME, or NULL */
	unsigned max_connections;
	unsigned max_dumps;
	unsigned idle_timeout_s;
};

/* One request, from its first header to its last byte sent (MHD's con_cls). */
struct serve_request {
	struct timespec start;
	const char *method;
	char path[256];		/* for the log: cut, never the query */
	char user[AUTH_USER_MAX + 1];
	char base_url[300];	/* "http(s)://Host" for hrefs */
	unsigned status;
	unsigned method_bit;
	struct route route;
	bool checked;		/* the checks passed; the body is being discarded */
	size_t body_bytes;
	void *dump_stream;	/* a dump being sent (dump_route.c), for the access log */
	/* A route that waits (server_route_waits) runs on a thread of its own while the
	 * connection is suspended; its reply is kept here for the pool thread to queue. */
	bool offloaded;
	bool offload_done;
	enum MHD_Result offload_ret;
	unsigned kept_status;
	struct MHD_Response *kept;
	/* Credentials not in the auth cache: yescrypt (~25 ms of CPU) runs off the pool. */
	bool auth_pending;
	char auth_user[AUTH_USER_MAX + 1];
	char auth_pass[AUTH_PASS_MAX + 1]; /* wiped once checked */
	int route_err;			   /* route_parse's, reported after the credentials */
	char route_why[128];
	enum MHD_RequestTerminationCode toe; /* for a log line written later, */
	char method_copy[16];		     /* when MHD's copy of the method is gone */
};

extern const struct serve_config *serve_cfg;
/* Set by SIGINT/SIGTERM: streams end, dumps are cancelled (the target is released). */
extern volatile sig_atomic_t serve_stopping;

/* Queues a JSON reply; @body is stolen. */
enum MHD_Result server_reply_json(struct MHD_Connection *c, struct serve_request *r,
				  unsigned status, json_t *body);
/* {"error": "...", "status": N}. */
enum MHD_Result server_reply_error(struct MHD_Connection *c, struct serve_request *r,
				   unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The HTTP status for a negative errno of an inspect or dump call. */
unsigned server_status_from_errno(int err);
/* Queues @resp (and drops our reference); on an offloaded request's thread, keeps it
 * for the pool thread instead. Every reply goes through here. */
enum MHD_Result server_queue(struct MHD_Connection *c, struct serve_request *r,
			     unsigned status, struct MHD_Response *resp);

/*
 * Suspends a connection (MHD_suspend_connection) while it waits for a dump's bytes, an
 * event or an offloaded route; counted, since MHD_stop_daemon() aborts the process when
 * it finds one suspended. Call only from MHD's callbacks for @c. False (nothing done)
 * once the server is closing.
 */
/* *@ts = @ms from now on CLOCK_REALTIME: the deadline sem_timedwait and
 * pthread_cond_timedwait take. */
void server_deadline(struct timespec *ts, unsigned ms);

bool server_suspend(struct MHD_Connection *c);
/* From any thread, once per successful server_suspend. */
void server_resume(struct MHD_Connection *c);
/* On stop: no more suspending; waits up to @ms for every suspended connection to be
 * resumed. False if some is not (then MHD_stop_daemon must not be called). */
bool server_close_suspended(unsigned ms);

/* Adds the headers every reply carries (nosniff, no-store). */
void server_common_headers(struct MHD_Response *resp);

/* Starts the daemon; fills @url with the address it listens on. */
int server_start(const struct serve_config *cfg, struct MHD_Daemon **out, char *url,
		 size_t url_len, char *why, size_t why_len);

/* routes.c: answers an API route whose checks passed. */
/* The PID of the route's id (0: the server, -1: --main); on failure a reply is queued
 * (its result in *ret) and -errno returned. */
int routes_resolve_id(struct MHD_Connection *c, struct serve_request *r, pid_t *pid,
		      enum MHD_Result *ret);
enum MHD_Result routes_dispatch(struct MHD_Connection *c, struct serve_request *r);
/* page.c */
enum MHD_Result page_reply(struct MHD_Connection *c, struct serve_request *r);

#endif /* TRACEDUMP_SERVE_SERVER_H */
