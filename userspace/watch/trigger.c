// SPDX-License-Identifier: GPL-2.0-only
/* The pure trigger logic of `watch`; see trigger.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watch/trigger.h"

int cpu_window__init(struct cpu_window *w, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->t_ns = calloc(cap, sizeof(*w->t_ns));
	w->cpu_ns = calloc(cap, sizeof(*w->cpu_ns));
	if (!w->t_ns || !w->cpu_ns) {
		cpu_window__free(w);
		return -ENOMEM;
	}
	w->cap = cap;
	return 0;
}

void cpu_window__free(struct cpu_window *w)
{
	free(w->t_ns);
	free(w->cpu_ns);
	memset(w, 0, sizeof(*w));
}

void cpu_window__reset(struct cpu_window *w)
{
	w->head = w->count = 0;
}

void cpu_window__add(struct cpu_window *w, uint64_t now_ns, uint64_t cpu_ns)
{
	if (!w->cap)
		return;
	w->t_ns[w->head] = now_ns;
	w->cpu_ns[w->head] = cpu_ns;
	w->head = (w->head + 1) % w->cap;
	if (w->count < w->cap)
		w->count++;
}

/* The i-th newest sample (0: the newest). */
static size_t slot(const struct cpu_window *w, size_t i)
{
	return (w->head + w->cap - 1 - i) % w->cap;
}

bool cpu_window__percent(const struct cpu_window *w, uint64_t window_ns, double *pct)
{
	size_t now, then = 0;
	bool found = false;

	if (w->count < 2)
		return false;
	now = slot(w, 0);
	for (size_t i = 1; i < w->count; i++) {
		size_t s = slot(w, i);

		if (w->t_ns[now] - w->t_ns[s] >= window_ns) {
			then = s;
			found = true;
			break;
		}
	}
	if (!found || w->t_ns[now] == w->t_ns[then])
		return false;
	*pct = w->cpu_ns[now] < w->cpu_ns[then]
		       ? 0
		       : (double)(w->cpu_ns[now] - w->cpu_ns[then]) * 100.0 /
				 (double)(w->t_ns[now] - w->t_ns[then]);
	return true;
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

int mem_levels__parse(const char *s, bool below, struct mem_levels *out)
{
	const char *p = s;

	memset(out, 0, sizeof(*out));
	out->below = below;
	while (*p) {
		char *end;
		unsigned long long mb;

		if (*p < '0' || *p > '9' || out->count == sizeof(out->bytes) / sizeof(out->bytes[0]))
			return -EINVAL;
		errno = 0;
		mb = strtoull(p, &end, 10);
		if (errno || !mb || mb > (1ULL << 40) || (*end && *end != ','))
			return -EINVAL;
		if (!below && out->count && mb << 20 <= out->bytes[out->count - 1])
			return -EINVAL;
		out->bytes[out->count++] = mb << 20;
		p = *end ? end + 1 : end;
		if (*end && !*p)
			return -EINVAL;
	}
	if (!out->count)
		return -EINVAL;
	if (below)
		qsort(out->bytes, out->count, sizeof(out->bytes[0]), cmp_desc);
	return 0;
}

int mem_levels__check(struct mem_levels *m, uint64_t value)
{
	size_t hit = m->next;

	/* A jump over several levels fires once, for the highest one crossed. */
	while (m->next < m->count &&
	       (m->below ? value < m->bytes[m->next] : value >= m->bytes[m->next]))
		hit = m->next++;
	return m->next > hit ? (int)hit : -1;
}

bool mem_levels__done(const struct mem_levels *m)
{
	return m->next >= m->count;
}

bool dump_gate__ready(const struct dump_gate *g, uint64_t now_ns)
{
	if (dump_gate__spent(g))
		return false;
	return !g->count || now_ns - g->last_ns >= g->cooldown_ns;
}

void dump_gate__record(struct dump_gate *g, uint64_t now_ns)
{
	g->count++;
	g->last_ns = now_ns;
}

bool dump_gate__spent(const struct dump_gate *g)
{
	return g->limit && g->count >= g->limit;
}

size_t retention__plan(const uint64_t *sizes, size_t n, unsigned keep, uint64_t max_bytes,
		       bool *remove)
{
	uint64_t total = 0;
	size_t left = n, marked = 0;

	for (size_t i = 0; i < n; i++) {
		remove[i] = false;
		total += sizes[i];
	}
	for (size_t i = 0; i + 1 < n; i++) {
		if (!((keep && left > keep) || (max_bytes && total > max_bytes)))
			break;
		remove[i] = true;
		marked++;
		left--;
		total -= sizes[i];
	}
	return marked;
}

int watch_subst(const char *tmpl, const char *path, pid_t pid, const char *trigger,
		char *out, size_t len)
{
	char pidbuf[16];
	size_t o = 0;

	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	for (const char *p = tmpl; *p;) {
		const char *rep = NULL;
		size_t skip = 0, n;

		if (!strncmp(p, "{path}", 6))
			rep = path, skip = 6;
		else if (!strncmp(p, "{pid}", 5))
			rep = pidbuf, skip = 5;
		else if (!strncmp(p, "{trigger}", 9))
			rep = trigger, skip = 9;
		if (!rep) {
			rep = p;
			skip = 1;
		}
		n = rep == p ? 1 : strlen(rep);
		if (o + n >= len)
			return -ENAMETOOLONG;
		memcpy(out + o, rep, n);
		o += n;
		p += skip;
	}
	if (o >= len)
		return -ENAMETOOLONG;
	out[o] = 0;
	return 0;
}
