/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A core_sink that keeps what it is given in memory and counts the calls, for the
 * unit tests of sinks that write into another sink. @fail_after makes write() fail
 * with -ENOSPC once that many bytes are held (0: never).
 */
#ifndef TRACEDUMP_TEST_MEM_SINK_H
#define TRACEDUMP_TEST_MEM_SINK_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dump/sink.h"

struct mem_sink {
	struct core_sink sink;
	unsigned char *buf;
	size_t len, cap;
	size_t fail_after;
	int finished, aborted;
	int *freed; /* set to 1 by free(), which also releases the struct */
};

static int mem_sink_write(struct core_sink *s, const void *buf, size_t len)
{
	struct mem_sink *m = (struct mem_sink *)s;

	if (m->fail_after && m->len + len > m->fail_after)
		return -ENOSPC;
	if (m->len + len > m->cap) {
		size_t cap = m->cap ? m->cap : 4096;
		unsigned char *p;

		while (cap < m->len + len)
			cap *= 2;
		p = realloc(m->buf, cap);
		if (!p)
			return -ENOMEM;
		m->buf = p;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, buf, len);
	m->len += len;
	m->sink.bytes_out += len;
	return 0;
}

static int mem_sink_zeros(struct core_sink *s, uint64_t len)
{
	static const unsigned char zero[4096];

	while (len) {
		size_t n = len < sizeof(zero) ? len : sizeof(zero);
		int err = mem_sink_write(s, zero, n);

		if (err)
			return err;
		len -= n;
	}
	return 0;
}

static int mem_sink_finish(struct core_sink *s)
{
	((struct mem_sink *)s)->finished++;
	return 0;
}

static void mem_sink_abort(struct core_sink *s)
{
	((struct mem_sink *)s)->aborted++;
}

static void mem_sink_free(struct core_sink *s)
{
	struct mem_sink *m = (struct mem_sink *)s;

	if (m->freed)
		*m->freed = 1;
	free(m->buf);
	free(m);
}

static inline struct mem_sink *mem_sink_new(int *freed)
{
	struct mem_sink *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->sink.write = mem_sink_write;
	m->sink.zeros = mem_sink_zeros;
	m->sink.finish = mem_sink_finish;
	m->sink.abort = mem_sink_abort;
	m->sink.free = mem_sink_free;
	m->freed = freed;
	return m;
}

#endif /* TRACEDUMP_TEST_MEM_SINK_H */
