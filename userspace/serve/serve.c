// SPDX-License-Identifier: GPL-2.0-only
/* `tracedump serve`: the command line, the refusals that keep a host safe, and the wait
 * for SIGINT/SIGTERM. The HTTP side is in server.c. */
#include <argp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/command.h"
#include "common/output.h"
#include "serve/dump_route.h"
#include "serve/server.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define PEM_MAX (1024 * 1024)

enum {
	OPT_LISTEN = 'l',
	OPT_AUTH_FILE = 'a',
	OPT_NO_AUTH = 0x100,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_INSECURE,
	OPT_READ_ONLY,
	OPT_MAIN,
	OPT_MAX_CONNECTIONS,
	OPT_MAX_DUMPS,
	OPT_IDLE_TIMEOUT,
};

struct serve_args {
	const char *listen;
	const char *auth_file;
	const char *tls_cert, *tls_key;
	const char *main_arg;
	bool no_auth, insecure, read_only;
	unsigned max_connections, max_dumps, idle_timeout_s;
};

static const struct argp_option serve_options[] = {
	{ "listen", OPT_LISTEN, "ADDR:PORT", 0, "Address to listen on (default "
	  DEFAULT_LISTEN "; [::1]:8080 for IPv6; port 0 picks a free one, printed at start)" },
	{ "auth-file", OPT_AUTH_FILE, "FILE", 0, "Users allowed in, one 'user:hash' line each "
	  "(made by tracedump passwd USER). Required unless --no-auth" },
	{ "no-auth", OPT_NO_AUTH, NULL, 0, "No authentication; refused unless --listen is a "
	  "loopback address" },
	{ "tls-cert", OPT_TLS_CERT, "PEM", 0, "Serve HTTPS with this certificate (chain)" },
	{ "tls-key", OPT_TLS_KEY, "PEM", 0, "The private key of --tls-cert" },
	{ "insecure", OPT_INSECURE, NULL, 0, "Allow plain HTTP on a non-loopback address "
	  "(passwords and dumps in clear)" },
	{ "read-only", OPT_READ_ONLY, NULL, 0, "Refuse DELETE (kill) and dumps with 403" },
	{ "main", OPT_MAIN, "PID|NAME", 0, "The process that id -1 names (Kudu's main site); "
	  "a NAME is looked up on each request, the lowest PID of that name wins" },
	{ "max-connections", OPT_MAX_CONNECTIONS, "N", 0, "Connections at once (default 128)" },
	{ "max-dumps", OPT_MAX_DUMPS, "N", 0, "Dumps streaming at once (default 2); more get "
	  "503" },
	{ "idle-timeout", OPT_IDLE_TIMEOUT, "SECONDS", 0, "Drop a connection idle this long, "
	  "a client that stops reading a dump included (default 60; its target is released)" },
	{},
};

static const char serve_doc[] =
	"Serve Kudu's process API over HTTP(S) with Basic auth, and an explorer page at /.\n"
	"Routes: GET /api/processes, /api/processes/{id}[/threads[/{tid}]|/modules[/{base}]], "
	"DELETE /api/processes/{id} (kill the tree), GET|POST /api/processes/{id}/dump"
	"?dumpType=0|1|2[&format=zip][&snapshot=1|0] (from a copy-on-write snapshot, the "
	"target stopped for milliseconds, unless snapshot=0), GET /api/events. id 0 is the "
	"server, -1 the --main "
	"process. Every href is an absolute URL built from the request's Host. Each request "
	"is logged on stderr as one JSON line. SIGINT or SIGTERM stop the server. "
	"docs/serve.md describes every route.\v"
	"Examples:\n"
	"  tracedump passwd alice > users; tracedump serve --auth-file users\n"
	"  curl -su alice:PW localhost:8080/api/processes | jq '.[] | select(.name == \"nginx\")'\n"
	"  curl -su alice:PW -OJ 'localhost:8080/api/processes/1234/dump?dumpType=1'\n"
	"  tracedump serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem "
	"--auth-file users --read-only\n"
	"  tracedump serve --no-auth --listen 127.0.0.1:0\n"
	"Exit status: 0 stopped by SIGINT/SIGTERM, 2 bad option or an unsafe combination "
	"(no auth, plain HTTP off loopback), 3 a file not found, 1 cannot listen or load "
	"the TLS files.";

static int parse_uint(const char *s, unsigned *out, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v == 0 || v > max || s[0] == '-')
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static error_t serve_parse(int key, char *arg, struct argp_state *state)
{
	struct serve_args *a = state->input;

	switch (key) {
	case OPT_LISTEN:
		a->listen = arg;
		break;
	case OPT_AUTH_FILE:
		a->auth_file = arg;
		break;
	case OPT_NO_AUTH:
		a->no_auth = true;
		break;
	case OPT_TLS_CERT:
		a->tls_cert = arg;
		break;
	case OPT_TLS_KEY:
		a->tls_key = arg;
		break;
	case OPT_INSECURE:
		a->insecure = true;
		break;
	case OPT_READ_ONLY:
		a->read_only = true;
		break;
	case OPT_MAIN:
		if (!*arg)
			argp_error(state, "invalid --main '': expected a PID or a process name");
		a->main_arg = arg;
		break;
	case OPT_MAX_CONNECTIONS:
		if (parse_uint(arg, &a->max_connections, 4096))
			argp_error(state, "invalid --max-connections '%s': expected 1-4096", arg);
		break;
	case OPT_MAX_DUMPS:
		if (parse_uint(arg, &a->max_dumps, 64))
			argp_error(state, "invalid --max-dumps '%s': expected 1-64", arg);
		break;
	case OPT_IDLE_TIMEOUT:
		if (parse_uint(arg, &a->idle_timeout_s, 86400))
			argp_error(state, "invalid --idle-timeout '%s': expected 1-86400 seconds",
				   arg);
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* "HOST:PORT", "[V6]:PORT"; HOST may be a name (resolved once, the first address). */
static int parse_listen(const char *s, struct serve_config *cfg)
{
	char host[256];
	const char *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_PASSIVE }, *res = NULL;
	size_t hl;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		hl = (size_t)(end - s - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hl);
		port = end + 2;
		hints.ai_family = AF_INET6;
	} else {
		port = strrchr(s, ':');
		if (!port)
			return -EINVAL;
		hl = (size_t)(port - s);
		if (hl >= sizeof(host) || memchr(s, ':', hl))
			return -EINVAL;
		memcpy(host, s, hl);
		port++;
	}
	host[hl] = '\0';
	if (!*host || !*port || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    atoi(port) > 65535)
		return -EINVAL;
	if (getaddrinfo(host, port, &hints, &res) || !res)
		return -EADDRNOTAVAIL;
	memcpy(&cfg->addr, res->ai_addr, res->ai_addrlen);
	cfg->addr_len = res->ai_addrlen;
	freeaddrinfo(res);

	if (cfg->addr.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&cfg->addr;

		cfg->loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&cfg->addr;

		cfg->loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
				(IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
				 in6->sin6_addr.s6_addr[12] == 127);
	}
	return 0;
}

static int read_pem(const char *path, char **out)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;
	int err = 0;

	if (!f)
		return -errno;
	buf = malloc(PEM_MAX + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, PEM_MAX + 1, f);
	if (ferror(f))
		err = -EIO;
	else if (n > PEM_MAX || !n)
		err = -EINVAL;
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

static int do_serve(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	const struct argp argp = { serve_options, serve_parse, NULL, serve_doc, children };
	struct serve_args args = { .listen = DEFAULT_LISTEN,
				   .max_connections = SERVE_MAX_CONNECTIONS,
				   .max_dumps = SERVE_MAX_DUMPS,
				   .idle_timeout_s = SERVE_IDLE_TIMEOUT_S };
	struct serve_config cfg = { 0 };
	struct MHD_Daemon *d = NULL;
	char url[128], why[512];
	sigset_t stop_signals;
	int err, sig = 0, ret = TD_EXIT_OK;
	struct stat st;

	if (argp_parse(&argp, argc, argv, 0, NULL, &args))
		return TD_EXIT_USAGE;
	cfg.read_only = args.read_only;
	cfg.main_arg = args.main_arg;
	cfg.max_connections = args.max_connections;
	cfg.max_dumps = args.max_dumps;
	cfg.idle_timeout_s = args.idle_timeout_s;

	err = parse_listen(args.listen, &cfg);
	if (err == -EINVAL)
		return output_error(TD_EXIT_USAGE, "invalid --listen '%s': expected ADDR:PORT or "
				    "[V6ADDR]:PORT", args.listen);
	if (err)
		return output_error(TD_EXIT_USAGE, "invalid --listen '%s': cannot resolve the "
				    "address", args.listen);
	if (!!args.tls_cert != !!args.tls_key)
		return output_error(TD_EXIT_USAGE, "--tls-cert and --tls-key go together");
	if (args.no_auth && args.auth_file)
		return output_error(TD_EXIT_USAGE, "--no-auth and --auth-file exclude each other");
	if (!args.no_auth && !args.auth_file)
		return output_error(TD_EXIT_USAGE, "refusing to serve without authentication: "
				    "give --auth-file FILE (lines from tracedump passwd USER), "
				    "or --no-auth on a loopback address");
	if (args.no_auth && !cfg.loopback)
		return output_error(TD_EXIT_USAGE, "refusing --no-auth on %s: anyone who can "
				    "reach it could dump and kill processes; --no-auth is for "
				    "loopback addresses only", args.listen);
	if (!cfg.loopback && !args.tls_cert && !args.insecure)
		return output_error(TD_EXIT_USAGE, "refusing plain HTTP on %s: passwords and "
				    "dumps would cross the network in clear; give --tls-cert "
				    "and --tls-key, or --insecure", args.listen);

	if (args.tls_cert) {
		err = read_pem(args.tls_cert, &cfg.tls_cert_pem);
		if (!err)
			err = read_pem(args.tls_key, &cfg.tls_key_pem);
		if (err) {
			ret = output_error(err == -ENOENT ? TD_EXIT_NOT_FOUND : TD_EXIT_FAILURE,
					   "cannot read --tls-cert/--tls-key %s: %s",
					   cfg.tls_cert_pem ? args.tls_key : args.tls_cert,
					   err == -EINVAL ? "empty or over 1 MiB" : strerror(-err));
			goto cleanup;
		}
	}
	if (args.auth_file) {
		err = auth_db__load(args.auth_file, &cfg.auth, why, sizeof(why));
		if (err) {
			ret = output_error(err == -ENOENT ? TD_EXIT_NOT_FOUND :
					   err == -EINVAL ? TD_EXIT_USAGE : TD_EXIT_FAILURE,
					   "invalid --auth-file: %s", why);
			goto cleanup;
		}
		if (!stat(args.auth_file, &st) && (st.st_mode & S_IROTH))
			output_warn("--auth-file %s is readable by every user; chmod 600 it",
				    args.auth_file);
	}

	/* Every thread the daemon starts inherits this mask, so the signals come to sigwait. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	err = server_start(&cfg, &d, url, sizeof(url), why, sizeof(why));
	if (err) {
		ret = output_error(TD_EXIT_FAILURE, "cannot serve on %s: %s", args.listen, why);
		goto cleanup;
	}
	{
		json_t *j = json_pack("{s:s, s:s, s:b, s:b, s:b, s:i}", "event", "listening",
				      "url", url, "auth", cfg.auth != NULL, "tls",
				      cfg.tls_cert_pem != NULL, "read_only", cfg.read_only, "pid",
				      (int)getpid());
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

		if (s)
			fprintf(stderr, "%s\n", s);
		fflush(stderr);
		free(s);
		json_decref(j);
	}

	while (sigwait(&stop_signals, &sig) == EINTR)
		;
	serve_stopping = 1;
	dump_route_cancel_all();
	/* Streams end, offloaded routes finish; MHD_stop_daemon() would abort on a
	 * connection still suspended, so it is left running then (the process exits). */
	if (server_close_suspended(15000))
		MHD_stop_daemon(d);
	else
		output_warn("a request still waits 15 s after the stop: not waiting for it");
	/* Each dump releases its target before the process may exit. */
	if (!dump_route_wait_idle(30000))
		output_warn("a dump did not end within 30 s of the stop");
	fprintf(stderr, "{\"event\":\"stopped\",\"signal\":\"%s\"}\n", sigabbrev_np(sig));
cleanup:
	auth_db__free(cfg.auth);
	free(cfg.tls_cert_pem);
	if (cfg.tls_key_pem) {
		explicit_bzero(cfg.tls_key_pem, strlen(cfg.tls_key_pem));
		free(cfg.tls_key_pem);
	}
	return ret;
}

TD_COMMAND(serve, 60, "Serve the process API and an explorer page over HTTP(S)", do_serve);
