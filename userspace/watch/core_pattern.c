// SPDX-License-Identifier: GPL-2.0-only
/* The kernel's core_pattern expansion, replayed by core-relay; see core_pattern.h. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watch/core_pattern.h"

struct buf {
	char *s;
	size_t len, cap;
	bool over;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n >= b->cap) {
		b->over = true;
		return;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

static void putf(struct buf *b, const char *fmt, long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), fmt, v);

	put(b, tmp, (size_t)n);
}

/* As the kernel's cn_esc_printf: '/' -> '!', an empty value "!", "." and ".." '!'-led. */
static void put_escaped(struct buf *b, const char *v)
{
	size_t start = b->len;

	put(b, v, strlen(v));
	if (b->over)
		return;
	for (size_t i = start; i < b->len; i++)
		if (b->s[i] == '/')
			b->s[i] = '!';
	if (b->len == start)
		put(b, "!", 1);
	else if (!strcmp(b->s + start, ".") || !strcmp(b->s + start, ".."))
		b->s[start] = '!';
}

/* Expands @pat[0..n) into @b; sets *@saw_pid when %p is met. */
static void expand(struct buf *b, const char *pat, size_t n, const struct core_facts *f,
		   bool *saw_pid)
{
	for (size_t i = 0; i < n && !b->over; i++) {
		const char *name;

		if (pat[i] != '%') {
			put(b, &pat[i], 1);
			continue;
		}
		if (++i >= n)
			break; /* a trailing '%' is dropped */
		switch (pat[i]) {
		case '%':
			put(b, "%", 1);
			break;
		case 'p':
			if (saw_pid)
				*saw_pid = true;
			putf(b, "%lld", f->ns_pid);
			break;
		case 'P':
			putf(b, "%lld", f->pid);
			break;
		case 'i':
			putf(b, "%lld", f->ns_tid);
			break;
		case 'I':
			putf(b, "%lld", f->tid);
			break;
		case 'u':
			putf(b, "%lld", (long long)f->uid);
			break;
		case 'g':
			putf(b, "%lld", (long long)f->gid);
			break;
		case 'd':
			putf(b, "%lld", f->dump_mode);
			break;
		case 's':
			putf(b, "%lld", f->sig);
			break;
		case 't':
			putf(b, "%lld", (long long)f->time);
			break;
		case 'c': {
			char tmp[32];

			snprintf(tmp, sizeof(tmp), "%" PRIu64, f->limit);
			put(b, tmp, strlen(tmp));
			break;
		}
		case 'C':
			if (f->cpu >= 0)
				putf(b, "%lld", f->cpu);
			break;
		case 'F':
			if (f->pidfd >= 0)
				putf(b, "%lld", f->pidfd);
			break;
		case 'h':
			put_escaped(b, f->host);
			break;
		case 'e':
			put_escaped(b, f->comm);
			break;
		case 'E':
			put_escaped(b, f->exe);
			break;
		case 'f':
			name = strrchr(f->exe, '/');
			put_escaped(b, name ? name + 1 : f->exe);
			break;
		default:
			break; /* an unknown specifier is dropped */
		}
	}
}

int core_pattern__expand_file(const char *pattern, const struct core_facts *f,
			      bool core_uses_pid, char *out, size_t len)
{
	struct buf b = { out, 0, len, false };
	bool saw_pid = false;

	if (!len)
		return -ENAMETOOLONG;
	out[0] = 0;
	expand(&b, pattern, strlen(pattern), f, &saw_pid);
	if (core_uses_pid && !saw_pid)
		putf(&b, ".%lld", f->ns_pid);
	return b.over ? -ENAMETOOLONG : 0;
}

int core_pattern__expand_pipe(const char *pattern, const struct core_facts *f, char ***argv)
{
	/* Each word may grow by its specifiers: size the block for the worst case. */
	size_t words = 0, cap = 0, plen;
	const char *p;
	char **v, *text;
	struct buf b;
	int argc = 0;

	*argv = NULL;
	if (core_pattern__is_pipe(pattern))
		pattern++;
	plen = strlen(pattern);
	for (p = pattern; *p; p++)
		if (!isspace((unsigned char)*p) && (p == pattern || isspace((unsigned char)p[-1])))
			words++;
	if (!words)
		return -EINVAL;
	cap = plen * (PATH_MAX + 80) + 1;
	v = calloc(1, (words + 1) * sizeof(*v) + cap);
	if (!v)
		return -ENOMEM;
	text = (char *)(v + words + 1);
	b = (struct buf){ text, 0, cap, false };
	for (p = pattern; *p;) {
		size_t n = 0;

		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		while (p[n] && !isspace((unsigned char)p[n]))
			n++;
		v[argc++] = b.s + b.len;
		expand(&b, p, n, f, NULL);
		b.len++; /* keep the NUL: the next word starts after it */
		if (b.len < b.cap)
			b.s[b.len] = 0;
		p += n;
	}
	if (b.over) {
		free(v);
		return -ENOMEM;
	}
	*argv = v;
	return argc;
}
