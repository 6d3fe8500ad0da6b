// SPDX-License-Identifier: GPL-2.0-only
/*
 * `tracedump watch`: dump a process at the right moment. Targets by PID or --name,
 * triggers (signals by ptrace, CPU/latency/exceptions from the BPF tracer, memory,
 * threads and fds from /proc, a timer, SIGUSR1), NDJSON events on stdout. The rules
 * of each trigger are in trigger.c (pure) and docs/triggers.md.
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/command.h"
#include "common/jsonutil.h"
#include "common/output.h"
#include "common/parse.h"
#include "common/procfs.h"
#include "common/signals.h"
#include "dump/dump_output.h"
#include "analyze/analyze.h"
#include "dump/dumper.h"
#include "dump/freeze.h"
#include "dump/sink_file.h"
#include "inspect/inspect.h"
#include "trace/event_json.h"
#include "trace/loader.h"
#include "trace/spec.h"
#include "watch/cpu_limit.h"
#include "watch/core_route.h"
#include "watch/sigtrace.h"
#include "watch/signal_log.h"
#include "watch/trigger.h"

#include "../../bpf/tracer.h"
#include "../../bpf/exceptions.h"
#include "../../bpf/latency.h"
#include "../../bpf/signals.h"

#define TICK_NS 100000000ULL	   /* periodic triggers are evaluated this often */
#define NAME_SCAN_NS 150000000ULL /* --name looks for new processes this often */
#define FLIGHT_MAX 64		   /* events kept for the flight recorder */
#define CPU_SAMPLES 50		   /* ticks of CPU% kept for the flight recorder: 5 s */
#define ROUTE_CHECK_NS 200000000ULL /* --signal: handlers installed/removed, looked at */
#define CPU_LIMIT_NS 1000000000ULL /* --cpu-total re-reads the cgroup limits this often */
#define MAX_TARGETS 256
#define MAX_PIDS 64

enum {
	OPT_NAME = 0x1000, OPT_CGROUP, OPT_SIGNAL, OPT_CPU, OPT_CPU_BELOW, OPT_CPU_TOTAL, OPT_FOR, OPT_MEM,
	OPT_MEM_BELOW, OPT_MEM_KIND, OPT_THREADS, OPT_FDS, OPT_LATENCY, OPT_THRESHOLD,
	OPT_LATENCY_COMPLETED, OPT_EXCEPTION, OPT_EVERY, OPT_COOLDOWN, OPT_MAX_DURATION,
	OPT_THEN, OPT_KEEP, OPT_MAX_BYTES, OPT_DRY_RUN, OPT_ON_DUMP, OPT_BUNDLE, OPT_COMPRESS, OPT_SNAPSHOT,
	OPT_NO_SNAPSHOT, OPT_NO_FLIGHT_SIGNALS,
	OPT_NO_CORE_PATTERN,
};

struct watch_args {
	pid_t pids[MAX_PIDS];
	size_t npids;
	const char *name;
	char cgroup[PATH_MAX]; /* a cgroup folder (with cgroup.procs); "" when not given */
	uint64_t signals; /* bit N: signal N */
	double cpu, cpu_below; /* < 0: not set */
	bool cpu_total;
	uint64_t for_ns;
	struct mem_levels mem;
	bool mem_set, mem_private;
	long threads, fds; /* 0: not set */
	const char *latency_arg;
	struct latency_spec latency;
	uint64_t threshold_ns;
	bool latency_completed;
	bool exception;
	const char *exception_filter;
	uint64_t every_ns;
	unsigned count;
	uint64_t cooldown_ns, max_duration_ns;
	enum dump_type type;
	struct dump_output_opts out; /* --bundle, --compress */
	bool snapshot; /* the default; --no-snapshot clears it */
	bool snapshot_always; /* --snapshot: also for a small dump */
	bool no_flight_signals;
	bool then_kill;
	bool then_analyze;
	const char *output;
	unsigned keep;
	uint64_t max_bytes;
	bool dry_run;
	char **on_dump; /* NULL-terminated, after --on-dump */
	bool no_core_pattern; /* --no-core-pattern: core-dumping signals by ptrace too */
};

struct target {
	pid_t pid;
	char comm[16];
	bool gone, traced;
	uint64_t bpf_stop; /* --signal by BPF: handled signals that stop it (no ptrace) */
	/* The stop mask before bpf_changed_ns (tracer clock), for events read late. */
	uint64_t bpf_stop_before, bpf_changed_ns;
	uint64_t caught; /* watched signals with a handler, at the last look */
	int missed_sig;	 /* the fatal signal already reported missed */
	uint64_t core_sigs; /* --signal by the core_pattern route (core_route.h) */
	int core_status;    /* its wait status once the relay brought its crash, else 0 */
	struct cpu_window cpu;
	struct mem_levels mem;
	uint64_t last_stuck_start; /* the stuck request already dumped */
	/* CPU% of each of the last CPU_SAMPLES ticks, for the flight recorder. */
	double cpu_pct[CPU_SAMPLES];
	double cpu_when[CPU_SAMPLES]; /* epoch seconds */
	size_t cpu_head, cpu_count;
	struct cpu_limit cpu_limit; /* --cpu-total: the divisor, re-read every second */
	uint64_t cpu_limit_next;
	struct signal_log sigs; /* its signals, for the flight recorder */
};

struct kept {
	char path[PATH_MAX];
	uint64_t bytes;
};

struct watch {
	struct watch_args *a;
	struct target targets[MAX_TARGETS];
	size_t ntargets;
	struct tracer *tracer;
	struct sigtrace st;
	bool sigtrace_on;
	bool bpf_signals; /* the signals program is loaded: handled signals by BPF */
	struct dump_gate gate;
	char outdir[PATH_MAX];
	json_t *flight[FLIGHT_MAX];
	size_t flight_head, flight_count;
	struct event_json_ctx jctx;
	struct kept *kept;
	size_t nkept;
	unsigned failures;
	uint64_t next_every;
	pid_t *children; /* --on-dump commands still running */
	size_t nchildren;
	/* --then analyze: dumps to analyze once their process runs again. */
	struct pending_analysis {
		char *path;
		pid_t pid;
	} *to_analyze;
	size_t nto_analyze;
	/* The main loop's ring buffer reads stop after this (0: read all), so a signal
	 * storm cannot hold it from the route checks and the ticks. */
	uint64_t poll_until;
	uint64_t drops; /* tracer events lost to a full ring buffer, as last said */
	struct core_route route;     /* --signal of core-dumping signals, no ptrace */
	struct core_crash *core_in;  /* fire(): the kernel's core to write, not dumper__run */
	char route_why[256];	     /* why the last target's core signals took ptrace */
};

static volatile sig_atomic_t stop_sig, manual;

static void on_stop(int sig)
{
	stop_sig = sig;
}

static void on_usr1(int sig)
{
	(void)sig;
	manual = 1;
}

static const struct argp_option watch_options[] = {
	{ NULL, 0, NULL, 0, "Targets:", 1 },
	{ "name", OPT_NAME, "NAME", 0, "Every process named NAME, now and started later "
	  "(checked every 150 ms; a restarted process is watched again)" },
	{ "cgroup", OPT_CGROUP, "PATH", 0, "Every process in cgroup PATH and its descendants, "
	  "now and later (a folder with cgroup.procs: absolute, or under /sys/fs/cgroup/unified "
	  "or /sys/fs/cgroup)" },
	{ NULL, 0, NULL, 0, "Triggers (any combination; docs/triggers.md):", 2 },
	{ "signal", OPT_SIGNAL, "LIST", 0, "Dump at the delivery of these signals (names or "
	  "numbers, comma-separated), on whichever thread takes it, then let the signal act "
	  "as it would have (handler runs, or the process dies with the same status). Cost, "
	  "per signal: with a handler, BPF stops the process before it (no ptrace, ~1.1x on "
	  "a signal storm); a core-dumping one without handler (SEGV, ABRT, BUS, FPE, ILL, "
	  "QUIT, SYS, TRAP, XCPU, XFSZ) comes through the kernel's core_pattern pipe, which "
	  "the watch takes over while it runs and gives back after (no ptrace, nothing "
	  "until the crash; not for --type mini); any other fatal one (TERM, INT, HUP... "
	  "without handler) needs ptrace on every thread, and then EVERY signal the process "
	  "gets, watched or not, goes through tracedump (4-11x). Handlers are looked at every "
	  "200 ms: one installed or removed later moves the process to its new route (a "
	  "signal_route event). docs/triggers.md" },
	{ "no-core-pattern", OPT_NO_CORE_PATTERN, NULL, 0, "Leave the system's core_pattern "
	  "alone: core-dumping signals without a handler go through ptrace too" },
	{ "cpu", OPT_CPU, "PCT", 0, "CPU% (100 = one core) at or above PCT, sustained over "
	  "--for (from the BPF per-thread counters, checked every 100 ms)" },
	{ "cpu-below", OPT_CPU_BELOW, "PCT", 0, "CPU% below PCT over --for" },
	{ "cpu-total", OPT_CPU_TOTAL, NULL, 0, "PCT is of all the CPUs the process may use "
	  "(100 = all busy): the smallest of the online CPUs, its cgroup's CPU quota (cpu.max, "
	  "or v1 cpu.cfs_quota_us, the tightest up the tree) and its cpuset; the watching "
	  "event says which" },
	{ "for", OPT_FOR, "DURATION", 0, "The CPU window (default 1s)" },
	{ "mem", OPT_MEM, "MB,...", 0, "Memory at or above each level, ascending; one dump as "
	  "each is crossed" },
	{ "mem-below", OPT_MEM_BELOW, "MB,...", 0, "Memory under each level, one dump each" },
	{ "mem-kind", OPT_MEM_KIND, "KIND", 0, "rss (VmRSS, default) or private (RssAnon + "
	  "VmSwap)" },
	{ "threads", OPT_THREADS, "N", 0, "At least N threads" },
	{ "fds", OPT_FDS, "N", 0, "At least N open file descriptors" },
	{ "latency", OPT_LATENCY, "PROBE", 0, "BIN:SYMBOL (or BIN:0xOFF, BIN:PROVIDER:NAME for "
	  "USDT) marks a request; one still running past --threshold is dumped while stuck" },
	{ "threshold", OPT_THRESHOLD, "DURATION", 0, "The --latency threshold (default 500ms)" },
	{ "latency-completed", OPT_LATENCY_COMPLETED, NULL, 0, "Dump after a slow request "
	  "returns, instead of while it is stuck" },
	{ "exception", OPT_EXCEPTION, "FILTER", OPTION_ARG_OPTIONAL, "A C++ throw whose "
	  "demangled type matches FILTER (* and ? wildcards; default any; written "
	  "--exception=FILTER)" },
	{ "every", OPT_EVERY, "DURATION", 0, "A dump every DURATION" },
	{ NULL, 0, NULL, 0, "Actions:", 3 },
	{ "count", 'n', "COUNT", 0, "Stop after COUNT dumps in all (default 1; 0 no limit)" },
	{ "cooldown", OPT_COOLDOWN, "DURATION", 0, "At least this long between dumps" },
	{ "max-duration", OPT_MAX_DURATION, "DURATION", 0, "Stop watching after this long" },
	{ "type", 't', "TYPE", 0, "As in dump: mini, default (default) or full" },
	{ "bundle", OPT_BUNDLE, "zip|tar", 0, "As in dump: one archive with the core, the "
	  "executable, the mapped libraries and metadata.json" },
	{ "compress", OPT_COMPRESS, "zstd", 0, "As in dump: a .core.zst (or .tar.zst bundle)" },
	{ "no-snapshot", OPT_NO_SNAPSHOT, NULL, 0, "Freeze the process for the whole dump. "
	  "By default it is stopped only to take a copy-on-write snapshot (as dump "
	  "--snapshot) and the core is written from it; a small dump (under 8 MiB to "
	  "write) is taken with a plain freeze, as short and done sooner; a dump held at a "
	  "signal by ptrace (a fatal one: the process is about to die) is always taken as "
	  "it is held" },
	{ "snapshot", OPT_SNAPSHOT, NULL, 0, "A snapshot for every dump, small ones too" },
	{ "no-flight-signals", OPT_NO_FLIGHT_SIGNALS, NULL, 0, "Keep no signals for the flight "
	  "recorder: each signal the process gets costs a BPF ring buffer copy (on a storm "
	  "of 100k signals, 1.3-1.5x instead of 1.1x for --signal's BPF route)" },
	{ "then", OPT_THEN, "ACTION", 0, "After each dump: kill (SIGKILL the process), "
	  "analyze (write <dump>.analysis.json, as dump --analyze, once the process runs "
	  "again: the analysis never holds it stopped); may be given twice" },
	{ "output", 'o', "DIR", 0, "Where dumps go (default: the current folder); named "
	  "<name>_<trigger>_<UTC time>.<pid>.core, each with <dump>.json beside it" },
	{ "keep", OPT_KEEP, "N", 0, "Keep only the N newest dumps of this watch" },
	{ "max-bytes", OPT_MAX_BYTES, "BYTES", 0, "Keep this watch's dumps under BYTES in all "
	  "(oldest removed first; the newest is always kept)" },
	{ "on-dump", OPT_ON_DUMP, "CMD ARG...", 0, "Run CMD (no shell) after each dump; "
	  "{path}, {pid}, {trigger} replaced. Must come last: it takes every argument after it" },
	{ "dry-run", OPT_DRY_RUN, NULL, 0, "Report triggers, dump nothing" },
	{},
};

static const char watch_doc[] =
	"Watch processes and dump them when a trigger fires. Events are NDJSON on stdout, one "
	"a line: watching, trigger, dump, on_dump, signal_route, missed, target_exit, error, "
	"exit. SIGUSR1 to "
	"tracedump is a manual trigger; Ctrl-C (or SIGTERM) stops at once, leaving every "
	"target running and released.\v"
	"Examples:\n"
	"  tracedump watch 1234 --signal SIGSEGV,SIGABRT -o /var/crash\n"
	"  tracedump watch --name api --cpu 90 --for 10s -n 3 --cooldown 1m\n"
	"  tracedump watch 1234 --mem 500,1000,2000 --keep 2\n"
	"  tracedump watch 1234 --latency ./srv:handle_request --threshold 500ms\n"
	"  tracedump watch 1234 --exception='std::*' --on-dump aws s3 cp {path} s3://dumps/\n"
	"What each trigger costs: --signal by BPF for handled signals, by the core_pattern "
	"pipe for unhandled core-dumping ones (SEGV, ABRT...), else by ptrace (every "
	"signal the process receives takes a round trip through tracedump); --cpu, --latency "
	"and --exception use BPF (tracepoints and uprobes, no ptrace); --mem, --threads, "
	"--fds read /proc every 100 ms. The target is stopped only to fork a copy-on-write "
	"copy the dump is written from (--no-snapshot: for the whole dump). The signals each "
	"process gets are kept for <dump>.json's flight recorder.\n"
	"Exit status: 0 done (count reached, targets gone, --max-duration, interrupted), "
	"1 a dump failed, 2 bad argument, 3 no such process, 4 permission denied, "
	"5 a needed kernel feature is missing, 6 already traced by another tracer.";

static int parse_pct(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || *out < 0 || *out > 100000 ? -EINVAL : 0;
}

static int parse_signals(const char *s, uint64_t *mask)
{
	char buf[512], *save = NULL;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -EINVAL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int sig;

		if (parse_signal(tok, &sig) || sig >= 64 || sig == SIGKILL || sig == SIGSTOP)
			return -EINVAL;
		*mask |= 1ULL << sig;
	}
	return *mask ? 0 : -EINVAL;
}

/* PATH as given, or under the cgroup2 mount of a hybrid host, or under /sys/fs/cgroup. */
static int resolve_cgroup(const char *path, char *out, size_t len)
{
	static const char *const roots[] = { "", "/sys/fs/cgroup/unified/", "/sys/fs/cgroup/" };

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		char procs[PATH_MAX + 32];

		if ((i && path[0] == '/' && !strncmp(path, "/sys/", 5)) ||
		    (size_t)snprintf(out, len, "%s%s", roots[i], i && path[0] == '/' ? path + 1 : path)
			    >= len)
			continue;
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", out);
		if (!access(procs, R_OK))
			return 0;
	}
	return -ENOENT;
}

static error_t watch_parse(int key, char *arg, struct argp_state *state)
{
	struct watch_args *a = state->input;
	uint64_t v;

	switch (key) {
	case OPT_NAME:
		a->name = arg;
		break;
	case OPT_CGROUP:
		if (resolve_cgroup(arg, a->cgroup, sizeof(a->cgroup)))
			argp_error(state, "invalid --cgroup '%s': no cgroup.procs there (tried the "
				   "path, /sys/fs/cgroup/unified/PATH and /sys/fs/cgroup/PATH)", arg);
		break;
	case OPT_SIGNAL:
		if (parse_signals(arg, &a->signals))
			argp_error(state, "invalid --signal '%s': expected signal names or numbers, "
				   "comma-separated (not KILL or STOP, which cannot be caught)", arg);
		break;
	case OPT_CPU:
	case OPT_CPU_BELOW:
		if (parse_pct(arg, key == OPT_CPU ? &a->cpu : &a->cpu_below))
			argp_error(state, "invalid CPU percentage '%s'", arg);
		break;
	case OPT_CPU_TOTAL:
		a->cpu_total = true;
		break;
	case OPT_FOR:
		if (parse_duration_ns(arg, &a->for_ns) || a->for_ns < TICK_NS)
			argp_error(state, "invalid --for '%s': expected a duration of at least 100ms",
				   arg);
		break;
	case OPT_MEM:
	case OPT_MEM_BELOW:
		if (a->mem_set)
			argp_error(state, "--mem and --mem-below exclude each other");
		if (mem_levels__parse(arg, key == OPT_MEM_BELOW, &a->mem))
			argp_error(state, "invalid memory levels '%s': expected MB values, "
				   "comma-separated, ascending (at most 16)", arg);
		a->mem_set = true;
		break;
	case OPT_MEM_KIND:
		if (!strcmp(arg, "private"))
			a->mem_private = true;
		else if (strcmp(arg, "rss"))
			argp_error(state, "invalid --mem-kind '%s': expected rss or private", arg);
		break;
	case OPT_THREADS:
	case OPT_FDS:
		if (parse_u64(arg, &v) || !v || v > 10000000)
			argp_error(state, "invalid count '%s': expected a positive number", arg);
		*(key == OPT_THREADS ? &a->threads : &a->fds) = (long)v;
		break;
	case OPT_LATENCY: {
		char err[256];

		if (latency_spec_parse(arg, &a->latency, err, sizeof(err)))
			argp_error(state, "invalid --latency '%s': %s", arg, err);
		a->latency_arg = arg;
		break;
	}
	case OPT_THRESHOLD:
		if (parse_duration_ns(arg, &a->threshold_ns) || !a->threshold_ns)
			argp_error(state, "invalid --threshold '%s': expected a duration", arg);
		break;
	case OPT_LATENCY_COMPLETED:
		a->latency_completed = true;
		break;
	case OPT_EXCEPTION:
		a->exception = true;
		a->exception_filter = arg;
		break;
	case OPT_EVERY:
		if (parse_duration_ns(arg, &a->every_ns) || a->every_ns < TICK_NS)
			argp_error(state, "invalid --every '%s': expected a duration of at least "
				   "100ms", arg);
		break;
	case 'n':
		if (parse_u64(arg, &v) || v > 1000000)
			argp_error(state, "invalid -n '%s': expected a count", arg);
		a->count = (unsigned)v;
		break;
	case OPT_COOLDOWN:
	case OPT_MAX_DURATION:
		if (parse_duration_ns(arg, key == OPT_COOLDOWN ? &a->cooldown_ns :
				      &a->max_duration_ns))
			argp_error(state, "invalid duration '%s'", arg);
		break;
	case 't':
		if (dumper__parse_type(arg, &a->type))
			argp_error(state, "invalid --type '%s': expected 0|1|2|mini|default|full",
				   arg);
		break;
	case OPT_BUNDLE:
		if (dump_output__parse_bundle(arg, &a->out.bundle))
			argp_error(state, "invalid --bundle '%s': expected zip or tar", arg);
		break;
	case OPT_NO_FLIGHT_SIGNALS:
		a->no_flight_signals = true;
		break;
	case OPT_SNAPSHOT:
	case OPT_NO_SNAPSHOT:
		a->snapshot = a->snapshot_always = key == OPT_SNAPSHOT;
		break;
	case OPT_COMPRESS:
		if (dump_output__parse_compress(arg, &a->out.zstd))
			argp_error(state, "invalid --compress '%s': expected zstd", arg);
		break;
	case OPT_THEN:
		if (!strcmp(arg, "kill"))
			a->then_kill = true;
		else if (!strcmp(arg, "analyze"))
			a->then_analyze = true;
		else
			argp_error(state, "invalid --then '%s': expected kill or analyze", arg);
		break;
	case 'o':
		a->output = arg;
		break;
	case OPT_KEEP:
		if (parse_u64(arg, &v) || !v || v > 100000)
			argp_error(state, "invalid --keep '%s': expected a positive count", arg);
		a->keep = (unsigned)v;
		break;
	case OPT_MAX_BYTES:
		if (parse_u64(arg, &a->max_bytes) || !a->max_bytes)
			argp_error(state, "invalid --max-bytes '%s': expected a positive number", arg);
		break;
	case OPT_DRY_RUN:
		a->dry_run = true;
		break;
	case OPT_NO_CORE_PATTERN:
		a->no_core_pattern = true;
		break;
	case ARGP_KEY_ARG:
		if (a->npids == MAX_PIDS)
			argp_error(state, "at most %d PIDs", MAX_PIDS);
		if (parse_pid(arg, &a->pids[a->npids], 0))
			argp_error(state, "invalid PID '%s': expected a positive decimal", arg);
		a->npids++;
		break;
	case ARGP_KEY_END:
		if ((a->npids > 0) + !!a->name + !!a->cgroup[0] == 0)
			argp_error(state, "missing PID, --name or --cgroup");
		if ((a->npids > 0) + !!a->name + !!a->cgroup[0] > 1)
			argp_error(state, "PIDs, --name and --cgroup exclude each other");
		if (!a->signals && a->cpu < 0 && a->cpu_below < 0 && !a->mem_set && !a->threads &&
		    !a->fds && !a->latency_arg && !a->exception && !a->every_ns)
			argp_error(state, "no trigger: give --signal, --cpu, --mem, --threads, --fds, "
				   "--latency, --exception or --every");
		if (dump_output__refusal(&a->out))
			argp_error(state, "%s", dump_output__refusal(&a->out));
		if (a->latency_completed && !a->latency_arg)
			argp_error(state, "--latency-completed needs --latency");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* One event line on stdout: NDJSON, or "event key=value ..." on a terminal. */
static void emit(const char *event, json_t *j)
{
	json_object_set_new(j, "event", json_string(event));
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		json_object_set_new(j, "time", json_time_iso(ts.tv_sec + ts.tv_nsec / 1e9));
		/* CLOCK_MONOTONIC, the clock of the tracer's events, for arithmetic. */
		json_object_set_new(j, "mono_ns", json_integer((json_int_t)monotonic_ns()));
	}
	if (output.json) {
		json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		fputc('\n', stdout);
	} else {
		const char *k;
		json_t *v;

		printf("%-12s", event);
		json_object_foreach(j, k, v) {
			char *s;

			if (!strcmp(k, "event") || !strcmp(k, "time") || !strcmp(k, "mono_ns") ||
			    json_is_object(v) ||
			    json_is_array(v))
				continue;
			s = json_dumps(v, JSON_ENCODE_ANY);
			printf(" %s=%s", k, s ? s : "?");
			free(s);
		}
		fputc('\n', stdout);
	}
	fflush(stdout);
	json_decref(j);
}

static void flight_add(struct watch *w, json_t *ev)
{
	if (w->flight_count == FLIGHT_MAX)
		json_decref(w->flight[w->flight_head]);
	else
		w->flight_count++;
	w->flight[w->flight_head] = ev;
	w->flight_head = (w->flight_head + 1) % FLIGHT_MAX;
}

/* The flight recorder for @t: oldest first, its signals among the other events. */
static json_t *flight_json(const struct watch *w, const struct target *t)
{
	json_t *arr = json_array();
	pid_t pid = t->pid;

	for (size_t i = 0; i < w->flight_count; i++) {
		json_t *ev = w->flight[(w->flight_head + FLIGHT_MAX - w->flight_count + i) %
				       FLIGHT_MAX];
		json_t *p = json_object_get(ev, "pid");

		if (!p || json_integer_value(p) == pid)
			json_array_append(arr, ev);
	}
	signal_log__append_json(&t->sigs, &w->jctx, arr);
	if (w->tracer) {
		struct signals_event kept[SIGNALS_KEPT];
		int n = tracer__kept_signals(w->tracer, pid, kept);

		for (int i = 0; i < n; i++) {
			json_t *j = tracer_event_to_json(&kept[i], sizeof(kept[i]), &w->jctx);

			if (j)
				json_array_append_new(arr, j);
		}
	}
	flight_sort(arr);
	return arr;
}

static json_t *thread_cpu_json(struct watch *w, pid_t pid)
{
	struct tracer_thread_cpu *cpu = NULL;
	size_t n = 0;
	json_t *arr;

	if (!w->tracer || !(tracer__classes(w->tracer) & TRACER_CPU) ||
	    tracer__read_thread_cpu(w->tracer, pid, &cpu, &n))
		return json_null();
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:i, s:s, s:I, s:I, s:b}", "tid", cpu[i].tid,
						     "comm", cpu[i].comm, "oncpu_ns",
						     (json_int_t)cpu[i].oncpu_ns, "runq_ns",
						     (json_int_t)cpu[i].runq_ns, "on_cpu",
						     cpu[i].on_cpu));
	free(cpu);
	return arr;
}

static json_t *cpu_samples_json(const struct target *t)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < t->cpu_count; i++) {
		size_t k = (t->cpu_head + CPU_SAMPLES - t->cpu_count + i) % CPU_SAMPLES;

		json_array_append_new(arr, json_pack("{s:s, s:o, s:f}", "type", "cpu_sample",
						     "time", json_time_iso(t->cpu_when[k]),
						     "cpu_percent", t->cpu_pct[k]));
	}
	return arr;
}

static int write_metadata(const char *core, json_t *meta, char *why, size_t why_len)
{
	char path[PATH_MAX + 8], tmp[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s.json", core);
	snprintf(tmp, sizeof(tmp), "%s.json.tmp", core);
	if (json_dump_file(meta, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) || rename(tmp, path)) {
		snprintf(why, why_len, "failed to write %.400s: %s", path, strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

/* --keep / --max-bytes over the dumps this watch wrote. */
static void apply_retention(struct watch *w)
{
	bool *rm;
	uint64_t *sizes;
	size_t j = 0;

	if ((!w->a->keep && !w->a->max_bytes) || !w->nkept)
		return;
	rm = calloc(w->nkept, sizeof(*rm));
	sizes = calloc(w->nkept, sizeof(*sizes));
	if (!rm || !sizes)
		goto out;
	for (size_t i = 0; i < w->nkept; i++)
		sizes[i] = w->kept[i].bytes;
	retention__plan(sizes, w->nkept, w->a->keep, w->a->max_bytes, rm);
	for (size_t i = 0; i < w->nkept; i++) {
		if (rm[i]) {
			char meta[PATH_MAX + 8];

			snprintf(meta, sizeof(meta), "%s.json", w->kept[i].path);
			unlink(w->kept[i].path);
			unlink(meta);
			emit("removed", json_pack("{s:s, s:s}", "path", w->kept[i].path, "reason",
						 "retention"));
			continue;
		}
		w->kept[j++] = w->kept[i];
	}
	w->nkept = j;
out:
	free(rm);
	free(sizes);
}

static void run_on_dump(struct watch *w, const char *path, pid_t pid, const char *trigger)
{
	extern char **environ;
	char **argv;
	size_t n = 0;
	pid_t child;
	int err;

	while (w->a->on_dump[n])
		n++;
	argv = calloc(n + 1, sizeof(*argv));
	if (!argv)
		return;
	for (size_t i = 0; i < n; i++) {
		char buf[8192];

		if (watch_subst(w->a->on_dump[i], path, pid, trigger, buf, sizeof(buf)) ||
		    !(argv[i] = strdup(buf))) {
			emit("error", json_pack("{s:s}", "message", "--on-dump argument too long"));
			goto out;
		}
	}
	{
		posix_spawnattr_t attr;
		sigset_t none;

		/* The child starts with no signal blocked (we block SIGCHLD). */
		sigemptyset(&none);
		posix_spawnattr_init(&attr);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
		err = posix_spawnp(&child, argv[0], NULL, &attr, argv, environ);
		posix_spawnattr_destroy(&attr);
	}
	if (err)
		emit("error", json_pack("{s:s, s:s}", "message", "--on-dump failed to start",
					"reason", strerror(err)));
	else {
		pid_t *p = realloc(w->children, (w->nchildren + 1) * sizeof(*p));

		if (p) {
			w->children = p;
			w->children[w->nchildren++] = child;
		}
		emit("on_dump", json_pack("{s:i, s:s}", "child", child, "command", argv[0]));
	}
out:
	for (size_t i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
}

/*
 * The @n-th name for a dump (n > 1: "_n" before ".<pid>.core"): @core_name is the core's
 * name (inside a bundle), @path the file, with the --bundle/--compress suffix.
 */
static int output_names(const struct watch *w, pid_t pid, const char *name, int n,
			char *core_name, size_t core_len, char *path, size_t path_len)
{
	char tail[32], stem[256];
	size_t len = strlen(name);

	snprintf(tail, sizeof(tail), ".%d.core", pid);
	if (len < strlen(tail))
		return -EINVAL;
	snprintf(stem, sizeof(stem), "%.*s", (int)(len - strlen(tail)), name);
	if (n > 1)
		snprintf(stem + strlen(stem), sizeof(stem) - strlen(stem), "_%d", n);
	if ((size_t)snprintf(core_name, core_len, "%s.%d.core", stem, pid) >= core_len ||
	    (size_t)snprintf(path, path_len, "%s/%s.%d%s", w->outdir, stem, pid,
			     dump_output__suffix(&w->a->out)) >= path_len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Under this much memory to write, a plain freeze stops the process for a few ms
 * (2-5 ms measured for a small target), about what a snapshot's freezes cost, while a
 * snapshot adds 2-9 ms before the dump is complete: reaction time matters more there.
 */
#define SNAPSHOT_MIN_BYTES (8ULL << 20)

/* True when the dump of @pid will write under SNAPSHOT_MIN_BYTES of memory. */
static bool small_dump(const struct watch *w, pid_t pid)
{
	struct proc_status ps;
	uint64_t bytes;

	if (w->a->type == DUMP_TYPE_MINI)
		return true; /* registers and used stacks only */
	if (procfs_read_status(pid, -1, &ps))
		return false;
	bytes = ps.rss_anon + ps.rss_shmem + ps.vm_swap;
	if (w->a->type != DUMP_TYPE_DEFAULT)
		bytes += ps.rss_file; /* full or a --filter with file-backed bits */
	return bytes < SNAPSHOT_MIN_BYTES;
}

/*
 * Why a dump is not taken from a copy-on-write snapshot (the default, issue 7), or
 * NULL when it is. @held: the threads are held by ptrace (a --signal hit, or a
 * process on the ptrace route): the dumper's held mode dumps them as they are.
 */
static const char *snapshot_refusal(const struct watch *w, pid_t pid, bool held,
				    const struct sigtrace_event *sig)
{
	struct proc_status ps;

	if (!w->a->snapshot)
		return "--no-snapshot";
	/* Default actions that do not end the process: ignore, stop, continue. */
	static const uint64_t harmless = 1ULL << SIGCHLD | 1ULL << SIGCONT | 1ULL << SIGSTOP |
		1ULL << SIGTSTP | 1ULL << SIGTTIN | 1ULL << SIGTTOU | 1ULL << SIGURG |
		1ULL << SIGWINCH;

	if (sig && sig->sig > 0 && sig->sig < 64 && !(harmless & (1ULL << sig->sig)) &&
	    !procfs_read_status(pid, -1, &ps) &&
	    !((ps.sig_cgt | ps.sig_ign) & (1ULL << (sig->sig - 1))))
		return "a signal with no handler: the process is about to die, and is dumped "
		       "as it is held at the signal";
	if (held)
		return "the process is held by ptrace (--signal route), and the dumper's held "
		       "mode dumps it as it is";
	if (!w->a->snapshot_always && small_dump(w, pid))
		return "a small dump (under 8 MiB of memory to write): a plain freeze stops "
		       "the process about as briefly and the dump is done sooner";
	return NULL;
}

/*
 * A trigger fired for @t: report it, dump (unless --dry-run), write the metadata,
 * retention, --on-dump, --then kill. @held: the threads are already stopped by
 * sigtrace (a signal hit). Takes @event.
 */
static void fire(struct watch *w, struct target *t, const char *trigger, json_t *event,
		 struct freeze *held, const struct sigtrace_event *sig)
{
	struct dump_opts o = { .pid = t->pid, .type = w->a->type, .cancel = &stop_sig,
			       .held = held };
	struct freeze own = {}; /* a traced process at another trigger: held by sigtrace */
	const char *no_snapshot = NULL;
	char name[256], core_name[256], path[PATH_MAX], why[512];
	struct core_sink *sink = NULL;
	struct dump_output *out = NULL;
	json_t *result = NULL, *show = NULL, *meta;
	struct show_opts so = {};
	uint64_t now = monotonic_ns();
	int err;

	if (sig) {
		o.signo = sig->sig;
		o.signal_tid = sig->tid;
		o.siginfo = sig->info;
	}
	dump_gate__record(&w->gate, now);
	emit("trigger", json_pack("{s:i, s:s, s:s, s:O, s:b}", "pid", t->pid, "name", t->comm,
				  "trigger", trigger, "detail", event, "dry_run", w->a->dry_run));
	if (w->a->dry_run) {
		json_decref(event);
		return;
	}
	dumper__default_name(t->comm, trigger, t->pid, time(NULL), name, sizeof(name));
	inspect__process_detail(t->pid, &so, &show);
	/* Two dumps in one second: "<name>_<trigger>_<time>_2.<pid>.core", ... */
	err = -EEXIST;
	for (int n = 1; err == -EEXIST && n < 1000; n++) {
		err = output_names(w, t->pid, name, n, core_name, sizeof(core_name), path,
				   sizeof(path));
		if (err) {
			snprintf(why, sizeof(why), "dump path too long");
			break;
		}
		if (sink)
			sink->free(sink);
		dump_output__free(out);
		sink = NULL;
		out = NULL;
		err = dump_output__open(&w->a->out, t->pid, path, core_name, &out, &sink, why,
					sizeof(why));
	}
	if (!err && !held && t->traced) {
		/* Ours already: the dumper cannot seize it, so it dumps what we hold. */
		err = sigtrace__hold(&w->st, t->pid, &own);
		if (err)
			snprintf(why, sizeof(why), "could not stop traced process %d", t->pid);
		else
			o.held = &own;
	}
	no_snapshot = w->core_in ? "written from the kernel's core (core_pattern route): the "
				   "process is in its core dump" :
				   snapshot_refusal(w, t->pid, o.held != NULL, sig);
	o.snapshot = !no_snapshot;
	if (!err)
		err = w->core_in ? core_crash__copy(w->core_in, sink, w->a->type, &result, why,
						    sizeof(why))
				 : dumper__run(&o, sink, &result, why, sizeof(why));
	if (o.held == &own)
		sigtrace__resume(&w->st, &own);
	if (!err && !json_object_get(result, "snapshot"))
		json_object_set_new(result, "snapshot", json_pack("{s:b, s:s}", "used", 0,
								  "reason", no_snapshot));
	if (!err) {
		err = dump_output__finish(out, result, why, sizeof(why));
		if (err) {
			json_decref(result);
			result = NULL;
		}
	}
	if (sink)
		sink->free(sink);
	dump_output__free(out);
	if (err) {
		w->failures++;
		emit("error", json_pack("{s:i, s:s, s:s, s:s}", "pid", t->pid, "trigger", trigger,
					"message", "dump failed", "reason", why));
		json_decref(event);
		json_decref(show);
		return;
	}
	json_object_set_new(result, "path", json_string(path));
	meta = json_pack("{s:s, s:o, s:O, s:o, s:o, s:o, s:o}", "trigger", trigger, "event",
			 event, "dump", result, "process", show ? show : json_null(), "threads_cpu",
			 thread_cpu_json(w, t->pid), "flight_recorder", flight_json(w, t),
			 "cpu_samples", cpu_samples_json(t));
	if (write_metadata(path, meta, why, sizeof(why)))
		emit("error", json_pack("{s:i, s:s, s:s}", "pid", t->pid, "message",
					"metadata not written", "reason", why));
	json_decref(meta);
	emit("dump", json_pack("{s:i, s:s, s:s, s:O, s:O, s:O, s:O*}", "pid", t->pid, "trigger",
			       trigger, "path", path, "bytes_written",
			       json_object_get(result, "bytes_written"), "pause_ms",
			       json_object_get(result, "pause_ms"), "duration_ms",
			       json_object_get(result, "duration_ms"), "snapshot",
			       json_object_get(result, "snapshot")));
	{
		struct stat sb;
		void *p = realloc(w->kept, (w->nkept + 1) * sizeof(*w->kept));

		if (p) {
			w->kept = p;
			snprintf(w->kept[w->nkept].path, PATH_MAX, "%s", path);
			w->kept[w->nkept++].bytes = stat(path, &sb) ? 0 : (uint64_t)sb.st_blocks * 512;
		}
	}
	json_decref(result);
	apply_retention(w);
	if (w->a->on_dump)
		run_on_dump(w, path, t->pid, trigger);
	if (w->a->then_analyze) {
		void *p = realloc(w->to_analyze, (w->nto_analyze + 1) * sizeof(*w->to_analyze));
		char *copy = strdup(path);

		if (p && copy) {
			w->to_analyze = p;
			w->to_analyze[w->nto_analyze++] = (struct pending_analysis){ copy, t->pid };
		} else {
			free(copy);
			emit("error", json_pack("{s:i, s:s, s:s}", "pid", t->pid, "message",
						"analysis skipped", "reason", "out of memory"));
		}
	}
	if (w->a->then_kill) {
		kill(t->pid, SIGKILL);
		emit("killed", json_pack("{s:i}", "pid", t->pid));
	}
}

/* --then analyze, for the dumps of the last round: called from the loop, after any
 * process held for its dump has been let go. */
static void run_analyses(struct watch *w)
{
	for (size_t i = 0; i < w->nto_analyze; i++) {
		struct pending_analysis *pa = &w->to_analyze[i];
		json_t *r = json_object();

		if (r) {
			analyze__dump(pa->path, r);
			emit("analysis", json_pack("{s:i, s:s, s:O*}", "pid", pa->pid, "path",
						   pa->path, "analysis",
						   json_object_get(r, "analysis")));
			json_decref(r);
		}
		free(pa->path);
	}
	w->nto_analyze = 0;
}

static struct target *find_target(struct watch *w, pid_t pid)
{
	for (size_t i = 0; i < w->ntargets; i++)
		if (w->targets[i].pid == pid && !w->targets[i].gone)
			return &w->targets[i];
	return NULL;
}

/*
 * Which way each watched signal of @pid goes, @handled being the signals it has a
 * handler for (bit N: signal N; core_route__plan): BPF, the core_pattern route, else
 * ptrace. The core route is installed on the first target that needs it; --type mini
 * cannot come from the kernel's core, so it stays with ptrace. w->route_why says why
 * core-dumping signals take ptrace. Decided when a process is first watched, and again
 * when its handlers change (check_routes).
 */
static void plan_routes(struct watch *w, pid_t pid, uint64_t handled, struct signal_routes *sr)
{
	w->route_why[0] = 0;
	core_route__plan(w->a->signals, handled, w->bpf_signals, true, sr);
	if (sr->core && w->a->no_core_pattern) {
		snprintf(w->route_why, sizeof(w->route_why), "--no-core-pattern");
	} else if (sr->core && w->a->type == DUMP_TYPE_MINI) {
		snprintf(w->route_why, sizeof(w->route_why), "--type mini is not the kernel's core");
	} else if (sr->core && !w->route.tried && core_route__install(&w->route)) {
		output_warn("core-dumping signals go through ptrace: %s", w->route.why);
	} else if (sr->core && !w->route.err) {
		core_route__dumps(pid, w->route_why, sizeof(w->route_why));
	}
	if (sr->core && w->route.err)
		snprintf(w->route_why, sizeof(w->route_why), "%.200s", w->route.why);
	if (w->route_why[0])
		core_route__plan(w->a->signals, handled, w->bpf_signals, false, sr);
}

/* Sets @t's core_pattern route to @core (its coredump_filter for --type). */
static void set_core_sigs(struct watch *w, struct target *t, uint64_t core)
{
	if (core && !t->core_sigs && core_route__set_filter(&w->route, t->pid, w->a->type))
		output_warn("process %d: coredump_filter not set for --type %s: the kernel's core "
			    "follows the process's own", t->pid, dumper__type_name(w->a->type));
	t->core_sigs = core;
}

/* The first plan of @t: t->bpf_stop, t->core_sigs, else ptrace (add_target). */
static void plan_signals(struct watch *w, struct target *t)
{
	struct signal_routes sr;
	struct proc_status st;
	uint64_t handled;

	w->route_why[0] = 0;
	if (procfs_read_status(t->pid, -1, &st))
		return;
	handled = st.sig_cgt << 1;
	t->caught = handled & w->a->signals;
	plan_routes(w, t->pid, handled, &sr);
	if (sr.bpf && tracer__set_stop_signals(w->tracer, t->pid, sr.bpf)) {
		snprintf(w->route_why, sizeof(w->route_why), "the BPF stop could not be set");
		core_route__plan(w->a->signals, handled, false, false, &sr);
	}
	t->bpf_stop = sr.bpf;
	set_core_sigs(w, t, sr.core);
}

/* The route of @t's watched signals, as the watching and signal_route events say it. */
static const char *route_name(const struct target *t)
{
	return t->traced ? "ptrace" : t->bpf_stop && t->core_sigs ? "bpf+core_pattern" :
	       t->core_sigs ? "core_pattern" : "bpf";
}

static int add_target(struct watch *w, pid_t pid, char *why, size_t why_len)
{
	struct target *t;
	struct proc_stat ps;
	int err;

	if (w->ntargets == MAX_TARGETS) {
		/* Reuse the slot of one that is gone. */
		for (size_t i = 0; i < w->ntargets; i++)
			if (w->targets[i].gone) {
				cpu_window__free(&w->targets[i].cpu);
				w->targets[i] = w->targets[--w->ntargets];
				break;
			}
		if (w->ntargets == MAX_TARGETS) {
			snprintf(why, why_len, "too many processes (at most %d)", MAX_TARGETS);
			return -E2BIG;
		}
	}
	if (procfs_read_stat(pid, -1, &ps) || ps.state == 'Z') {
		snprintf(why, why_len, "no process %d", pid);
		return -ESRCH;
	}
	t = &w->targets[w->ntargets];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	snprintf(t->comm, sizeof(t->comm), "%.15s", ps.comm);
	t->mem = w->a->mem;
	err = cpu_window__init(&t->cpu, (size_t)(w->a->for_ns / TICK_NS) + 4);
	if (err) {
		snprintf(why, why_len, "out of memory");
		return err;
	}
	if (w->tracer) {
		err = tracer__add_pid(w->tracer, pid, why, why_len);
		if (err) {
			cpu_window__free(&t->cpu);
			return err;
		}
		/* Its unwatched signals stay in a BPF map until a dump reads them (a storm
		 * costs no copy to us); if that fails they come through the ring buffer. */
		if (!w->a->no_flight_signals)
			tracer__keep_signals(w->tracer, pid, w->a->signals);
	}
	/* Handled signals by BPF, unhandled core-dumping ones by the core_pattern route
	 * (no ptrace cost); any other fatal one needs ptrace, for every signal. */
	if (w->a->signals)
		plan_signals(w, t);
	if (w->sigtrace_on && !t->bpf_stop && !t->core_sigs) {
		err = sigtrace__attach(&w->st, pid, why, why_len);
		if (err) {
			sigtrace__detach(&w->st, pid);
			if (w->tracer)
				tracer__remove_pid(w->tracer, pid);
			cpu_window__free(&t->cpu);
			return err;
		}
		t->traced = true;
	}
	w->ntargets++;
	{
		json_t *j = json_pack("{s:i, s:s, s:b, s:s*, s:s*}", "pid", pid, "name", t->comm,
				      "ptrace", t->traced, "signals_by", !w->a->signals ? NULL :
				      route_name(t), "ptrace_because", t->traced &&
				      w->route_why[0] ? w->route_why : NULL);

		if (w->a->cpu_total) {
			cpu_limit__read(pid, &t->cpu_limit);
			t->cpu_limit_next = monotonic_ns() + CPU_LIMIT_NS;
			json_object_set_new(j, "cpu_total", cpu_limit__json(&t->cpu_limit));
		}
		emit("watching", j);
	}
	return 0;
}

static void target_gone(struct watch *w, struct target *t, int status, bool known)
{
	json_t *j = json_pack("{s:i, s:s}", "pid", t->pid, "name", t->comm);

	t->gone = true;
	if (known) {
		if (WIFSIGNALED(status)) {
			char buf[32];

			json_object_set_new(j, "signal", json_string(signal_name(WTERMSIG(status), buf,
									   sizeof(buf))));
		} else if (WIFEXITED(status)) {
			json_object_set_new(j, "exit_code", json_integer(WEXITSTATUS(status)));
		}
	}
	if (w->tracer) {
		tracer__remove_pid(w->tracer, t->pid);
		if (t->bpf_stop)
			tracer__set_stop_signals(w->tracer, t->pid, 0);
	}
	emit("target_exit", j);
}

/* --name: new processes with that name. */
static void scan_name(struct watch *w)
{
	struct ps_filter f = { .name = w->a->name };
	json_t *list = NULL, *p;
	size_t i;

	if (inspect__process_list(&f, &list))
		return;
	json_array_foreach(list, i, p) {
		pid_t pid = (pid_t)json_integer_value(json_object_get(p, "id"));
		char why[512];
		int err;

		if (pid == getpid() || find_target(w, pid))
			continue;
		err = add_target(w, pid, why, sizeof(why));
		if (err && err != -ESRCH)
			emit("error", json_pack("{s:i, s:s}", "pid", pid, "message", why));
	}
	json_decref(list);
}

/* --cgroup: the processes of a cgroup folder and of every folder below it. */
static void scan_cgroup_dir(struct watch *w, const char *dir, int depth)
{
	char path[PATH_MAX + 32], line[32];
	struct dirent *de;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			pid_t pid = (pid_t)atoi(line);
			char why[512];
			int err;

			if (pid <= 0 || pid == getpid() || find_target(w, pid))
				continue;
			err = add_target(w, pid, why, sizeof(why));
			if (err && err != -ESRCH)
				emit("error", json_pack("{s:i, s:s}", "pid", pid, "message", why));
		}
		fclose(f);
	}
	if (depth > 16 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < PATH_MAX)
			scan_cgroup_dir(w, path, depth + 1);
	}
	closedir(d);
}

static int on_event(void *ctx, const void *data, size_t size);

static void check_alive(struct watch *w)
{
	for (size_t i = 0; i < w->ntargets; i++) {
		struct target *t = &w->targets[i];
		struct proc_stat ps;

		/* Traced ones are reported by their wait status. */
		if (t->gone || t->traced)
			continue;
		if (procfs_read_stat(t->pid, -1, &ps) || ps.state == 'Z') {
			/* Its last events first (a fatal signal it took, for a missed one). */
			if (w->tracer)
				tracer__poll(w->tracer, 0, on_event, w);
			target_gone(w, t, t->core_status, t->core_status != 0);
		}
	}
}

static bool all_gone(const struct watch *w)
{
	for (size_t i = 0; i < w->ntargets; i++)
		if (!w->targets[i].gone)
			return false;
	return true;
}

static uint64_t mem_value(const struct watch *w, const struct proc_status *ps)
{
	return w->a->mem_private ? ps->rss_anon + ps->vm_swap : ps->vm_rss;
}

static long count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

struct stuck_ctx {
	struct watch *w;
	pid_t pid, tid;
	uint64_t start_ns, running_ns;
	uint64_t first_start; /* the oldest request not yet over the threshold */
};

static void on_inflight(void *ctx, pid_t tgid, pid_t tid, uint64_t start_ns, uint64_t running_ns)
{
	struct stuck_ctx *c = ctx;
	struct target *t = find_target(c->w, tgid);

	if (!t || t->last_stuck_start == start_ns)
		return;
	if (running_ns < c->w->a->threshold_ns) {
		if (!c->first_start || start_ns < c->first_start)
			c->first_start = start_ns;
		return;
	}
	if (c->pid)
		return;
	c->pid = tgid;
	c->tid = tid;
	c->start_ns = start_ns;
	c->running_ns = running_ns;
}

/*
 * Stuck requests: one dump per request, while it still runs. The next look is when
 * the oldest request in flight reaches the threshold (so the reaction does not wait
 * for a tick), and at least every TICK_NS for requests that start meanwhile.
 */
static uint64_t check_stuck(struct watch *w, uint64_t now)
{
	const struct watch_args *a = w->a;
	struct stuck_ctx c = { .w = w };
	uint64_t next = now + (a->threshold_ns < TICK_NS ? a->threshold_ns : TICK_NS);

	if (!dump_gate__ready(&w->gate, now))
		return now + TICK_NS / 10;
	tracer__scan_inflight(w->tracer, 0, on_inflight, &c);
	if (c.pid) {
		struct target *t = find_target(w, c.pid);

		t->last_stuck_start = c.start_ns;
		fire(w, t, "latency", json_pack("{s:i, s:f, s:f, s:s, s:b}", "tid", c.tid,
						"running_ms", c.running_ns / 1e6, "threshold_ms",
						a->threshold_ns / 1e6, "probe", a->latency_arg,
						"stuck", 1), NULL, NULL);
		return monotonic_ns();
	}
	/* bpf_ktime_get_ns and monotonic_ns are the same clock. */
	if (c.first_start && c.first_start + a->threshold_ns < next)
		next = c.first_start + a->threshold_ns;
	return next;
}

/* --cpu-total: the process may have moved, or its cgroup's limits changed. */
static void refresh_cpu_limit(struct target *t, uint64_t now)
{
	struct cpu_limit l;

	cpu_limit__read(t->pid, &l);
	t->cpu_limit_next = now + CPU_LIMIT_NS;
	if (l.cpus == t->cpu_limit.cpus && !strcmp(l.path, t->cpu_limit.path))
		return;
	t->cpu_limit = l;
	emit("cpu_limit", json_pack("{s:i, s:o}", "pid", t->pid, "cpu_total", cpu_limit__json(&l)));
}

/* A watched signal that was not dumped (@sig 0: which one is not known). */
static void report_missed(struct target *t, int sig, pid_t tid, const char *reason)
{
	char buf[32];

	emit("missed", json_pack("{s:i, s:s, s:s*, s:i, s:i, s:s}", "pid", t->pid, "name",
				 t->comm, "signal", sig ? signal_name(sig, buf, sizeof(buf)) : NULL,
				 "signo", sig, "tid", tid, "reason", reason));
}

/*
 * Tracer events lost to a full ring buffer (a signal storm while tracedump was busy
 * dumping): said once a tick. A BPF stop whose event was lost would leave its process
 * stopped for good, so a process of the BPF route found stopped then is continued,
 * and said to be missed (a stop whose event is still to come is dumped running).
 */
static void check_drops(struct watch *w)
{
	struct tracer_stats s = {};
	uint64_t drops;

	if (!w->tracer || tracer__read_stats(w->tracer, &s))
		return;
	drops = s.slot[TRACER_STAT_DROPS];
	if (drops <= w->drops)
		return;
	emit("events_dropped", json_pack("{s:I, s:I}", "count", (json_int_t)(drops - w->drops),
					 "total", (json_int_t)drops));
	w->drops = drops;
	for (size_t i = 0; i < w->ntargets; i++) {
		struct target *t = &w->targets[i];
		struct proc_stat ps;

		if (t->gone || t->traced || !t->bpf_stop || procfs_read_stat(t->pid, -1, &ps) ||
		    ps.state != 'T')
			continue;
		kill(t->pid, SIGCONT);
		report_missed(t, 0, t->pid, "tracer events were dropped (ring buffer full) while "
			      "the process was stopped: a BPF stop may have lost its event; the "
			      "process was continued");
	}
}

/* The periodic triggers, every TICK_NS: the first one that fires per target. */
static void tick(struct watch *w, uint64_t now)
{
	const struct watch_args *a = w->a;
	struct tracer_thread_cpu *cpu = NULL;
	size_t ncpu = 0;

	if ((a->cpu >= 0 || a->cpu_below >= 0) && w->tracer)
		tracer__read_thread_cpu(w->tracer, 0, &cpu, &ncpu);

	for (size_t i = 0; i < w->ntargets && dump_gate__ready(&w->gate, now) && !stop_sig; i++) {
		struct target *t = &w->targets[i];
		struct proc_status ps;

		if (t->gone)
			continue;
		if (manual) {
			fire(w, t, "manual", json_pack("{s:s}", "source", "SIGUSR1"), NULL, NULL);
			continue;
		}
		if (a->every_ns && now >= w->next_every) {
			fire(w, t, "every", json_pack("{s:f}", "every_s", a->every_ns / 1e9), NULL, NULL);
			continue;
		}
		if (cpu) {
			uint64_t sum = 0;
			double pct;

			for (size_t k = 0; k < ncpu; k++)
				if (cpu[k].tgid == t->pid)
					sum += cpu[k].oncpu_ns;
			cpu_window__add(&t->cpu, now, sum);
			if (cpu_window__percent(&t->cpu, TICK_NS, &pct)) {
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				t->cpu_pct[t->cpu_head] = pct;
				t->cpu_when[t->cpu_head] = ts.tv_sec + ts.tv_nsec / 1e9;
				t->cpu_head = (t->cpu_head + 1) % CPU_SAMPLES;
				if (t->cpu_count < CPU_SAMPLES)
					t->cpu_count++;
			}
			if (a->cpu_total && now >= t->cpu_limit_next)
				refresh_cpu_limit(t, now);
			if (cpu_window__percent(&t->cpu, a->for_ns, &pct)) {
				if (a->cpu_total)
					pct /= t->cpu_limit.cpus;
				if ((a->cpu >= 0 && pct >= a->cpu) ||
				    (a->cpu_below >= 0 && pct < a->cpu_below)) {
					cpu_window__reset(&t->cpu);
					fire(w, t, a->cpu >= 0 && pct >= a->cpu ? "cpu" : "cpu_below",
					     json_pack("{s:f, s:f, s:f, s:b, s:o*}", "cpu_percent",
						       pct, "threshold", a->cpu >= 0 ? a->cpu :
						       a->cpu_below, "window_s", a->for_ns / 1e9,
						       "of_all_cpus", a->cpu_total, "cpu_total",
						       a->cpu_total ? cpu_limit__json(&t->cpu_limit)
						       : NULL),
					     NULL, NULL);
					continue;
				}
			}
		}
		if ((a->mem_set || a->threads) && !procfs_read_status(t->pid, -1, &ps)) {
			if (a->mem_set) {
				int lvl = mem_levels__check(&t->mem, mem_value(w, &ps));

				if (lvl >= 0) {
					fire(w, t, a->mem.below ? "mem_below" : "mem",
					     json_pack("{s:I, s:I, s:s}", "bytes",
						       (json_int_t)mem_value(w, &ps), "level_bytes",
						       (json_int_t)t->mem.bytes[lvl], "kind",
						       a->mem_private ? "private" : "rss"),
					     NULL, NULL);
					continue;
				}
			}
			if (a->threads && ps.threads >= a->threads) {
				fire(w, t, "threads", json_pack("{s:I, s:i}", "threads",
								(json_int_t)ps.threads, "threshold",
								(int)a->threads), NULL, NULL);
				continue;
			}
		}
		if (a->fds) {
			long n = count_fds(t->pid);

			if (n >= a->fds) {
				fire(w, t, "fds", json_pack("{s:i, s:i}", "fds", (int)n, "threshold",
							    (int)a->fds), NULL, NULL);
				continue;
			}
		}
	}
	if (a->every_ns && now >= w->next_every)
		w->next_every = now + a->every_ns;
	manual = 0;
	free(cpu);
}

/* Whether a SIGSTOP is pending for thread @tid or its whole process. */
static bool sigstop_pending(pid_t pid, pid_t tid)
{
	char path[64], line[128];
	bool pending = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "SigPnd:", 7) || !strncmp(line, "ShdPnd:", 7))
			pending |= (strtoull(line + 7, NULL, 16) >> (SIGSTOP - 1)) & 1;
	fclose(f);
	return pending;
}

static char thread_state(pid_t pid, pid_t tid)
{
	struct proc_stat st;

	return procfs_read_stat(pid, tid, &st) ? 0 : st.state;
}

/*
 * The BPF stop of a process that was seized meanwhile (its route changed to ptrace):
 * the SIGSTOP meets the tracer, so the process is held by ptrace instead, with that
 * SIGSTOP swallowed, and dumped held; a SIGCONT then ends a group stop it may already
 * have become (and drops it if still pending).
 */
static void bpf_stop_traced(struct watch *w, struct target *t, json_t *detail)
{
	struct freeze fz;

	if (!sigtrace__hold(&w->st, t->pid, &fz)) {
		for (size_t i = 0; i < fz.count; i++)
			if (fz.threads[i].resume_sig == SIGSTOP)
				fz.threads[i].resume_sig = 0;
		if (!stop_sig && dump_gate__ready(&w->gate, monotonic_ns()))
			fire(w, t, "signal", json_incref(detail), &fz, NULL);
		sigtrace__resume(&w->st, &fz);
	}
	kill(t->pid, SIGCONT);
	json_decref(detail);
}

/* The trigger's detail for a signal stopped by BPF. */
static json_t *bpf_signal_detail(const struct signals_event *e)
{
	char buf[32];

	return json_pack("{s:s, s:i, s:i, s:s*, s:s}", "signal", signal_name(e->sig, buf,
			 sizeof(buf)), "signo", e->sig, "tid", e->target_tid, "code",
			 si_code_name(e->sig, e->code), "by", "bpf");
}

/*
 * A handled watched signal stopped the process from BPF (SIGSTOP queued at
 * signal_deliver, taken before the handler's first instruction). Wait for that stop,
 * dump (unless the gate says no), then SIGCONT.
 */
static void bpf_signal_stop(struct watch *w, struct target *t, const struct signals_event *e)
{
	uint64_t deadline = monotonic_ns() + 200000000ULL;
	char s;

	if (t->traced) {
		bpf_stop_traced(w, t, bpf_signal_detail(e));
		return;
	}
	/* No stop is coming when its SIGSTOP is neither pending nor taken: it was merged
	 * into an earlier stop of ours, which our SIGCONT ended. */
	for (int idle = 0; monotonic_ns() < deadline && idle < 3;) {
		struct timespec ts = { 0, 100000 };

		s = thread_state(t->pid, (pid_t)e->target_tid);
		if (!s || s == 'T' || s == 't')
			break;
		idle = sigstop_pending(t->pid, (pid_t)e->target_tid) ? 0 : idle + 1;
		nanosleep(&ts, NULL);
	}
	if (!stop_sig && dump_gate__ready(&w->gate, monotonic_ns()))
		fire(w, t, "signal", bpf_signal_detail(e), NULL, NULL);
	/* Once: a SIGCONT ends the stop, or drops a SIGSTOP still pending. Never again
	 * later: a new stop is another watched signal's, with its own event to come. */
	kill(t->pid, SIGCONT);
}

/* The BPF stop mask of @t in force when the tracer saw an event at @ts_ns. */
static uint64_t bpf_stop_at(const struct target *t, uint64_t ts_ns)
{
	return ts_ns >= t->bpf_changed_ns ? t->bpf_stop : t->bpf_stop_before;
}

/*
 * A signal sent to or taken by a watched process: its flight recorder, and on the
 * BPF route, the stop of a handled watched signal, or a watched signal the BPF route
 * could not stop (its handler was removed, or it became ignored, since the last look
 * at the handlers): reported as missed, never dropped silently.
 */
static void on_signal(struct watch *w, const struct signals_event *e)
{
	struct target *t = find_target(w, (pid_t)e->target_pid);

	if (!t)
		return;
	signal_log__add(&t->sigs, e);
	if (e->sig <= 0 || e->sig >= 64 || !(bpf_stop_at(t, e->ts_ns) & (1ULL << e->sig)))
		return;
	if (e->type == TRACER_EV_DELIVER && e->handler == SIGNALS_HANDLER_CUSTOM)
		bpf_signal_stop(w, t, e);
	else if ((e->type == TRACER_EV_DELIVER || e->result == SIGNALS_IGNORED) &&
		 !(t->core_sigs & (1ULL << e->sig))) { /* the core route has it now */
		if (e->type == TRACER_EV_DELIVER && e->handler == SIGNALS_HANDLER_DEFAULT)
			t->missed_sig = e->sig;
		report_missed(t, e->sig, (pid_t)e->target_tid, e->type == TRACER_EV_DELIVER ?
			      "taken with no handler on the BPF route (the handler was removed "
			      "before the route changed)" :
			      "ignored by the process on the BPF route (never delivered)");
	}
}

/* A process on the BPF route died of a watched signal: it had no handler any more
 * (a fatal signal without one becomes SIGKILL when sent, so no delivery of it is seen).
 * One the core_pattern route took (or declined in a cooldown) is not missed. */
static void on_exit_event(struct watch *w, const struct signals_exit_event *e)
{
	struct target *t = find_target(w, (pid_t)e->pid);

	if (t && !t->traced && e->fatal_sig > 0 && e->fatal_sig < 64 &&
	    (w->a->signals & (1ULL << e->fatal_sig)) && e->fatal_sig != t->missed_sig &&
	    !(t->core_sigs & (1ULL << e->fatal_sig)) && !t->core_status)
		report_missed(t, e->fatal_sig, (pid_t)e->fatal_tid, "the process died of it "
			      "with no handler on the BPF route (the handler was removed before "
			      "the route changed)");
}

/* Tracer events: the flight recorder, throws and completed slow requests. */
static int on_event(void *ctx, const void *data, size_t size)
{
	struct watch *w = ctx;
	const struct tracer_header *h = data;
	json_t *j;

	/* Signals are kept raw: a storm costs a copy each, not a JSON object. */
	if (size >= sizeof(struct signals_event) &&
	    (h->type == TRACER_EV_SIGNAL || h->type == TRACER_EV_DELIVER)) {
		on_signal(w, data);
		return w->poll_until && monotonic_ns() > w->poll_until ? -EAGAIN : 0;
	}
	j = tracer_event_to_json(data, size, &w->jctx);
	if (j)
		flight_add(w, json_incref(j));
	if (h->type == TRACER_EV_EXIT && size >= sizeof(struct signals_exit_event))
		on_exit_event(w, data);
	if (size >= sizeof(*h) && !stop_sig && dump_gate__ready(&w->gate, monotonic_ns())) {
		if (h->type == TRACER_EV_EXCEPTION && w->a->exception &&
		    size >= sizeof(struct exceptions_event)) {
			const struct exceptions_event *e = data;
			struct target *t = find_target(w, (pid_t)e->pid);
			char raw[EXCEPTIONS_TYPE_LEN + 1], type[512];

			memcpy(raw, e->type_name, sizeof(e->type_name));
			raw[EXCEPTIONS_TYPE_LEN] = 0;
			demangle_type(raw, type, sizeof(type));
			if (t && (!w->a->exception_filter ||
				  !fnmatch(w->a->exception_filter, type, 0))) {
				fire(w, t, "exception", json_incref(j ? j : json_object()), NULL, NULL);
			}
		} else if (h->type == TRACER_EV_LATENCY && w->a->latency_completed &&
			   size >= sizeof(struct latency_event)) {
			const struct latency_event *e = data;
			struct target *t = find_target(w, (pid_t)e->pid);

			if (t && e->duration_ns >= w->a->threshold_ns)
				fire(w, t, "latency", json_incref(j ? j : json_object()), NULL, NULL);
		}
	}
	json_decref(j);
	return w->poll_until && monotonic_ns() > w->poll_until ? -EAGAIN : 0;
}

/* An --on-dump command ended: say how (other children are not ours to report). */
static void child_ended(struct watch *w, pid_t pid, int status)
{
	for (size_t i = 0; i < w->nchildren; i++) {
		if (w->children[i] != pid)
			continue;
		w->children[i] = w->children[--w->nchildren];
		if (WIFEXITED(status) || WIFSIGNALED(status))
			emit("on_dump_exit", json_pack("{s:i, s:i}", "child", pid, "status",
						       WIFEXITED(status) ? WEXITSTATUS(status) :
						       128 + WTERMSIG(status)));
		return;
	}
}

/* Signal hits, target exits and --on-dump children, from sigtrace. Returns true when
 * stops are still pending (a storm: look again without waiting). */
static bool handle_sigtrace(struct watch *w)
{
	struct sigtrace_event ev;
	int r = 0;

	while (!stop_sig && (r = sigtrace__next(&w->st, &ev)) == 1) {
		struct target *t = find_target(w, ev.pid);

		if (ev.kind == SIGTRACE_CHILD) {
			child_ended(w, ev.pid, ev.status);
			continue;
		}
		if (ev.kind == SIGTRACE_EXIT) {
			if (t)
				target_gone(w, t, ev.status, true);
			continue;
		}
		{
			struct freeze fz;
			char buf[32];
			const char *code = si_code_name(ev.sig, ev.info.si_code);
			json_t *detail;

			if (!t || !dump_gate__ready(&w->gate, monotonic_ns()) ||
			    sigtrace__freeze(&w->st, &ev, &fz)) {
				/* Not ours to dump now: the signal goes on at once. */
				struct freeze one = { .pid = ev.pid };
				struct frozen_thread ft = { .tid = ev.tid, .resume_sig = ev.sig };

				one.threads = malloc(sizeof(ft));
				if (one.threads) {
					one.threads[0] = ft;
					one.count = one.cap = 1;
				}
				sigtrace__resume(&w->st, &one);
				continue;
			}
			detail = json_pack("{s:s, s:i, s:i, s:i, s:s*}", "signal",
					   signal_name(ev.sig, buf, sizeof(buf)), "signo", ev.sig,
					   "tid", ev.tid, "sender_pid", ev.info.si_pid, "code", code);
			if (ev.sig == SIGSEGV || ev.sig == SIGBUS || ev.sig == SIGFPE ||
			    ev.sig == SIGILL)
				json_object_set_new(detail, "fault_address",
						    json_hex((uint64_t)(uintptr_t)ev.info.si_addr));
			fire(w, t, "signal", detail, &fz, &ev);
			sigtrace__resume(&w->st, &fz);
		}
	}
	return r == -EAGAIN;
}

/* The watched signals in @mask as names, for the signal_route event. */
static json_t *signal_names(uint64_t mask)
{
	json_t *arr = json_array();
	char buf[32];

	for (int sig = 1; sig < 64; sig++)
		if (mask & (1ULL << sig))
			json_array_append_new(arr, json_string(signal_name(sig, buf, sizeof(buf))));
	return arr;
}

/*
 * Moves @t to the routes of @sr (a handler installed or removed). No watched signal is
 * lost or dumped twice on the way: to ptrace, every thread is seized before the BPF
 * stops end (a signal in between stops by BPF, and the BPF events read late are
 * judged by the mask of their time); from ptrace to BPF and core_pattern, every thread
 * is held by ptrace while the BPF stops begin, and a signal caught meanwhile is given
 * back at the detach, to be stopped by BPF or to crash through the core route. Between
 * BPF and core_pattern (no ptrace on either side) only the stop mask changes; a BPF
 * event stamped near the change is judged by both masks. A failure leaves it where it
 * was, with an error event.
 */
static void switch_route(struct watch *w, struct target *t, const struct signal_routes *sr)
{
	const char *from = route_name(t);
	char why[512] = "";
	json_t *j;
	int err;

	/* What was seen before the change is judged by the route of its time. */
	tracer__poll(w->tracer, 0, on_event, w);
	if (sr->ptrace) {
		err = sigtrace__attach(&w->st, t->pid, why, sizeof(why));
		if (err) {
			struct proc_stat ps;

			sigtrace__detach(&w->st, t->pid);
			if (procfs_read_stat(t->pid, -1, &ps) || ps.state == 'Z')
				return; /* exiting: check_alive() reports it */
			goto out;
		}
		tracer__set_stop_signals(w->tracer, t->pid, 0);
		t->bpf_stop_before = t->bpf_stop;
		t->bpf_stop = 0;
		/* A BPF program that read the old mask stamps its event a little later. */
		t->bpf_changed_ns = monotonic_ns() + 50000;
		/* ptrace sees the signal before its core dump: the relay's offer is declined. */
		t->core_sigs = 0;
		t->traced = true;
	} else if (t->traced) {
		handle_sigtrace(w); /* hits reported already are dumped by ptrace */
		if (t->gone || stop_sig)
			return;
		sigtrace__stop(&w->st, t->pid);
		t->bpf_changed_ns = monotonic_ns();
		err = tracer__set_stop_signals(w->tracer, t->pid, sr->bpf);
		if (err) {
			struct freeze fz;

			snprintf(why, sizeof(why), "could not set the BPF stop: %s", strerror(-err));
			if (!sigtrace__hold(&w->st, t->pid, &fz))
				sigtrace__resume(&w->st, &fz);
			goto out;
		}
		t->bpf_stop_before = 0;
		t->bpf_stop = sr->bpf;
		set_core_sigs(w, t, sr->core);
		sigtrace__detach(&w->st, t->pid);
		t->traced = false;
	} else {
		uint64_t before = t->bpf_stop;

		err = tracer__set_stop_signals(w->tracer, t->pid, sr->bpf);
		if (err) {
			snprintf(why, sizeof(why), "could not set the BPF stop: %s", strerror(-err));
			goto out;
		}
		/* A stop by either mask gets its SIGCONT; a signal that lost its handler
		 * meanwhile is missed, or dumped by the core route (set just below). */
		t->bpf_stop_before = before | sr->bpf;
		t->bpf_changed_ns = monotonic_ns() + 50000;
		t->bpf_stop = sr->bpf;
		set_core_sigs(w, t, sr->core);
	}
out:
	if (why[0]) {
		emit("error", json_pack("{s:i, s:s, s:s}", "pid", t->pid, "message",
					"signal route not changed", "reason", why));
		return;
	}
	j = json_pack("{s:i, s:s, s:s, s:s, s:o}", "pid", t->pid, "name", t->comm, "from", from,
		      "to", route_name(t), "handled", signal_names(t->caught));
	if (t->traced && w->route_why[0])
		json_object_set_new(j, "ptrace_because", json_string(w->route_why));
	emit("signal_route", j);
}

/* --signal: a handler installed or removed since the last look may change the route. */
static void check_routes(struct watch *w)
{
	for (size_t i = 0; i < w->ntargets && !stop_sig; i++) {
		struct target *t = &w->targets[i];
		struct signal_routes sr;
		struct proc_status ps;
		uint64_t caught;

		if (t->gone || procfs_read_status(t->pid, -1, &ps))
			continue;
		caught = (ps.sig_cgt << 1) & w->a->signals;
		if (caught == t->caught)
			continue;
		t->caught = caught;
		plan_routes(w, t->pid, ps.sig_cgt << 1, &sr);
		/* Under ptrace every signal is seen: only leaving it is a change. */
		if (t->traced ? sr.ptrace != 0 :
		    !sr.ptrace && sr.bpf == t->bpf_stop && sr.core == t->core_sigs)
			continue;
		switch_route(w, t, &sr);
	}
}

/*
 * Crashes the core relay offers (core_route.h): a watched core-dumping signal of a
 * target is dumped from the kernel's core while the process waits in its dump; the
 * rest goes back to the relay, which hands it to the saved core_pattern.
 */
static void handle_core_crashes(struct watch *w)
{
	struct core_crash c;

	while (!stop_sig && core_route__next(&w->route, &c) == 1) {
		struct target *t = find_target(w, c.pid);
		char why[512];

		if (t) /* in its core dump: it dies of that signal whatever we answer */
			t->core_status = (c.sig & 0x7f) | 0x80; /* WTERMSIG, WCOREDUMP */
		if (!t || c.sig <= 0 || c.sig >= 64 || !(t->core_sigs & (1ULL << c.sig)) ||
		    !dump_gate__ready(&w->gate, monotonic_ns())) {
			core_crash__decline(&c);
			continue;
		}
		if (w->a->dry_run) {
			fire(w, t, "signal", core_crash__detail(&c), NULL, NULL);
			core_crash__decline(&c); /* the usual core is written all the same */
			continue;
		}
		if (core_crash__take(&c, why, sizeof(why))) {
			w->failures++;
			emit("error", json_pack("{s:i, s:s, s:s, s:s}", "pid", t->pid, "trigger",
						"signal", "message", "dump failed", "reason", why));
			core_crash__close(&c);
			continue;
		}
		w->core_in = &c;
		fire(w, t, "signal", core_crash__detail(&c), NULL, NULL);
		w->core_in = NULL;
		core_crash__close(&c);
	}
}

/* argv split at --on-dump: everything after it is the command. */
static char **split_on_dump(int *argc, char **argv)
{
	for (int i = 1; i < *argc; i++)
		if (!strcmp(argv[i], "--on-dump")) {
			if (i + 1 >= *argc)
				return (char **)-1;
			argv[*argc] = NULL;
			*argc = i;
			return &argv[i + 1];
		}
	return NULL;
}

static int do_watch(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	const struct argp argp = { watch_options, watch_parse, "[PID...]", watch_doc, children };
	struct watch_args a = { .cpu = -1, .cpu_below = -1, .for_ns = 1000000000ULL,
				.threshold_ns = 500000000ULL, .count = 1,
				.type = DUMP_TYPE_DEFAULT, .snapshot = true };
	struct sigaction sa = { .sa_handler = on_stop }, su = { .sa_handler = on_usr1 };
	struct watch *w;
	struct tracer_opts to = {};
	uint64_t start = 0, next_tick = 0, next_scan = 0, next_stuck = 0, next_route = 0;
	char why[1024] = "";
	int code = TD_EXIT_OK, err, sfd = -1;
	bool rb_busy = false, st_busy = false;
	sigset_t chld;

	a.on_dump = split_on_dump(&argc, argv);
	if (a.on_dump == (char **)-1)
		return output_error(TD_EXIT_USAGE, "--on-dump needs a command");
	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return TD_EXIT_USAGE;
	w = calloc(1, sizeof(*w));
	if (!w)
		return output_error(TD_EXIT_FAILURE, "out of memory");
	w->a = &a;
	core_route__init(&w->route);
	w->gate.limit = a.count;
	w->gate.cooldown_ns = a.cooldown_ns;
	w->st.watched = a.signals;
	w->sigtrace_on = a.signals != 0;
	if (!realpath(a.output ? a.output : ".", w->outdir)) {
		code = output_error(TD_EXIT_USAGE, "bad --output %s: %m", a.output ? a.output : ".");
		goto out;
	}
	{
		struct stat sb;

		if (stat(w->outdir, &sb) || !S_ISDIR(sb.st_mode)) {
			code = output_error(TD_EXIT_USAGE, "--output %s is not a folder", w->outdir);
			goto out;
		}
	}

	/* BPF only for the triggers that need it. */
	if (a.cpu >= 0 || a.cpu_below >= 0)
		to.classes |= TRACER_CPU;
	if (a.latency_arg) {
		to.classes |= TRACER_LATENCY;
		to.latency = &a.latency;
		to.threshold_ns = a.threshold_ns;
	}
	if (a.exception) {
		to.classes |= TRACER_EXCEPTION;
		to.wake_exceptions = true;
	}
	/* The exit program also carries the BPF stop of handled signals (--signal). */
	if (a.signals)
		to.classes |= TRACER_EXIT;
	/* Signals sent and taken, for the flight recorder (never waking us: kept raw). */
	if (!a.no_flight_signals)
		to.classes |= TRACER_SIGNAL;
	to.signal_controls = true; /* BPF stops and kept signals */
	if (to.classes && !(to.classes & ~(TRACER_EXIT | TRACER_SIGNAL))) {
		/* Only for the flight recorder and --signal: without BPF, ptrace does it all. */
		if (tracer__open(&to, &w->tracer, why, sizeof(why))) {
			output_warn("%s%s: %s", a.signals ? "handled signals go through ptrace" :
				    "", a.no_flight_signals ? "" : a.signals ?
				    ", no signals in the flight recorder" :
				    "no signals in the flight recorder", why);
			w->tracer = NULL;
		}
		to.classes = 0;
	}
	if (to.classes) {
		err = tracer__open(&to, &w->tracer, why, sizeof(why));
		if (err) {
			code = output_error(err == -EPERM ? TD_EXIT_PERMISSION :
					    err == -EOPNOTSUPP ? TD_EXIT_UNSUPPORTED :
					    exit_code_from_errno(err), "%s", why);
			goto out;
		}
		if ((to.classes & ~tracer__classes(w->tracer) & ~(TRACER_EXIT | TRACER_SIGNAL))) {
			code = output_error(TD_EXIT_UNSUPPORTED, "this kernel cannot run a needed "
					    "trigger: %s", tracer__warnings(w->tracer));
			goto out;
		}
	}
	if (w->tracer) {
		w->jctx.mono_to_epoch = tracer__mono_to_epoch(w->tracer);
		w->jctx.probe = a.latency_arg;
		w->bpf_signals = a.signals && (tracer__classes(w->tracer) & TRACER_EXIT);
	}

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A reader of our events gone ends the watch cleanly too (core_pattern restored). */
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&su.sa_mask);
	su.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &su, NULL);

	for (size_t i = 0; i < a.npids; i++) {
		err = add_target(w, a.pids[i], why, sizeof(why));
		if (err) {
			code = output_error(err == -EBUSY ? TD_EXIT_CONFLICT :
					    err == -ENOENT ? TD_EXIT_NOT_FOUND :
					    exit_code_from_errno(err), "%s", why);
			goto out;
		}
	}
	if (a.name)
		emit("watching", json_pack("{s:s}", "name", a.name));
	if (a.cgroup[0])
		emit("watching", json_pack("{s:s}", "cgroup", a.cgroup));

	/* SIGCHLD through a signalfd: blocked here, unblocked again for --on-dump. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (!sigprocmask(SIG_BLOCK, &chld, NULL))
		sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);

	start = monotonic_ns();
	w->next_every = start + a.every_ns;
	while (!stop_sig) {
		uint64_t now;
		pid_t r;

		if (w->route.listen_fd >= 0)
			handle_core_crashes(w);
		if (w->sigtrace_on)
			st_busy = handle_sigtrace(w);
		else
			for (int st; (r = waitpid(-1, &st, WNOHANG)) > 0;) /* --on-dump */
				child_ended(w, r, st);
		run_analyses(w);
		/*
		 * A tracee's stop raises SIGCHLD, read from a signalfd so a watched
		 * process's signal waits for no timeout of ours (each one the target
		 * takes stops it until we resume it). With the BPF tracer too, its ring
		 * buffers are read every 5 ms.
		 */
		{
			struct pollfd pfd = { .fd = sfd, .events = POLLIN };
			/* A signal storm fills the ring buffer (256 KiB) in milliseconds:
			 * look again sooner while events flow. */
			int ms = st_busy ? 0 : w->tracer ? (rb_busy ? 1 : 5) : 20, n = 0;

			w->poll_until = monotonic_ns() + 25000000ULL;
			if (w->tracer && !w->st.count && w->route.listen_fd >= 0 &&
			    tracer__wait_fd(w->tracer) >= 0) {
				/* The same, and the core_pattern relay's socket: a crash
				 * waits in its dump for us (read just below). */
				struct pollfd fds[2] = {
					{ .fd = tracer__wait_fd(w->tracer), .events = POLLIN },
					{ .fd = w->route.listen_fd, .events = POLLIN },
				};

				poll(fds, 2, ms);
			} else if (w->tracer && !w->st.count) {
				/* Nothing under ptrace: wait on the ring buffers, which wake
				 * at once for a BPF signal stop or a throw. */
				n = tracer__poll(w->tracer, ms, on_event, w);
			} else if (sfd >= 0 && poll(&pfd, 1, ms) > 0) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si))
					;
			} else if (sfd < 0) {
				poll(NULL, 0, w->sigtrace_on ? 1 : ms);
			}
			if (w->tracer) {
				int more = tracer__poll(w->tracer, 0, on_event, w);

				n = n < 0 || more < 0 ? 1000 : n + more;
			}
			rb_busy = n >= 256;
			w->poll_until = 0;
		}
		now = monotonic_ns();
		if ((a.name || a.cgroup[0]) && now >= next_scan) {
			if (a.name)
				scan_name(w);
			else
				scan_cgroup_dir(w, a.cgroup, 0);
			next_scan = now + NAME_SCAN_NS;
		}
		if (a.latency_arg && !a.latency_completed && now >= next_stuck && !stop_sig)
			next_stuck = check_stuck(w, now);
		if (w->bpf_signals && now >= next_route) {
			check_routes(w);
			next_route = now + ROUTE_CHECK_NS;
		}
		if (now >= next_tick) {
			check_drops(w);
			check_alive(w);
			tick(w, now);
			next_tick = now + TICK_NS;
		}
		if (dump_gate__spent(&w->gate))
			break;
		if (!a.name && !a.cgroup[0] && all_gone(w))
			break;
		if (a.max_duration_ns && now - start >= a.max_duration_ns)
			break;
	}

out:
	core_route__restore(&w->route); /* the saved core_pattern back, on every path */
	if (w->sigtrace_on)
		sigtrace__detach(&w->st, 0);
	run_analyses(w);
	free(w->to_analyze);
	if (sfd >= 0)
		close(sfd);
	if (w->tracer) {
		/* No more BPF stops; a stop already queued gets its SIGCONT (stop_sig or a
		 * spent gate: no dump). */
		for (size_t i = 0; i < w->ntargets; i++)
			if (w->targets[i].bpf_stop)
				tracer__set_stop_signals(w->tracer, w->targets[i].pid, 0);
		if (!stop_sig)
			stop_sig = -1;
		tracer__poll(w->tracer, 0, on_event, w);
		if (stop_sig == -1)
			stop_sig = 0;
		tracer__destroy(w->tracer);
	}
	if (code == TD_EXIT_OK) {
		emit("exit", json_pack("{s:i, s:i, s:I, s:s}", "dumps", (int)w->gate.count,
				       "failures", (int)w->failures, "events_dropped",
				       (json_int_t)w->drops, "reason",
				       stop_sig ? "interrupted" :
				       dump_gate__spent(&w->gate) ? "count reached" :
				       a.max_duration_ns && monotonic_ns() - start >=
				       a.max_duration_ns ? "max duration" : "targets gone"));
		if (w->failures)
			code = TD_EXIT_FAILURE;
	}
	for (size_t i = 0; i < w->ntargets; i++)
		cpu_window__free(&w->targets[i].cpu);
	for (size_t i = 0; i < w->flight_count; i++)
		json_decref(w->flight[(w->flight_head + FLIGHT_MAX - w->flight_count + i) %
				      FLIGHT_MAX]);
	sigtrace__free(&w->st);
	free(w->kept);
	free(w->children);
	free(w);
	return code;
}

TD_COMMAND(watch, 45, "Dump a process when a trigger fires (signal, CPU, memory, latency...)",
	   do_watch);
