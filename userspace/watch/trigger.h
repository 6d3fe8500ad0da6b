/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pure logic of `watch` (no I/O; unit-tested in tests/unit/test_trigger.c): the
 * CPU window, memory levels, the -n/--cooldown gate, retention, --on-dump arguments.
 * docs/triggers.md states each rule in words.
 */
#ifndef TRACEDUMP_WATCH_TRIGGER_H
#define TRACEDUMP_WATCH_TRIGGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * CPU% sustained over a window, from cumulative on-CPU time samples (the BPF
 * per-thread counters summed): (cpu_now - cpu_then) / (now - then) * 100, where
 * "then" is the newest sample at least @window_ns old. Not a lifetime average.
 */
struct cpu_window {
	uint64_t *t_ns, *cpu_ns; /* ring of samples */
	size_t cap, head, count;
};

int cpu_window__init(struct cpu_window *w, size_t cap);
void cpu_window__free(struct cpu_window *w);
void cpu_window__reset(struct cpu_window *w);
void cpu_window__add(struct cpu_window *w, uint64_t now_ns, uint64_t cpu_ns);
/* False until the samples span @window_ns; a counter that went back (threads gone)
 * reads as 0 for that span. */
bool cpu_window__percent(const struct cpu_window *w, uint64_t window_ns, double *pct);

/* --mem 100,200: ascending levels, each fires once when crossed (--mem-below: once
 * when the value falls under it, descending). */
struct mem_levels {
	uint64_t bytes[16];
	size_t count, next;
	bool below;
};

/* "100,200" (MB, strictly ascending; --mem-below: any order, sorted descending);
 * -EINVAL otherwise. */
int mem_levels__parse(const char *s, bool below, struct mem_levels *out);
/* The index of the level @value crosses now (and moves past it), or -1. */
int mem_levels__check(struct mem_levels *m, uint64_t value);
bool mem_levels__done(const struct mem_levels *m);

/* -n COUNT and --cooldown: whether a trigger may dump now. */
struct dump_gate {
	unsigned limit;	      /* -n; 0: no limit */
	uint64_t cooldown_ns;
	unsigned count;
	uint64_t last_ns;
};
bool dump_gate__ready(const struct dump_gate *g, uint64_t now_ns);
void dump_gate__record(struct dump_gate *g, uint64_t now_ns);
bool dump_gate__spent(const struct dump_gate *g);

/* Retention: @sizes of the dumps kept, oldest first; marks in @remove the oldest ones
 * to delete so at most @keep (0: any number) remain and their total is at most
 * @max_bytes (0: no limit). The newest is never removed. Returns how many marked. */
size_t retention__plan(const uint64_t *sizes, size_t n, unsigned keep, uint64_t max_bytes,
		       bool *remove);

/* One --on-dump argument with {path}, {pid} and {trigger} replaced; -ENAMETOOLONG. */
int watch_subst(const char *tmpl, const char *path, pid_t pid, const char *trigger,
		char *out, size_t len);

#endif /* TRACEDUMP_WATCH_TRIGGER_H */
